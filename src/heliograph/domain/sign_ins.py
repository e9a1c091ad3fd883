"""Dashboard sign-ins kept on the server: their ids, and how often a page view records itself."""

from __future__ import annotations

import secrets

__all__ = ["new_sign_in_id", "touch_due"]

# How stale the last page view may be before a page writes the newer one: a write per page view would
# put every page behind the ingest batches on a store's one writer. A sign-in so ends between 3/4 of
# the idle timeout and the whole of it after its last page view.
_TOUCH_FRACTION = 4
_TOUCH_AT_MOST_MS = 60_000


def new_sign_in_id() -> str:
    """A random sign-in id (128 bits), the cookie's reference to the server's record."""
    return secrets.token_hex(16)


def touch_due(*, last_seen_ms: int, now_ms: int, idle_ms: int) -> bool:
    """Whether a page view now should record itself."""
    return now_ms - last_seen_ms > min(idle_ms // _TOUCH_FRACTION, _TOUCH_AT_MOST_MS)
