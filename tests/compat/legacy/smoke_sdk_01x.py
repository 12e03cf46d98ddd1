"""Drive a real server through an older OpenSandbox Python SDK (0.1.x).

Run with the interpreter of a virtualenv holding ``opensandbox==0.1.x``; it
reads ``OPEN_SANDBOX_DOMAIN`` and ``OPEN_SANDBOX_API_KEY`` (and ``SMOKE_IMAGE``,
default ``sandhold/base:0.1.0``). The round runs twice: reaching execd
directly and through the server proxy. Any difference prints a ``MISMATCH:``
line and exits 1; success prints ``OK:``.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from opensandbox.config.connection_sync import ConnectionConfigSync
from opensandbox.models.sandboxes import SandboxFilter
from opensandbox.sync import SandboxManagerSync, SandboxSync

IMAGE = os.environ.get("SMOKE_IMAGE", "sandhold/base:0.1.0")
ENTRYPOINT = ["/bin/sh", "-c", "echo entry-ran > /tmp/entry.txt; exec tail -f /dev/null"]
LIFETIME = timedelta(seconds=86400)


class Mismatch(Exception):
    pass


def check(what: str, got: Any, want: Any) -> None:
    if got != want:
        raise Mismatch(f"{what}: got {got!r}, want {want!r}")


def near(what: str, got: datetime | None, want: datetime, slack: float = 120.0) -> None:
    if got is None:
        raise Mismatch(f"{what}: missing, want about {want.isoformat()}")
    if got.tzinfo is None:
        got = got.replace(tzinfo=UTC)
    if abs((got - want).total_seconds()) > slack:
        raise Mismatch(f"{what}: got {got.isoformat()}, want about {want.isoformat()}")


def one_round(proxy: bool) -> None:
    label = "proxy" if proxy else "direct"
    conn = ConnectionConfigSync(use_server_proxy=proxy, request_timeout=timedelta(seconds=60))
    tag = f"{label}-{secrets.token_hex(4)}"
    metadata = {"agent_sandbox.name": tag, "thread_id": "42", "team.owner_id": "a_b.c"}
    started = datetime.now(UTC)
    sandbox = SandboxSync.create(
        IMAGE,
        connection_config=conn,
        entrypoint=ENTRYPOINT,
        resource={"cpu": "0.5", "memory": "512Mi"},
        timeout=LIFETIME,
        metadata=metadata,
        env={"GREETING": "hello"},
        ready_timeout=timedelta(seconds=60),
    )
    killed = False
    try:
        result = sandbox.commands.run("echo $GREETING; echo second line; echo oops >&2")
        check(f"{label} stdout", [m.text for m in result.logs.stdout], ["hello", "second line"])
        check(f"{label} stderr", [m.text for m in result.logs.stderr], ["oops"])
        check(f"{label} error of a passing command", result.error, None)

        entry = sandbox.commands.run("cat /tmp/entry.txt")
        check(f"{label} custom entrypoint ran", [m.text for m in entry.logs.stdout], ["entry-ran"])

        # The cpu quota as the sandbox sees it: cgroup v2, else v1 (quota, period).
        cpu = sandbox.commands.run(
            "cat /sys/fs/cgroup/cpu.max 2>/dev/null || "
            "echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us)"
        )
        quota = [m.text for m in cpu.logs.stdout]
        if quota != [""]:  # neither file visible: nothing to compare
            check(f"{label} cpu quota for cpu 0.5", quota, ["50000 100000"])

        failed = sandbox.commands.run("echo before; exit 3")
        before = [m.text for m in failed.logs.stdout]
        check(f"{label} stdout of failing command", before, ["before"])
        if failed.error is None:
            raise Mismatch(f"{label} exit 3: no error reported")
        check(f"{label} exit 3 error value", failed.error.value, "3")
        if failed.exit_code is not None:
            check(f"{label} exit 3 exit_code", failed.exit_code, 3)

        sandbox.files.write_file("/tmp/legacy.txt", "payload\nline two\n")
        check(
            f"{label} read back",
            sandbox.files.read_file("/tmp/legacy.txt"),
            "payload\nline two\n",
        )

        info = sandbox.get_info()
        check(f"{label} info id", info.id, sandbox.id)
        check(f"{label} info state", info.status.state, "Running")
        check(f"{label} info entrypoint", list(info.entrypoint), ENTRYPOINT)
        check(f"{label} info image", info.image.image if info.image else None, IMAGE)
        got_meta = {k: v for k, v in (info.metadata or {}).items() if k in metadata}
        check(f"{label} info metadata", got_meta, metadata)
        near(f"{label} expiresAt after create", info.expires_at, started + LIFETIME)

        manager = SandboxManagerSync.create(connection_config=conn)
        try:
            page = manager.list_sandbox_infos(
                SandboxFilter(metadata={"agent_sandbox.name": tag, "thread_id": "42"})
            )
            check(f"{label} list by metadata", [s.id for s in page.sandbox_infos], [sandbox.id])
            check(f"{label} list total", page.pagination.total_items, 1)
            other = manager.list_sandbox_infos(
                SandboxFilter(metadata={"agent_sandbox.name": tag, "thread_id": "43"})
            )
            check(f"{label} list other thread", [s.id for s in other.sandbox_infos], [])

            renewed = sandbox.renew(timedelta(hours=2))
            want = datetime.now(UTC) + timedelta(hours=2)
            near(f"{label} renew answer", renewed.expires_at, want)
            near(f"{label} expiresAt after renew", sandbox.get_info().expires_at, want)

            sandbox.kill()
            killed = True
            deadline = time.monotonic() + 30
            while True:
                gone = manager.list_sandbox_infos(
                    SandboxFilter(metadata={"agent_sandbox.name": tag}, states=["Running"])
                )
                if not gone.sandbox_infos:
                    break
                if time.monotonic() > deadline:
                    raise Mismatch(f"{label} still listed as Running 30 s after kill")
                time.sleep(0.5)
        finally:
            manager.close()
    finally:
        if not killed:
            try:
                sandbox.kill()
            except Exception as exc:  # noqa: BLE001 - cleanup must not hide the failure
                print(f"cleanup: kill {sandbox.id} failed: {exc}", file=sys.stderr)
        sandbox.close()
    print(f"round {label}: ok ({sandbox.id})")


def main() -> int:
    for name in ("OPEN_SANDBOX_DOMAIN", "OPEN_SANDBOX_API_KEY"):
        if not os.environ.get(name):
            print(f"MISMATCH: {name} is not set", flush=True)
            return 2
    from importlib.metadata import version

    sdk = version("opensandbox")
    try:
        one_round(proxy=False)
        one_round(proxy=True)
    except Mismatch as exc:
        print(f"MISMATCH: {exc}", flush=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - any SDK error is a compatibility failure
        print(f"MISMATCH: {type(exc).__name__}: {exc}", flush=True)
        raise
    print(f"OK: opensandbox {sdk} against {os.environ['OPEN_SANDBOX_DOMAIN']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
