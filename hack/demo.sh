#!/usr/bin/env bash
# The main job, end to end: start a Sandhold server in Docker mode with
# gVisor, create a sandbox with the official OpenSandbox SDK, run code in it,
# print the output, clean up. Assumes `make setup` ran (make demo does it).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

workdir="_output/demo"
mkdir -p "$workdir"
config="$workdir/sandbox.toml"
port="${SANDHOLD_DEMO_PORT:-8080}"
api_key="demo-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

sandhold init-config --example docker-gvisor --output "$config" --force 2>/dev/null
sed -i "s/^port = .*/port = $port/; s/^# api_key = .*/api_key = \"$api_key\"/" "$config"

log="$workdir/server.log"
sandhold serve --config "$config" >"$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 300); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    tail -n 20 "$log" >&2
    die "the server exited during startup (full log: $log)"
  fi
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/health" >/dev/null || die "the server did not answer on :$port (log: $log)"

OPEN_SANDBOX_DOMAIN="127.0.0.1:$port" OPEN_SANDBOX_API_KEY="$api_key" \
  python3 hack/demo.py
