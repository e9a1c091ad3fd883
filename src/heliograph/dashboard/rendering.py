"""HTML responses: the Jinja2 environment (autoescaped), full pages or htmx partials, and error pages.

A page route renders its full template, or, when htmx asks for one element (`HX-Target`), the
`_`-prefixed partial that fills it, from the same context. Every response carries a strict Content
Security Policy: scripts only from our own static files, no inline script at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from heliograph import __version__
from heliograph.dashboard.auth import SignInRequired, clear_sign_in_cookie
from heliograph.dashboard.formatting import FILTERS

__all__ = [
    "SIGN_IN_PATH",
    "PageNotFound",
    "install_error_pages",
    "partial_target",
    "render",
    "render_html",
    "sign_in_url",
]

TEMPLATES = Path(__file__).parent / "templates"
SIGN_IN_PATH = "/dashboard/sign-in"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show one organization's data: never keep them in a shared cache or the back-forward cache.
    "Cache-Control": "no-store",
}

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,  # a misspelt name fails the render instead of showing nothing
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(FILTERS)
_environment.globals["version"] = __version__


class PageNotFound(Exception):
    """Absent, or belonging to another organization: a 404 page that says no more than that."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def partial_target(request: Request) -> str | None:
    """The element id htmx will swap, or None when the browser wants a whole page."""
    if request.headers.get("HX-Request") != "true":
        return None
    if request.headers.get("HX-History-Restore-Request") == "true":
        return None
    return request.headers.get("HX-Target")


def render(
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render `template` with `context` into a response with the security headers."""
    html = render_html(template, context)
    return HTMLResponse(html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})})


def render_html(template: str, context: dict[str, Any]) -> str:
    """The HTML of one template (a page or a partial), autoescaped."""
    return _environment.get_template(template).render(**context)


def sign_in_url(next_path: str | None = None, reason: str | None = None) -> str:
    params = {k: v for k, v in (("next", next_path), ("reason", reason)) if v}
    return SIGN_IN_PATH + (f"?{urlencode(params)}" if params else "")


def install_error_pages(app: FastAPI) -> None:
    """Sign-in redirects and the not-found page for dashboard routes (the API keeps its JSON errors)."""

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        target = sign_in_url(exc.next_path if request.method == "GET" else None, exc.reason)
        response: Response
        if request.headers.get("HX-Request") == "true":
            # An htmx swap cannot follow a redirect into a whole page; HX-Redirect makes the browser go.
            response = Response(status_code=200, headers={"HX-Redirect": target})
        else:
            response = RedirectResponse(target, status_code=303)
        if exc.reason is not None:
            clear_sign_in_cookie(response, request)
        return response

    @app.exception_handler(PageNotFound)
    async def _not_found(request: Request, exc: PageNotFound) -> Response:
        return render("not_found.html", {"what": exc.what, "viewer": None}, status_code=404)
