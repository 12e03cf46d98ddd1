"""The official ``osb`` CLI (opensandbox-cli 1.1.1) against the real server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import BASE_IMAGE, missing, require_image

pytestmark = pytest.mark.docker


class Osb:
    def __init__(self, server: Any, home: Path, *, proxy: bool = False) -> None:
        self.base = [
            shutil.which("osb") or "osb",
            "--domain",
            server.domain,
            "--api-key",
            server.api_key,
            "--no-color",
            "--use-server-proxy" if proxy else "--no-use-server-proxy",
        ]
        # A private HOME: the CLI keeps its config file there.
        self.env = {**os.environ, "HOME": str(home), "NO_COLOR": "1", "COLUMNS": "200"}

    def __call__(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*self.base, *args],
            capture_output=True,
            text=True,
            env=self.env,
            input=input,
            timeout=180,
        )
        assert result.returncode == 0, f"osb {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json").stdout)


@pytest.fixture
def osb_factory(server_factory: Any, docker_client: Any, tmp_path: Path) -> Any:
    if shutil.which("osb") is None:
        missing("the osb CLI is not installed (pip install opensandbox-cli==1.1.1)")
    require_image(docker_client, BASE_IMAGE)
    server = server_factory()

    def make(proxy: bool = False) -> Osb:
        return Osb(server, tmp_path, proxy=proxy)

    return make


@pytest.mark.parametrize("proxy", [False, True], ids=["direct", "server-proxy"])
def test_cli_lifecycle(osb_factory: Any, proxy: bool):
    osb = osb_factory(proxy)
    created = osb.json(
        "sandbox", "create", "-i", BASE_IMAGE, "-t", "10m", "-m", "owner=cli", "-e", "X=42"
    )
    sandbox_id = created["id"]
    try:
        got = osb.json("sandbox", "get", sandbox_id)
        assert got["id"] == sandbox_id
        assert "Running" in json.dumps(got)

        listed = osb.json("sandbox", "list", "-m", "owner=cli", "-s", "Running")
        assert sandbox_id in json.dumps(listed)

        ran = osb("command", "run", sandbox_id, "-o", "raw", "--", "printenv", "X")
        assert ran.stdout.strip() == "42"

        osb("file", "write", sandbox_id, "/tmp/cli.txt", "-c", "from the cli")
        assert osb("file", "cat", sandbox_id, "/tmp/cli.txt").stdout.strip() == "from the cli"
    finally:
        osb("sandbox", "kill", sandbox_id)
    listed = osb.json("sandbox", "list", "-m", "owner=cli")
    assert sandbox_id not in json.dumps(listed)
