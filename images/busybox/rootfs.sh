#!/usr/bin/env bash
# Build the sandhold/busybox rootfs from the host's busybox-static: the binary
# in /bin with one symlink per applet, root in passwd/group, /tmp and /root.
# Usage: images/busybox/rootfs.sh OUT.tar.gz
set -euo pipefail
out="$1"
work="$(mktemp -d "${TMPDIR:-/var/tmp}/sandhold-busybox.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

install -d -m 0755 "$root/bin" "$root/etc"
install -d -m 0755 "$root/root"
install -d -m 1777 "$root/tmp"
# -L: /bin/busybox may be a symlink on merged-/usr hosts; copy the binary.
cp -L /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  # Linking busybox to itself would replace the binary with a loop.
  [[ "$applet" == busybox ]] && continue
  ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

tar --numeric-owner --sort=name -C "$root" -czf "$out.partial" .
mv "$out.partial" "$out"
