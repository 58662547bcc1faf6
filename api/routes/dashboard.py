"""The finlake dashboard: one static page whose script reads the metrics API (no CDN, no build)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
ASSETS: dict[str, str] = {
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
}

router = APIRouter(tags=["dashboard"])


@router.get("/dashboard", include_in_schema=False)
def dashboard_page() -> FileResponse:
    """The dashboard HTML page (the API key is entered in the page, never embedded)."""
    return FileResponse(STATIC_DIR / "dashboard.html", media_type="text/html")


@router.get("/dashboard/static/{name}", include_in_schema=False)
def dashboard_asset(name: str) -> FileResponse:
    """A script or stylesheet of the dashboard (fixed allow-list of files)."""
    if name not in ASSETS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such asset")
    return FileResponse(STATIC_DIR / name, media_type=ASSETS[name])
