"""Lifecycle, diagnostics and metrics routes against the in-memory backend."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sandhold.api import create_app
from sandhold.config import AppConfig, ServerConfig

sys.path.insert(0, str(Path(__file__).parent))
from fake_backend import FakeBackend  # noqa: E402

KEY = "k3y"
AUTH = {"OPEN-SANDBOX-API-KEY": KEY}
SDK_DEFAULT_BODY = {
    "image": {"uri": "python:3.11"},
    "timeout": 600,
    "resourceLimits": {"cpu": "1", "memory": "2Gi"},
    "entrypoint": ["tail", "-f", "/dev/null"],
    "secureAccess": False,
}


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def client(backend: FakeBackend) -> Iterator[TestClient]:
    config = AppConfig(server=ServerConfig(api_key=KEY, max_sandbox_timeout_seconds=86400))
    with TestClient(create_app(config, backend), headers=AUTH) as test_client:
        yield test_client


def create(client: TestClient, **fields) -> dict:
    response = client.post("/v1/sandboxes", json={**SDK_DEFAULT_BODY, **fields})
    assert response.status_code == 202, response.text
    return response.json()


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message"} and body["message"]
    if code:
        assert body["code"] == code
    assert response.headers["x-request-id"]
    return body


def test_lifespan_starts_and_closes_backend(backend: FakeBackend):
    app = create_app(AppConfig(), backend)
    with TestClient(app):
        assert backend.started and not backend.closed
    assert backend.closed


class TestCreateAndGet:
    def test_create_is_202_with_the_sdk_shape(self, client: TestClient):
        body = create(client, metadata={"agent_sandbox.name": "a"})
        assert body["status"]["state"] == "Running"
        assert body["entrypoint"] == ["tail", "-f", "/dev/null"]
        assert body["metadata"] == {"agent_sandbox.name": "a"}
        created = datetime.fromisoformat(body["createdAt"])
        assert created.tzinfo is not None
        assert datetime.fromisoformat(body["expiresAt"]) == created + timedelta(seconds=600)

    def test_get_returns_the_sandbox(self, client: TestClient):
        sid = create(client)["id"]
        body = client.get(f"/v1/sandboxes/{sid}").json()
        assert body["id"] == sid and body["image"] == {"uri": "python:3.11"}
        assert {"status", "entrypoint", "createdAt", "expiresAt", "metadata"} <= set(body)

    def test_no_expiry_omits_expires_at(self, client: TestClient, backend: FakeBackend):
        client.app.state.config = AppConfig(server=ServerConfig(api_key=KEY))
        sid = create(client, timeout=None)["id"]
        assert "expiresAt" not in client.get(f"/sandboxes/{sid}").json()
        assert backend.specs[sid].timeout_seconds is None

    def test_spec_reaches_the_backend(self, client: TestClient, backend: FakeBackend):
        sid = create(client, resourceLimits={"cpu": "500m", "memory": "512Mi"}, env={"A": "b"})[
            "id"
        ]
        spec = backend.specs[sid]
        assert spec.resources.nano_cpus == 500_000_000
        assert spec.resources.memory_bytes == 512 * 1024**2
        assert spec.env == {"A": "b"}

    @pytest.mark.parametrize(
        ("fields", "status", "needle"),
        [
            ({"image": {"uri": ""}}, 400, "image.uri"),
            ({"image": {}}, 400, "image.uri"),
            ({"entrypoint": "tail"}, 400, "entrypoint"),
            ({"timeout": 86401}, 400, "86400"),
            ({"timeout": "soon"}, 400, "timeout"),
            ({"resourceLimits": {"cpu": "0"}}, 400, "resourceLimits.cpu"),
            ({"resourceLimits": {"memory": "2 gigs"}}, 400, "resourceLimits.memory"),
            ({"resourceLimits": {"gpu": "1"}}, 501, "gpu"),
            ({"env": {"A": 1}}, 400, "env.A"),
            ({"metadata": {"a": None}}, 400, "metadata.a"),
            ({"metadata": {"a=b": "c"}}, 400, "metadata"),
            ({"networkPolicy": {"defaultAction": "deny"}}, 501, "networkPolicy"),
            ({"volumes": [{"name": "v"}]}, 501, "volumes"),
            ({"extensions": {"runtimeClassName": "runc"}}, 400, "administrator"),
        ],
    )
    def test_bad_create(self, client: TestClient, fields, status, needle):
        response = client.post("/v1/sandboxes", json={**SDK_DEFAULT_BODY, **fields})
        body = assert_error(response, status)
        assert needle in body["message"]
        if status == 501:
            assert body["code"] == "SANDBOX::NOT_IMPLEMENTED"

    def test_not_json_and_not_an_object(self, client: TestClient):
        assert_error(client.post("/v1/sandboxes", content=b"{nope"), 400)
        assert_error(client.post("/v1/sandboxes", json=[1, 2]), 400)
        assert_error(client.post("/v1/sandboxes"), 400)

    def test_json_without_content_type_is_parsed(self, client: TestClient):
        response = client.post("/v1/sandboxes", content=json.dumps(SDK_DEFAULT_BODY).encode())
        assert "content-type" not in response.request.headers
        assert response.status_code == 202

    def test_unknown_fields_do_not_crash(self, client: TestClient):
        create(client, brandNewField={"x": [1]}, extensions={"storage.id": "s"})

    def test_unknown_sandbox_is_404(self, client: TestClient):
        assert_error(client.get("/v1/sandboxes/nope"), 404, "SANDBOX::NOT_FOUND")


class TestList:
    def test_filters_and_pagination(self, client: TestClient):
        ids = [create(client, metadata={"team": "a" if i % 2 else "b"})["id"] for i in range(5)]
        client.post(f"/v1/sandboxes/{ids[0]}/pause")
        page = client.get("/v1/sandboxes", params={"pageSize": 2, "page": 2}).json()
        assert [s["id"] for s in page["items"]] == ids[2:4]
        assert page["pagination"] == {
            "page": 2,
            "pageSize": 2,
            "totalItems": 5,
            "totalPages": 3,
            "hasNextPage": True,
        }
        paused = client.get("/v1/sandboxes", params={"state": ["Paused", "Failed"]}).json()
        assert [s["id"] for s in paused["items"]] == [ids[0]]
        team_a = client.get("/v1/sandboxes", params={"metadata": "team=a"}).json()
        assert [s["id"] for s in team_a["items"]] == [ids[1], ids[3]]

    def test_metadata_filter_is_and(self, client: TestClient):
        both = create(client, metadata={"agent_sandbox.name": "x", "thread_id": "7"})["id"]
        create(client, metadata={"agent_sandbox.name": "x"})
        # What the SDK sends: percent-encoded once, then encoded again by httpx.
        response = client.get("/v1/sandboxes?metadata=agent_sandbox.name%3Dx%26thread_id%3D7")
        assert [s["id"] for s in response.json()["items"]] == [both]

    @pytest.mark.parametrize(
        "query", ["state=Sleeping", "page=0", "pageSize=0", "page=x", "metadata=novalue"]
    )
    def test_bad_query_is_400(self, client: TestClient, query: str):
        assert_error(client.get(f"/v1/sandboxes?{query}"), 400)


class TestActions:
    def test_delete_pause_resume(self, client: TestClient):
        sid = create(client)["id"]
        assert client.post(f"/v1/sandboxes/{sid}/pause").status_code == 202
        assert client.get(f"/v1/sandboxes/{sid}").json()["status"]["state"] == "Paused"
        assert_error(client.post(f"/v1/sandboxes/{sid}/pause"), 409, "SANDBOX::STATE_CONFLICT")
        assert client.post(f"/v1/sandboxes/{sid}/resume").status_code == 202
        response = client.delete(f"/v1/sandboxes/{sid}")
        assert response.status_code == 204 and response.content == b""
        assert_error(client.delete(f"/v1/sandboxes/{sid}"), 404)

    def test_renew(self, client: TestClient):
        sid = create(client)["id"]
        target = datetime.now(UTC) + timedelta(hours=1)
        response = client.post(
            f"/v1/sandboxes/{sid}/renew-expiration", json={"expiresAt": target.isoformat()}
        )
        assert response.status_code == 200
        assert datetime.fromisoformat(response.json()["expiresAt"]) == target

    @pytest.mark.parametrize("delta", [timedelta(seconds=-10), timedelta(days=2)])
    def test_renew_refuses_past_and_beyond_limit(self, client: TestClient, delta):
        sid = create(client)["id"]
        target = (datetime.now(UTC) + delta).isoformat()
        assert_error(
            client.post(f"/v1/sandboxes/{sid}/renew-expiration", json={"expiresAt": target}), 400
        )

    def test_renew_needs_a_date(self, client: TestClient):
        sid = create(client)["id"]
        body = assert_error(
            client.post(f"/v1/sandboxes/{sid}/renew-expiration", json={"expiresAt": "later"}), 400
        )
        assert "expiresAt" in body["message"]

    def test_patch_metadata(self, client: TestClient):
        sid = create(client, metadata={"keep": "1", "gone": "2"})["id"]
        response = client.patch(f"/v1/sandboxes/{sid}/metadata", json={"new": "3", "gone": None})
        assert response.status_code == 200
        assert response.json()["metadata"] == {"keep": "1", "new": "3"}
        assert_error(client.patch(f"/v1/sandboxes/{sid}/metadata", json={"a&b": "1"}), 400)
        assert_error(client.patch(f"/v1/sandboxes/{sid}/metadata", json={"a": 1}), 400)


class TestEndpoints:
    def test_direct(self, client: TestClient, backend: FakeBackend):
        sid = create(client)["id"]
        body = client.get(f"/v1/sandboxes/{sid}/endpoints/44772").json()
        assert body == {
            "endpoint": "127.0.0.1:44772",
            "headers": {"X-EXECD-ACCESS-TOKEN": backend.tokens[sid]},
        }

    def test_server_proxy_uses_the_callers_host(self, client: TestClient, backend: FakeBackend):
        sid = create(client)["id"]
        response = client.get(
            f"/v1/sandboxes/{sid}/endpoints/18080",
            params={"use_server_proxy": "true"},
            headers={"Host": "sandhold.example:9000"},
        )
        assert response.json() == {
            "endpoint": f"sandhold.example:9000/v1/sandboxes/{sid}/proxy/18080",
            "headers": {"X-EXECD-ACCESS-TOKEN": backend.tokens[sid]},
        }

    @pytest.mark.parametrize("port", ["0", "65536", "http"])
    def test_bad_port_is_400(self, client: TestClient, port: str):
        sid = create(client)["id"]
        assert (
            "port"
            in assert_error(client.get(f"/v1/sandboxes/{sid}/endpoints/{port}"), 400)["message"]
        )

    def test_signed_endpoints_are_501(self, client: TestClient):
        sid = create(client)["id"]
        assert_error(client.get(f"/v1/sandboxes/{sid}/endpoints/80?expires=1"), 501)


class TestDiagnosticsAndMisc:
    @pytest.mark.parametrize("kind", ["logs", "events"])
    def test_diagnostics_inline(self, client: TestClient, kind: str):
        sid = create(client)["id"]
        body = client.get(f"/v1/sandboxes/{sid}/diagnostics/{kind}?scope=container").json()
        assert body["sandboxId"] == sid and body["kind"] == kind
        assert body["scope"] == "container" and body["delivery"] == "inline"
        assert {"contentType", "truncated", "content"} <= set(body)

    def test_diagnostics_of_unknown_sandbox(self, client: TestClient):
        assert_error(client.get("/v1/sandboxes/nope/diagnostics/logs"), 404)

    def test_metrics_events_accept_anything(self, client: TestClient):
        assert client.post("/v1/metrics/events", json={"anything": [1]}).status_code == 204
        assert client.post("/v1/metrics/events", content=b"not json").status_code == 204

    @pytest.mark.parametrize(
        "path", ["/v1/snapshots", "/snapshots/s1", "/v1/sandboxes/x/snapshots"]
    )
    def test_snapshots_are_501(self, client: TestClient, path: str):
        assert_error(client.get(path), 501, "SANDBOX::NOT_IMPLEMENTED")

    def test_unknown_route_and_method(self, client: TestClient):
        assert_error(client.get("/v1/nothing-here"), 404, "NOT_FOUND")
        assert_error(client.put("/v1/sandboxes"), 405, "METHOD_NOT_ALLOWED")

    @pytest.mark.parametrize("prefix", ["", "/v1"])
    def test_every_route_at_root_and_v1(self, client: TestClient, prefix: str):
        sid = create(client)["id"]
        assert client.get(f"{prefix}/sandboxes/{sid}").status_code == 200
        assert client.get(f"{prefix}/health").json() == {"status": "healthy"}
