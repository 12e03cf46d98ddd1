"""Twenty creates at once: they overlap in the engine and the loop stays free."""

from __future__ import annotations

import asyncio
import time

import pytest

from sandhold.backends.base import State

pytestmark = pytest.mark.docker

CREATES = 20


async def test_concurrent_creates_proceed_in_parallel(make_backend, new_spec):
    backend = await make_backend()
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    sandboxes = await asyncio.gather(*(backend.create(new_spec()) for _ in range(CREATES)))
    stop.set()
    await ticking

    assert len({s.id for s in sandboxes}) == CREATES
    assert all(s.status.state == State.RUNNING for s in sandboxes)
    # Many engine calls ran at the same time in the worker threads ...
    assert backend.blocking_calls_peak > 4
    # ... while the event loop kept ticking (a blocked loop shows as a long gap).
    assert len(gaps) > 10
    assert max(gaps) < 1.0, f"event loop stalled for {max(gaps):.2f}s"
    await asyncio.gather(*(backend.delete(s.id) for s in sandboxes))
