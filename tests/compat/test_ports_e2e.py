"""Any sandbox port, reached the ways clients reach it: HTTP and WebSocket,
directly through execd's /proxy and through the server proxy.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from helpers import BASE_IMAGE, require_image, runtime_sections, wait_for
from opensandbox.models.execd import RunCommandOpts
from websockets.sync.client import connect

pytestmark = pytest.mark.docker

# A WebSocket echo server on the standard library only (the base image has
# no third-party packages). Enough of RFC 6455 for short text frames.
WS_ECHO = r"""
import base64, hashlib, socket, struct, threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

def exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data

def serve(conn):
    request = b""
    while b"\r\n\r\n" not in request:
        request += conn.recv(4096)
    headers = dict(
        (k.strip().lower(), v.strip())
        for k, _, v in (line.partition(b":") for line in request.split(b"\r\n")[1:] if line)
    )
    accept = base64.b64encode(hashlib.sha1(headers[b"sec-websocket-key"] + GUID).digest())
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    while True:
        first, second = exact(conn, 2)
        opcode, length = first & 0x0F, second & 0x7F
        if length == 126:
            length = struct.unpack(">H", exact(conn, 2))[0]
        mask = exact(conn, 4)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(exact(conn, length)))
        if opcode == 8:
            conn.sendall(b"\x88\x00")
            return
        if opcode == 1:
            reply = b"echo:" + payload
            conn.sendall(bytes([0x81, len(reply)]) + reply)

listener = socket.create_server(("127.0.0.1", 8081))
while True:
    client, _ = listener.accept()
    threading.Thread(target=serve, args=(client,), daemon=True).start()
"""


def start_services(sandbox: Any) -> None:
    sandbox.files.write_file("/srv/index.txt", "served from the sandbox\n")
    sandbox.files.write_file("/srv/ws_echo.py", WS_ECHO)
    background = RunCommandOpts(background=True)
    sandbox.commands.run("python3 -m http.server 8080 --bind 127.0.0.1 -d /srv", opts=background)
    sandbox.commands.run("python3 /srv/ws_echo.py", opts=background)
    wait_for(
        lambda: (
            sandbox.commands.run(
                "python3 -c \"import socket; [socket.create_connection(('127.0.0.1', p)) "
                'for p in (8080, 8081)]"'
            ).error
            is None
        ),
        20,
        "the services inside the sandbox",
    )


def test_http_and_websocket_ports(server_factory: Any, docker_client: Any, runtime: str):
    require_image(docker_client, BASE_IMAGE)
    server = server_factory(runtime_sections(runtime))
    with server.sandbox(BASE_IMAGE) as sandbox:
        start_services(sandbox)

        # Direct: the endpoint goes through execd's /proxy with the token header.
        direct = sandbox.get_endpoint(8080)
        got = httpx.get(f"http://{direct.endpoint}/index.txt", headers=direct.headers)
        assert got.status_code == 200 and got.text == "served from the sandbox\n"
        assert httpx.get(f"http://{direct.endpoint}/index.txt").status_code == 401

        # Through the server: the API key is enough.
        key = {"OPEN-SANDBOX-API-KEY": server.api_key}
        proxied = f"{server.url}/v1/sandboxes/{sandbox.id}/proxy"
        got = httpx.get(f"{proxied}/8080/index.txt", headers=key)
        assert got.status_code == 200 and got.text == "served from the sandbox\n"
        # A Range download from execd itself, through the server proxy.
        ranged = httpx.get(
            f"{proxied}/44772/files/download",
            params={"path": "/srv/index.txt"},
            headers={**key, "Range": "bytes=0-5"},
        )
        assert ranged.status_code == 206 and ranged.text == "served"
        assert httpx.get(f"{proxied}/8080/index.txt").status_code == 401

        ws_direct = sandbox.get_endpoint(8081)
        with connect(f"ws://{ws_direct.endpoint}/", additional_headers=ws_direct.headers) as ws:
            ws.send("hi")
            assert ws.recv(timeout=10) == "echo:hi"
        ws_url = f"ws://{server.domain}/v1/sandboxes/{sandbox.id}/proxy/8081/"
        with connect(ws_url, additional_headers=key) as ws:
            ws.send(json.dumps({"n": 1}))
            assert ws.recv(timeout=10) == 'echo:{"n": 1}'
