"""Helpers shared by the engine suites: image names, skips, a real server process.

``ServerProcess`` runs the real ``sandhold serve`` as a subprocess: tests drive
it with the official clients exactly as a user would (a config file on disk,
the console script, a real port).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
VERSION = (ROOT / "VERSION").read_text().strip()
BUSYBOX_IMAGE = f"sandhold/busybox:{VERSION}"
BASE_IMAGE = f"sandhold/base:{VERSION}"
EXECD_IMAGE = f"sandhold/execd:{VERSION}"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Skip locally, fail under CI: the engine is part of what CI must provide."""
    import pytest

    if IN_CI:
        pytest.fail(f"required for CI: {reason}")
    pytest.skip(reason)


def require_runtime(client: Any, name: str) -> None:
    runtimes = client.info().get("Runtimes") or {}
    if name not in runtimes:
        missing(f"Docker runtime {name!r} is not registered; run `make setup`")


def require_image(client: Any, image: str) -> None:
    import docker.errors

    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        missing(f"image {image} is missing; run `make images`")


def runtime_sections(runtime: str) -> dict[str, dict[str, Any]]:
    """Config sections for a server whose sandboxes run under ``runtime``."""
    if runtime == "runc":
        return {}
    if runtime == "runsc":
        return {"secure_runtime": {"type": "gvisor"}}
    return {"secure_runtime": {"type": runtime, "docker_runtime": runtime}}


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def create_body(image: str, /, **changes: Any) -> dict[str, Any]:
    """A small, valid lifecycle create body; ``changes`` replace top-level fields."""
    return {
        "image": {"uri": image},
        "entrypoint": ["tail", "-f", "/dev/null"],
        "timeout": 120,
        "resourceLimits": {"cpu": "1", "memory": "256Mi"},
        **changes,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def to_toml(sections: dict[str, dict[str, Any]]) -> str:
    """A tiny TOML writer for flat sections of str/int/bool/list values."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return str(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    out = []
    for name, keys in sections.items():
        out.append(f"[{name}]")
        out += [f"{k} = {value(v)}" for k, v in keys.items()]
        out.append("")
    return "\n".join(out)


@dataclass
class ServerProcess:
    """One ``sandhold serve`` process with its own config file and port."""

    workdir: Path
    sections: dict[str, dict[str, Any]]
    api_key: str = "test-api-key"
    port: int = field(default_factory=free_port)
    # A server name of its own: servers of concurrent tests never see, expire
    # or reap each other's sandboxes.
    name: str = field(default_factory=lambda: f"test-{secrets.token_hex(4)}")
    proc: subprocess.Popen | None = None

    @property
    def config_path(self) -> Path:
        return self.workdir / "sandbox.toml"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.domain}"

    def write_config(self) -> None:
        sections = {k: dict(v) for k, v in self.sections.items()}
        server = sections.setdefault("server", {})
        server.setdefault("name", self.name)
        server.update({"host": "127.0.0.1", "port": self.port, "api_key": self.api_key})
        self.config_path.write_text(to_toml(sections))

    def start(self, timeout: float = 60.0, *, expect_ready: bool = True) -> None:
        self.write_config()
        env = {**os.environ, "SANDBOX_CONFIG_PATH": str(self.config_path)}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sandhold.cli", "serve", "--config", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        if expect_ready:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}:\n{self.logs()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout}s:\n{self.logs()}")

    def wait_exit(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/v1",
            headers={"OPEN-SANDBOX-API-KEY": self.api_key},
            timeout=120,
        )

    def connection(self, *, use_server_proxy: bool = False) -> Any:
        from datetime import timedelta

        from opensandbox.config import ConnectionConfigSync

        return ConnectionConfigSync(
            api_key=self.api_key,
            domain=self.domain,
            request_timeout=timedelta(seconds=120),
            use_server_proxy=use_server_proxy,
        )

    def async_connection(self, *, use_server_proxy: bool = False) -> Any:
        from datetime import timedelta

        from opensandbox.config import ConnectionConfig

        return ConnectionConfig(
            api_key=self.api_key,
            domain=self.domain,
            request_timeout=timedelta(seconds=120),
            use_server_proxy=use_server_proxy,
        )

    @contextmanager
    def sandbox(
        self, image: str, *, use_server_proxy: bool = False, **kwargs: Any
    ) -> Iterator[Any]:
        """A sandbox created with the official SDK on this server, killed afterwards."""
        from opensandbox.sync import SandboxSync

        conn = self.connection(use_server_proxy=use_server_proxy)
        sandbox = SandboxSync.create(image, connection_config=conn, **kwargs)
        try:
            yield sandbox
        finally:
            sandbox.kill()
            sandbox.close()

    def run_client(self, argv: list[str], *, timeout: float, cwd: Path | None = None) -> str:
        """Run a client program against this server; return its stdout.

        The program gets the environment the official SDKs read
        (``OPEN_SANDBOX_DOMAIN``, ``OPEN_SANDBOX_API_KEY``) and ``SMOKE_IMAGE``.
        On a non-zero exit or a timeout the test fails with the program's
        output and the tail of the server log.
        """
        import pytest

        env = {
            **os.environ,
            "OPEN_SANDBOX_DOMAIN": self.domain,
            "OPEN_SANDBOX_API_KEY": self.api_key,
            "SMOKE_IMAGE": BASE_IMAGE,
        }
        env.pop("PYTHONPATH", None)  # the client brings its own packages
        name = Path(argv[-1]).name
        try:
            done = subprocess.run(
                argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"{name} timed out:\n{exc.stdout}\n{exc.stderr}\n{self.logs()[-4000:]}")
        assert done.returncode == 0, (
            f"{name} exited {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n"
            f"{done.stderr[-6000:]}\n--- server log (tail)\n{self.logs()[-4000:]}"
        )
        return done.stdout

    def delete_all_sandboxes(self) -> None:
        """Remove what a test left behind, through the API itself."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with self.api() as api:
            listing = api.get("/sandboxes", params={"pageSize": 200})
            if listing.status_code != 200:
                return
            for item in listing.json().get("items", []):
                api.delete(f"/sandboxes/{item['id']}")
