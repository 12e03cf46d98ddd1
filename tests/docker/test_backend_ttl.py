"""TTL expiry and server restarts: nothing lives only in memory."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from sandhold.backends.base import State
from sandhold.errors import SandboxNotFound

pytestmark = pytest.mark.docker


async def wait_gone(backend, sandbox_id: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            await backend.get(sandbox_id)
        except SandboxNotFound:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"sandbox {sandbox_id} still exists after {timeout}s")


async def test_expiry_removes_the_sandbox_and_its_state(make_backend, new_spec, tmp_path):
    backend = await make_backend()
    short = await backend.create(new_spec(timeout_seconds=1))
    forever = await backend.create(new_spec(timeout_seconds=None))
    await backend.patch_metadata(short.id, {"k": "v"})
    assert (tmp_path / "state" / "docker" / f"{short.id}.json").exists()
    await wait_gone(backend, short.id)
    assert not (tmp_path / "state" / "docker" / f"{short.id}.json").exists()
    assert (await backend.get(forever.id)).expires_at is None


async def test_renew_postpones_expiry(make_backend, new_spec):
    backend = await make_backend()
    sandbox = await backend.create(new_spec(timeout_seconds=2))
    await backend.renew(sandbox.id, datetime.now(UTC) + timedelta(seconds=60))
    await asyncio.sleep(3)
    assert (await backend.get(sandbox.id)).status.state == State.RUNNING


async def test_restart_rebuilds_timers_and_reaps_the_expired(make_backend, new_spec):
    first = await make_backend()
    expired = await first.create(new_spec(timeout_seconds=1))
    later = await first.create(new_spec(timeout_seconds=3))
    renewed = await first.create(new_spec(timeout_seconds=1))
    kept = await first.create(new_spec(timeout_seconds=None))
    await first.renew(renewed.id, datetime.now(UTC) + timedelta(hours=1))
    await first.patch_metadata(kept.id, {"agent_sandbox.name": "survives"})
    await first.close()  # the server stops: its timers are gone
    await asyncio.sleep(1.5)

    second = await make_backend()  # same daemon, same state dir
    with pytest.raises(SandboxNotFound):  # expired while "down": reaped by start
        await second.get(expired.id)
    assert (await second.get(renewed.id)).status.state == State.RUNNING
    assert (await second.get(kept.id)).metadata["agent_sandbox.name"] == "survives"
    assert (await second.get(later.id)).status.state == State.RUNNING
    await wait_gone(second, later.id)  # the rebuilt timer fires
