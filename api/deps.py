"""FastAPI dependencies: settings, object store and API-key authentication with scopes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from bronze.objectstore import ObjectStore
from conf.settings import Settings

API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key; scopes `ingest` and/or `read`"
)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a stable non-secret id and its scopes."""

    client_id: str
    scopes: frozenset[str]


def _digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def build_key_index(settings: Settings) -> dict[str, Principal]:
    """Map sha256(key) -> principal, so lookups never compare secrets character by character."""
    return {
        _digest(key): Principal(client_id=_digest(key)[:16], scopes=frozenset(scopes))
        for key, scopes in settings.api_keys.items()
    }


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
    principal = index.get(_digest(api_key)) if api_key else None
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


async def read_limited_body(request: Request, settings: SettingsDep) -> bytes:
    """JSON request body; 413 above `max_body_bytes` (declared or actual), 415 if not JSON."""
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail="send the body as application/json"
        )
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="invalid Content-Length")
        if int(declared) > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, detail=f"body exceeds {limit} bytes"
            )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, detail=f"body exceeds {limit} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


LimitedBody = Annotated[bytes, Depends(read_limited_body)]
