"""Dashboard sign-ins on the server: started at sign-in, continued by each page, ended at sign-out."""

from __future__ import annotations

import sqlalchemy as sa

from heliograph.domain.sign_ins import new_sign_in_id
from heliograph.storage.sql.schema import dashboard_sign_ins

__all__ = ["end_sign_in", "sign_in_key", "start_sign_in", "touch_sign_in"]


def start_sign_in(conn: sa.Connection, *, key_hash: str, now_ms: int, idle_ms: int) -> str:
    """A new sign-in for the key; sign-ins idle past the timeout are deleted on the way."""
    conn.execute(sa.delete(dashboard_sign_ins).where(dashboard_sign_ins.c.last_seen_at_ms < now_ms - idle_ms))
    sign_in_id = new_sign_in_id()
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


def touch_sign_in(conn: sa.Connection, *, sign_in_id: str, now_ms: int) -> None:
    conn.execute(
        sa.update(dashboard_sign_ins)
        .where(dashboard_sign_ins.c.id == sign_in_id)
        .values(last_seen_at_ms=now_ms)
    )


def end_sign_in(conn: sa.Connection, *, sign_in_id: str) -> None:
    conn.execute(sa.delete(dashboard_sign_ins).where(dashboard_sign_ins.c.id == sign_in_id))
