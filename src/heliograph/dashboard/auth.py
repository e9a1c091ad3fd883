"""Dashboard sign-in: a signed, HttpOnly, SameSite=Strict cookie, re-checked against the store on every page.

The cookie holds the SHA-256 of the API key (the form in which keys are stored), its display prefix
and the id of the sign-in that the server keeps, signed with itsdangerous and stamped with the time of
sign-in; the key itself never leaves the sign-in form. Every page checks the sign-in on the server
(`Store.continue_sign_in`: ended by signing out, or unused for HELIOGRAPH_DASHBOARD_IDLE_TIMEOUT) and
looks the hash up again (`Store.org_for_key_hash`), so a copied cookie is worthless after sign-out and
a revoked key is signed out at its next page. SameSite=Strict keeps the cookie off cross-site
requests, which is what protects the dashboard's POST forms from cross-site request forgery.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from heliograph.api.deps import StoreDep
from heliograph.domain.keys import hash_api_key, key_display_prefix

__all__ = [
    "COOKIE_NAME",
    "SIGN_IN_SECONDS",
    "CookieSigner",
    "SameOrigin",
    "SignIn",
    "SignInRequired",
    "Viewer",
    "ViewerDep",
    "clear_sign_in_cookie",
    "idle_ms",
    "origin_of",
    "read_sign_in",
    "set_sign_in_cookie",
]

COOKIE_NAME = "heliograph_dashboard"
SIGN_IN_SECONDS = 7 * 24 * 3600  # a sign-in lasts a week at most, less if idle, signed out or revoked
_SALT = "heliograph.dashboard.sign-in"
_COOKIE_PATH = "/"  # `/` itself redirects into the dashboard according to the sign-in


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: the organization of the signed-in key, and the key's display prefix."""

    org_id: str
    key_prefix: str


@dataclass(frozen=True, slots=True)
class SignIn:
    """What a valid cookie carries."""

    key_hash: str
    key_prefix: str
    sign_in_id: str


class SignInRequired(Exception):
    """No valid sign-in: the dashboard redirects to the sign-in page.

    `reason` is "expired" or "revoked" when a cookie was sent but no longer signs anyone in (the
    cookie is then cleared), and None when there was no cookie.
    """

    def __init__(self, *, next_path: str, reason: Literal["expired", "revoked"] | None = None) -> None:
        super().__init__(reason or "signed out")
        self.next_path = next_path
        self.reason = reason


class CookieSigner:
    """Signs and checks the sign-in cookie's value with the dashboard secret."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)

    def sign_in_value(self, api_key: str, sign_in_id: str) -> str:
        """The cookie value for a key that was just checked, and the sign-in the server recorded."""
        return self._serializer.dumps(
            {"h": hash_api_key(api_key), "p": key_display_prefix(api_key), "s": sign_in_id}
        )

    def read(self, value: str) -> SignIn | None:
        """The sign-in a cookie value carries, or None if it is forged, expired or malformed."""
        try:
            payload = self._serializer.loads(value, max_age=SIGN_IN_SECONDS)
        except BadSignature:  # also covers SignatureExpired
            return None
        if not isinstance(payload, dict):
            return None
        key_hash, prefix, sign_in_id = payload.get("h"), payload.get("p"), payload.get("s")
        if not all(isinstance(part, str) for part in (key_hash, prefix, sign_in_id)):
            return None  # also a cookie from before sign-ins were kept on the server
        return SignIn(key_hash=str(key_hash), key_prefix=str(prefix), sign_in_id=str(sign_in_id))


def set_sign_in_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=SIGN_IN_SECONDS,
        path=_COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_sign_in_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE_NAME, path=_COOKIE_PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def read_sign_in(request: Request) -> SignIn | None:
    """The sign-in the request's cookie carries, if validly signed (not yet checked on the server)."""
    value = request.cookies.get(COOKIE_NAME)
    return _signer(request).read(value) if value else None


def idle_ms(request: Request) -> int:
    """How long a sign-in may go unused (HELIOGRAPH_DASHBOARD_IDLE_TIMEOUT), in milliseconds."""
    seconds: float = request.app.state.dashboard_idle_timeout
    return int(seconds * 1000)


def _signer(request: Request) -> CookieSigner:
    signer: CookieSigner = request.app.state.dashboard_signer
    return signer


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


async def _current_viewer(request: Request, store: StoreDep) -> Viewer:
    """The signed-in viewer, checked against the store now; SignInRequired otherwise."""
    if not request.cookies.get(COOKIE_NAME):
        raise SignInRequired(next_path=_here(request))
    sign_in = read_sign_in(request)
    if sign_in is None:
        raise SignInRequired(next_path=_here(request), reason="expired")
    kept = await store.continue_sign_in(sign_in_id=sign_in.sign_in_id, idle_ms=idle_ms(request))
    if kept != sign_in.key_hash:  # signed out, idle too long, or not this key's
        raise SignInRequired(next_path=_here(request), reason="expired")
    org_id = await store.org_for_key_hash(sign_in.key_hash)
    if org_id is None:
        raise SignInRequired(next_path=_here(request), reason="revoked")
    return Viewer(org_id=org_id, key_prefix=sign_in.key_prefix)


ViewerDep = Annotated[Viewer, Depends(_current_viewer)]


def origin_of(url: str) -> str | None:
    """`scheme://host:port` of an http(s) URL (the port spelled out), or None for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or port is None:
        return None
    return f"{parts.scheme.lower()}://{parts.hostname}:{port}"


async def _same_origin(request: Request) -> None:
    """Refuse a form post unless its `Origin` (or, without one, its `Referer`) is the dashboard's own.

    The dashboard's own origin is HELIOGRAPH_PUBLIC_URL's, or else the request's (its scheme and Host,
    which a rebound DNS name can choose: set the public URL to rule that out). SameSite=Strict already
    keeps the cookie off cross-site posts; this also covers the sign-in form, which has no cookie yet
    (so another site cannot sign a visitor in to its own organization).
    """
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent:
        raise HTTPException(status_code=403, detail="Form posts must carry an Origin or Referer header")
    own: str | None = request.app.state.public_origin or origin_of(str(request.base_url))
    if origin_of(sent) != own:
        raise HTTPException(status_code=403, detail="Cross-site form posts are refused")


SameOrigin = Depends(_same_origin)
