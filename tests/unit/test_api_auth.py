"""API key, request ids, the access log and the last-resort 500."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sandhold.api import create_app
from sandhold.config import AppConfig, ServerConfig

sys.path.insert(0, str(Path(__file__).parent))
from fake_backend import FakeBackend  # noqa: E402

KEY = "s3cret"


class ExplodingBackend(FakeBackend):
    async def get(self, sandbox_id: str):
        raise RuntimeError("engine fell over")


@pytest.fixture
def client():
    config = AppConfig(server=ServerConfig(api_key=KEY))
    with TestClient(create_app(config, ExplodingBackend())) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "MISSING_API_KEY"), ({"OPEN-SANDBOX-API-KEY": "wrong"}, "INVALID_API_KEY")],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/sandboxes"),
        ("POST", "/v1/sandboxes"),
        ("GET", "/sandboxes/x/endpoints/44772"),
        ("GET", "/v1/sandboxes/x/diagnostics/logs"),
        ("POST", "/v1/metrics/events"),
        ("GET", "/v1/snapshots"),
    ],
)
def test_key_required(client: TestClient, headers, code, method, path):
    response = client.request(method, path, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == code and response.json()["message"]


def test_right_key_passes_and_health_needs_none(client: TestClient):
    assert client.get("/v1/sandboxes", headers={"OPEN-SANDBOX-API-KEY": KEY}).status_code == 200
    assert client.get("/health").status_code == 200
    assert client.get("/v1/health").status_code == 200


def test_no_key_configured_means_open():
    with TestClient(create_app(AppConfig(), FakeBackend())) as open_client:
        assert open_client.get("/v1/sandboxes").status_code == 200


def test_request_id_is_echoed_or_generated(client: TestClient):
    echoed = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = client.get("/v1/sandboxes")  # a 401 carries one too
    assert len(generated.headers["x-request-id"]) == 36
    hostile = client.get("/health", headers={"X-Request-ID": "a b\tc"})
    assert hostile.headers["x-request-id"] != "a b\tc"


def test_unexpected_error_is_a_logged_500(client: TestClient, caplog):
    caplog.set_level(logging.INFO)
    response = client.get(
        "/v1/sandboxes/x", headers={"OPEN-SANDBOX-API-KEY": KEY, "X-Request-ID": "req-500"}
    )
    assert response.status_code == 500
    assert response.json() == {
        "code": "SANDHOLD::INTERNAL",
        "message": "internal error (request id req-500)",
    }
    assert response.headers["x-request-id"] == "req-500"
    assert "engine fell over" in caplog.text  # the traceback
    access = [r.getMessage() for r in caplog.records if r.name == "sandhold.access"]
    assert any(
        "method=GET path=/v1/sandboxes/x status=500" in line and "request_id=req-500" in line
        for line in access
    )
