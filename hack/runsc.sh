#!/usr/bin/env bash
# Install the strongest gVisor this host can run and register it in dockerd.
#
# Usage: hack/runsc.sh install [--force]   build (cached), probe, register, record
#        hack/runsc.sh build                only build the pinned runsc into the cache
#        hack/runsc.sh probe RUNTIME_NAME    run the network probe against a registered runtime
#        hack/runsc.sh show                 print $SANDHOLD_ETC_DIR/runsc.env
#
# Candidates, strongest first:
#   1. current runsc built from the Go module (pinned below), default netstack
#   2. the same binary with --network=host
#   3. Debian's /usr/bin/runsc with --network=host (its netstack fails on 6.x
#      kernels: "cannot run with network enabled in root network namespace")
# The first one that passes the probe becomes the `runsc` runtime. Debian's
# build stays registered as `runsc-debian` (--network=host) as the fallback.
# The choice is written to $SANDHOLD_ETC_DIR/runsc.env for `sandhold doctor`.
# Requires a running dockerd (hack/dockerd.sh start).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

# The gVisor `go` branch (the Go-buildable tree with generated files) as a
# pseudo-version from the module proxy. Bump deliberately: a new value rebuilds.
RUNSC_MODULE_VERSION="v0.0.0-20260905035102-160fafc42237"
RUNSC_INSTALL_PATH="/usr/local/bin/runsc"
DEBIAN_RUNSC="/usr/bin/runsc"
RUNSC_ENV="$SANDHOLD_ETC_DIR/runsc.env"
PROBE_RUNTIME="runsc-probe"
PROBE_IMAGE="sandhold/busybox:$SANDHOLD_VERSION"
PROBE_LABEL="dev.sandhold.hack=runsc-probe"
BUILT_RUNSC="$SANDHOLD_CACHE_DIR/runsc/$RUNSC_MODULE_VERSION/runsc"

# Build the pinned runsc once; the cache key is the module version.
build() {
  [[ -x "$BUILT_RUNSC" ]] && return 0
  command -v go >/dev/null || die "go is not installed; run hack/setup-host.sh"
  local out_dir start
  out_dir="$(dirname "$BUILT_RUNSC")"
  mkdir -p "$out_dir"
  start="$(now)"
  note "building runsc $RUNSC_MODULE_VERSION (takes a few minutes on 2 cores)"
  # Outside any module so the repo's go.mod plays no part; pure Go (systrap
  # needs no cgo); nice so the build does not starve the rest of the host.
  (cd / && run_logged runsc-build nice -n 10 env CGO_ENABLED=0 GOFLAGS=-mod=mod \
    GOBIN="$out_dir.partial" go install \
    -ldflags "-X gvisor.dev/gvisor/runsc/version.version=$RUNSC_MODULE_VERSION" \
    "gvisor.dev/gvisor/runsc@$RUNSC_MODULE_VERSION") ||
    die "building runsc $RUNSC_MODULE_VERSION failed; see $SANDHOLD_LOG_DIR/runsc-build.log"
  mv "$out_dir.partial/runsc" "$BUILT_RUNSC"
  rmdir "$out_dir.partial"
  # Builds of other pins are ~100 MB each and no longer used.
  find "$(dirname "$out_dir")" -mindepth 1 -maxdepth 1 ! -name "$RUNSC_MODULE_VERSION" -exec rm -rf {} +
  echo "runsc $RUNSC_MODULE_VERSION built in $(elapsed_since "$start")s" >>"$SANDHOLD_LOG_DIR/runsc-build.log"
  note "runsc built in $(elapsed_since "$start")s"
}

install_binary() {
  cmp -s "$BUILT_RUNSC" "$RUNSC_INSTALL_PATH" && return 0
  # install(1) writes a new inode: sandboxes running the old binary keep it.
  install -m 0755 "$BUILT_RUNSC" "$RUNSC_INSTALL_PATH"
}

