#!/usr/bin/env bash
# Run dockerd on a host without systemd.
#
# Usage: hack/dockerd.sh start|stop|status|reload
#   start   start dockerd in the background unless one runs; wait until it answers
#   stop    stop the dockerd this host runs (TERM, then wait)
#   status  exit 0 and print the version if dockerd answers, exit 1 otherwise
#   reload  SIGHUP dockerd so it re-reads daemon.json (runtimes change live)
#
# dockerd starts and supervises its own containerd (no system containerd
# service is needed). Its log is $SANDHOLD_LOG_DIR/dockerd.log.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

DOCKERD_LOG="$SANDHOLD_LOG_DIR/dockerd.log"
START_TIMEOUT_S="${DOCKERD_START_TIMEOUT_S:-60}" # a cold start takes ~2 s; 60 s is a hung daemon
STOP_TIMEOUT_S=30 # dockerd waits up to 15 s per live container by default

dockerd_pid() { { pidof dockerd 2>/dev/null || true; } | awk '{print $1}'; }

# wait_until_ready PID : until `docker info` answers, PID dies, or the timeout.
wait_until_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT_S))
  until docker_ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      die "dockerd exited during startup; last lines of $DOCKERD_LOG: $(tail -n 3 "$DOCKERD_LOG" | tr '\n' ' ')"
    fi
    ((SECONDS < deadline)) || die "dockerd did not answer 'docker info' within ${START_TIMEOUT_S}s; see $DOCKERD_LOG"
    sleep 0.5
  done
}

start() {
  require_root
  command -v dockerd >/dev/null || die "dockerd is not installed; run hack/setup-host.sh (or apt-get install docker.io)"
  local pid
  pid="$(dockerd_pid)"
  if [[ -n "$pid" ]]; then
    wait_until_ready "$pid"
    return 0
  fi
  mkdir -p "$SANDHOLD_LOG_DIR"
  # A stale pid file from a killed daemon makes dockerd refuse to start.
  if [[ -f /run/docker.pid ]] && ! kill -0 "$(cat /run/docker.pid)" 2>/dev/null; then
    rm -f /run/docker.pid
  fi
  echo "--- $(date -u +%FT%TZ) hack/dockerd.sh start" >>"$DOCKERD_LOG"
  # setsid: the daemon must outlive the shell (and CI step) that started it.
  # Its pid is watched directly: pidof misses it until the exec completes.
  setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  wait_until_ready "$!"
  note "dockerd $(docker version --format '{{.Server.Version}}') started (log: $DOCKERD_LOG)"
}

stop() {
  require_root
  local pid
  pid="$(dockerd_pid)"
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid"
  local deadline=$((SECONDS + STOP_TIMEOUT_S))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || die "dockerd (pid $pid) still runs ${STOP_TIMEOUT_S}s after TERM; see $DOCKERD_LOG"
    sleep 0.5
  done
}

status() {
  if docker_ready; then
    echo "dockerd $(docker version --format '{{.Server.Version}}') running (pid $(dockerd_pid))"
  else
    echo "dockerd not running or not answering" >&2
    return 1
  fi
}

reload() {
  require_root
  local pid
  pid="$(dockerd_pid)"
  [[ -n "$pid" ]] || die "dockerd is not running; start it with hack/dockerd.sh start"
  kill -HUP "$pid"
  # The reload is asynchronous: give dockerd a moment so the next command sees it.
  sleep 1
  docker_ready || die "dockerd stopped answering after SIGHUP; see $DOCKERD_LOG"
}

case "${1:-}" in
  start | stop | status | reload) "$1" ;;
  *) die "usage: hack/dockerd.sh start|stop|status|reload" ;;
esac
