"""Label mapping and Docker state -> lifecycle state (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sandhold.backends.base import State
from sandhold.backends.docker import labels
from sandhold.backends.docker.overlay import Overlay
from sandhold.backends.docker.state import (
    needs_inspect,
    parse_docker_time,
    sandbox_from_labels,
    state_from_list_entry,
    status_from_state,
)

CREATED = datetime(2025, 1, 1, tzinfo=UTC)


def sandbox_labels(**kw) -> dict[str, str]:
    args = {
        "instance": "default",
        "sandbox_id": "a" * 32,
        "image": "img:1",
        "entrypoint": ["sh", "-c", "x"],
        "runtime": "runsc",
        "token": "t",
        "created_at": CREATED,
        "expires_at": None,
        "metadata": {},
        **kw,
    }
    return labels.sandbox_labels(**args)


@pytest.mark.parametrize(
    "key", ["plain", "agent_sandbox.name", "thread_id", "a.b.c_d", "x/y", "UPPER", "ünï"]
)
def test_metadata_keys_round_trip_exactly(key):
    metadata = {key: "v=1,2"}
    assert labels.metadata_from_labels(labels.metadata_to_labels(metadata)) == metadata


def test_metadata_never_collides_with_own_labels():
    found = sandbox_labels(metadata={"sandbox-id": "evil", "sandhold.dev/runtime": "runc"})
    assert found[labels.RUNTIME] == "runsc"
    assert found[labels.SANDBOX_ID] == "a" * 32
    assert labels.metadata_from_labels(found) == {
        "sandbox-id": "evil",
        "sandhold.dev/runtime": "runc",
    }


def test_entrypoint_label_is_json():
    assert json.loads(sandbox_labels()[labels.ENTRYPOINT]) == ["sh", "-c", "x"]


@pytest.mark.parametrize(
    ("state", "expected", "reason"),
    [
        ({"Status": "created"}, State.PENDING, None),
        ({"Status": "running"}, State.RUNNING, None),
        ({"Status": "paused"}, State.PAUSED, None),
        ({"Status": "exited", "ExitCode": 0}, State.TERMINATED, "Completed"),
        ({"Status": "exited", "ExitCode": 3}, State.FAILED, "Error"),
        ({"Status": "exited", "ExitCode": 137, "OOMKilled": True}, State.FAILED, "OOMKilled"),
        ({"Status": "exited", "ExitCode": 1, "Error": "boom"}, State.FAILED, "Error"),
        ({"Status": "dead"}, State.FAILED, "Dead"),
        ({"Status": "removing"}, State.STOPPING, "Removing"),
    ],
)
def test_status_from_state(state, expected, reason):
    status = status_from_state(state)
    assert status.state == expected
    assert status.reason == reason


def test_failed_message_names_exit_code_and_signal():
    assert "137" in status_from_state({"Status": "exited", "ExitCode": 137}).message
    assert "signal 9" in status_from_state({"Status": "exited", "ExitCode": 137}).message


def test_docker_times():
    moment = parse_docker_time("2024-05-01T10:00:00.123456789Z")
    assert moment == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert parse_docker_time("0001-01-01T00:00:00Z") is None
    assert parse_docker_time("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_list_entry_state():
    entry = {"State": "exited", "Status": "Exited (137) 3 seconds ago"}
    state = state_from_list_entry(entry)
    assert state == {"Status": "exited", "ExitCode": 137}
    assert needs_inspect(state)
    assert not needs_inspect(state_from_list_entry({"State": "exited", "Status": "Exited (0) 1s"}))
    assert not needs_inspect(state_from_list_entry({"State": "running", "Status": "Up 2 s"}))


def test_overlay_wins_over_labels_and_labels_are_the_fallback():
    expires = datetime(2025, 1, 1, 0, 10, tzinfo=UTC)
    found = sandbox_labels(expires_at=expires, metadata={"k": "v"})
    plain = sandbox_from_labels(found, {"Status": "running"}, None)
    assert plain.expires_at == expires and plain.metadata == {"k": "v"}
    assert plain.runtime == "runsc" and plain.created_at == CREATED
    later = datetime(2025, 1, 2, tzinfo=UTC)
    patched = sandbox_from_labels(found, {"Status": "running"}, Overlay(later, {"n": "1"}))
    assert patched.expires_at == later and patched.metadata == {"n": "1"}
    never = sandbox_from_labels(sandbox_labels(), {"Status": "running"}, None)
    assert never.expires_at is None
