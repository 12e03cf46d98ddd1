"""Sandhold's error tree.

Every error a caller can see carries a stable ``code`` (``AREA::REASON``), a
human ``message`` and the HTTP status it maps to. The API layer turns any
``SandholdError`` into ``{"code", "message"}`` with that status; nothing else
in the code base needs to know about HTTP.
"""

from __future__ import annotations


class SandholdError(Exception):
    """Base of every error Sandhold reports to a caller."""

    status: int = 500
    code: str = "SANDHOLD::INTERNAL"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidRequest(SandholdError):
    """The request is malformed or asks for something impossible (400)."""

    status = 400
    code = "SANDBOX::INVALID_REQUEST"


class NotImplementedFeature(SandholdError):
    """The request uses a documented field Sandhold does not support yet (501).

    Never silently ignored: a caller who asked for e.g. a deny-all egress
    policy must not get an open network.
    """

    status = 501
    code = "SANDBOX::NOT_IMPLEMENTED"


class Unauthorized(SandholdError):
    status = 401
    code = "INVALID_API_KEY"


class SandboxNotFound(SandholdError):
    status = 404
    code = "SANDBOX::NOT_FOUND"


class StateConflict(SandholdError):
    """The sandbox is in a state that does not allow the operation (409)."""

    status = 409
    code = "SANDBOX::STATE_CONFLICT"


class ImageError(SandholdError):
    """The image cannot be found or pulled (400: the caller named it)."""

    status = 400
    code = "SANDBOX::IMAGE_UNAVAILABLE"


class RuntimeUnavailable(SandholdError):
    """The configured secure runtime is gone; nothing runs without it (503)."""

    status = 503
    code = "SECURE_RUNTIME::UNAVAILABLE"


class BackendUnavailable(SandholdError):
    """The engine (dockerd, the API server) cannot be reached (503)."""

    status = 503
    code = "BACKEND::UNAVAILABLE"


class ConfigError(Exception):
    """The administrator's configuration is wrong; startup must stop.

    The message is one line that names what is wrong and how to fix it.
    """
