"""Time from ``Sandbox.create()`` to the first command output, per runtime.

For each runtime it starts a real ``sandhold serve`` and measures, over N
runs, the wall time from calling the official SDK's ``SandboxSync.create`` to
having the output of ``commands.run("echo ok")``. Next to it, the engine's
own floor on the same image: ``docker run -d`` followed by ``docker exec
echo ok``. It also samples the idle memory of one sandbox per runtime
(the container's cgroup usage after it settled).

Usage: python3 bench/lifecycle_bench.py [--runs 20] [--runtimes runc,runsc]
Writes bench/results/lifecycle.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers import BUSYBOX_IMAGE, ServerProcess, runtime_sections  # noqa: E402


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p95_ms": round(percentile(values, 95) * 1000, 1),
        "min_ms": round(min(values) * 1000, 1),
    }


def time_sdk_create_to_exec(server: ServerProcess, image: str, runs: int) -> list[float]:
    from opensandbox.sync import SandboxSync

    conn = server.connection()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        sandbox = SandboxSync.create(image, connection_config=conn)
        out = sandbox.commands.run("echo ok")
        elapsed = time.perf_counter() - start
        assert [m.text for m in out.logs.stdout] == ["ok"], out
        samples.append(elapsed)
        sandbox.kill()
        sandbox.close()
    return samples


def time_docker_floor(image: str, runtime: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        cid = subprocess.run(
            ["docker", "run", "-d", "--runtime", runtime, image, "tail", "-f", "/dev/null"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        out = subprocess.run(
            ["docker", "exec", cid, "echo", "ok"], check=True, capture_output=True, text=True
        ).stdout
        elapsed = time.perf_counter() - start
        assert out.strip() == "ok"
        samples.append(elapsed)
        subprocess.run(["docker", "rm", "-f", cid], check=True, capture_output=True)
    return samples


def idle_memory_mib(server: ServerProcess, image: str, settle: float = 5.0) -> float:
    """cgroup memory of one idle sandbox (execd + entrypoint + runtime inside it)."""
    import docker
    from opensandbox.sync import SandboxSync

    sandbox = SandboxSync.create(image, connection_config=server.connection())
    try:
        time.sleep(settle)
        client = docker.from_env()
        (container,) = client.containers.list(
            filters={"label": f"sandhold.dev/sandbox-id={sandbox.id}"}
        )
        stats = container.stats(stream=False)
        mem = stats["memory_stats"]
        cache = mem.get("stats", {}).get("cache", 0)
        return round((mem["usage"] - cache) / 2**20, 1)
    finally:
        sandbox.kill()
        sandbox.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--runtimes", default="runc,runsc")
    parser.add_argument("--image", default=BUSYBOX_IMAGE)
    args = parser.parse_args()

    results: dict[str, dict] = {}
    for runtime in args.runtimes.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            server = ServerProcess(workdir=Path(tmp), sections=runtime_sections(runtime))
            server.start()
            try:
                time_sdk_create_to_exec(server, args.image, 2)  # warm caches
                sdk = time_sdk_create_to_exec(server, args.image, args.runs)
                memory = idle_memory_mib(server, args.image)
            finally:
                server.delete_all_sandboxes()
                server.stop()
        floor = time_docker_floor(args.image, runtime, args.runs)
        results[runtime] = {
            "sdk_create_to_first_exec": summary(sdk),
            "docker_run_then_exec": summary(floor),
            "idle_sandbox_memory_mib": memory,
        }

    out = ROOT / "bench/results/lifecycle.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"image": args.image, "runs": args.runs, "results": results}
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"image {args.image}, {args.runs} runs each\n")
    print(
        "| runtime | SDK create → first exec p50 / p95 "
        "| docker run -d + exec p50 / p95 | idle sandbox memory |"
    )
    print("|---|---|---|---|")
    for runtime, r in results.items():
        s, f = r["sdk_create_to_first_exec"], r["docker_run_then_exec"]
        print(
            f"| {runtime} | {s['p50_ms']} / {s['p95_ms']} ms | {f['p50_ms']} / {f['p95_ms']} ms "
            f"| {r['idle_sandbox_memory_mib']} MiB |"
        )


if __name__ == "__main__":
    main()
