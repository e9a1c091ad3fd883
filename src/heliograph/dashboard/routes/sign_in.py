"""Signing in with an API key and signing out."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from heliograph.api.deps import StoreDep
from heliograph.dashboard.auth import (
    CookieSigner,
    SameOrigin,
    clear_sign_in_cookie,
    idle_ms,
    read_sign_in,
    set_sign_in_cookie,
)
from heliograph.dashboard.rendering import SIGN_IN_PATH, render, sign_in_url
from heliograph.domain.keys import hash_api_key

router = APIRouter()

DEFAULT_NEXT = "/dashboard/sessions"
MAX_KEY_CHARS = 200
NOTICES = {
    "revoked": "Your sign-in is no longer valid: the API key was revoked, or the sign-in expired. "
    "Sign in with an active key.",
    "expired": "Your sign-in expired. Sign in again.",
    "signed-out": "You are signed out.",
}
WRONG_KEY = "That API key is not valid: it is unknown or has been revoked. Check it and try again."


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard path on this server, never another site."""
    if not target:
        return DEFAULT_NEXT
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or not target.startswith("/dashboard"):
        return DEFAULT_NEXT
    if parts.path.startswith(SIGN_IN_PATH):
        return DEFAULT_NEXT
    return target


def _form(*, next_path: str, error: str | None, notice: str | None, status: int) -> Response:
    context = {"viewer": None, "next_path": next_path, "error": error, "notice": notice, "section": None}
    return render("sign_in.html", context, status_code=status)


@router.get(SIGN_IN_PATH)
async def sign_in_page(
    next_path: Annotated[str | None, Query(alias="next")] = None,
    reason: str | None = None,
) -> Response:
    notice = NOTICES.get(reason or "")
    return _form(next_path=safe_next(next_path), error=None, notice=notice, status=200)


@router.post(SIGN_IN_PATH, dependencies=[SameOrigin])
async def sign_in(
    request: Request,
    store: StoreDep,
    api_key: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Check the key against the store; on success set the cookie and go on, else say what is wrong."""
    next_path, key = safe_next(next_path), api_key.strip()
    if not key:
        return _form(next_path=next_path, error="Enter an API key.", notice=None, status=400)
    if len(key) > MAX_KEY_CHARS or await store.org_for_key_hash(hash_api_key(key)) is None:
        return _form(next_path=next_path, error=WRONG_KEY, notice=None, status=401)
    sign_in_id = await store.start_sign_in(key_hash=hash_api_key(key), idle_ms=idle_ms(request))
    signer: CookieSigner = request.app.state.dashboard_signer
    response = RedirectResponse(next_path, status_code=303)
    set_sign_in_cookie(response, request, signer.sign_in_value(key, sign_in_id))
    return response


@router.post("/dashboard/sign-out", dependencies=[SameOrigin])
async def sign_out(request: Request, store: StoreDep) -> Response:
    """End the sign-in on the server (a copy of the cookie signs nobody in after this), clear the cookie."""
    sign_in = read_sign_in(request)
    if sign_in is not None:
        await store.end_sign_in(sign_in_id=sign_in.sign_in_id)
    response = RedirectResponse(sign_in_url(reason="signed-out"), status_code=303)
    clear_sign_in_cookie(response, request)
    return response
