"""`heliograph copy`: the demo (with scores, a later property, tags, feedback records and monitors added)
goes from SQLite to chdb and back, and all three stores give the same answers to session queries,
counts, metrics, the feedback breakdown and the monitors. A copy killed halfway and run again stores
nothing twice, and the count check holds."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from heliograph.domain.feedback_values import FeedbackConfig, FeedbackEntry, FeedbackQuery
from heliograph.domain.monitors import MonitorStatus, delivery_id
from heliograph.domain.records import now_ms
from heliograph.domain.sessions import SessionQuery
from heliograph.domain.store import Store
from heliograph.errors import Unavailable
from heliograph.monitors.runner import new_delivery
from heliograph.storage import open_store
from store_support import MONITOR_SPEC, with_store

DEMO_SESSIONS = 120


def _heliograph(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "heliograph", *args], capture_output=True, text=True, timeout=300, check=False
    )


def _demo_with_marks(url: str) -> None:
    loaded = _heliograph("demo", "--sessions", str(DEMO_SESSIONS), "--database-url", url)
    assert loaded.returncode == 0, loaded.stderr

    async def mark(store: Store) -> None:
        (org,) = await store.list_organizations()
        page = await store.export_requests(org_id=org.id, after=None, limit=3)
        await store.set_request_scores(org_id=org.id, request_id=page[0].record.request_id, values={"acc": 4})
        await store.set_request_property(
            org_id=org.id, request_id=page[1].record.request_id, key="k", value="v"
        )
        sessions = await store.query_sessions(org_id=org.id, query=SessionQuery(limit=2))
        for summary in sessions:
            await store.set_session_tag(org_id=org.id, session_id=summary.session_id, tag="copied")
        # Feedback records of other raters: a newer thumbs down than the api's, a score with a comment.
        await store.put_feedback_config(org_id=org.id, config=FeedbackConfig("stars", "numeric", 1, 5))
        first = sessions[0].session_id
        (in_first, *_) = await store.session_requests(org_id=org.id, session_id=first)
        for entry in (
            FeedbackEntry(first, None, "rating", False, "too slow", "user-1", "end_user"),
            FeedbackEntry(first, in_first.record.request_id, "stars", 4, None, "judge", "llm"),
        ):
            assert await store.put_feedback(org_id=org.id, entry=entry) is not None
        # A monitor that has fired, and one never evaluated.
        fired = await store.create_monitor(org_id=org.id, spec=MONITOR_SPEC)
        await store.create_monitor(org_id=org.id, spec=replace(MONITOR_SPEC, name="quiet", filter=None))
        now = now_ms()
        body = '{"state":"firing"}'
        delivery = new_delivery(
            fired, delivery_id=delivery_id(fired.id, 1), kind="firing", body=body, now=now
        )
        status = MonitorStatus("firing", 0.5, 40, now, 1)
        assert await store.record_evaluation(
            org_id=org.id, monitor_id=fired.id, status=status, delivery=delivery
        )

    with_store(url, mark)


def _answers(url: str) -> dict[str, Any]:
    """What the API's session endpoints would answer, read from the store at `url`."""

    async def read(store: Store) -> dict[str, Any]:
        (org,) = await store.list_organizations()
        query = SessionQuery(limit=1000)
        return {
            "sessions": await store.query_sessions(org_id=org.id, query=query),
            "count": await store.count_sessions(org_id=org.id, query=query),
            "metrics": await store.session_metrics(
                org_id=org.id, query=query, fraction=0.95, interquartile=False
            ),
            "breakdown": await store.feedback_by_value(
                org_id=org.id, query=query, dimension="prompt-version", limit=50
            ),
            "counts": await store.copy_counts(org_id=org.id),
            "records": sorted(
                await store.query_feedback(org_id=org.id, query=FeedbackQuery(limit=1000)), key=lambda r: r.id
            ),
            "configs": await store.list_feedback_configs(org_id=org.id),
            "keys": [k.info for k in await store.export_api_keys()],
            "monitors": await store.list_monitors(org_id=org.id),
        }

    return with_store(url, read)


def test_sqlite_to_chdb_and_back_gives_the_same_answers(tmp_path: Path) -> None:
    source, middle, back = f"sqlite:///{tmp_path}/a.db", f"chdb://{tmp_path}/ch", f"sqlite:///{tmp_path}/b.db"
    _demo_with_marks(source)
    for start, end in ((source, middle), (middle, back)):
        copied = _heliograph("copy", "--from", start, "--to", end, "--batch", "500")
        assert copied.returncode == 0, copied.stderr
        assert "every count matches" in copied.stderr
    expected = _answers(source)
    assert expected["counts"]["scores"] == 1 and expected["counts"]["tags"] == 2
    assert expected["counts"]["feedback"] > 0 and len(expected["sessions"]) == DEMO_SESSIONS
    assert expected["counts"]["feedback_records"] == len(expected["records"]) > 2
    assert {(r.rater, r.name) for r in expected["records"]} >= {("user-1", "rating"), ("judge", "stars")}
    assert [m.status.state for m in expected["monitors"]] == ["firing", "insufficient_data"]
    assert expected["counts"]["monitors"] == 2
    assert _answers(middle) == expected
    assert _answers(back) == expected


def test_a_copy_killed_halfway_runs_again_without_storing_anything_twice(tmp_path: Path) -> None:
    source, target = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/t.db"
    _demo_with_marks(source)
    total = _answers(source)["counts"]["requests"]
    process = subprocess.Popen(
        [sys.executable, "-m", "heliograph", "copy", "--from", source, "--to", target, "--batch", "10"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        copied = 0
        while time.monotonic() < deadline and not 0 < copied < total:
            time.sleep(0.05)
            copied = _count_requests(target) if Path(f"{tmp_path}/t.db").exists() else 0
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert 0 < _count_requests(target) < total  # cut short mid-copy
    again = _heliograph("copy", "--from", source, "--to", target)
    assert again.returncode == 0, again.stderr
    assert _answers(target) == _answers(source)


def _count_requests(url: str) -> int:
    async def count() -> int:
        store = open_store(url)
        try:
            orgs = await store.list_organizations()
            return sum([(await store.copy_counts(org_id=o.id))["requests"] for o in orgs])
        except Unavailable:  # the copy has not created the schema yet (no such table)
            return 0
        finally:
            await store.close()

    return asyncio.run(count())
