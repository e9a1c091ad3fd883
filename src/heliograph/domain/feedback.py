"""Feedback on sessions: records of many raters, configs of their values, and the seed's thumbs up or down.

The seed's rating is the `rating` record of rater `api`. The session's `feedback` (and the property
`Helicone-Session-Feedback` on its first request) is the newest boolean `rating` of any rater, which the
store keeps up to date in the same write as the record.
"""

from __future__ import annotations

import time

from heliograph.domain.breakdown import MAX_BREAKDOWN_VALUES
from heliograph.domain.feedback_links import FeedbackLinkSigner, LinkScope, new_link_rater
from heliograph.domain.feedback_stats import RecordRow, record_breakdown
from heliograph.domain.feedback_values import (
    MAX_COMMENT_CHARS,
    MAX_NAME_CHARS,
    MAX_RATER_CHARS,
    FeedbackConfig,
    FeedbackEntry,
    FeedbackQuery,
    FeedbackRecord,
    FeedbackValue,
    check_config,
    check_value,
)
from heliograph.domain.headers import validate_session_id
from heliograph.domain.sessions import SessionQuery
from heliograph.domain.store import Store
from heliograph.errors import InvalidInput, NotFound

__all__ = [
    "breakdown_by_name",
    "config_of",
    "create_link",
    "list_configs",
    "query_feedback",
    "rate_session",
    "record_feedback",
    "record_with_link",
    "remove_feedback",
    "session_feedback",
    "set_config",
]


async def rate_session(store: Store, *, org_id: str, session_id: str, rating: bool | None) -> str:
    """Set (True/False) or clear (None) the `api` rater's rating; the id of the session's first request.

    The first request (earliest start, ties by smallest id) carries the property
    `Helicone-Session-Feedback` = "1" or "0" of the newest rating; a repeat overwrites, so the last call wins.
    """
    validate_session_id(session_id)
    first_request_id = await store.set_session_feedback(org_id=org_id, session_id=session_id, rating=rating)
    if first_request_id is None:
        raise NotFound("No request found")
    return first_request_id


def _check_text(value: str, *, field: str, limit: int) -> str:
    if not value or len(value) > limit or not value.isprintable():
        raise InvalidInput(f"Invalid {field}: 1 to {limit} printable characters")
    return value


async def config_of(store: Store, *, org_id: str, name: str) -> FeedbackConfig | None:
    """The config of feedback `name`, or None when it has none."""
    return next((c for c in await store.list_feedback_configs(org_id=org_id) if c.name == name), None)


async def record_feedback(store: Store, *, org_id: str, entry: FeedbackEntry) -> FeedbackRecord:
    """Store a record, or update the one with the same (session, request, name, rater).

    InvalidInput for a malformed field, Unprocessable for a value its name's config refuses, NotFound
    (`No request found`) when the session, or the request within it, is not the organization's.
    """
    validate_session_id(entry.session_id)
    _check_text(entry.name, field="name", limit=MAX_NAME_CHARS)
    _check_text(entry.rater, field="rater", limit=MAX_RATER_CHARS)
    if entry.comment is not None and len(entry.comment) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"Invalid comment: at most {MAX_COMMENT_CHARS} characters")
    config = await config_of(store, org_id=org_id, name=entry.name)
    value = check_value(entry.value, config, name=entry.name)
    stored = await store.put_feedback(
        org_id=org_id,
        entry=FeedbackEntry(
            session_id=entry.session_id,
            request_id=entry.request_id,
            name=entry.name,
            value=value,
            comment=entry.comment or None,
            rater=entry.rater,
            source=entry.source,
        ),
    )
    if stored is None:
        raise NotFound("No request found")
    return stored


MAX_OBSERVATIONS = 1_000_000  # records read for one breakdown


