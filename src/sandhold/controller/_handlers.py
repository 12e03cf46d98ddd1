"""kopf handlers: turn watch events into reconciles.

Only event handlers and one resync task are used, on purpose: kopf timers,
daemons and change handlers put finalizers or progress annotations on the
objects, and a finalizer would make a BatchSandbox undeletable while the
controller is down. Expiry therefore runs on in-process timers that every
watch event (including the initial listing after a restart) re-arms from
``spec.expireTime``, backed by the periodic resync.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from sandhold.controller import _constants as c
from sandhold.controller import _decisions as d
from sandhold.controller._reconcile import Reconciler

log = logging.getLogger("sandhold.controller")

# Seconds between full resyncs: the bound on how long a missed watch event
# can leave an object unreconciled.
RESYNC_SECONDS = 30.0


class _ExpiryTimers:
    """One asyncio timer per BatchSandbox, firing a reconcile at its expireTime."""

    def __init__(self, reconciler: Reconciler) -> None:
        self.reconciler = reconciler
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}

    def arm(self, body: Any) -> None:
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        self.cancel(key)
        left = d.seconds_until_expiry(dict(body), self.reconciler.clock())
        if left is None or left <= 0:
            return  # nothing to wait for, or the reconcile that follows deletes it
        loop = asyncio.get_running_loop()
        # +0.05 s: fire just after the instant, so the reconcile sees it expired.
        self._timers[key] = loop.call_later(left + 0.05, self._fire, key)

    def cancel(self, key: tuple[str, str]) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def _fire(self, key: tuple[str, str]) -> None:
        self._timers.pop(key, None)
        asyncio.ensure_future(asyncio.to_thread(self.reconciler.batch, *key))


def build_registry(reconciler: Reconciler) -> kopf.OperatorRegistry:
    """A kopf registry wired to ``reconciler``; nothing global is registered."""
    registry = kopf.OperatorRegistry()
    timers = _ExpiryTimers(reconciler)
    resync_task: list[asyncio.Task[None]] = []

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        # A private registry starts without kopf's default login handlers, and
        # kopf must use exactly the credentials the reconciler already loaded.
        return _connection_info(reconciler.kube.api.configuration)

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # kopf's own per-object log lines become k8s Events only for warnings.
        settings.posting.level = logging.WARNING
        resync_task.append(asyncio.create_task(_resync_forever(reconciler)))

    @kopf.on.cleanup(registry=registry)
    async def stop(**_: Any) -> None:
        for task in resync_task:
            task.cancel()

    @kopf.on.event(c.GROUP, c.VERSION, c.BATCH_PLURAL, registry=registry)
    async def batch_event(event: dict[str, Any], body: Any, **_: Any) -> None:
        ns, name = body["metadata"]["namespace"], body["metadata"]["name"]
        if event.get("type") == "DELETED":
            timers.cancel((ns, name))
            return
        timers.arm(body)
        await asyncio.to_thread(reconciler.batch, ns, name)

    @kopf.on.event(c.GROUP, c.VERSION, c.POOL_PLURAL, registry=registry)
    async def pool_event(event: dict[str, Any], body: Any, **_: Any) -> None:
        if event.get("type") != "DELETED":
            await asyncio.to_thread(
                reconciler.pool, body["metadata"]["namespace"], body["metadata"]["name"]
            )

    @kopf.on.event("", "v1", "pods", labels={c.MANAGED_BY: c.MANAGED_BY_VALUE}, registry=registry)
    async def pod_event(body: Any, **_: Any) -> None:
        # A pod changed (started, became ready, was claimed or deleted): its
        # BatchSandbox republishes endpoints/status, its Pool refills.
        ns, labels = body["metadata"]["namespace"], body["metadata"].get("labels") or {}
        if labels.get(c.BATCH_LABEL):
            await asyncio.to_thread(reconciler.batch, ns, labels[c.BATCH_LABEL])
        if labels.get(c.POOL_LABEL):
            await asyncio.to_thread(reconciler.pool, ns, labels[c.POOL_LABEL])

    return registry


def _connection_info(cfg: Any) -> kopf.ConnectionInfo:
    """kopf's view of a loaded kubernetes client Configuration."""
    header = cfg.get_api_key_with_prefix("BearerToken") or cfg.get_api_key_with_prefix(
        "authorization"
    )
    scheme, _, token = (header or "").rpartition(" ")
    return kopf.ConnectionInfo(
        server=cfg.host,
        ca_path=cfg.ssl_ca_cert,
        insecure=not cfg.verify_ssl,
        username=cfg.username or None,
        password=cfg.password or None,
        scheme=scheme or None,
        token=token or None,
        certificate_path=cfg.cert_file,
        private_key_path=cfg.key_file,
    )


async def _resync_forever(reconciler: Reconciler) -> None:
    while True:
        await asyncio.sleep(RESYNC_SECONDS)
        try:
            await asyncio.to_thread(reconciler.resync)
        except Exception:  # the API may be briefly away; try again next round
            log.exception("resync failed")
