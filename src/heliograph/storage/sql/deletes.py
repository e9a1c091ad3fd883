"""Deleting a request or a whole session, with everything that hangs off it, in one transaction.

A request takes its properties and scores with it, and its session's rollup is computed again from
the requests left (or the session goes, with its users and tag, when none is left). A session's
feedback belongs to the session: it stays, on whichever request is first now.
"""

from __future__ import annotations

import sqlalchemy as sa

from heliograph.domain.records import SESSION_NAME_KEY
from heliograph.storage.sql.dialect import INT64_MAX
from heliograph.storage.sql.schema import (
    feedback_records,
    properties,
    requests,
    scores,
    session_tags,
    session_users,
    sessions,
)
from heliograph.storage.sql.writes import place_feedback

__all__ = ["delete_request", "delete_session"]


def delete_request(conn: sa.Connection, *, org_id: str, request_id: str) -> bool:
    """Delete one request of the organization; False if it has none of that id."""
    session_id = conn.execute(
        sa.select(requests.c.session_id).where(
            requests.c.org_id == org_id, requests.c.request_id == request_id
        )
    ).first()
    if session_id is None:
        return False
    for table in (properties, scores, requests):
        conn.execute(sa.delete(table).where(table.c.org_id == org_id, table.c.request_id == request_id))
    if session_id[0] is not None:
        _recompute_session(conn, org_id=org_id, session_id=session_id[0])
    return True


def delete_session(conn: sa.Connection, *, org_id: str, session_id: str) -> bool:
    """Delete a session and all its requests; False if the organization has no such session."""
    found = conn.execute(
        sa.select(sessions.c.session_id).where(
            sessions.c.org_id == org_id, sessions.c.session_id == session_id
        )
    ).first()
    if found is None:
        return False
    in_session = sa.select(requests.c.request_id).where(
        requests.c.org_id == org_id, requests.c.session_id == session_id
    )
    for table in (properties, scores):
        conn.execute(sa.delete(table).where(table.c.org_id == org_id, table.c.request_id.in_(in_session)))
    conn.execute(sa.delete(requests).where(requests.c.org_id == org_id, requests.c.session_id == session_id))
    _forget_session(conn, org_id=org_id, session_id=session_id)
    return True


def _lock_session(conn: sa.Connection, *, org_id: str, session_id: str) -> sa.Row[tuple[int | None]] | None:
    """The session's feedback row, locked (on PostgreSQL) until commit: a batch that adds to this session
    meanwhile waits, then adds its own sums to what this transaction leaves. None if no such session."""
    return conn.execute(
        sa.select(sessions.c.feedback)
        .where(sessions.c.org_id == org_id, sessions.c.session_id == session_id)
        .with_for_update()
    ).first()


def _forget_session(conn: sa.Connection, *, org_id: str, session_id: str) -> None:
    for table in (feedback_records, session_users, session_tags, sessions):
        conn.execute(sa.delete(table).where(table.c.org_id == org_id, table.c.session_id == session_id))


def _recompute_session(conn: sa.Connection, *, org_id: str, session_id: str) -> None:
    """The rollup, users and feedback placement of a session from the requests it has left."""
    locked = _lock_session(conn, org_id=org_id, session_id=session_id)
    if locked is None:
        return
    r = requests.c
    left = conn.execute(
        sa.select(
            r.request_id,
            r.created_at_ms,
            r.user_id,
            r.prompt_tokens,
            r.completion_tokens,
            r.total_tokens,
            r.cost_nano_usd,
            r.latency_ms,
        )
        .where(r.org_id == org_id, r.session_id == session_id)
        .order_by(r.created_at_ms, r.request_id)
    ).all()
    if not left:
        _forget_session(conn, org_id=org_id, session_id=session_id)
        return
    named = conn.execute(
        sa.select(properties.c.value, r.created_at_ms)
        .join(requests, sa.and_(r.org_id == properties.c.org_id, r.request_id == properties.c.request_id))
        .where(
            properties.c.org_id == org_id,
            properties.c.session_id == session_id,
            properties.c.key == SESSION_NAME_KEY,
            properties.c.value != "",
        )
        .order_by(r.created_at_ms.desc())
        .limit(1)
    ).first()
    first = left[0]
    conn.execute(
        sa.update(sessions)
        .where(sessions.c.org_id == org_id, sessions.c.session_id == session_id)
        .values(
            first_request_id=first.request_id,
            first_created_at_ms=first.created_at_ms,
            last_created_at_ms=max(row.created_at_ms for row in left),
            name=named.value if named else "",
            name_at_ms=named.created_at_ms if named else -1,
            request_count=len(left),
            **{
                column: min(sum(getattr(row, column) for row in left), INT64_MAX)
                for column in ("prompt_tokens", "completion_tokens", "total_tokens", "cost_nano_usd")
            },
            latency_sum_ms=min(sum(row.latency_ms for row in left), INT64_MAX),
        )
    )
    conn.execute(
        sa.delete(session_users).where(
            session_users.c.org_id == org_id, session_users.c.session_id == session_id
        )
    )
    users = sorted({row.user_id for row in left if row.user_id})
    if users:
        conn.execute(
            sa.insert(session_users),
            [{"org_id": org_id, "session_id": session_id, "user_id": user} for user in users],
        )
    if locked.feedback is not None:
        place_feedback(
            conn,
            org_id=org_id,
            session_id=session_id,
            first_request_id=first.request_id,
            rating=bool(locked.feedback),
        )
