"""FastAPI dependencies: settings, object store and API-key authentication with scopes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from bronze.objectstore import ObjectStore
from conf.settings import Settings, api_key_digest

API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key; scopes `ingest` and/or `read`"
)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a stable non-secret id and its scopes."""

    client_id: str
    scopes: frozenset[str]


def build_key_index(settings: Settings) -> dict[str, Principal]:
    """Map sha256(key) -> principal, so lookups never compare secrets character by character."""
    index: dict[str, Principal] = {}
    for key in settings.api_keys:
        digest = key.digest.get_secret_value()
        index[digest] = Principal(client_id=digest[:16], scopes=frozenset(key.scopes))
    return index


def get_settings(request: Request) -> Settings:
    """Settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> ObjectStore:
    """Landing-zone object store of the app."""
    store: ObjectStore = request.app.state.store
    return store


def authenticate(
    request: Request, api_key: Annotated[str | None, Security(API_KEY_HEADER)]
) -> Principal:
    """Principal of the `X-API-Key` header; 401 if missing or unknown."""
    index: dict[str, Principal] = request.app.state.api_keys
    principal = index.get(api_key_digest(api_key)) if api_key else None
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid API key (X-API-Key header)",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    return principal


def require_scope(scope: str) -> Callable[[Principal], Principal]:
    """Dependency factory: the caller must hold `scope` (403 otherwise)."""

    def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if scope not in principal.scopes:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"API key lacks the {scope!r} scope"
            )
        return principal

    return check


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ObjectStore, Depends(get_store)]
IngestPrincipal = Annotated[Principal, Depends(require_scope("ingest"))]


class BodyBudget:
    """Bytes that the ingest requests of one process may hold at once (bounds memory)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def reserve(self, size: int) -> AsyncIterator[None]:
        """Hold `size` bytes for the block; 429 with Retry-After if the budget is spent."""
        async with self._lock:
            if self.used + size > self.limit:
                raise HTTPException(
                    status.HTTP_429_TOO_MANY_REQUESTS,
                    detail="too many concurrent ingest requests; retry later",
                    headers={"Retry-After": "1"},
                )
            self.used += size
        try:
            yield
        finally:
            self.used -= size


def _is_json_media_type(content_type: str) -> bool:
    """`application/json` or `*/*+json` (case-insensitive), in UTF-8 if a charset is given."""
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return False
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            return False
    return True


async def read_limited_body(request: Request, settings: SettingsDep) -> AsyncIterator[bytes]:
    """JSON request body; 413 above `max_body_bytes` (declared or actual), 415 if not JSON.

    The body's bytes are reserved in the process-wide `BodyBudget` until the response is
    sent, so concurrent large requests cannot exhaust memory (429 instead).
    """
    if not _is_json_media_type(request.headers.get("content-type", "application/json")):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail="send the body as application/json"
        )
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit() or not declared.isascii():
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="invalid Content-Length")
        if int(declared) > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, detail=f"body exceeds {limit} bytes"
            )
    budget: BodyBudget = request.app.state.body_budget
    # Decoded JSON takes a few times the body: reserve for that, not just the wire bytes.
    reserved = (int(declared) if declared is not None else limit) * 4 + 64 * 1024
    async with budget.reserve(reserved):
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(
                    status.HTTP_413_CONTENT_TOO_LARGE, detail=f"body exceeds {limit} bytes"
                )
            chunks.append(chunk)
        body = b"".join(chunks)
        del chunks  # the dependency lives until the response is sent: keep one copy only
        yield body


LimitedBody = Annotated[bytes, Depends(read_limited_body)]
