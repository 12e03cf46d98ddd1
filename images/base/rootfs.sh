#!/usr/bin/env bash
# Build the sandhold/base rootfs: debootstrap minbase of the host's Debian
# release plus images/base/packages.txt, written as a tarball.
# Usage: images/base/rootfs.sh MIRROR SUITE OUT.tar.gz
set -euo pipefail
mirror="$1" suite="$2" out="$3"
here="$(cd "$(dirname "$0")" && pwd)"

include="$(grep -v '^\s*#' "$here/packages.txt" | xargs | tr ' ' ',')"
work="$(mktemp -d "${TMPDIR:-/var/tmp}/sandhold-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

debootstrap --variant=minbase --include="$include" "$suite" "$root" "$mirror"

# Package caches and apt lists are dead weight: sandboxes have no mirror.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/info/*
# The engine supplies these per container.
rm -rf "${root:?}"/dev/* "${root:?}"/proc/* "${root:?}"/sys/* "${root:?}"/run/*
: >"$root/etc/resolv.conf"
: >"$root/etc/hostname"
install -d -m 0700 "$root/root"
install -d -m 1777 "$root/tmp" "$root/var/tmp"

tar --numeric-owner --sort=name -C "$root" -czf "$out.partial" .
mv "$out.partial" "$out"
