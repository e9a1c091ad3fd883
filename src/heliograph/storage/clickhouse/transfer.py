"""What `heliograph copy` reads from and writes to a ClickHouse store: organizations and keys by id,
requests in pages by id, and each session's rating and tag. Writes skip what is already stored (and
every read sees each row once anyway), so a copy interrupted at any point can run again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

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
from heliograph.storage.clickhouse.client import Connection, WriteSession, change_version
from heliograph.storage.clickhouse.reads import Params, live, live_requests
from heliograph.storage.clickhouse.schema import API_KEYS, ORGANIZATIONS

__all__ = ["ClickHouseTransfer"]


class ClickHouseTransfer:
    """The copy half of `ClickHouseStore` (a mixin: it uses the store's connection and request reader)."""

    _db: Connection
    _requests: Callable[..., Awaitable[list[StoredRequest]]]

    async def list_organizations(self) -> list[Organization]:
        rows = await self._db.rows(f"SELECT id, name, created_at_ms FROM {live('organizations')} ORDER BY id")
        return [Organization(str(i), str(n), int(c)) for i, n, c in rows]

    async def restore_organization(self, org: Organization) -> None:
        def work(session: WriteSession) -> None:
            named = session.rows(
                f"SELECT id FROM {live('organizations')} WHERE name = {{n:String}}", {"n": org.name}
            )
            if named and named[0][0] != org.id:
                raise InvalidInput(f"Organization {org.name!r} exists here with another id ({named[0][0]})")
            if not named:
                row = (org.id, org.name, org.created_at_ms, 0, 0)
                session.insert(ORGANIZATIONS.name, ORGANIZATIONS.column_names(), [row])

        await self._db.write(work)

    async def export_api_keys(self) -> list[StoredApiKey]:
        rows = await self._db.rows(
            "SELECT k.id, k.org_id, o.name, k.prefix, k.name, k.created_at_ms, k.revoked_at_ms, k.key_hash "
            f"FROM {live('api_keys', 'k')} INNER JOIN {live('organizations', 'o')} ON o.id = k.org_id "
            "ORDER BY k.id"
        )
        return [StoredApiKey(ApiKeyInfo(*row[:7]), str(row[7])) for row in rows]

    async def restore_api_key(self, key: StoredApiKey) -> None:
        info = key.info

        def work(session: WriteSession) -> None:
            stored = session.rows(
                f"SELECT revoked_at_ms FROM {live('api_keys')} WHERE id = {{id:String}}", {"id": info.id}
            )
            if stored and (stored[0][0] is not None or info.revoked_at_ms is None):
                return
            row = (
                info.id, info.org_id, key.key_hash, info.prefix, info.name, info.created_at_ms,
                info.revoked_at_ms, change_version(), 0,
            )  # fmt: skip
            session.insert(API_KEYS.name, API_KEYS.column_names(), [row])

        await self._db.write(work)

    async def export_requests(self, *, org_id: str, after: str | None, limit: int) -> list[StoredRequest]:
        params = Params()
        where = "true" if after is None else f"request_id > {params.text(after)}"
        found = await self._requests(params, org_id, where, order="request_id", limit=limit)
        for stored in found:
            stored.record.properties.pop(FEEDBACK_KEY, None)
        return found

    async def export_session_marks(self, *, org_id: str) -> list[SessionMark]:
        where = {"org": org_id}
        ratings = await self._db.rows(
            f"SELECT session_id, rating FROM {live('session_feedback')} WHERE org_id = {{org:String}}", where
        )
        tags = await self._db.rows(
            f"SELECT session_id, tag FROM {live('session_tags')} WHERE org_id = {{org:String}}", where
        )
        rated = {str(s): bool(r) for s, r in ratings}
        tagged = {str(s): str(t) for s, t in tags}
        return [SessionMark(s, rated.get(s), tagged.get(s)) for s in sorted(rated.keys() | tagged.keys())]

    async def copy_counts(self, *, org_id: str) -> dict[str, int]:
        params = Params()
        org = params.text(org_id)
        rows = await self._db.rows(
            "SELECT "
            f"(SELECT count() FROM {live_requests(params, org_id)}), "
            f"(SELECT sum(length(properties)) FROM {live_requests(params, org_id)}), "
            f"(SELECT sum(length(scores)) FROM {live_requests(params, org_id)}), "
            f"(SELECT count() FROM {live('session_feedback')} WHERE org_id = {org}), "
            f"(SELECT count() FROM {live('session_tags')} WHERE org_id = {org}), "
            f"(SELECT count() FROM {live('feedback_records')} WHERE org_id = {org}), "
            f"(SELECT count() FROM {live('monitors')} WHERE org_id = {org})",
            params.values,
        )
        values: tuple[Any, ...] = rows[0]
        return dict(zip(COPIED_TABLES, (int(v or 0) for v in values), strict=True))
