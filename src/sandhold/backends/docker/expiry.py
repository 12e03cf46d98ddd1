"""TTL timers: one ``loop.call_later`` per sandbox that has an expiry.

Timers are memory only; ``DockerBackend.start`` rebuilds them from the
stored expiries after a restart, so nothing is lost when the server stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

log = logging.getLogger(__name__)

ExpireCallback = Callable[[str], Awaitable[None]]


class ExpiryTimers:
    """Calls ``on_expire(sandbox_id)`` once a sandbox's expiry has passed."""

    def __init__(self, on_expire: ExpireCallback) -> None:
        self._on_expire = on_expire
        self._handles: dict[str, asyncio.TimerHandle] = {}
        self._running: set[asyncio.Task[None]] = set()

    def schedule(self, sandbox_id: str, expires_at: datetime | None) -> None:
        """(Re)arm the timer of a sandbox; ``None`` means it never expires."""
        self.cancel(sandbox_id)
        if expires_at is None:
            return
        delay = max(0.0, (expires_at - datetime.now(UTC)).total_seconds())
        loop = asyncio.get_running_loop()
        self._handles[sandbox_id] = loop.call_later(delay, self._fire, sandbox_id)

    def cancel(self, sandbox_id: str) -> None:
        handle = self._handles.pop(sandbox_id, None)
        if handle is not None:
            handle.cancel()

    def scheduled(self) -> set[str]:
        return set(self._handles)

    def _fire(self, sandbox_id: str) -> None:
        self._handles.pop(sandbox_id, None)
        task = asyncio.get_running_loop().create_task(self._expire(sandbox_id))
        # Keep a reference: the loop holds tasks only weakly.
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _expire(self, sandbox_id: str) -> None:
        try:
            await self._on_expire(sandbox_id)
        except Exception:  # a failed expiry must not kill the loop; logged, retried at start
            log.exception("expiring sandbox %s failed", sandbox_id)

    async def close(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        for task in list(self._running):
            task.cancel()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
