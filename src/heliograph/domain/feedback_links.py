"""Signed feedback links: a token that lets an end user's browser send one feedback record, with no key.

A token is `<payload>.<signature>`, both base64url: the payload names the organization, session, request
(optional), feedback name, rater and expiry; the signature is HMAC-SHA256 of the payload under a key
derived from the server's secret. Checking one needs no database row, and compares in constant time.
The payload is signed, not encrypted: it is the app's own session id, which its user already has.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass

import orjson

from heliograph.errors import TooManyRequests, Unauthorized

__all__ = [
    "DEFAULT_LINK_LIFETIME_S",
    "MAX_LINK_LIFETIME_S",
    "FeedbackLinkSigner",
    "LinkRateLimit",
    "LinkScope",
    "new_link_rater",
]

DEFAULT_LINK_LIFETIME_S = 7 * 24 * 3600
MAX_LINK_LIFETIME_S = 90 * 24 * 3600
MAX_TOKEN_CHARS = 2_048
_PURPOSE = b"heliograph feedback links v1"  # keeps these signatures apart from the dashboard's cookies


@dataclass(frozen=True, slots=True)
class LinkScope:
    """What a token allows: one record of (org, session, request, name, rater), until `expires_at_ms`."""

    org_id: str
    session_id: str
    request_id: str | None
    name: str
    rater: str
    expires_at_ms: int


def new_link_rater() -> str:
    """A rater of its own for a link made without one."""
    return f"link-{secrets.token_hex(6)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FeedbackLinkSigner:
    """Signs and checks feedback link tokens with a key derived from the server secret."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()

    def _signature(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def sign(self, scope: LinkScope) -> str:
        fields = [
            scope.org_id,
            scope.session_id,
            scope.request_id,
            scope.name,
            scope.rater,
            scope.expires_at_ms,
        ]
        payload = _b64(orjson.dumps(fields))
        return f"{payload}.{self._signature(payload)}"

    def check(self, token: str, *, now_ms: int | None = None) -> LinkScope:
        """The scope of a genuine, unexpired token; Unauthorized otherwise."""
        payload, _, signature = token.partition(".")
        if len(token) > MAX_TOKEN_CHARS or not hmac.compare_digest(
            signature.encode(), self._signature(payload).encode()
        ):
            raise Unauthorized("Invalid feedback token")
        try:
            org_id, session_id, request_id, name, rater, expires_at_ms = orjson.loads(_unb64(payload))
        except (ValueError, TypeError, binascii.Error) as exc:  # signed by us, so only a bug gets here
            raise Unauthorized("Invalid feedback token") from exc
        scope = LinkScope(org_id, session_id, request_id, name, rater, int(expires_at_ms))
        if scope.expires_at_ms <= (time.time_ns() // 1_000_000 if now_ms is None else now_ms):
            raise Unauthorized("Feedback link expired")
        return scope


class LinkRateLimit:
    """At most `per_minute` sends per token in any 60 seconds, counted in this process's memory.

    Keyed by a digest of the token (never the token). The oldest tokens are forgotten past `max_tokens`.
    """

    def __init__(self, *, per_minute: int, max_tokens: int = 100_000) -> None:
        self._per_minute = per_minute
        self._max_tokens = max_tokens
        self._sent: dict[bytes, deque[float]] = {}

    def take(self, token: str) -> None:
        """Count one send of `token`; TooManyRequests when it is over the limit (then it is not counted)."""
        key = hashlib.sha256(token.encode()).digest()
        now = time.monotonic()
        sent = self._sent.pop(key, None) or deque()
        while sent and sent[0] <= now - 60:
            sent.popleft()
        self._sent[key] = sent  # re-inserted: the dict keeps the most recently used last
        if len(sent) >= self._per_minute:
            raise TooManyRequests("Too many feedback sends with this link; try again in a minute")
        sent.append(now)
        while len(self._sent) > self._max_tokens:
            del self._sent[next(iter(self._sent))]
