"""Pure wire -> domain conversion: quantities, create validation, filters, pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandhold.api import convert, schemas
from sandhold.backends.base import Sandbox, State, Status
from sandhold.errors import InvalidRequest, NotImplementedFeature


def create(**fields) -> schemas.SandboxCreate:
    body = {"image": {"uri": "python:3.11"}, "entrypoint": ["tail", "-f", "/dev/null"]}
    body.update(fields)
    return schemas.SandboxCreate.model_validate(body)


def spec(max_timeout: int | None = None, **fields):
    return convert.to_create_spec(create(**fields), max_timeout=max_timeout)


class TestQuantities:
    @pytest.mark.parametrize(
        ("raw", "nano"),
        [("1", 1_000_000_000), ("0.5", 500_000_000), ("500m", 500_000_000), (2, 2 * 10**9)],
    )
    def test_cpu(self, raw, nano):
        assert convert.parse_cpu(raw) == nano

    @pytest.mark.parametrize("raw", ["", "abc", "0", "-1", "0m", "0.0001", "1x", "nan", "inf"])
    def test_bad_cpu_names_field_and_value(self, raw):
        with pytest.raises(InvalidRequest) as err:
            convert.parse_cpu(raw)
        assert "resourceLimits.cpu" in err.value.message
        assert repr(raw) in err.value.message

    @pytest.mark.parametrize(
        ("raw", "size"),
        [
            ("2Gi", 2 * 1024**3),
            ("512Mi", 512 * 1024**2),
            ("1G", 10**9),
            ("1024", 1024),
            ("1.5Gi", 3 * 512 * 1024**2),
            ("64Ki", 65536),
            ("10k", 10_000),
        ],
    )
    def test_memory(self, raw, size):
        assert convert.parse_memory(raw) == size

    @pytest.mark.parametrize("raw", ["", "0", "-1Gi", "2GB", "lots", "0.5", "512m"])
    def test_bad_memory(self, raw):
        with pytest.raises(InvalidRequest) as err:
            convert.parse_memory(raw)
        assert "resourceLimits.memory" in err.value.message

    def test_gpu_zero_is_fine_nonzero_is_501(self):
        assert convert.parse_resources({"cpu": "1", "gpu": "0"}).nano_cpus == 10**9
        with pytest.raises(NotImplementedFeature, match="gpu"):
            convert.parse_resources({"gpu": "1"})
        with pytest.raises(NotImplementedFeature, match="nvidia.com/gpu"):
            convert.parse_resources({"nvidia.com/gpu": "1"})

    def test_unknown_resource_is_not_ignored(self):
        with pytest.raises(NotImplementedFeature, match="ephemeral-storage"):
            convert.parse_resources({"ephemeral-storage": "1Gi"})


class TestCreateSpec:
    def test_sdk_default_body(self):
        result = spec(timeout=600, resourceLimits={"cpu": "1", "memory": "2Gi"}, secureAccess=False)
        assert result.image == "python:3.11"
        assert result.entrypoint == ["tail", "-f", "/dev/null"]
        assert result.timeout_seconds == 600
        assert result.resources.nano_cpus == 10**9
        assert result.resources.memory_bytes == 2 * 1024**3

    def test_everything_mapped(self):
        result = spec(
            image={"uri": "reg/app:1", "auth": {"username": "u", "password": "p"}},
            env={"A": "1"},
            metadata={"agent_sandbox.name": "x", "team/owner": "y", "a-b": "z"},
            timeout=None,
        )
        assert result.image_auth is not None and result.image_auth.username == "u"
        assert result.env == {"A": "1"}
        assert result.metadata["agent_sandbox.name"] == "x"
        assert result.timeout_seconds is None

    @pytest.mark.parametrize(
        ("fields", "needle"),
        [
            ({"image": None}, "image.uri"),
            ({"image": {"uri": "  "}}, "image.uri"),
            ({"entrypoint": []}, "entrypoint"),
            ({"entrypoint": None}, "entrypoint"),
            ({"entrypoint": [""]}, "entrypoint[0]"),
            ({"timeout": 0}, "timeout"),
            ({"timeout": -5}, "timeout"),
            ({"metadata": {"": "v"}}, "metadata"),
            ({"metadata": {"a=b": "v"}}, "metadata"),
            ({"metadata": {"a&b": "v"}}, "metadata"),
            ({"env": {"A=B": "v"}}, "env"),
            ({"resourceLimits": {"cpu": "lots"}}, "resourceLimits.cpu"),
            ({"resourceRequests": {"memory": "0"}}, "resourceRequests.memory"),
        ],
    )
    def test_bad_input_is_400_naming_the_field(self, fields, needle):
        with pytest.raises(InvalidRequest) as err:
            spec(**fields)
        assert needle in err.value.message

    def test_timeout_limit(self):
        assert spec(max_timeout=3600, timeout=3600).timeout_seconds == 3600
        with pytest.raises(InvalidRequest, match="3600"):
            spec(max_timeout=3600, timeout=3601)
        with pytest.raises(InvalidRequest, match="max_sandbox_timeout_seconds"):
            spec(max_timeout=3600, timeout=None)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("networkPolicy", {"defaultAction": "deny"}),
            ("networkPolicy", {"defaultAction": "allow", "egress": [{"action": "deny"}]}),
            ("snapshotId", "snap-1"),
            ("templateId", "tpl-1"),
            ("platform", {"os": "windows", "arch": "amd64"}),
            ("credentialProxy", {"enabled": True}),
            ("volumes", [{"name": "v", "mountPath": "/data", "host": {"path": "/"}}]),
            ("lifecycle", {"preStart": {"command": ["x"]}}),
        ],
    )
    def test_unbuilt_fields_are_501(self, field, value):
        with pytest.raises(NotImplementedFeature) as err:
            spec(**{field: value})
        assert field in err.value.message

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("networkPolicy", None),
            ("networkPolicy", {}),
            ("networkPolicy", {"defaultAction": "allow"}),
            ("volumes", []),
            ("snapshotId", ""),
            ("credentialProxy", {"enabled": False}),
            ("platform", {"os": "linux"}),
        ],
    )
    def test_empty_or_default_values_are_accepted(self, field, value):
        spec(**{field: value})

    @pytest.mark.parametrize("key", ["runtime", "sandbox.runtimeClass", "RUNTIME_CLASS_NAME"])
    def test_extensions_cannot_pick_the_runtime(self, key):
        with pytest.raises(InvalidRequest, match="server administrator"):
            spec(extensions={key: "runc"})

    def test_other_extensions_and_unknown_fields_are_accepted(self):
        spec(extensions={"storage.id": "x"}, somethingNew={"a": 1}, secureAccess=True)


class TestRenewal:
    now = datetime(2030, 1, 1, tzinfo=UTC)

    def test_future_within_limit(self):
        target = self.now + timedelta(hours=1)
        assert convert.check_renewal(target, max_timeout=3600, now=self.now) == target

    def test_naive_is_utc(self):
        naive = datetime(2030, 1, 1, 1)
        assert convert.check_renewal(naive, max_timeout=None, now=self.now).tzinfo is UTC

    def test_past_and_too_far_are_400(self):
        with pytest.raises(InvalidRequest, match="not in the future"):
            convert.check_renewal(self.now - timedelta(seconds=1), max_timeout=None, now=self.now)
        with pytest.raises(InvalidRequest, match="max_sandbox_timeout_seconds"):
            convert.check_renewal(self.now + timedelta(hours=2), max_timeout=3600, now=self.now)


class TestListFilter:
    def test_states_are_or_and_case_insensitive(self):
        assert convert.parse_states(["running", "Paused"]) == {State.RUNNING, State.PAUSED}
        assert convert.parse_states(["Running,Failed"]) == {State.RUNNING, State.FAILED}

    def test_unknown_state_is_400(self):
        with pytest.raises(InvalidRequest, match="Sleeping"):
            convert.parse_states(["Sleeping"])

    def test_metadata_round_trips_what_the_sdk_encodes(self):
        # The SDK quotes each key and value once; the query layer decodes once more.
        raw = "agent_sandbox.name=a%26b&note=x%3Dy%20z"
        assert convert.parse_metadata_filter(raw) == {"agent_sandbox.name": "a&b", "note": "x=y z"}

    @pytest.mark.parametrize("raw", ["novalue", "=v"])
    def test_bad_metadata_filter_is_400(self, raw):
        with pytest.raises(InvalidRequest, match="metadata"):
            convert.parse_metadata_filter(raw)


class TestPaginate:
    @pytest.mark.parametrize(
        ("total", "page", "size", "count", "pages", "more"),
        [
            (0, 1, 10, 0, 0, False),
            (10, 1, 10, 10, 1, False),
            (11, 1, 10, 10, 2, True),
            (11, 2, 10, 1, 2, False),
            (5, 3, 2, 1, 3, False),
            (5, 9, 2, 0, 3, False),
        ],
    )
    def test_exact_has_next_page(self, total, page, size, count, pages, more):
        items, info = convert.paginate(list(range(total)), page=page, page_size=size)
        assert (len(items), info.total_pages, info.has_next_page) == (count, pages, more)
        assert info.total_items == total


def test_oldest_first_breaks_ties_by_id():
    at = datetime(2030, 1, 1, tzinfo=UTC)

    def box(sid: str, when: datetime) -> Sandbox:
        return Sandbox(sid, "img", ["x"], Status(State.RUNNING), when, None, {}, "runc")

    ordered = convert.oldest_first([box("b", at), box("c", at - timedelta(1)), box("a", at)])
    assert [s.id for s in ordered] == ["c", "a", "b"]