# register NAME PATH [ARGS...] : set the runtime; SIGHUP dockerd if it changed.
register() {
  local changed
  changed="$(python3 hack/daemon_json.py set "$@")" || die "could not update $DOCKER_DAEMON_JSON"
  [[ "$changed" == unchanged ]] || hack/dockerd.sh reload
}

unregister() {
  local changed
  changed="$(python3 hack/daemon_json.py remove "$1")" || die "could not update $DOCKER_DAEMON_JSON"
  [[ "$changed" == unchanged ]] || hack/dockerd.sh reload
}

remove_probe_containers() {
  local ids
  ids="$(docker ps -aq --filter "label=$PROBE_LABEL")"
  # shellcheck disable=SC2086  # one container id per word
  [[ -z "$ids" ]] || docker rm -f $ids >/dev/null 2>&1 || true
}

# http_get HOST PORT : GET / from inside a probe container with busybox nc
# (Debian's static busybox wget segfaults, in every runtime).
probe_http_get() {
  docker run --rm --label "$PROBE_LABEL" --runtime "$1" "$PROBE_IMAGE" \
    sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 $2 $3 | tail -n 1"
}

# probe RUNTIME : exit 0 when RUNTIME runs a gVisor sandbox whose network
# works in every direction sandboxes need; log the evidence either way.
probe() {
  local rc=0
  remove_probe_containers
  probe_steps "$1" || rc=$?
  remove_probe_containers
  return "$rc"
}

probe_steps() {
  local runtime="$1" token="probe-$$-$RANDOM" server port ip got
  echo "--- probe $runtime $(date -u +%FT%TZ)"
  got="$(docker run --rm --label "$PROBE_LABEL" --runtime "$runtime" "$PROBE_IMAGE" dmesg 2>&1)" || {
    echo "FAIL start: $got"
    return 1
  }
  grep -q 'Starting gVisor' <<<"$got" || { echo "FAIL not gVisor: $got"; return 1; }
  echo "ok   kernel is gVisor"
  server="$(docker run -d --label "$PROBE_LABEL" --runtime "$runtime" -p 127.0.0.1::8080 "$PROBE_IMAGE" \
    sh -c "mkdir -p /w && echo $token >/w/index.html && exec httpd -f -p 8080 -h /w" 2>&1)" || {
    echo "FAIL server start: $server"
    return 1
  }
  port="$(docker port "$server" 8080/tcp | head -n 1 | sed 's/.*://')"
  ip="$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$server")"
  local tries
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    got="$(curl -s -m 3 "http://127.0.0.1:$port/" || true)"
    [[ "$got" == "$token" ]] && break
    sleep 0.5
  done
  [[ "$got" == "$token" ]] || { echo "FAIL host -> published port $port: '$got'"; return 1; }
  echo "ok   host -> published port (after $tries tries)"
  got="$(probe_http_get "$runtime" "$ip" 8080 2>&1)" || true
  [[ "$got" == "$token" ]] || { echo "FAIL sandbox -> sandbox $ip:8080: '$got'"; return 1; }
  echo "ok   sandbox -> sandbox"
  echo "PASS $runtime"
}

# try_candidate PATH NETWORK : register PATH as the probe runtime with the
# network mode NETWORK (sandbox|host) and probe it.
try_candidate() {
  local path="$1" network="$2" args=()
  [[ "$network" == host ]] && args=(--network=host)
  register "$PROBE_RUNTIME" "$path" "${args[@]}"
  local ok=0 log="$SANDHOLD_LOG_DIR/runsc-probe.log"
  mkdir -p "$SANDHOLD_LOG_DIR"
  probe "$PROBE_RUNTIME" >>"$log" 2>&1 || ok=1
  unregister "$PROBE_RUNTIME"
  if ((ok != 0)); then
    # A weaker choice must never be silent: say what failed, in one line.
    echo "warning: runsc candidate $path (network=$network) failed the probe: $(grep -m1 '^FAIL' <(tac "$log") | cut -c1-300); see $log" >&2
  fi
  return "$ok"
}

