"""What `heliograph copy` reads from and writes to a SQL store: organizations and keys by id, requests in
pages by id, and each session's rating and tag. Writes skip what is already stored, so a copy
interrupted at any point can run again without storing anything twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from heliograph.domain.records import FEEDBACK_KEY
from heliograph.domain.store import (
    COPIED_TABLES,
    ApiKeyInfo,
    Organization,
    SessionMark,
    StoredApiKey,
    StoredRequest,
)
from heliograph.errors import InvalidInput
from heliograph.storage.sql.reads import load_requests
from heliograph.storage.sql.schema import (
    api_keys,
    feedback_records,
    monitors,
    organizations,
    properties,
    requests,
    scores,
    session_tags,
    sessions,
)

__all__ = ["SqlTransfer"]


class SqlTransfer:
    """The copy half of `SqlStore` (a mixin: it uses the store's connections)."""

    _read: Callable[..., AbstractAsyncContextManager[AsyncConnection]]
    _write: Callable[[Callable[[sa.Connection], Any]], Awaitable[Any]]

    async def list_organizations(self) -> list[Organization]:
        async with self._read() as conn:
            rows = (await conn.execute(sa.select(organizations).order_by(organizations.c.id))).all()
        return [Organization(r.id, r.name, r.created_at_ms) for r in rows]

    async def restore_organization(self, org: Organization) -> None:
        def work(conn: sa.Connection) -> None:
            named = conn.execute(
                sa.select(organizations.c.id).where(organizations.c.name == org.name)
            ).first()
            if named is not None and named.id != org.id:
                raise InvalidInput(f"Organization {org.name!r} exists here with another id ({named.id})")
            if named is None:
                conn.execute(
                    sa.insert(organizations).values(id=org.id, name=org.name, created_at_ms=org.created_at_ms)
                )

        await self._write(work)

    async def export_api_keys(self) -> list[StoredApiKey]:
        stmt = sa.select(api_keys, organizations.c.name.label("org_name")).join(
            organizations, organizations.c.id == api_keys.c.org_id
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt.order_by(api_keys.c.id))).all()
        return [
            StoredApiKey(
                ApiKeyInfo(r.id, r.org_id, r.org_name, r.prefix, r.name, r.created_at_ms, r.revoked_at_ms),
                r.key_hash,
            )
            for r in rows
        ]

    async def restore_api_key(self, key: StoredApiKey) -> None:
        info = key.info

        def work(conn: sa.Connection) -> None:
            stored = conn.execute(sa.select(api_keys.c.revoked_at_ms).where(api_keys.c.id == info.id)).first()
            if stored is None:
                conn.execute(
                    sa.insert(api_keys).values(
                        id=info.id,
                        org_id=info.org_id,
                        key_hash=key.key_hash,
                        prefix=info.prefix,
                        name=info.name,
                        created_at_ms=info.created_at_ms,
                        revoked_at_ms=info.revoked_at_ms,
                    )
                )
            elif stored.revoked_at_ms is None and info.revoked_at_ms is not None:
                conn.execute(
                    sa.update(api_keys)
                    .where(api_keys.c.id == info.id)
                    .values(revoked_at_ms=info.revoked_at_ms)
                )

        await self._write(work)

    async def export_requests(self, *, org_id: str, after: str | None, limit: int) -> list[StoredRequest]:
        stmt = sa.select(requests).where(requests.c.org_id == org_id)
        if after is not None:
            stmt = stmt.where(requests.c.request_id > after)
        async with self._read(transaction=True) as conn:
            found = await load_requests(conn, org_id, stmt.order_by(requests.c.request_id).limit(limit))
        for stored in found:
            stored.record.properties.pop(FEEDBACK_KEY, None)
        return found

    async def export_session_marks(self, *, org_id: str) -> list[SessionMark]:
        s, t = sessions.c, session_tags.c
        stmt = (
            sa.select(s.session_id, s.feedback, t.tag)
            .select_from(
                sessions.outerjoin(session_tags, sa.and_(t.org_id == s.org_id, t.session_id == s.session_id))
            )
            .where(s.org_id == org_id, sa.or_(s.feedback.is_not(None), t.tag.is_not(None)))
            .order_by(s.session_id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            SessionMark(r.session_id, None if r.feedback is None else bool(r.feedback), r.tag) for r in rows
        ]

    async def copy_counts(self, *, org_id: str) -> dict[str, int]:
        def count(table: sa.Table, *where: Any) -> sa.ScalarSelect[int]:
            return (
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.org_id == org_id, *where)
                .scalar_subquery()
            )

        stmt = sa.select(
            count(requests),
            count(properties, properties.c.key != FEEDBACK_KEY),
            count(scores),
            count(sessions, sessions.c.feedback.is_not(None)),
            count(session_tags),
            count(feedback_records),
            count(monitors),
        )
        async with self._read() as conn:
            row = (await conn.execute(stmt)).one()
        return dict(zip(COPIED_TABLES, map(int, row), strict=True))
