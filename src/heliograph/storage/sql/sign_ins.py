"""Dashboard sign-ins on the server: started at sign-in, continued by each page, ended at sign-out."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from heliograph.storage.sql.schema import dashboard_sign_ins

__all__ = ["end_sign_in", "sign_in_key", "start_sign_in", "touch_due", "touch_sign_in"]

# How stale the last page view may be before a page writes the newer one: a write per page view would
# put every page behind the ingest batches on SQLite's one writer. A sign-in so ends between 3/4 of
# the idle timeout and the whole of it after its last page view.
_TOUCH_FRACTION = 4
_TOUCH_AT_MOST_MS = 60_000


def start_sign_in(conn: sa.Connection, *, key_hash: str, now_ms: int, idle_ms: int) -> str:
    """A new sign-in for the key; sign-ins idle past the timeout are deleted on the way."""
    conn.execute(sa.delete(dashboard_sign_ins).where(dashboard_sign_ins.c.last_seen_at_ms < now_ms - idle_ms))
    sign_in_id = secrets.token_hex(16)
    conn.execute(
        sa.insert(dashboard_sign_ins).values(
            id=sign_in_id, key_hash=key_hash, created_at_ms=now_ms, last_seen_at_ms=now_ms
        )
    )
    return sign_in_id


def sign_in_key(*, sign_in_id: str) -> sa.Select[tuple[str, int]]:
    """The key hash and last page view of a sign-in."""
    return sa.select(dashboard_sign_ins.c.key_hash, dashboard_sign_ins.c.last_seen_at_ms).where(
        dashboard_sign_ins.c.id == sign_in_id
    )


def touch_due(*, last_seen_ms: int, now_ms: int, idle_ms: int) -> bool:
    """Whether a page view now should record itself."""
    return now_ms - last_seen_ms > min(idle_ms // _TOUCH_FRACTION, _TOUCH_AT_MOST_MS)


def touch_sign_in(conn: sa.Connection, *, sign_in_id: str, now_ms: int) -> None:
    conn.execute(
        sa.update(dashboard_sign_ins)
        .where(dashboard_sign_ins.c.id == sign_in_id)
        .values(last_seen_at_ms=now_ms)
    )


def end_sign_in(conn: sa.Connection, *, sign_in_id: str) -> None:
    conn.execute(sa.delete(dashboard_sign_ins).where(dashboard_sign_ins.c.id == sign_in_id))
