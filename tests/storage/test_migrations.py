"""The Alembic migrations build exactly the schema the code declares, and undo cleanly."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from heliograph.domain.feedback_values import feedback_id
from heliograph.storage.migrations.apply import _config, upgrade_to_head
from heliograph.storage.sql.engine import create_engines
from heliograph.storage.sql.schema import feedback_records, metadata, properties, requests, sessions

TABLES = {
    "dashboard_sign_ins",
    "hidden_properties",
    "feedback_configs",
    "feedback_records",
    "leases",
    "monitor_deliveries",
    "monitors",
    "api_keys",
    "organizations",
    "properties",
    "requests",
    "scores",
    "session_tags",
    "session_users",
    "sessions",
}


async def _tables_and_drift(url: str) -> tuple[set[str], list[object]]:
    engines = create_engines(url)
    try:
        await upgrade_to_head(engines.writer)
        async with engines.writer.connect() as conn:

            def inspect(sync_conn: sa.Connection) -> tuple[set[str], list[object]]:
                tables = set(sa.inspect(sync_conn).get_table_names()) - {"alembic_version"}
                index_names = (
                    "SELECT name FROM sqlite_master WHERE type = 'index'"
                    if sync_conn.dialect.name == "sqlite"
                    else "SELECT indexname FROM pg_indexes"
                )
                assert "ix_properties_org_key_value" in set(sync_conn.exec_driver_sql(index_names).scalars())
                drift = compare_metadata(MigrationContext.configure(sync_conn), metadata)
                return tables, drift

            return await conn.run_sync(inspect)
    finally:
        await engines.dispose()


async def _downgrade_to_base(url: str) -> set[str]:
    engines = create_engines(url)
    try:
        async with engines.writer.begin() as conn:
            await conn.run_sync(lambda sync_conn: command.downgrade(_config(sync_conn), "base"))
        async with engines.writer.connect() as conn:
            names = await conn.run_sync(lambda sync_conn: sa.inspect(sync_conn).get_table_names())
        return set(names) - {"alembic_version"}
    finally:
        await engines.dispose()


# Neither reflection nor autogenerate compares expression indexes; the test below checks that one by name.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_upgrade_builds_the_declared_schema_and_downgrade_removes_it(empty_database_url: str) -> None:
    tables, drift = asyncio.run(_tables_and_drift(empty_database_url))
    assert tables == TABLES
    assert drift == []
    assert asyncio.run(_downgrade_to_base(empty_database_url)) == set()
    assert asyncio.run(_tables_and_drift(empty_database_url))[0] == TABLES  # and up again


async def _properties_after_upgrade_from_0002(url: str) -> list[tuple[str, str | None]]:
    """Store two requests (one in a session) with a property each at revision 0002, then upgrade."""
    engines = create_engines(url)
    try:
        async with engines.writer.begin() as conn:
            await conn.run_sync(lambda sync_conn: command.upgrade(_config(sync_conn), "0002"))
        async with engines.writer.begin() as conn:
            for request_id, session_id in (("in-session", "s-1"), ("alone", None)):
                numbers = {c.name: 0 for c in requests.c if isinstance(c.type, sa.BigInteger | sa.Integer)}
                row = {**numbers, "org_id": "o", "request_id": request_id, "session_id": session_id}
                texts = {"provider": "OPENAI", "model": "m", "target_url": "u", "request_body": "{}"}
                await conn.execute(
                    sa.insert(requests).values(**row, **texts, response_body="{}", cost_known=True)
                )
                await conn.execute(
                    sa.text(
                        "INSERT INTO properties (org_id, request_id, key, value) VALUES ('o', :id, 'k', 'v')"
                    ),
                    {"id": request_id},
                )
        await upgrade_to_head(engines.writer)
        async with engines.reader.connect() as conn:
            stmt = sa.select(properties.c.request_id, properties.c.session_id).order_by(
                properties.c.request_id
            )
            return [(r.request_id, r.session_id) for r in await conn.execute(stmt)]
    finally:
        await engines.dispose()


def test_upgrade_gives_stored_properties_their_request_session(empty_database_url: str) -> None:
    assert asyncio.run(_properties_after_upgrade_from_0002(empty_database_url)) == [
        ("alone", None),
        ("in-session", "s-1"),
    ]


async def _records_after_upgrade_from_0004(url: str) -> list[tuple[str, ...]]:
    """Store a session rated down and one not rated at revision 0004, then upgrade."""
    engines = create_engines(url)
    try:
        async with engines.writer.begin() as conn:
            await conn.run_sync(lambda sync_conn: command.upgrade(_config(sync_conn), "0004"))
        async with engines.writer.begin() as conn:
            numbers = {c.name: 0 for c in sessions.c if isinstance(c.type, sa.BigInteger | sa.Integer)}
            for session_id, rating in (("rated", 0), ("unrated", None)):
                row = {
                    **numbers,
                    "org_id": "o",
                    "session_id": session_id,
                    "name": "",
                    "first_request_id": "r",
                    "feedback": rating,
                    "feedback_at_ms": 7,
                }
                await conn.execute(sa.insert(sessions).values(**row))
        await upgrade_to_head(engines.writer)
        async with engines.reader.connect() as conn:
            stmt = sa.select(feedback_records).order_by(feedback_records.c.session_id)
            return [
                (
                    r.id,
                    r.session_id,
                    r.request_id,
                    r.name,
                    r.rater,
                    r.source,
                    r.kind,
                    str(r.number),
                    str(r.updated_at_ms),
                )
                for r in await conn.execute(stmt)
            ]
    finally:
        await engines.dispose()


def test_upgrade_turns_each_stored_session_rating_into_the_api_raters_record(empty_database_url: str) -> None:
    own_id = feedback_id(org_id="o", session_id="rated", request_id=None, name="rating", rater="api")
    assert asyncio.run(_records_after_upgrade_from_0004(empty_database_url)) == [
        (own_id, "rated", "", "rating", "api", "api", "boolean", "0.0", "7")
    ]
