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


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def test_expiry_removes_the_sandbox_and_its_state(make_backend, new_spec, tmp_path):
    backend = await make_backend()
    # Created with a long TTL, then shortened: no race with a slow create.
    short = await backend.create(new_spec(timeout_seconds=600))
    forever = await backend.create(new_spec(timeout_seconds=None))
    await backend.patch_metadata(short.id, {"k": "v"})
    state_file = tmp_path / "state" / "docker" / "default" / f"{short.id}.json"
    assert state_file.exists()
    await backend.renew(short.id, soon(1))
    await wait_gone(backend, short.id)
    assert not state_file.exists()
    assert (await backend.get(forever.id)).expires_at is None


async def test_label_expiry_fires_without_any_renew(make_backend, new_spec):
    backend = await make_backend()
    sandbox = await backend.create(new_spec(timeout_seconds=1))
    await wait_gone(backend, sandbox.id)


async def test_renew_postpones_expiry(make_backend, new_spec):
    backend = await make_backend()
    sandbox = await backend.create(new_spec(timeout_seconds=600))
    await backend.renew(sandbox.id, soon(2))
    await backend.renew(sandbox.id, soon(60))
    await asyncio.sleep(3)
    assert (await backend.get(sandbox.id)).status.state == State.RUNNING


async def test_restart_rebuilds_timers_and_reaps_the_expired(make_backend, new_spec):
    first = await make_backend()
    expired, later, kept = [await first.create(new_spec(timeout_seconds=600)) for _ in range(3)]
    await first.renew(kept.id, soon(3600))
    await first.patch_metadata(kept.id, {"agent_sandbox.name": "survives"})
    await first.renew(expired.id, soon(1))
    await first.renew(later.id, soon(8))
    await first.close()  # the server stops: its timers are gone
    await asyncio.sleep(1.5)

    second = await make_backend()  # same daemon, same state dir
    with pytest.raises(SandboxNotFound):  # expired while "down": reaped by start
        await second.get(expired.id)
    survivor = await second.get(kept.id)
    assert survivor.metadata["agent_sandbox.name"] == "survives"
    assert survivor.expires_at > soon(3000)
    assert (await second.get(later.id)).status.state == State.RUNNING
    await wait_gone(second, later.id)  # the rebuilt timer fires
