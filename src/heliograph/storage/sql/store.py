"""`SqlStore`: the Store interface on SQLite or PostgreSQL, with session rollups kept in step.

Every write is one transaction on the writer engine. A batch of requests, their properties, their
session users and their session rollups commit together, so a reader never sees a request without
its session or a session whose sums disagree with its requests.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from heliograph.domain.records import FEEDBACK_KEY, SESSION_PATH_KEY, RequestRecord
from heliograph.domain.sessions import SessionQuery
from heliograph.errors import Unavailable
from heliograph.storage.base import ApiKeyInfo, SessionSummary, StoredRequest
from heliograph.storage.sql.dialect import greatest, insert, least
from heliograph.storage.sql.engine import Engines, create_engines
from heliograph.storage.sql.filters import escape_like, session_condition
from heliograph.storage.sql.schema import (
    api_keys,
    organizations,
    properties,
    requests,
    scores,
    session_users,
    sessions,
)

__all__ = ["SqlStore"]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class SqlStore:
    """The SQL implementation of `heliograph.storage.base.Store`."""

    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        self._dialect = engines.dialect

    @classmethod
    def from_url(cls, url: str) -> SqlStore:
        return cls(create_engines(url))

    @property
    def engines(self) -> Engines:
        return self._engines

    async def ping(self) -> None:
        async with self._engines.reader.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        await self._engines.dispose()

    # -- organizations and keys ------------------------------------------------------------------

    async def ensure_org(self, *, name: str) -> str:
        async with self._engines.writer.begin() as conn:
            row = (
                await conn.execute(sa.select(organizations.c.id).where(organizations.c.name == name))
            ).first()
            if row is not None:
                return str(row.id)
            org_id = str(uuid.uuid4())
            await conn.execute(sa.insert(organizations).values(id=org_id, name=name, created_at_ms=_now_ms()))
            return org_id

    async def add_api_key(self, *, org_id: str, key_hash: str, prefix: str, name: str) -> ApiKeyInfo:
        key_id = str(uuid.uuid4())
        async with self._engines.writer.begin() as conn:
            await conn.execute(
                sa.insert(api_keys).values(
                    id=key_id,
                    org_id=org_id,
                    key_hash=key_hash,
                    prefix=prefix,
                    name=name,
                    created_at_ms=_now_ms(),
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
        async with self._engines.reader.connect() as conn:
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
        async with self._engines.writer.begin() as conn:
            result = await conn.execute(
                sa.update(api_keys)
                .where(
                    sa.or_(api_keys.c.id == key_id, api_keys.c.prefix == key_id),
                    api_keys.c.revoked_at_ms.is_(None),
                )
                .values(revoked_at_ms=_now_ms())
            )
        return bool(result.rowcount)

    async def org_for_key_hash(self, key_hash: str) -> str | None:
        stmt = sa.select(api_keys.c.org_id).where(
            api_keys.c.key_hash == key_hash, api_keys.c.revoked_at_ms.is_(None)
        )
        async with self._engines.reader.connect() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else str(row.org_id)

    # -- ingestion -------------------------------------------------------------------------------

    async def insert_requests(self, records: Sequence[RequestRecord]) -> None:
        try:
            async with self._engines.writer.begin() as conn:
                await self._insert_batch(conn, records)
        except (sa.exc.OperationalError, sa.exc.InterfaceError, OSError, TimeoutError) as exc:
            raise Unavailable("The database is unavailable; retry shortly") from exc

    async def _insert_batch(self, conn: AsyncConnection, records: Sequence[RequestRecord]) -> None:
        unique: dict[tuple[str, str], RequestRecord] = {}
        for record in records:
            unique.setdefault((record.org_id, record.request_id), record)
        stmt = (
            insert(self._dialect, requests)
            .on_conflict_do_nothing()
            .returning(requests.c.org_id, requests.c.request_id)
        )
        inserted = {
            (r.org_id, r.request_id)
            for r in await conn.execute(stmt, [_request_row(r) for r in unique.values()])
        }
        fresh = [record for key, record in unique.items() if key in inserted]
        if not fresh:
            return
        property_rows = [
            {"org_id": r.org_id, "request_id": r.request_id, "key": key, "value": value}
            for r in fresh
            for key, value in r.properties.items()
        ]
        if property_rows:
            await conn.execute(sa.insert(properties), property_rows)
        in_sessions = [r for r in fresh if r.session_id is not None]
        user_rows = [
            {"org_id": r.org_id, "session_id": r.session_id, "user_id": r.user_id}
            for r in in_sessions
            if r.user_id
        ]
        if user_rows:
            await conn.execute(insert(self._dialect, session_users).on_conflict_do_nothing(), user_rows)
        if in_sessions:
            await self._update_rollups(conn, in_sessions)

    async def _update_rollups(self, conn: AsyncConnection, records: Iterable[RequestRecord]) -> None:
        """Fold a batch into the session rollups; move feedback when a late request becomes first."""
        grouped: dict[tuple[str, str], list[RequestRecord]] = defaultdict(list)
        for record in records:
            grouped[(record.org_id, str(record.session_id))].append(record)
        # Sorted keys make concurrent PostgreSQL writers lock rollup rows in one order (no deadlock).
        rows = [
            _rollup_row(org_id, session_id, grouped[(org_id, session_id)])
            for org_id, session_id in sorted(grouped)
        ]
        stmt = insert(self._dialect, sessions)
        old, new = sessions.c, stmt.excluded
        new_is_first = sa.or_(
            new.first_created_at_ms < old.first_created_at_ms,
            sa.and_(
                new.first_created_at_ms == old.first_created_at_ms,
                new.first_request_id < old.first_request_id,
            ),
        )
        newer_name = sa.and_(new.name != "", new.name_at_ms >= old.name_at_ms)
        stmt = stmt.on_conflict_do_update(
            index_elements=[sessions.c.org_id, sessions.c.session_id],
            set_={
                "first_request_id": sa.case((new_is_first, new.first_request_id), else_=old.first_request_id),
                "first_created_at_ms": least(self._dialect, old.first_created_at_ms, new.first_created_at_ms),
                "last_created_at_ms": greatest(self._dialect, old.last_created_at_ms, new.last_created_at_ms),
                "name": sa.case((newer_name, new.name), else_=old.name),
                "name_at_ms": sa.case((newer_name, new.name_at_ms), else_=old.name_at_ms),
                **{
                    column: getattr(old, column) + getattr(new, column)
                    for column in (
                        "request_count",
                        "prompt_tokens",
                        "completion_tokens",
                        "total_tokens",
                        "cost_nano_usd",
                        "latency_sum_ms",
                    )
                },
            },
        ).returning(
            sessions.c.org_id, sessions.c.session_id, sessions.c.first_request_id, sessions.c.feedback
        )
        batch_ids = {r.request_id for r in records}
        for row in await conn.execute(stmt, rows):
            if row.feedback is not None and row.first_request_id in batch_ids:
                await self._place_feedback(
                    conn,
                    org_id=row.org_id,
                    session_id=row.session_id,
                    first_request_id=row.first_request_id,
                    rating=bool(row.feedback),
                )

    async def _place_feedback(
        self,
        conn: AsyncConnection,
        *,
        org_id: str,
        session_id: str,
        first_request_id: str,
        rating: bool | None,
    ) -> None:
        """Make the first request the only one of its session that carries the feedback property."""
        of_session = sa.select(requests.c.request_id).where(
            requests.c.org_id == org_id, requests.c.session_id == session_id
        )
        await conn.execute(
            sa.delete(properties).where(
                properties.c.org_id == org_id,
                properties.c.key == FEEDBACK_KEY,
                properties.c.request_id.in_(of_session.scalar_subquery()),
            )
        )
        if rating is not None:
            await conn.execute(
                sa.insert(properties).values(
                    org_id=org_id, request_id=first_request_id, key=FEEDBACK_KEY, value="1" if rating else "0"
                )
            )

    # -- requests --------------------------------------------------------------------------------

    async def get_request(self, *, org_id: str, request_id: str) -> StoredRequest | None:
        found = await self._load_requests(
            org_id, sa.and_(requests.c.org_id == org_id, requests.c.request_id == request_id)
        )
        return found[0] if found else None

    async def set_request_property(self, *, org_id: str, request_id: str, key: str, value: str) -> bool:
        async with self._engines.writer.begin() as conn:
            if not await _request_exists(conn, org_id, request_id):
                return False
            stmt = insert(self._dialect, properties).values(
                org_id=org_id, request_id=request_id, key=key, value=value
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[properties.c.org_id, properties.c.request_id, properties.c.key],
                    set_={"value": stmt.excluded.value},
                )
            )
        return True

    async def set_request_scores(self, *, org_id: str, request_id: str, values: Mapping[str, int]) -> bool:
        async with self._engines.writer.begin() as conn:
            if not await _request_exists(conn, org_id, request_id):
                return False
            stmt = insert(self._dialect, scores)
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[scores.c.org_id, scores.c.request_id, scores.c.key],
                    set_={"value": stmt.excluded.value},
                ),
                [
                    {"org_id": org_id, "request_id": request_id, "key": k, "value": v}
                    for k, v in values.items()
                ],
            )
        return True

    # -- sessions --------------------------------------------------------------------------------

    async def set_session_feedback(self, *, org_id: str, session_id: str, rating: bool | None) -> str | None:
        async with self._engines.writer.begin() as conn:
            # The UPDATE locks the rollup row, so a concurrent batch cannot move the first request
            # between reading it here and writing the property below.
            row = (
                await conn.execute(
                    sa.update(sessions)
                    .where(sessions.c.org_id == org_id, sessions.c.session_id == session_id)
                    .values(
                        feedback=None if rating is None else int(rating),
                        feedback_at_ms=None if rating is None else _now_ms(),
                    )
                    .returning(sessions.c.first_request_id)
                )
            ).first()
            if row is None:
                return None
            await self._place_feedback(
                conn,
                org_id=org_id,
                session_id=session_id,
                first_request_id=row.first_request_id,
                rating=rating,
            )
            return str(row.first_request_id)

    async def get_session(self, *, org_id: str, session_id: str) -> SessionSummary | None:
        found = await self._load_sessions(
            org_id,
            sa.select(sessions).where(sessions.c.org_id == org_id, sessions.c.session_id == session_id),
        )
        return found[0] if found else None

    async def session_requests(self, *, org_id: str, session_id: str) -> list[StoredRequest]:
        return await self._load_requests(
            org_id, sa.and_(requests.c.org_id == org_id, requests.c.session_id == session_id)
        )

    async def query_sessions(self, *, org_id: str, query: SessionQuery) -> list[SessionSummary]:
        stmt = sa.select(sessions).where(sessions.c.org_id == org_id)
        if query.search:
            pattern = f"%{escape_like(query.search)}%"
            stmt = stmt.where(
                sa.or_(
                    sessions.c.session_id.ilike(pattern, escape="\\"),
                    sessions.c.name.ilike(pattern, escape="\\"),
                )
            )
        if query.name_equals:
            stmt = stmt.where(sessions.c.name == query.name_equals)
        window = _in_window(query.start_ms, query.end_ms)
        if window is not None:
            stmt = stmt.where(window)
        condition = session_condition(query.filter)
        if condition is not None:
            stmt = stmt.where(condition)
        stmt = (
            stmt.order_by(sessions.c.first_created_at_ms.desc(), sessions.c.session_id.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
        return await self._load_sessions(org_id, stmt)

    # -- loading helpers -------------------------------------------------------------------------

    async def _load_sessions(self, org_id: str, stmt: sa.Select[Any]) -> list[SessionSummary]:
        async with self._engines.reader.begin() as conn:
            rows = (await conn.execute(stmt)).all()
            users: dict[str, list[str]] = defaultdict(list)
            if rows:
                user_rows = await conn.execute(
                    sa.select(session_users.c.session_id, session_users.c.user_id)
                    .where(
                        session_users.c.org_id == org_id,
                        session_users.c.session_id.in_([r.session_id for r in rows]),
                    )
                    .order_by(session_users.c.user_id)
                )
                for user_row in user_rows:
                    users[user_row.session_id].append(user_row.user_id)
        return [
            SessionSummary(
                session_id=r.session_id,
                name=r.name,
                first_request_id=r.first_request_id,
                created_at_ms=r.first_created_at_ms,
                latest_request_created_at_ms=r.last_created_at_ms,
                request_count=r.request_count,
                prompt_tokens=r.prompt_tokens,
                completion_tokens=r.completion_tokens,
                total_tokens=r.total_tokens,
                cost_nano_usd=r.cost_nano_usd,
                latency_sum_ms=r.latency_sum_ms,
                feedback=None if r.feedback is None else bool(r.feedback),
                user_ids=users[r.session_id],
            )
            for r in rows
        ]

    async def _load_requests(self, org_id: str, where: sa.ColumnElement[bool]) -> list[StoredRequest]:
        stmt = sa.select(requests).where(where).order_by(requests.c.created_at_ms, requests.c.request_id)
        async with self._engines.reader.begin() as conn:
            rows = (await conn.execute(stmt)).all()
            if not rows:
                return []
            ids = [r.request_id for r in rows]
            props: dict[str, dict[str, str]] = defaultdict(dict)
            for p in await conn.execute(
                sa.select(properties.c.request_id, properties.c.key, properties.c.value).where(
                    properties.c.org_id == org_id, properties.c.request_id.in_(ids)
                )
            ):
                props[p.request_id][p.key] = p.value
            score_map: dict[str, dict[str, int]] = defaultdict(dict)
            for s in await conn.execute(
                sa.select(scores.c.request_id, scores.c.key, scores.c.value).where(
                    scores.c.org_id == org_id, scores.c.request_id.in_(ids)
                )
            ):
                score_map[s.request_id][s.key] = s.value
        return [
            StoredRequest(record=_record_from_row(r, props[r.request_id]), scores=score_map[r.request_id])
            for r in rows
        ]


async def _request_exists(conn: AsyncConnection, org_id: str, request_id: str) -> bool:
    stmt = sa.select(requests.c.request_id).where(
        requests.c.org_id == org_id, requests.c.request_id == request_id
    )
    return (await conn.execute(stmt)).first() is not None


def _in_window(start_ms: int | None, end_ms: int | None) -> sa.ColumnElement[bool] | None:
    """Sessions with at least one request in [start, end): rollup bounds first, then an index probe."""
    if start_ms is None and end_ms is None:
        return None
    lo = start_ms if start_ms is not None else -(2**62)
    hi = end_ms if end_ms is not None else 2**62
    s = sessions.c
    has_request_inside = sa.exists().where(
        requests.c.org_id == s.org_id,
        requests.c.session_id == s.session_id,
        requests.c.created_at_ms >= lo,
        requests.c.created_at_ms < hi,
    )
    return sa.and_(
        s.first_created_at_ms < hi,
        s.last_created_at_ms >= lo,
        sa.or_(
            sa.and_(s.first_created_at_ms >= lo),
            sa.and_(s.last_created_at_ms < hi),
            has_request_inside,
        ),
    )


def _request_row(r: RequestRecord) -> dict[str, Any]:
    return {
        "org_id": r.org_id,
        "request_id": r.request_id,
        "created_at_ms": r.created_at_ms,
        "response_created_at_ms": r.response_created_at_ms,
        "latency_ms": r.latency_ms,
        "time_to_first_token_ms": r.time_to_first_token_ms,
        "status": r.status,
        "provider": r.provider,
        "model": r.model,
        "request_model": r.request_model,
        "user_id": r.user_id,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "total_tokens": r.total_tokens,
        "cache_read_tokens": r.cache_read_tokens,
        "cache_write_tokens": r.cache_write_tokens,
        "cost_nano_usd": r.cost_nano_usd,
        "cost_known": r.cost_known,
        "target_url": r.target_url,
        "session_id": r.session_id,
        "session_path": r.properties.get(SESSION_PATH_KEY),
        "request_body": r.request_body,
        "response_body": r.response_body,
    }


def _record_from_row(row: Any, props: dict[str, str]) -> RequestRecord:
    return RequestRecord(
        org_id=row.org_id,
        request_id=row.request_id,
        created_at_ms=row.created_at_ms,
        response_created_at_ms=row.response_created_at_ms,
        latency_ms=row.latency_ms,
        time_to_first_token_ms=row.time_to_first_token_ms,
        status=row.status,
        provider=row.provider,
        model=row.model,
        request_model=row.request_model,
        user_id=row.user_id,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        cache_read_tokens=row.cache_read_tokens,
        cache_write_tokens=row.cache_write_tokens,
        cost_nano_usd=row.cost_nano_usd,
        cost_known=row.cost_known,
        target_url=row.target_url,
        request_body=row.request_body,
        response_body=row.response_body,
        properties=props,
    )


def _rollup_row(org_id: str, session_id: str, batch: list[RequestRecord]) -> dict[str, Any]:
    first = min(batch, key=lambda r: (r.created_at_ms, r.request_id))
    named = [r for r in batch if r.session_name]
    latest_named = max(named, key=lambda r: r.created_at_ms) if named else None
    return {
        "org_id": org_id,
        "session_id": session_id,
        "name": latest_named.session_name if latest_named else "",
        "name_at_ms": latest_named.created_at_ms if latest_named else -1,
        "first_request_id": first.request_id,
        "first_created_at_ms": first.created_at_ms,
        "last_created_at_ms": max(r.created_at_ms for r in batch),
        "request_count": len(batch),
        "prompt_tokens": sum(r.prompt_tokens for r in batch),
        "completion_tokens": sum(r.completion_tokens for r in batch),
        "total_tokens": sum(r.total_tokens for r in batch),
        "cost_nano_usd": sum(r.cost_nano_usd for r in batch),
        "latency_sum_ms": sum(r.latency_ms for r in batch),
    }
