#!/usr/bin/env bash
# Build sandhold/controller:<VERSION>, the image of deploy/controller/deployment.yaml,
# without a registry and without network access inside the build:
#   1. build the sandhold wheel and `pip install --target` it with the
#      `kubernetes` extra on the host, as binary wheels for the base image's
#      interpreter (CPython 3.11, glibc of Debian 12);
#   2. `docker build` deploy/controller/Dockerfile FROM sandhold/base:<VERSION>
#      with that directory as PYTHONPATH (build context: _output/controller-image);
#   3. check that the compiled extensions import inside the image.
# The image carries the hash of its inputs (label $RECIPE_LABEL): when the
# sources, pyproject.toml, the Dockerfile, this script and the base image are
# unchanged, nothing is rebuilt.
#
# Usage: hack/build-controller-image.sh [--load]
#   --load  also copy the image into the local cluster's containerd
#           (hack/cluster/load-images.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

IMAGE="sandhold/controller:$SANDHOLD_VERSION"
BASE="sandhold/base:$SANDHOLD_VERSION"
CONTEXT="_output/controller-image"
DOCKERFILE="deploy/controller/Dockerfile"
PYTHON="${PYTHON:-python3}"
# The base image's interpreter and C library: wheels are chosen for these.
PY_VERSION="3.11"
# pip matches --platform tags exactly: list every manylinux tag glibc 2.36 runs.
ARCH="$(uname -m)"
PLATFORMS=(manylinux1 manylinux2010 manylinux2014)
for minor in $(seq 5 36); do PLATFORMS+=("manylinux_2_$minor"); done
PLATFORMS=("${PLATFORMS[@]/%/_$ARCH}")
# Imported inside the image after a build: every compiled dependency the
# controller loads, and the controller itself.
SMOKE_IMPORTS="pydantic_core, yaml, kopf, kubernetes, aiohttp, sandhold.cli, sandhold.controller"

load=0
case "${1:-}" in
  "") ;;
  --load) load=1 ;;
  *) die "usage: hack/build-controller-image.sh [--load]" ;;
esac

if ! command -v docker >/dev/null || ! docker version >/dev/null 2>&1; then
  die "dockerd is not reachable; start it (hack/dockerd.sh)"
fi
base_id="$(docker image inspect --format '{{.Id}}' "$BASE" 2>/dev/null)" ||
  die "$BASE is not in dockerd; build it with hack/build-images.sh base"

# Everything the image is made of; __pycache__ and editable-install leftovers excluded.
hash="$(
  {
    echo "$base_id $PY_VERSION ${PLATFORMS[*]}"
    sha256sum pyproject.toml README.md "$DOCKERFILE" hack/build-controller-image.sh
    find src -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
)"

have="$(docker image inspect --format "{{ index .Config.Labels \"$RECIPE_LABEL\" }}" "$IMAGE" 2>/dev/null || true)"
if [[ "$have" == "$hash" ]]; then
  note "$IMAGE is current ($hash)"
else
  start="$(now)"
  "$PYTHON" -m pip --version >/dev/null 2>&1 || die "$PYTHON has no pip; set PYTHON=/path/to/python3 with pip"
  rm -rf "$CONTEXT"
  mkdir -p "$CONTEXT/project" "$CONTEXT/wheels"
  # Build the wheel from a copy, so no build/ or *.egg-info lands in the tree.
  cp -r pyproject.toml README.md "$CONTEXT/project/"
  tar -C . --exclude=__pycache__ --exclude='*.egg-info' -cf - src | tar -C "$CONTEXT/project" -xf -
  run_logged controller-image "$PYTHON" -m pip wheel --no-deps --quiet \
    --wheel-dir "$CONTEXT/wheels" "$CONTEXT/project" ||
    die "building the sandhold wheel failed; see $SANDHOLD_LOG_DIR/controller-image.log"
  wheel="$(echo "$CONTEXT"/wheels/sandhold-*.whl)"
  [[ -f "$wheel" ]] || die "no sandhold wheel in $CONTEXT/wheels"
  # Binary wheels for the image's interpreter, whatever the host's patch level;
  # .pyc files are compiled by the image's own python3 (Dockerfile).
  run_logged controller-image "$PYTHON" -m pip install --quiet --no-compile \
    --disable-pip-version-check --target "$CONTEXT/site" \
    --only-binary=:all: --implementation cp --python-version "$PY_VERSION" \
    --abi "cp${PY_VERSION/./}" "${PLATFORMS[@]/#/--platform=}" \
    "${wheel}[kubernetes]" ||
    die "pip install of the controller's dependencies failed; see $SANDHOLD_LOG_DIR/controller-image.log"
  rm -rf "$CONTEXT/project" "$CONTEXT/wheels" "$CONTEXT/site/bin"
  cp "$DOCKERFILE" "$CONTEXT/Dockerfile"
  run_logged controller-image docker build --quiet \
    --build-arg "VERSION=$SANDHOLD_VERSION" --label "$RECIPE_LABEL=$hash" \
    --label "dev.sandhold.version=$SANDHOLD_VERSION" -t "$IMAGE" "$CONTEXT" ||
    die "docker build of $IMAGE failed; see $SANDHOLD_LOG_DIR/controller-image.log"
  run_logged controller-image docker run --rm --network none --entrypoint python3 "$IMAGE" \
    -c "import $SMOKE_IMPORTS" ||
    die "$IMAGE cannot import its dependencies; see $SANDHOLD_LOG_DIR/controller-image.log"
  note "$IMAGE built in $(elapsed_since "$start")s"
fi

if ((load)); then
  hack/cluster/load-images.sh "$IMAGE"
fi
