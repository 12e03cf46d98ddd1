#!/usr/bin/env bash
# Make this Debian 12 host ready to run and test Sandhold. Idempotent: each
# step checks first and does nothing when its result is already in place, so
# a re-run on a prepared host takes seconds.
#
#   1. apt packages that are missing (apt-get update only if something is)
#   2. Go >= $GO_MIN (else the pinned toolchain from the Go module proxy)
#   3. Python >= 3.11 and `pip install -e '.[test,kubernetes]'`
#   4. dockerd running (hack/dockerd.sh start), Debian's runsc registered
#   5. the current runsc built, probed and registered (hack/runsc.sh install)
#   6. the local images (hack/build-images.sh all)
#
# Usage: hack/setup-host.sh [--quiet]   (--quiet: no summary at the end)
# Logs: $SANDHOLD_LOG_DIR (/var/log/sandhold); caches: $SANDHOLD_CACHE_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

# Why each package: docker.io (dockerd, containerd, runc), runsc (Debian's
# gVisor, the fallback), debootstrap (sandhold/base), busybox-static
# (sandhold/busybox), docker-registry + apache2-utils (a local registry with
# htpasswd auth for image-pull tests), iproute2/procps/curl (probes, pidof).
APT_PACKAGES=(docker.io runsc debootstrap busybox-static docker-registry apache2-utils
  iproute2 procps curl ca-certificates)
GO_MIN="1.21"             # first Go that fetches a newer toolchain when a go.mod asks for one
GO_FALLBACK="go1.26.8"    # installed to $GO_INSTALL_DIR only when no usable go exists
GO_INSTALL_DIR="${GO_INSTALL_DIR:-/usr/local/go}"
PYTHON_MIN="3.11"

step() {
  local name="$1" start
  shift
  start="$(now)"
  "$@"
  note "$name: $(elapsed_since "$start")s"
  SETUP_TIMINGS+=("$name=$(elapsed_since "$start")s")
}

ensure_apt_packages() { apt_install "${APT_PACKAGES[@]}"; }

# version_at_least HAVE WANT : dotted versions, numerically.
version_at_least() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" == "$2" ]]; }

go_version() { go env GOVERSION 2>/dev/null | sed 's/^go//'; }

# Go from the module proxy's golang.org/toolchain module: the same archive
# `go` itself downloads when a go.mod needs a newer toolchain.
install_go_toolchain() {
  apt_install unzip
  local arch zip tmp
  arch="$(dpkg --print-architecture)"
  zip="v0.0.1-$GO_FALLBACK.linux-$arch.zip"
  tmp="$(mktemp -d)"
  run_logged go-install curl -fsSL -o "$tmp/go.zip" \
    "https://proxy.golang.org/golang.org/toolchain/@v/$zip" ||
    die "downloading Go $GO_FALLBACK from proxy.golang.org failed; install Go >= $GO_MIN into $GO_INSTALL_DIR by hand"
  run_logged go-install unzip -q "$tmp/go.zip" -d "$tmp"
  rm -rf "$GO_INSTALL_DIR"
  mv "$tmp/golang.org/toolchain@v0.0.1-$GO_FALLBACK.linux-$arch" "$GO_INSTALL_DIR"
  rm -rf "$tmp"
}

# make and later scripts may run with a PATH that lacks $GO_INSTALL_DIR/bin.
link_go_into_path() {
  ln -sf "$GO_INSTALL_DIR/bin/go" /usr/local/bin/go
  ln -sf "$GO_INSTALL_DIR/bin/gofmt" /usr/local/bin/gofmt
}

ensure_go() {
  if ! command -v go >/dev/null && [[ -x "$GO_INSTALL_DIR/bin/go" ]]; then
    link_go_into_path
  fi
  if command -v go >/dev/null && version_at_least "$(go_version)" "$GO_MIN"; then
    return 0
  fi
  note "go missing or older than $GO_MIN: installing $GO_FALLBACK into $GO_INSTALL_DIR"
  install_go_toolchain
  link_go_into_path
  hash -r
  version_at_least "$(go_version)" "$GO_MIN" ||
    die "Go $GO_FALLBACK installed but 'go' reports '$(go_version)': an older go comes first in PATH ($(command -v go))"
}

