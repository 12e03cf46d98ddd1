"""The server proxy against a real local upstream (HTTP streaming and WebSocket)."""

from __future__ import annotations

import gzip
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from sandhold.api import create_app
from sandhold.config import AppConfig, ServerConfig

sys.path.insert(0, str(Path(__file__).parent))
from fake_backend import FakeBackend  # noqa: E402

KEY = "proxy-key"
BLOB = bytes(range(256)) * 40


async def echo(request: Request) -> Response:
    body = await request.body()
    seen = {k.lower(): v for k, v in request.headers.items()}
    info = {"path": request.url.path, "query": request.url.query, "headers": seen}
    return Response(body, headers={"X-Seen": json.dumps(info)}, media_type="application/x-echo")


async def sse(_: Request) -> StreamingResponse:
    async def events():
        for i in range(3):
            yield f'{{"type":"stdout","text":"line {i}","timestamp":1}}\n\n'.encode()

    return StreamingResponse(events(), media_type="text/event-stream")


async def download(request: Request) -> Response:
    start, end = request.headers["range"].removeprefix("bytes=").split("-")
    part = BLOB[int(start) : int(end) + 1]
    headers = {"Content-Range": f"bytes {start}-{end}/{len(BLOB)}", "Accept-Ranges": "bytes"}
    return Response(part, status_code=206, headers=headers)


async def gzipped(_: Request) -> Response:
    return Response(gzip.compress(b"hello " * 100), headers={"Content-Encoding": "gzip"})


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        text = await websocket.receive_text()
        if text == "bye":
            await websocket.close(code=4001, reason="asked to leave")
            return
        await websocket.send_text(f"echo {text}")


