"""The HTTP API: OpenSandbox Lifecycle + Diagnostics routes and the server proxy.

``create_app(config, backend)`` is the only entry point; the CLI serves it
with uvicorn. Routes talk to nothing but the ``SandboxBackend`` protocol.
"""

from sandhold.api.app import create_app

__all__ = ["create_app"]