# registered_runtime NAME : "PATH ARGS..." as the running dockerd knows it.
registered_runtime() {
  docker info --format "{{with index .Runtimes \"$1\"}}{{.Path}} {{join .Args \" \"}}{{end}}" | xargs
}

runsc_version() { "$1" --version 2>/dev/null | awk 'NR==1 {print $3}'; }

write_env() {
  local path="$1" network="$2"
  mkdir -p "$SANDHOLD_ETC_DIR"
  cat >"$RUNSC_ENV.partial" <<EOF
# Written by hack/runsc.sh: the gVisor build registered as the docker runtime "runsc".
RUNSC_PATH=$path
RUNSC_VERSION=$(runsc_version "$path")
RUNSC_NETWORK=$network
RUNSC_SHA256=$(sha256sum "$path" | cut -c1-64)
RUNSC_KERNEL=$(uname -r)
RUNSC_FALLBACK_RUNTIME=runsc-debian
EOF
  mv "$RUNSC_ENV.partial" "$RUNSC_ENV"
}

# The recorded choice still holds: same binary, same kernel, still registered.
choice_is_current() {
  [[ -f "$RUNSC_ENV" ]] || return 1
  local RUNSC_PATH="" RUNSC_NETWORK="" RUNSC_SHA256="" RUNSC_KERNEL=""
  # shellcheck disable=SC1090
  source "$RUNSC_ENV"
  [[ -x "$RUNSC_PATH" && "$RUNSC_KERNEL" == "$(uname -r)" ]] || return 1
  [[ "$(sha256sum "$RUNSC_PATH" | cut -c1-64)" == "$RUNSC_SHA256" ]] || return 1
  local want="$RUNSC_PATH"
  [[ "$RUNSC_NETWORK" == host ]] && want+=" --network=host"
  [[ "$(registered_runtime runsc)" == "$want" ]]
}

install_all() {
  local force="${1:-}"
  require_root
  docker_ready || die "dockerd does not answer; start it with hack/dockerd.sh start"
  [[ -x "$DEBIAN_RUNSC" ]] || die "$DEBIAN_RUNSC is missing; run hack/setup-host.sh (or apt-get install runsc)"
  register runsc-debian "$DEBIAN_RUNSC" --network=host
  build
  install_binary
  if [[ "$force" != --force ]] && choice_is_current; then
    note "runsc choice unchanged: $(grep -E '^RUNSC_(PATH|NETWORK)=' "$RUNSC_ENV" | xargs)"
    return 0
  fi
  docker image inspect "$PROBE_IMAGE" >/dev/null 2>&1 || hack/build-images.sh busybox
  local path network
  for candidate in "$RUNSC_INSTALL_PATH sandbox" "$RUNSC_INSTALL_PATH host" "$DEBIAN_RUNSC host"; do
    read -r path network <<<"$candidate"
    if try_candidate "$path" "$network"; then
      local args=()
      [[ "$network" == host ]] && args=(--network=host)
      register runsc "$path" "${args[@]}"
      write_env "$path" "$network"
      note "runsc = $path ($(runsc_version "$path")), network=$network"
      return 0
    fi
  done
  die "no runsc build passed the probe (see $SANDHOLD_LOG_DIR/runsc-probe.log); 'runsc' left as it was"
}

case "${1:-}" in
  install) install_all "${2:-}" ;;
  build) build ;;
  probe)
    [[ -n "${2:-}" ]] || die "usage: hack/runsc.sh probe RUNTIME_NAME"
    probe "$2"
    ;;
  show) cat "$RUNSC_ENV" 2>/dev/null || die "$RUNSC_ENV does not exist; run hack/runsc.sh install" ;;
  *) die "usage: hack/runsc.sh install [--force]|build|probe RUNTIME|show" ;;
esac
