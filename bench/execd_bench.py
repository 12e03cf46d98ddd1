"""execd footprint and latency: binary size, idle RSS, /ping and commands.run.

Starts one busybox container per runtime exactly as a sandbox runs execd
(``execd init -- tail -f /dev/null``, binary bind-mounted read-only, token
in the environment), then measures:

- the static binary's size;
- idle RSS (``VmRSS`` from ``/proc/<pid>/status``, read with ``docker exec``)
  of the execd server and of ``execd init``, after ``--settle`` seconds idle,
  with busybox ``tail -f /dev/null`` as a reference: gVisor's per-process
  VmRSS is coarser than Linux's (tail alone shows ~4 MB there);
- ``GET /ping`` round trip over a kept-alive connection (p50/p90);
- ``commands.run("echo hi")`` through the official SDK's command adapter
  pointed straight at execd (no lifecycle server in the path).

Usage: python bench/execd_bench.py [--runtimes runc,runsc] [--pings 200] [--runs 50]
Build the binary first: execd/build.sh binary. Containers are labelled
``sandhold.bench=execd`` and removed at the end.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
VERSION = (ROOT / "VERSION").read_text().strip()
BINARY = ROOT / "execd" / "bin" / "execd"
IMAGE = f"sandhold/busybox:{VERSION}"
LABEL = "sandhold.bench=execd"


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def start_container(runtime: str, token: str) -> tuple[str, int]:
    """Run the sandbox-like container; return (container id, published port)."""
    cid = docker(
        "run",
        "-d",
        "--rm",
        "--label",
        LABEL,
        "--runtime",
        runtime,
        "-e",
        f"EXECD_ACCESS_TOKEN={token}",
        "-v",
        f"{BINARY}:/opt/sandhold/bin/execd:ro",
        "-p",
        "127.0.0.1::44772",
        IMAGE,
        "/opt/sandhold/bin/execd",
        "init",
        "--",
        "tail",
        "-f",
        "/dev/null",
    ).strip()
    port = int(docker("port", cid, "44772/tcp").splitlines()[0].rsplit(":", 1)[1])
    return cid, port


def wait_ready(port: int, token: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/ping", headers=headers(token), timeout=1)
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"execd on port {port} not ready after {timeout}s")


def headers(token: str) -> dict[str, str]:
    return {"X-EXECD-ACCESS-TOKEN": token}


RSS_SCRIPT = r"""
for d in /proc/[0-9]*; do
  cmd=$(tr '\0' ' ' < $d/cmdline 2>/dev/null)
  case "$cmd" in
    "/opt/sandhold/bin/execd init "*) role=init ;;
    "/opt/sandhold/bin/execd --port "*) role=server ;;
    "tail -f /dev/null "*) role=reference_tail ;;
    *) continue ;;
  esac
  echo "$role $(awk '/^VmRSS/ {print $2}' $d/status)"
done
"""


def idle_rss_kib(cid: str) -> dict[str, int]:
    out = docker("exec", cid, "sh", "-c", RSS_SCRIPT)
    return {role: int(kib) for role, kib in (line.split() for line in out.splitlines())}


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples_s)
    return {
        "p50_ms": round(statistics.median(ms), 3),
        "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 3),
        "n": len(ms),
    }


def bench_ping(port: int, token: str, n: int) -> dict[str, float]:
    samples = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers(token)) as client:
        client.get("/ping")  # open the connection outside the measurement
        for _ in range(n):
            t0 = time.perf_counter()
            client.get("/ping").raise_for_status()
            samples.append(time.perf_counter() - t0)
    return percentiles(samples)


def bench_sdk_run(port: int, token: str, n: int) -> dict[str, float]:
    from datetime import timedelta

    from opensandbox.config import ConnectionConfigSync
    from opensandbox.models.sandboxes import SandboxEndpoint
    from opensandbox.sync.adapters.command_adapter import CommandsAdapterSync

    conn = ConnectionConfigSync(domain="127.0.0.1:1", request_timeout=timedelta(seconds=30))
    endpoint = SandboxEndpoint(endpoint=f"127.0.0.1:{port}", headers=headers(token))
    commands = CommandsAdapterSync(conn.with_transport_if_missing(), endpoint)
    commands.run("echo warm")
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        ex = commands.run("echo hi")
        samples.append(time.perf_counter() - t0)
        if [m.text for m in ex.logs.stdout] != ["hi"] or ex.exit_code != 0:
            raise RuntimeError(f"unexpected result: {ex}")
    return percentiles(samples)


def bench_runtime(runtime: str, args: argparse.Namespace) -> dict[str, object]:
    token = secrets.token_urlsafe(24)
    cid, port = start_container(runtime, token)
    try:
        wait_ready(port, token)
        time.sleep(args.settle)
        rss = idle_rss_kib(cid)
        return {
            "idle_rss_kib": rss,
            "ping": bench_ping(port, token, args.pings),
            "sdk_run_echo": bench_sdk_run(port, token, args.runs),
        }
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtimes", default="runc,runsc")
    parser.add_argument("--pings", type=int, default=200)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--settle", type=float, default=3.0, help="idle seconds before RSS")
    args = parser.parse_args()
    if not BINARY.exists():
        raise SystemExit(f"{BINARY} is missing: run execd/build.sh binary")
    result: dict[str, object] = {"binary_bytes": BINARY.stat().st_size, "version": VERSION}
    for runtime in args.runtimes.split(","):
        result[runtime] = bench_runtime(runtime, args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
