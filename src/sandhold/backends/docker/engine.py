"""The Docker client and the threads its blocking calls run in.

docker-py is synchronous. Every call goes through ``Engine.run`` into a
dedicated thread pool, so a slow daemon never stalls the event loop, and the
client's HTTP connection pool is as large as that thread pool, so concurrent
calls do not queue for a connection (the default executor has cpu+4 threads
and docker-py's pool holds 10 connections: both too small for 20 creates).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import docker
import requests

from sandhold.errors import BackendUnavailable

T = TypeVar("T")

# Threads for blocking engine calls: a create holds one for up to a few
# seconds (image pull, container start); 48 lets 20+ creates overlap while
# leaving room for list/get calls.
WORKERS = 48
# One HTTP connection per worker, plus slack for the readiness probes' inspects.
MAX_POOL_SIZE = WORKERS + 16
# Docker Engine API 20.10; newer daemons serve it too. Pinned so building the
# client does not contact the daemon (an unreachable daemon then surfaces as
# BackendUnavailable on the first call, not as a constructor crash).
API_VERSION = "1.41"
# Seconds one engine call may take (a stop with grace, a large pull).
CALL_TIMEOUT = 300


def make_client(base_url: str | None) -> docker.DockerClient:
    """A client for ``base_url`` (None = DOCKER_HOST or the default socket)."""
    options: dict[str, Any] = {
        "version": API_VERSION,
        "timeout": CALL_TIMEOUT,
        "max_pool_size": MAX_POOL_SIZE,
    }
    if base_url is None:
        return docker.DockerClient.from_env(**options)
    return docker.DockerClient(base_url=base_url, **options)


class Engine:
    """Runs blocking docker-py calls off the loop; counts them in flight."""

    def __init__(self, client: docker.DockerClient, *, workers: int = WORKERS) -> None:
        self.client = client
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="sandhold-docker")
        self._lock = threading.Lock()
        self._in_flight = 0
        self.peak_in_flight = 0  # most blocking calls seen running at once

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a worker thread.

        Raises:
            BackendUnavailable: dockerd cannot be reached.
        """
        call = functools.partial(self._counted, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _counted(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self._lock:
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            return fn(*args, **kwargs)
        except requests.exceptions.ConnectionError as exc:
            raise BackendUnavailable(f"cannot reach dockerd ({self._where()}): {exc}") from exc
        finally:
            with self._lock:
                self._in_flight -= 1

    def _where(self) -> str:
        return str(getattr(self.client.api, "base_url", "default socket"))

    def close(self, *, close_client: bool) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        if close_client:
            self.client.close()
