"""`heliograph copy --from URL --to URL`: every organization, key, request, property, score, rating, tag,
feedback record and config, and feedback monitor from one store to another (SQLite, PostgreSQL,
ClickHouse; either way), in batches, with a progress bar.

Everything is written idempotently (an organization or key by its id, a request by its id, a rating or
tag as a value), so a copy cut short runs again from the start and stores nothing twice. It ends by
counting each table of each organization on both sides, and fails loudly when they differ.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from heliograph.cli.common import err, open_store, settings_with
from heliograph.domain.feedback_values import RATING, FeedbackQuery
from heliograph.domain.store import COPIED_TABLES, Organization, Store
from heliograph.storage import single_process_only

__all__ = ["copy", "copy_stores"]

DEFAULT_BATCH = 5_000


async def copy_stores(source: Store, target: Store, *, batch: int, progress: Progress) -> list[str]:
    """Copy everything; return the differences of the final count check (empty when all counts agree)."""
    organizations = await source.list_organizations()
    for org in organizations:
        await target.restore_organization(org)
    for key in await source.export_api_keys():
        await target.restore_api_key(key)
    differences = []
    for org in organizations:
        await _copy_requests(source, target, org, batch=batch, progress=progress)
        rated = await _copy_feedback(source, target, org, batch=batch)
        marks = await source.export_session_marks(org_id=org.id)
        # A rating the records already give is copied with them; one without (a store written before
        # feedback records) becomes the api rater's, as the seed's endpoint would make it.
        await target.rate_sessions(
            org_id=org.id,
            ratings={
                m.session_id: m.rating for m in marks if m.rating is not None and m.session_id not in rated
            },
        )
        for mark in marks:
            if mark.tag is not None:
                await target.set_session_tag(org_id=org.id, session_id=mark.session_id, tag=mark.tag)
        for monitor in await source.list_monitors(org_id=org.id):
            await target.restore_monitor(monitor)  # its deliveries (a history) stay behind
        before, after = await source.copy_counts(org_id=org.id), await target.copy_counts(org_id=org.id)
        differences += [
            f"{org.name}: {table} {before[table]:,} in the source, {after[table]:,} in the target"
            for table in COPIED_TABLES
            if before[table] != after[table]
        ]
    source_keys = {k.info.id for k in await source.export_api_keys()}
    if missing := source_keys - {k.info.id for k in await target.export_api_keys()}:
        differences.append(f"api keys: {len(missing):,} of the source's are not in the target")
    return differences


async def _copy_requests(
    source: Store, target: Store, org: Organization, *, batch: int, progress: Progress
) -> None:
    total = (await source.copy_counts(org_id=org.id))["requests"]
    task = progress.add_task(f"{org.name}: requests", total=total)
    after: str | None = None
    while page := await source.export_requests(org_id=org.id, after=after, limit=batch):
        await target.insert_requests([stored.record for stored in page])
        for stored in page:
            if stored.scores:
                await target.set_request_scores(
                    org_id=org.id, request_id=stored.record.request_id, values=stored.scores
                )
        after = page[-1].record.request_id
        progress.advance(task, len(page))


async def _copy_feedback(source: Store, target: Store, org: Organization, *, batch: int) -> set[str]:
    """Copy the organization's feedback configs and records; the sessions that have a rating record."""
    for config in await source.list_feedback_configs(org_id=org.id):
        await target.put_feedback_config(org_id=org.id, config=config)
    rated: set[str] = set()
    offset = 0
    while page := await source.query_feedback(org_id=org.id, query=FeedbackQuery(limit=batch, offset=offset)):
        await target.restore_feedback(org_id=org.id, records=page)
        rated |= {r.session_id for r in page if r.name == RATING and isinstance(r.value, bool)}
        offset += len(page)
    return rated


def copy(
    source_url: Annotated[str, typer.Option("--from", help="The store to copy from (any database URL).")],
    target_url: Annotated[str, typer.Option("--to", help="The store to copy into (migrated first).")],
    batch: Annotated[
        int, typer.Option(min=1, max=100_000, help="Requests per read and write.")
    ] = DEFAULT_BATCH,
) -> None:
    """Copy every organization, key, request, property, score, rating, tag, feedback record and config,
    and feedback monitor between two stores."""
    settings_with(database_url=source_url)
    settings_with(database_url=target_url)
    if single_process_only(source_url) and single_process_only(target_url):
        err.print(
            "[red]Both stores are chdb:[/red] one process opens one chdb directory; copy through SQLite"
        )
        raise typer.Exit(2)

    async def run() -> tuple[list[str], int, float]:
        async with open_store(source_url) as source, open_store(target_url) as target:
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
            )
            started = time.perf_counter()
            with Progress(*columns, console=err) as progress:
                differences = await copy_stores(source, target, batch=batch, progress=progress)
            copied = sum(int(t.completed) for t in progress.tasks)
            return differences, copied, time.perf_counter() - started

    differences, copied, seconds = asyncio.run(run())
    if differences:
        table = Table("count check failed")
        for line in differences:
            table.add_row(line)
        err.print(table)
        raise typer.Exit(1)
    rate = copied / seconds if seconds else 0.0
    err.print(f"Copied {copied:,} requests in {seconds:,.1f} s ({rate:,.0f}/s); every count matches.")
