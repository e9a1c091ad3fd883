"""Session feedback: a thumbs up or down on a whole session, kept on its first request."""

from __future__ import annotations

from heliograph.domain.headers import validate_session_id
from heliograph.domain.store import Store
from heliograph.errors import NotFound

__all__ = ["rate_session"]


async def rate_session(store: Store, *, org_id: str, session_id: str, rating: bool | None) -> str:
    """Set (True/False) or clear (None) a session's feedback; returns the id of the rated request.

    The session's first request (earliest start, ties by smallest id) carries the property
    `Helicone-Session-Feedback` = "1" or "0"; a repeat overwrites, so the last call wins.
    """
    validate_session_id(session_id)
    first_request_id = await store.set_session_feedback(org_id=org_id, session_id=session_id, rating=rating)
    if first_request_id is None:
        raise NotFound("No request found")
    return first_request_id
