#!/usr/bin/env bash
# Build the static execd binary (execd/bin/execd) and the FROM-scratch image
# sandhold/execd:<VERSION>. Idempotent: rebuilding an unchanged tree leaves
# the same binary and reuses Docker's layer cache.
#   execd/build.sh           binary + image
#   execd/build.sh binary    binary only
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
VERSION="$(cat ../VERSION)"
IMAGE="sandhold/execd:${VERSION}"

build_binary() {
  mkdir -p bin
  CGO_ENABLED=0 GOOS=linux go build -trimpath \
    -ldflags "-s -w -X main.version=${VERSION}" -o bin/execd ./cmd/execd
  echo "built bin/execd ($(stat -c %s bin/execd) bytes, version ${VERSION})"
}

build_image() {
  docker build -q -t "${IMAGE}" -f Dockerfile . >/dev/null
  echo "built image ${IMAGE}"
}

case "${1:-all}" in
  binary) build_binary ;;
  image) build_image ;;
  all) build_binary; build_image ;;
  *) echo "usage: $0 [all|binary|image]" >&2; exit 2 ;;
esac
