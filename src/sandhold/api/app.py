"""Assembles the FastAPI application from the resource routers.

Every route is served twice: under ``/v1`` (what the SDKs call) and at the
root (what older clients and consoles call). ``/health`` needs no key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from sandhold import __version__
from sandhold.api.error_handlers import install_error_handlers
from sandhold.api.middleware import RequestContextMiddleware
from sandhold.api.routes import diagnostics, health, proxy, sandboxes, snapshots
from sandhold.backends.base import SandboxBackend
from sandhold.config import AppConfig


def api_router() -> APIRouter:
    router = APIRouter()
    router.include_router(health.health_router)
    router.include_router(health.metrics_router)
    router.include_router(snapshots.router)
    router.include_router(sandboxes.router)
    router.include_router(diagnostics.router)
    router.include_router(proxy.router)
    return router


def create_app(config: AppConfig, backend: SandboxBackend) -> FastAPI:
    """The Sandhold HTTP API in front of ``backend``.

    Args:
        config: the validated server configuration (API key, limits).
        backend: the engine; ``start()`` runs at startup, ``close()`` at shutdown.

    Returns:
        A FastAPI app ready for uvicorn.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await backend.start()
        app.state.proxy_client = proxy.new_upstream_client()
        try:
            yield
        finally:
            await app.state.proxy_client.aclose()
            await backend.close()

    app = FastAPI(
        title="Sandhold",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Some clients post JSON without a Content-Type: parse it anyway.
        strict_content_type=False,
    )
    app.state.config = config
    app.state.backend = backend
    install_error_handlers(app)
    router = api_router()
    app.include_router(router, prefix="/v1")
    app.include_router(router)
    app.add_middleware(RequestContextMiddleware)
    return app