async def breakdown_by_name(
    store: Store, *, org_id: str, query: SessionQuery, dimension: str, name: str
) -> list[RecordRow]:
    """Per value of `dimension` among the matching sessions: the records of feedback `name`, compared as
    its config's type says (feedback_stats)."""
    _check_text(name, field="name", limit=MAX_NAME_CHARS)
    counts = await store.feedback_by_value(
        org_id=org_id, query=query, dimension=dimension, limit=MAX_BREAKDOWN_VALUES
    )
    shown = {c.value for c in counts}
    observations = await store.feedback_observations(
        org_id=org_id, query=query, dimension=dimension, name=name, limit=MAX_OBSERVATIONS
    )
    config = await config_of(store, org_id=org_id, name=name)
    return record_breakdown(counts, [o for o in observations if o[0] in shown], config)


async def session_feedback(store: Store, *, org_id: str, session_id: str) -> list[FeedbackRecord]:
    """Every record on a session, newest update first."""
    validate_session_id(session_id)
    return await store.query_feedback(org_id=org_id, query=FeedbackQuery(session_id=session_id, limit=10_000))


async def query_feedback(store: Store, *, org_id: str, query: FeedbackQuery) -> list[FeedbackRecord]:
    """A page of the organization's records."""
    if query.start_ms is not None and query.end_ms is not None and query.start_ms > query.end_ms:
        raise InvalidInput("Invalid time range: start is after end")
    return await store.query_feedback(org_id=org_id, query=query)


async def remove_feedback(store: Store, *, org_id: str, feedback_id: str) -> None:
    """Delete one record (a rating's removal updates the session's feedback); NotFound if absent."""
    if not await store.delete_feedback(org_id=org_id, feedback_id=feedback_id):
        raise NotFound("Feedback not found")


async def set_config(store: Store, *, org_id: str, config: FeedbackConfig) -> FeedbackConfig:
    """Create or replace the config of a feedback name (records already stored are kept as they are)."""
    _check_text(config.name, field="name", limit=MAX_NAME_CHARS)
    await store.put_feedback_config(org_id=org_id, config=check_config(config))
    return config


async def list_configs(store: Store, *, org_id: str) -> list[FeedbackConfig]:
    """Every config of the organization, by name."""
    return sorted(await store.list_feedback_configs(org_id=org_id), key=lambda c: c.name)


async def create_link(
    store: Store,
    signer: FeedbackLinkSigner,
    *,
    org_id: str,
    session_id: str,
    request_id: str | None,
    name: str,
    rater: str | None,
    lifetime_s: int,
) -> tuple[str, LinkScope]:
    """A signed token for one record on a session of the organization, and its scope; NotFound
    (`No request found`) when the session, or the request within it, is not the organization's."""
    validate_session_id(session_id)
    _check_text(name, field="name", limit=MAX_NAME_CHARS)
    if rater is not None:
        _check_text(rater, field="rater", limit=MAX_RATER_CHARS)
    if request_id is None:
        found = await store.get_session(org_id=org_id, session_id=session_id) is not None
    else:
        stored = await store.get_request(org_id=org_id, request_id=request_id)
        found = stored is not None and stored.record.session_id == session_id
    if not found:
        raise NotFound("No request found")
    scope = LinkScope(
        org_id=org_id,
        session_id=session_id,
        request_id=request_id,
        name=name,
        rater=rater or new_link_rater(),
        expires_at_ms=time.time_ns() // 1_000_000 + lifetime_s * 1000,
    )
    return signer.sign(scope), scope


async def record_with_link(
    store: Store, *, scope: LinkScope, value: FeedbackValue, comment: str | None
) -> FeedbackRecord:
    """The end user's record of a checked link (source `end_user`); a repeat updates it."""
    entry = FeedbackEntry(
        session_id=scope.session_id,
        request_id=scope.request_id,
        name=scope.name,
        value=value,
        comment=comment,
        rater=scope.rater,
        source="end_user",
    )
    return await record_feedback(store, org_id=scope.org_id, entry=entry)
