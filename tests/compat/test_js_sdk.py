"""The official OpenSandbox JavaScript SDK (npm ``@alibaba-group/opensandbox``).

``tests/compat/js`` pins the SDK; ``smoke.mjs`` drives a real ``sandhold
serve`` through it (create, commands, files, info, list, renew, kill), once
reaching execd directly and once through the server proxy.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import BASE_IMAGE, missing, require_image

pytestmark = pytest.mark.docker

JS_DIR = Path(__file__).resolve().parent / "js"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed; the JavaScript SDK test needs Node.js 20+ and npm")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="module")
def js_project() -> Path:
    """``tests/compat/js`` with its locked dependencies installed."""
    node = _tool("node")
    npm = _tool("npm")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 20:
        missing(f"Node.js {version} is too old; the OpenSandbox JavaScript SDK needs 20+")
    if not (JS_DIR / "node_modules" / "@alibaba-group" / "opensandbox").is_dir():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci in {JS_DIR} failed:\n{done.stdout}\n{done.stderr}")
    return JS_DIR


def test_js_sdk_smoke(server_factory: Any, docker_client: Any, js_project: Path):
    require_image(docker_client, BASE_IMAGE)
    server = server_factory()
    stdout = server.run_client([_tool("node"), "smoke.mjs"], cwd=js_project, timeout=120)
    assert "OK:" in stdout
