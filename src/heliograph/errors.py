"""Errors the domain and storage layers raise, each with its status code, and the one envelope every
failure is answered in: `{"data": null, "error": "<message>"}` (`error_body`).

HeliographError
├── InvalidInput          400  a value a person can correct, or a body that is not JSON (message says which)
├── Unauthorized          401  missing, unknown or revoked API key
├── Forbidden             403  refused by a setting (message names it)
├── NotFound              404  absent, or belonging to another organization
├── PayloadTooLarge       413  body over the configured limit
├── UnsupportedMediaType  415  a body in a Content-Type or Content-Encoding the endpoint does not take
├── InvalidBody           422  a JSON body without a required field, or with one of the wrong type
├── Unprocessable         422  a well-formed value that breaks a rule (a feedback config)
├── TooManyRequests       429  over a rate limit
├── StorageFault          500  the store failed in a way retrying will not mend
└── Unavailable           503  the store or the ingest queue cannot take work now
"""

from __future__ import annotations

import orjson

__all__ = [
    "INVALID_JSON_BODY",
    "Forbidden",
    "HeliographError",
    "InvalidBody",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "StorageFault",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "Unprocessable",
    "UnsupportedMediaType",
    "error_body",
]

INVALID_JSON_BODY = "Invalid JSON body"  # the one answer (400) to a body that does not parse as JSON


def error_body(message: str) -> bytes:
    """The JSON envelope of a failure (the schema is `api.schemas.ErrorPublic`)."""
    return orjson.dumps({"data": None, "error": message})


class HeliographError(Exception):
    """Base of every error with a message meant for the API caller."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(HeliographError):
    status_code = 400


class Unauthorized(HeliographError):
    status_code = 401


class Forbidden(HeliographError):
    status_code = 403


class NotFound(HeliographError):
    status_code = 404


class PayloadTooLarge(HeliographError):
    status_code = 413


class UnsupportedMediaType(HeliographError):
    status_code = 415


class InvalidBody(HeliographError):
    status_code = 422


class Unprocessable(HeliographError):
    status_code = 422


class TooManyRequests(HeliographError):
    status_code = 429


class StorageFault(HeliographError):
    status_code = 500


class Unavailable(HeliographError):
    status_code = 503
