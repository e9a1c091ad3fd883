"""Reads Helicone's request headers (session, properties, user, request id) with their limits."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from heliograph.domain.records import FEEDBACK_KEY, SESSION_ID_KEY, SESSION_NAME_KEY, SESSION_PATH_KEY
from heliograph.errors import InvalidInput

__all__ = [
    "MAX_PROPERTIES",
    "MAX_PROPERTY_KEY_CHARS",
    "MAX_PROPERTY_VALUE_BYTES",
    "HeliconeHeaders",
    "check_property",
    "property_key",
    "read_helicone_headers",
    "validate_session_id",
]

MAX_PROPERTY_KEY_CHARS = 256
MAX_PROPERTY_VALUE_BYTES = 4096
MAX_PROPERTIES = 100
MAX_SESSION_ID_CHARS = 256
# User ids are part of an index key; PostgreSQL btree entries must stay under ~2.7 kB.
MAX_USER_ID_BYTES = 1024
# Control characters (C0, DEL, C1), and lone surrogates, which no database can store as UTF-8. Other
# characters Python calls unprintable (no-break spaces, format marks) are fine in an id; the OpenAPI
# document states the same rule as a pattern.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

_PROPERTY_PREFIX = "helicone-property-"
_SESSION_HEADERS = {
    "helicone-session-id": SESSION_ID_KEY,
    "helicone-session-name": SESSION_NAME_KEY,
    "helicone-session-path": SESSION_PATH_KEY,
}

# The properties stored under a spelling of their own rather than the lower-cased header name.
_STORED_SPELLINGS = {key.lower(): key for key in (*_SESSION_HEADERS.values(), FEEDBACK_KEY)}


@dataclass(frozen=True, slots=True)
class HeliconeHeaders:
    """What the `Helicone-*` headers of one logged call say."""

    properties: dict[str, str]
    user_id: str | None
    request_id: str | None


def validate_session_id(session_id: str) -> str:
    """Return the id if it is 1..256 characters without control characters, else raise InvalidInput."""
    if not 0 < len(session_id) <= MAX_SESSION_ID_CHARS or _UNPRINTABLE.search(session_id):
        raise InvalidInput("Invalid session ID format")
    return session_id


def property_key(name: str) -> str:
    """A property key as ingestion stores it, for matching in filters, sorts and breakdowns: header names
    are case-insensitive, so keys are lower-case, and the session's own keys keep their stored spelling
    (`helicone-session-id` is `Helicone-Session-Id`)."""
    lowered = name.lower()
    return _STORED_SPELLINGS.get(lowered, lowered)


def check_property(key: str, value: str) -> tuple[str, str]:
    """Validate one property against the documented limits; NUL characters are dropped from the value."""
    value = value.replace("\x00", "")
    if not key or len(key) > MAX_PROPERTY_KEY_CHARS or "\x00" in key:
        raise InvalidInput(
            f"Invalid property key {key[:64]!r}: keys are 1 to {MAX_PROPERTY_KEY_CHARS} characters"
        )
    if len(value.encode("utf-8", "surrogatepass")) > MAX_PROPERTY_VALUE_BYTES:
        raise InvalidInput(
            f"Property {key!r} is too long: values are at most {MAX_PROPERTY_VALUE_BYTES} bytes"
        )
    return key, value


def read_helicone_headers(headers: Iterable[tuple[str, str]]) -> HeliconeHeaders:
    """Turn request headers (later pairs win) into properties, user id and request id (spec 2.2)."""
    properties: dict[str, str] = {}
    user_id: str | None = None
    request_id: str | None = None
    for raw_name, value in headers:
        name = raw_name.lower()
        if name in _SESSION_HEADERS:
            key = _SESSION_HEADERS[name]
            if key == SESSION_ID_KEY:
                if not value:
                    continue  # an unset variable sent as "" means "no session", not an error
                try:
                    validate_session_id(value)
                except InvalidInput:
                    raise InvalidInput(
                        "Invalid Helicone-Session-Id: use 1 to 256 printable characters"
                    ) from None
            elif key == SESSION_PATH_KEY and not value.startswith("/"):
                value = "/" + value
            properties[key] = value
        elif name.startswith(_PROPERTY_PREFIX) and len(name) > len(_PROPERTY_PREFIX):
            properties[name[len(_PROPERTY_PREFIX) :]] = value
        elif name == "helicone-user-id":
            user_id = value.replace("\x00", "") or None
        elif name == "helicone-request-id":
            request_id = _canonical_uuid(value)
    if len(properties) > MAX_PROPERTIES:
        raise InvalidInput(f"Too many properties: at most {MAX_PROPERTIES} per request")
    checked = dict(check_property(key, value) for key, value in properties.items())
    if user_id is not None and len(user_id.encode("utf-8", "surrogatepass")) > MAX_USER_ID_BYTES:
        raise InvalidInput(f"Helicone-User-Id is too long: at most {MAX_USER_ID_BYTES} bytes")
    return HeliconeHeaders(properties=checked, user_id=user_id, request_id=request_id)


def _canonical_uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
