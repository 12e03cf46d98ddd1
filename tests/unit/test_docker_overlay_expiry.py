"""The host-side overlay store, the TTL timers and diagnostics formatting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sandhold.backends.docker.diagnostics import events_text, log_tail
from sandhold.backends.docker.expiry import ExpiryTimers
from sandhold.backends.docker.overlay import Overlay, OverlayStore


def test_overlay_round_trip_and_removal(tmp_path):
    store = OverlayStore(tmp_path)
    assert store.read("a") is None
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    store.write("a", Overlay(moment, {"agent_sandbox.name": "x"}))
    store.write("b", Overlay(None, {}))
    assert store.read("a") == Overlay(moment, {"agent_sandbox.name": "x"})
    assert store.read("b") == Overlay(None, {})
    assert sorted(store.stored_ids()) == ["a", "b"]
    assert not list(store.directory.glob("*.tmp"))  # atomic: no leftovers
    store.remove("a")
    store.remove("a")  # tolerated
    assert store.read("a") is None


def test_unreadable_overlay_falls_back_to_labels(tmp_path):
    store = OverlayStore(tmp_path)
    store.ensure_directory()
    (store.directory / "c.json").write_text("{not json")
    assert store.read("c") is None


async def test_timers_fire_cancel_and_reschedule():
    fired: list[str] = []

    async def on_expire(sandbox_id: str) -> None:
        fired.append(sandbox_id)

    timers = ExpiryTimers(on_expire)
    now = datetime.now(UTC)
    timers.schedule("soon", now + timedelta(milliseconds=50))
    timers.schedule("past", now - timedelta(seconds=5))
    timers.schedule("cancelled", now + timedelta(milliseconds=50))
    timers.schedule("moved", now + timedelta(milliseconds=50))
    timers.schedule("moved", now + timedelta(hours=1))
    timers.schedule("never", None)
    timers.cancel("cancelled")
    await asyncio.sleep(0.3)
    assert sorted(fired) == ["past", "soon"]
    assert timers.scheduled() == {"moved"}
    await timers.close()
    assert timers.scheduled() == set()


async def test_a_failing_expiry_does_not_stop_the_others():
    fired: list[str] = []

    async def on_expire(sandbox_id: str) -> None:
        if sandbox_id == "bad":
            raise RuntimeError("engine down")
        fired.append(sandbox_id)

    timers = ExpiryTimers(on_expire)
    past = datetime.now(UTC) - timedelta(seconds=1)
    timers.schedule("bad", past)
    timers.schedule("good", past)
    await asyncio.sleep(0.1)
    assert fired == ["good"]
    await timers.close()


def test_log_tail_marks_truncation():
    assert log_tail(b"a\nb\n", max_lines=2).truncated is False
    cut = log_tail(b"a\nb\nc\n", max_lines=2)
    assert cut.content == "b\nc\n" and cut.truncated


def test_events_never_show_labels():
    event = {
        "Type": "container",
        "Action": "start",
        "timeNano": 1_700_000_000_000_000_000,
        "Actor": {"Attributes": {"name": "n", "sandhold.dev/execd-token": "secret"}},
    }
    text = events_text([event]).content
    assert "start" in text and "name=n" in text
    assert "secret" not in text
