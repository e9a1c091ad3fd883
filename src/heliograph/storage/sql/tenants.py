"""Organizations, API keys and dashboard sign-ins in a SQL store."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from heliograph.domain.records import now_ms
from heliograph.domain.sign_ins import touch_due
from heliograph.domain.store import ApiKeyInfo
from heliograph.storage.sql.schema import api_keys, organizations
from heliograph.storage.sql.sign_ins import end_sign_in, sign_in_key, start_sign_in, touch_sign_in

__all__ = ["SqlTenants"]


class SqlTenants:
    """The organization, key and sign-in operations of `SqlStore` (a mixin: it uses the store's
    connections)."""

    _read: Callable[..., AbstractAsyncContextManager[AsyncConnection]]
    _write: Callable[[Callable[[sa.Connection], Any]], Awaitable[Any]]

    async def ensure_org(self, *, name: str) -> str:
        def work(conn: sa.Connection) -> str:
            row = conn.execute(sa.select(organizations.c.id).where(organizations.c.name == name)).first()
            if row is not None:
                return str(row.id)
            org_id = str(uuid.uuid4())
            conn.execute(sa.insert(organizations).values(id=org_id, name=name, created_at_ms=now_ms()))
            return org_id

        org_id: str = await self._write(work)
        return org_id

    async def add_api_key(self, *, org_id: str, key_hash: str, prefix: str, name: str) -> ApiKeyInfo:
        key_id = str(uuid.uuid4())
        await self._write(
            lambda conn: conn.execute(
                sa.insert(api_keys).values(
                    id=key_id,
                    org_id=org_id,
                    key_hash=key_hash,
                    prefix=prefix,
                    name=name,
                    created_at_ms=now_ms(),
                )
            )
        )
        (info,) = [k for k in await self.list_api_keys() if k.id == key_id]
        return info

    async def list_api_keys(self, *, org_name: str | None = None) -> list[ApiKeyInfo]:
        stmt = (
            sa.select(api_keys, organizations.c.name.label("org_name"))
            .join(organizations, organizations.c.id == api_keys.c.org_id)
            .order_by(organizations.c.name, api_keys.c.created_at_ms)
        )
        if org_name is not None:
            stmt = stmt.where(organizations.c.name == org_name)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            ApiKeyInfo(
                id=r.id,
                org_id=r.org_id,
                org_name=r.org_name,
                prefix=r.prefix,
                name=r.name,
                created_at_ms=r.created_at_ms,
                revoked_at_ms=r.revoked_at_ms,
            )
            for r in rows
        ]

    async def revoke_api_key(self, *, key_id: str) -> bool:
        result = await self._write(
            lambda conn: conn.execute(
                sa.update(api_keys)
                .where(
                    sa.or_(api_keys.c.id == key_id, api_keys.c.prefix == key_id),
                    api_keys.c.revoked_at_ms.is_(None),
                )
                .values(revoked_at_ms=now_ms())
            )
        )
        return bool(result.rowcount)

    async def start_sign_in(self, *, key_hash: str, idle_ms: int) -> str:
        sign_in_id: str = await self._write(
            lambda conn: start_sign_in(conn, key_hash=key_hash, now_ms=now_ms(), idle_ms=idle_ms)
        )
        return sign_in_id

    async def continue_sign_in(self, *, sign_in_id: str, idle_ms: int) -> str | None:
        now = now_ms()
        async with self._read() as conn:
            row = (await conn.execute(sign_in_key(sign_in_id=sign_in_id))).first()
        if row is None or row.last_seen_at_ms < now - idle_ms:
            return None
        if touch_due(last_seen_ms=row.last_seen_at_ms, now_ms=now, idle_ms=idle_ms):
            await self._write(lambda conn: touch_sign_in(conn, sign_in_id=sign_in_id, now_ms=now))
        return str(row.key_hash)

    async def end_sign_in(self, *, sign_in_id: str) -> None:
        await self._write(lambda conn: end_sign_in(conn, sign_in_id=sign_in_id))