python_ok() {
  python3 -c "import sys; sys.exit(sys.version_info < tuple(map(int, '$PYTHON_MIN'.split('.'))))" 2>/dev/null
}

# pip refuses to touch Debian's own python3 (PEP 668) unless told to; a
# pyenv/venv/self-built python has no such marker.
pip_system_flag() {
  python3 - <<'EOF'
import pathlib, sysconfig
marker = pathlib.Path(sysconfig.get_path("stdlib")) / "EXTERNALLY-MANAGED"
print("--break-system-packages" if marker.exists() else "")
EOF
}

ensure_python() {
  if ! python_ok; then
    apt_install python3 python3-pip python3-venv
    python_ok || die "python3 >= $PYTHON_MIN is required; '$(python3 --version 2>&1)' found"
  fi
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  # Re-install only when the dependency list, the checkout or the interpreter changed.
  local stamp
  stamp="$SANDHOLD_CACHE_DIR/pip-$(recipe_hash pyproject.toml "root=$SANDHOLD_ROOT" "python=$(command -v python3)").stamp"
  if [[ -f "$stamp" ]] && python3 -c 'import sandhold' 2>/dev/null; then
    return 0
  fi
  local flags
  flags="$(pip_system_flag)"
  # shellcheck disable=SC2086  # $flags is empty or one word
  run_logged pip python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
    $flags -e ".[test,kubernetes]" ||
    die "pip install -e '.[test,kubernetes]' failed; see $SANDHOLD_LOG_DIR/pip.log"
  mkdir -p "$SANDHOLD_CACHE_DIR"
  find "$SANDHOLD_CACHE_DIR" -maxdepth 1 -name 'pip-*.stamp' -delete
  touch "$stamp"
}

# dockerd needs at least one valid gVisor entry before the probe replaces it:
# Debian's build with --network=host is known to work on these hosts.
ensure_dockerd() {
  if ! docker_ready && [[ ! -s "$DOCKER_DAEMON_JSON" ]]; then
    python3 hack/daemon_json.py set runsc /usr/bin/runsc --network=host >/dev/null
  fi
  hack/dockerd.sh start
}

summary() {
  local env="$SANDHOLD_ETC_DIR/runsc.env" RUNSC_PATH="?" RUNSC_VERSION="?" RUNSC_NETWORK="?"
  # shellcheck disable=SC1090
  [[ -f "$env" ]] && source "$env"
  echo "sandhold host ready:"
  echo "  dockerd   $(docker version --format '{{.Server.Version}}' 2>/dev/null) (log $SANDHOLD_LOG_DIR/dockerd.log)"
  echo "  runtimes  $(docker info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}' 2>/dev/null)"
  echo "  runsc     $RUNSC_PATH $RUNSC_VERSION network=$RUNSC_NETWORK (fallback: runsc-debian $(/usr/bin/runsc --version 2>/dev/null | awk 'NR==1 {print $3}') network=host)"
  echo "  images    $(docker images --format '{{.Repository}}:{{.Tag}}' --filter "reference=sandhold/*:$SANDHOLD_VERSION" | sort | xargs)"
  echo "  go        $(go_version)   python $(python3 -c 'import platform; print(platform.python_version())')"
  echo "  timings   ${SETUP_TIMINGS[*]}"
}

main() {
  require_root
  mkdir -p "$SANDHOLD_LOG_DIR" "$SANDHOLD_CACHE_DIR"
  SETUP_TIMINGS=()
  step apt ensure_apt_packages
  step go ensure_go
  step python ensure_python
  step dockerd ensure_dockerd
  step images-busybox hack/build-images.sh busybox
  step runsc hack/runsc.sh install
  step images hack/build-images.sh all
  [[ "${1:-}" == --quiet ]] || summary
}

main "$@"
