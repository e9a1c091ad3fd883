"""Errors the domain and storage layers raise; the HTTP layer maps each to a status code.

HeliographError
├── InvalidInput          400  a value a person can correct (message says which)
├── Unauthorized          401  missing, unknown or revoked API key
├── Forbidden             403  refused by a setting (message names it)
├── NotFound              404  absent, or belonging to another organization
├── PayloadTooLarge       413  body over the configured limit
├── UnsupportedMediaType  415  a body in an encoding the endpoint does not take
├── Unprocessable         422  a well-formed value that breaks a rule (a feedback config)
├── TooManyRequests       429  over a rate limit
└── Unavailable           503  the store or the ingest queue cannot take work now
"""

from __future__ import annotations

__all__ = [
    "Forbidden",
    "HeliographError",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "StorageFault",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "Unprocessable",
    "UnsupportedMediaType",
]


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


class Unprocessable(HeliographError):
    status_code = 422


class TooManyRequests(HeliographError):
    status_code = 429


class StorageFault(HeliographError):
    status_code = 500


class Unavailable(HeliographError):
    status_code = 503
