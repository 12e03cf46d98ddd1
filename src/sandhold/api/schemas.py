"""Wire schemas of the Lifecycle and Diagnostics APIs (camelCase on the wire).

Request models are lenient on purpose: unknown fields are kept, not refused,
and fields Sandhold does not build yet are typed ``Any`` so that ``convert``
can answer them with a precise 501 instead of a generic validation error.
Response models omit ``None`` fields (``expiresAt`` of a sandbox that never
expires is absent, not ``null``), which is what the official SDKs parse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class _Request(_Wire):
    # Newer and older clients send fields we do not know: keep them, never crash.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


# --- requests ---------------------------------------------------------------


class ImageAuthIn(_Request):
    username: str
    password: str


class ImageSpecIn(_Request):
    uri: str
    auth: ImageAuthIn | None = None


# A resource quantity: "1", "0.5", "500m", "2Gi"; some clients send numbers.
Quantity = str | int | float


class SandboxCreate(_Request):
    image: ImageSpecIn | None = None
    entrypoint: list[str] | None = None
    timeout: int | None = None
    resource_limits: dict[str, Quantity] | None = None
    resource_requests: dict[str, Quantity] | None = None
    env: dict[str, str] | None = None
    metadata: dict[str, str] | None = None
    extensions: dict[str, Any] | None = None
    secure_access: bool | None = None
    # Documented upstream, not built here: checked by convert.unsupported_fields.
    network_policy: Any = None
    snapshot_id: Any = None
    template_id: Any = None
    platform: Any = None
    credential_proxy: Any = None
    volumes: Any = None
    lifecycle: Any = None


class RenewExpiration(_Request):
    expires_at: datetime


# --- responses --------------------------------------------------------------


class ImageSpecPublic(_Wire):
    uri: str


class StatusPublic(_Wire):
    state: str
    reason: str | None = None
    message: str | None = None
    last_transition_at: datetime | None = None


class SandboxCreated(_Wire):
    id: str
    status: StatusPublic
    metadata: dict[str, str] = Field(default_factory=dict)
    entrypoint: list[str]
    created_at: datetime
    expires_at: datetime | None = None


class SandboxPublic(SandboxCreated):
    image: ImageSpecPublic


class Pagination(_Wire):
    page: int
    page_size: int
    total_items: int
    total_pages: int
    has_next_page: bool


class SandboxList(_Wire):
    items: list[SandboxPublic]
    pagination: Pagination


class Renewed(_Wire):
    expires_at: datetime


class EndpointPublic(_Wire):
    endpoint: str
    headers: dict[str, str] = Field(default_factory=dict)


class DiagnosticContent(_Wire):
    sandbox_id: str
    kind: Literal["logs", "events"]
    scope: str
    delivery: Literal["inline"] = "inline"
    content_type: str
    truncated: bool
    content: str


class ErrorBody(BaseModel):
    code: str
    message: str


class Health(BaseModel):
    status: Literal["healthy"] = "healthy"