UPSTREAM = Starlette(
    routes=[
        Route("/ping", lambda _: PlainTextResponse("pong")),
        Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/sse", sse),
        Route("/download", download),
        Route("/gzip", gzipped),
        WebSocketRoute("/ws", ws_echo),
    ]
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def upstream_port() -> Iterator[int]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(UPSTREAM, host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def backend(upstream_port: int) -> FakeBackend:
    return FakeBackend(endpoint_address=f"127.0.0.1:{upstream_port}")


@pytest.fixture
def client(backend: FakeBackend) -> Iterator[TestClient]:
    config = AppConfig(server=ServerConfig(api_key=KEY))
    with TestClient(create_app(config, backend)) as test_client:
        yield test_client


@pytest.fixture
def sid(client: TestClient) -> str:
    body = {"image": {"uri": "img"}, "entrypoint": ["sleep", "1"], "timeout": 60}
    return client.post("/v1/sandboxes", json=body, headers={"OPEN-SANDBOX-API-KEY": KEY}).json()[
        "id"
    ]


def token_of(backend: FakeBackend, sandbox_id: str) -> dict[str, str]:
    return {"X-EXECD-ACCESS-TOKEN": backend.tokens[sandbox_id]}


def seen(response) -> dict:
    return json.loads(response.headers["x-seen"])


class TestAuth:
    def test_api_key_works_and_never_reaches_the_sandbox(self, client, backend, sid):
        response = client.get(
            f"/v1/sandboxes/{sid}/proxy/44772/echo/a%20b/c?x=1&x=2",
            headers={"OPEN-SANDBOX-API-KEY": KEY, "OPEN-SANDBOX-CLIENT-IP": "192.0.2.2"},
        )
        assert response.status_code == 200
        info = seen(response)
        assert info["path"] == "/echo/a b/c" and info["query"] == "x=1&x=2"
        assert info["headers"]["x-execd-access-token"] == backend.tokens[sid]
        assert not any(h.startswith("open-sandbox-") for h in info["headers"])

    def test_execd_token_alone_works(self, client, backend, sid):
        response = client.get(f"/sandboxes/{sid}/proxy/44772/ping", headers=token_of(backend, sid))
        assert response.status_code == 200 and response.text == "pong"

    def test_what_the_sdk_sends_in_proxy_mode(self, client, backend, sid):
        headers = {"OPEN-SANDBOX-API-KEY": KEY, **token_of(backend, sid)}
        assert client.get(f"/v1/sandboxes/{sid}/proxy/44772/ping", headers=headers).text == "pong"

    @pytest.mark.parametrize(
        ("headers", "code"),
        [
            ({}, "MISSING_API_KEY"),
            ({"OPEN-SANDBOX-API-KEY": "nope"}, "INVALID_API_KEY"),
            ({"X-EXECD-ACCESS-TOKEN": "nope"}, "INVALID_API_KEY"),
        ],
    )
    def test_refused(self, client, sid, headers, code):
        response = client.get(f"/v1/sandboxes/{sid}/proxy/44772/ping", headers=headers)
        assert response.status_code == 401 and response.json()["code"] == code

    def test_token_of_another_sandbox_is_refused(self, client, backend, sid):
        other = client.post(
            "/v1/sandboxes",
            json={"image": {"uri": "img"}, "entrypoint": ["x"], "timeout": 60},
            headers={"OPEN-SANDBOX-API-KEY": KEY},
        ).json()["id"]
        response = client.get(
            f"/v1/sandboxes/{sid}/proxy/44772/ping", headers=token_of(backend, other)
        )
        assert response.status_code == 401

    def test_unknown_sandbox_with_a_token_does_not_reveal_existence(self, client):
        headers = {"X-EXECD-ACCESS-TOKEN": "whatever"}
        assert (
            client.get("/v1/sandboxes/ghost/proxy/44772/ping", headers=headers).status_code == 401
        )


class TestStreaming:
    def test_multipart_upload_passes_intact(self, client, backend, sid):
        response = client.post(
            f"/v1/sandboxes/{sid}/proxy/44772/echo/files/upload",
            headers=token_of(backend, sid),
            files=[
                ("metadata", ("m", b'{"path":"/tmp/x"}', "application/json")),
                ("file", ("x", BLOB, "application/octet-stream")),
            ],
        )
        info = seen(response)
        assert info["headers"]["content-type"].startswith("multipart/form-data; boundary=")
        assert BLOB in response.content and b'{"path":"/tmp/x"}' in response.content

    def test_sse_stream(self, client, backend, sid):
        url = f"/v1/sandboxes/{sid}/proxy/44772/sse"
        with client.stream("GET", url, headers=token_of(backend, sid)) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = [line for line in response.iter_lines() if line]
        assert [json.loads(e)["text"] for e in events] == ["line 0", "line 1", "line 2"]

    def test_range_download_is_206(self, client, backend, sid):
        response = client.get(
            f"/v1/sandboxes/{sid}/proxy/44772/download",
            headers={**token_of(backend, sid), "Range": "bytes=10-19"},
        )
        assert response.status_code == 206
        assert response.content == BLOB[10:20]
        assert response.headers["content-range"] == f"bytes 10-19/{len(BLOB)}"

    def test_compressed_body_is_not_decoded_on_the_way(self, client, backend, sid):
        response = client.get(
            f"/v1/sandboxes/{sid}/proxy/44772/gzip", headers=token_of(backend, sid)
        )
        assert response.headers["content-encoding"] == "gzip"
        assert response.text == "hello " * 100  # the client decodes, we did not

    def test_hop_by_hop_headers_are_dropped(self, client, backend, sid):
        headers = {
            **token_of(backend, sid),
            "Connection": "X-Private",
            "X-Private": "1",
            "X-Keep": "2",
        }
        info = seen(client.get(f"/v1/sandboxes/{sid}/proxy/44772/echo/h", headers=headers))
        assert "x-private" not in info["headers"] and info["headers"]["x-keep"] == "2"

    def test_upstream_down_is_502(self, client, backend, sid):
        backend.endpoint_address = f"127.0.0.1:{free_port()}"
        response = client.get(
            f"/v1/sandboxes/{sid}/proxy/44772/ping", headers=token_of(backend, sid)
        )
        assert response.status_code == 502
        assert response.json()["code"] == "PROXY::UPSTREAM_UNAVAILABLE"


class TestWebSocket:
    def test_relay_and_close_code(self, client, backend, sid):
        url = f"/v1/sandboxes/{sid}/proxy/44772/ws"
        with client.websocket_connect(url, headers=token_of(backend, sid)) as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "echo hi"
            ws.send_text("bye")
            message = ws.receive()
        assert message["type"] == "websocket.close" and message["code"] == 4001

    def test_refused_without_credentials(self, client, sid):
        url = f"/v1/sandboxes/{sid}/proxy/44772/ws"
        with pytest.raises(WebSocketDisconnect) as err, client.websocket_connect(url) as ws:
            ws.receive_text()
        assert err.value.code == 1008
