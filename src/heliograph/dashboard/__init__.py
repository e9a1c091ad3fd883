"""The web dashboard: server-rendered pages (Jinja2, htmx, Chart.js) over the same domain and storage
functions as the JSON API, signed in with an API key.

`install_dashboard(app)` adds its static files, pages and error pages to the app; the app's lifespan
puts the cookie signer on `app.state.dashboard_signer` (see `auth.CookieSigner`, `secret`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from heliograph.dashboard.auth import CookieSigner
from heliograph.dashboard.rendering import install_error_pages
from heliograph.dashboard.routes import router
from heliograph.dashboard.secret import dashboard_secret

__all__ = ["CookieSigner", "dashboard_secret", "install_dashboard"]

STATIC = Path(__file__).parent / "static"


def install_dashboard(app: FastAPI) -> None:
    """Mount the static files, then the pages (whose catch-all must come after them), then error pages."""
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")
    app.include_router(router)
    install_error_pages(app)
