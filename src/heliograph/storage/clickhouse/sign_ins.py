"""Dashboard sign-ins in ClickHouse: a versioned row per sign-in; a page view that records itself is a
newer version, signing out a deletion row."""

from __future__ import annotations

from heliograph.domain.records import now_ms
from heliograph.domain.sign_ins import new_sign_in_id, touch_due
from heliograph.storage.clickhouse.client import Connection, change_version
from heliograph.storage.clickhouse.reads import live
from heliograph.storage.clickhouse.schema import SIGN_INS

__all__ = ["ClickHouseSignIns"]


class ClickHouseSignIns:
    """The sign-in half of `ClickHouseStore` (a mixin: it uses the store's connection). Sign-ins idle
    past their timeout are refused when read; their rows are left for a merge to collapse."""

    _db: Connection

    async def start_sign_in(self, *, key_hash: str, idle_ms: int) -> str:
        sign_in_id, now = new_sign_in_id(), now_ms()
        row = (sign_in_id, key_hash, now, now, change_version(), 0)
        await self._db.write(lambda s: s.insert(SIGN_INS.name, SIGN_INS.column_names(), [row]))
        return sign_in_id

    async def continue_sign_in(self, *, sign_in_id: str, idle_ms: int) -> str | None:
        now = now_ms()
        rows = await self._db.rows(
            f"SELECT key_hash, created_at_ms, last_seen_at_ms FROM {live('dashboard_sign_ins')} "
            "WHERE id = {id:String}",
            {"id": sign_in_id},
        )
        if not rows or rows[0][2] < now - idle_ms:
            return None
        key_hash, created, last_seen = rows[0]
        if touch_due(last_seen_ms=last_seen, now_ms=now, idle_ms=idle_ms):
            row = (sign_in_id, key_hash, created, now, change_version(), 0)
            await self._db.write(lambda s: s.insert(SIGN_INS.name, SIGN_INS.column_names(), [row]))
        return str(key_hash)

    async def end_sign_in(self, *, sign_in_id: str) -> None:
        row = (sign_in_id, change_version(), 1)
        await self._db.write(lambda s: s.insert(SIGN_INS.name, ("id", "version", "deleted"), [row]))
