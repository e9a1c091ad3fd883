"""Organizations and API keys in ClickHouse: versioned rows (a revocation is a new version of its key)."""

from __future__ import annotations

import time
import uuid

from heliograph.domain.records import now_ms
from heliograph.domain.store import ApiKeyInfo
from heliograph.storage.clickhouse.client import Connection, WriteSession, change_version
from heliograph.storage.clickhouse.reads import Params, live
from heliograph.storage.clickhouse.schema import API_KEYS, ORGANIZATIONS

__all__ = ["ClickHouseTenants"]


KEY_CACHE_S = 1.0
KEY_CACHE_SIZE = 10_000


class ClickHouseTenants:
    """The organizations-and-keys half of `ClickHouseStore` (a mixin: it uses the store's connection)."""

    _db: Connection
    _known_keys: dict[str, tuple[str, float]]  # key hash -> (org id, monotonic expiry)

    async def ensure_org(self, *, name: str) -> str:
        def work(session: WriteSession) -> str:
            found = session.rows(
                f"SELECT id FROM {live('organizations')} WHERE name = {{name:String}} "
                "ORDER BY created_at_ms LIMIT 1",
                {"name": name},
            )
            if found:
                return str(found[0][0])
            org_id = str(uuid.uuid4())
            session.insert(ORGANIZATIONS.name, ORGANIZATIONS.column_names(), [(org_id, name, now_ms(), 0, 0)])
            return org_id

        return await self._db.write(work)

    async def add_api_key(self, *, org_id: str, key_hash: str, prefix: str, name: str) -> ApiKeyInfo:
        key_id = str(uuid.uuid4())
        row = (key_id, org_id, key_hash, prefix, name, now_ms(), None, change_version(), 0)
        await self._db.write(lambda s: s.insert(API_KEYS.name, API_KEYS.column_names(), [row]))
        (info,) = [k for k in await self.list_api_keys() if k.id == key_id]
        return info

    async def list_api_keys(self, *, org_name: str | None = None) -> list[ApiKeyInfo]:
        params = Params()
        where = f"WHERE o.name = {params.text(org_name)}" if org_name is not None else ""
        rows = await self._db.rows(
            f"SELECT k.id, k.org_id, o.name, k.prefix, k.name, k.created_at_ms, k.revoked_at_ms "
            f"FROM {live('api_keys', 'k')} INNER JOIN {live('organizations', 'o')} ON o.id = k.org_id "
            f"{where} ORDER BY o.name, k.created_at_ms",
            params.values,
        )
        return [ApiKeyInfo(*row) for row in rows]

    async def revoke_api_key(self, *, key_id: str) -> bool:
        def work(session: WriteSession) -> bool:
            found = session.rows(
                f"SELECT {', '.join(API_KEYS.column_names())} FROM {live('api_keys')} "
                "WHERE (id = {key:String} OR prefix = {key:String}) AND revoked_at_ms IS NULL",
                {"key": key_id},
            )
            now = now_ms()
            revoked = [(*row[:6], now, change_version(), 0) for row in found]
            session.insert(API_KEYS.name, API_KEYS.column_names(), revoked)
            for row in found:
                self._known_keys.pop(str(row[2]), None)
            return bool(revoked)

        return await self._db.write(work)

    async def org_for_key_hash(self, key_hash: str) -> str | None:
        """The organization of an active key. A key found is remembered for KEY_CACHE_S: every logged
        call checks its key, and a ClickHouse query per call would cost more than the call's insert.
        A key revoked by this process is forgotten at once; by another server, within KEY_CACHE_S."""
        known = self._known_keys.get(key_hash)
        if known is not None and known[1] > time.monotonic():
            return known[0]
        rows = await self._db.rows(
            f"SELECT org_id FROM {live('api_keys')} "
            "WHERE key_hash = {hash:String} AND revoked_at_ms IS NULL",
            {"hash": key_hash},
        )
        if not rows:
            return None
        if len(self._known_keys) >= KEY_CACHE_SIZE:
            self._known_keys.clear()
        self._known_keys[key_hash] = (str(rows[0][0]), time.monotonic() + KEY_CACHE_S)
        return str(rows[0][0])
