#!/usr/bin/env bash
# Build the local images every sandbox starts from (no registry is needed):
#   base     sandhold/base:<VERSION>     Debian minbase + bash, python3, procps
#   busybox  sandhold/busybox:<VERSION>  busybox-static
#   execd    sandhold/execd:<VERSION>    via execd/build.sh
#
# Usage: hack/build-images.sh [base|busybox|execd|all]   (default: all)
#
# Each image carries the hash of its recipe (label $RECIPE_LABEL); an image
# with the current hash is left alone. Rootfs tarballs are cached under
# $SANDHOLD_CACHE_DIR/images/ by the same hash, so a re-import takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

IMAGE_CACHE="$SANDHOLD_CACHE_DIR/images"

usage() { die "usage: hack/build-images.sh [base|busybox|execd|all]"; }

# image_is_current IMAGE HASH : the image exists and was built from HASH.
image_is_current() {
  local have
  have="$(docker image inspect --format "{{ index .Config.Labels \"$RECIPE_LABEL\" }}" "$1" 2>/dev/null)" || return 1
  [[ "$have" == "$2" ]]
}

# import_rootfs TARBALL IMAGE HASH CHANGES_FILE : docker import with the
# Dockerfile instructions from CHANGES_FILE plus the recipe label.
import_rootfs() {
  local tarball="$1" image="$2" hash="$3" changes_file="$4" line
  local args=(--change "LABEL $RECIPE_LABEL=$hash" --change "LABEL dev.sandhold.version=$SANDHOLD_VERSION")
  while IFS= read -r line; do
    [[ -z "$line" || "$line" == \#* ]] || args+=(--change "$line")
  done <"$changes_file"
  run_logged build-images docker import "${args[@]}" "$tarball" "$image" ||
    die "docker import of $tarball as $image failed; see $SANDHOLD_LOG_DIR/build-images.log"
}

# build_rootfs_image NAME HASH BUILD_CMD... : reuse the image or the cached
# tarball for HASH; otherwise run BUILD_CMD with the tarball path appended.
build_rootfs_image() {
  local name="$1" hash="$2"
  shift 2
  local image="sandhold/$name:$SANDHOLD_VERSION"
  local tarball="$IMAGE_CACHE/$name-$hash.tar.gz"
  if image_is_current "$image" "$hash"; then
    note "$image is current ($hash)"
    return 0
  fi
  mkdir -p "$IMAGE_CACHE"
  if [[ ! -s "$tarball" ]]; then
    local start
    start="$(now)"
    run_logged "image-$name" "$@" "$tarball" ||
      die "building the $name rootfs failed; see $SANDHOLD_LOG_DIR/image-$name.log"
    note "$name rootfs built in $(elapsed_since "$start")s"
    # Older tarballs of this image are from recipes no longer in use.
    find "$IMAGE_CACHE" -name "$name-*.tar.gz" ! -name "$name-$hash.tar.gz" -delete
  fi
  import_rootfs "$tarball" "$image" "$hash" "images/$name/import.changes"
  note "$image imported ($hash)"
}

build_base() {
  local mirror suite
  mirror="$(debian_mirror)" || die "no Debian mirror for this release found in /etc/apt/sources.list*; add one"
  suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
  command -v debootstrap >/dev/null || die "debootstrap is missing; run hack/setup-host.sh (or apt-get install debootstrap)"
  # The mirror is left out of the hash: any mirror of the suite gives the same image.
  local hash
  hash="$(recipe_hash images/base/* "suite=$suite")"
  build_rootfs_image base "$hash" images/base/rootfs.sh "$mirror" "$suite"
}

build_busybox() {
  if [[ ! -x /bin/busybox ]] || ! dpkg-query -W busybox-static >/dev/null 2>&1; then
    die "busybox-static is missing; run hack/setup-host.sh (or apt-get install busybox-static)"
  fi
  local hash
  hash="$(recipe_hash images/busybox/* "busybox-static=$(dpkg-query -W -f='${Version}' busybox-static)")"
  build_rootfs_image busybox "$hash" images/busybox/rootfs.sh
}

build_execd() {
  if [[ ! -f execd/build.sh ]]; then
    note "execd/build.sh not present yet: sandhold/execd not built"
    return 0
  fi
  run_logged image-execd bash execd/build.sh ||
    die "execd/build.sh failed; see $SANDHOLD_LOG_DIR/image-execd.log"
}

main() {
  local what="${1:-all}"
  [[ $# -le 1 ]] || usage
  require_root
  docker_ready || die "dockerd does not answer; start it with hack/dockerd.sh start"
  case "$what" in
    base) build_base ;;
    busybox) build_busybox ;;
    execd) build_execd ;;
    all) build_busybox && build_base && build_execd ;;
    *) usage ;;
  esac
}

main "$@"
