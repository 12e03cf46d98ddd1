"""An older official OpenSandbox Python SDK (0.1.x) against a real server.

Framework integrations still pin 0.1.x releases. They cannot share an
environment with the current SDK, so the test keeps a virtualenv per version
under ``/var/cache/sandhold/venvs`` (built once, reused afterwards) and runs
``legacy/smoke_sdk_01x.py`` with its interpreter: create with a custom
entrypoint, fractional cpu, a one-day timeout and dotted metadata keys, then
commands, files, info, list by metadata, renew and kill, once reaching execd
directly and once through the server proxy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import BASE_IMAGE, missing, require_image

pytestmark = pytest.mark.docker

LEGACY_VERSION = "0.1.16"
VENV_ROOT = Path("/var/cache/sandhold/venvs")
SMOKE = Path(__file__).resolve().parent / "legacy" / "smoke_sdk_01x.py"


def _run(cmd: list[str], what: str) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        missing(f"{what} failed: {exc}")
        return
    if done.returncode != 0:
        missing(f"{what} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


@pytest.fixture(scope="module")
def legacy_python() -> Path:
    """The interpreter of a cached virtualenv holding ``opensandbox==LEGACY_VERSION``."""
    venv = VENV_ROOT / f"opensandbox-{LEGACY_VERSION}"
    python = venv / "bin" / "python"
    if python.exists():
        return python
    try:
        VENV_ROOT.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        missing(f"cannot create {VENV_ROOT}: {exc}")
    # Build beside the final path and rename, so a half-built venv is never reused.
    partial = VENV_ROOT / f".opensandbox-{LEGACY_VERSION}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        _run([sys.executable, "-m", "venv", str(partial)], "creating a virtualenv")
        _run(
            [
                str(partial / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"opensandbox=={LEGACY_VERSION}",
            ],
            f"pip install opensandbox=={LEGACY_VERSION}",
        )
        try:
            partial.rename(venv)
        except OSError:
            if not python.exists():  # not a concurrent build that won the race
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return python


def test_legacy_python_sdk_smoke(server_factory: Any, docker_client: Any, legacy_python: Path):
    require_image(docker_client, BASE_IMAGE)
    server = server_factory()
    stdout = server.run_client([str(legacy_python), str(SMOKE)], timeout=180)
    assert f"OK: opensandbox {LEGACY_VERSION}" in stdout
