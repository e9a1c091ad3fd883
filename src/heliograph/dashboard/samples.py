"""Made-up data for the patterns page, in the same types the real pages render (nothing is stored)."""

from __future__ import annotations

from typing import Any

import orjson

from heliograph.dashboard.charts import activity_chart, histogram_chart
from heliograph.dashboard.listing import DAY_MS, RANGES
from heliograph.dashboard.session_view import SessionView, session_view
from heliograph.domain.breakdown import FeedbackCounts, FeedbackRow, breakdown
from heliograph.domain.feedback_stats import RecordRow, record_breakdown
from heliograph.domain.feedback_values import FeedbackConfig, FeedbackRecord
from heliograph.domain.metrics import SortedValues, distribution
from heliograph.domain.records import (
    NANO_USD_PER_USD,
    new_record,
)
from heliograph.domain.store import SessionActivity, SessionSummary, SessionTotals, StoredRequest

__all__ = [
    "sample_charts",
    "sample_comparison",
    "sample_record_comparison",
    "sample_records",
    "sample_session",
    "sample_sessions",
    "sample_totals",
]

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
STEPS = (("/plan", 900), ("/plan/search", 2_400), ("/plan/search/fetch", 650), ("/answer", 3_100))


def sample_sessions() -> list[SessionSummary]:
    """Three rows: rated up, rated down, not rated (one with a name that needs escaping)."""
    rows = []
    for i, (name, feedback) in enumerate(
        (("Trip planner", True), ("Support triage", False), ("<b>Escaped</b> & shown as text", None))
    ):
        rows.append(
            SessionSummary(
                session_id=f"sample-{i + 1}",
                name=name,
                first_request_id=f"request-{i}",
                created_at_ms=START_MS + i * 3_600_000,
                latest_request_created_at_ms=START_MS + i * 3_600_000 + 7_050 * (i + 1),
                request_count=4 - i,
                prompt_tokens=1_200 * (i + 1),
                completion_tokens=300 * (i + 1),
                total_tokens=1_500 * (i + 1),
                cost_nano_usd=1_830_000 * (i + 1),
                latency_sum_ms=7_050,
                feedback=feedback,
                user_ids=[f"user-{i + 1:03d}"] if i < 2 else [],
            )
        )
    return rows


def sample_totals() -> SessionTotals:
    return SessionTotals(
        session_count=1_234, cost_nano_usd=4_321_000_000, latency_sum_ms=0, request_count=5_678
    )


def sample_session() -> SessionView:
    """A four-request agent session with a failed call."""
    summary = sample_sessions()[0]
    stored = []
    offset = 0
    for number, (path, latency) in enumerate(STEPS, start=1):
        body, answer = _sample_chat(number, path)
        record = new_record(
            org_id="sample",
            created_at_ms=START_MS + offset,
            request_id=f"00000000-0000-4000-8000-00000000000{number}",
            session_id=summary.session_id,
            session_name=summary.name,
            session_path=path,
            latency_ms=latency,
            time_to_first_token_ms=latency // 3,
            status=500 if number == 3 else 200,
            user_id="user-001",
            prompt_tokens=300,
            completion_tokens=75,
            cost_nano_usd=457_500,
            request_body=orjson.dumps(body).decode(),
            response_body=orjson.dumps(answer).decode(),
            properties={"prompt-version": "B"},
        )
        stored.append(StoredRequest(record=record, scores={}))
        offset += latency + 200
    return session_view(summary, stored)


def _sample_chat(number: int, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A request and its answer: step 2 has every kind of conversation part, step 3 failed."""
    body: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": f"Step {number}: {path}"}],
    }
    answer: dict[str, Any] = {"choices": [{"message": {"role": "assistant", "content": "Done."}}]}
    if number == 2:
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "search", "arguments": '{"q": "Lisbon"}'},
        }
        body["messages"] = [
            {"role": "system", "content": "You plan trips. Use the search tool."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Where is this? Plan two days there."},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 4000}},
                ],
            },
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "Lisbon: 3 results"},
        ]
        answer = {"choices": [{"message": {"role": "assistant", "content": "Day 1: Alfama.\nDay 2: Belém."}}]}
    if number == 3:
        answer = {"error": {"message": "The server had an error while processing your request."}}
    return body, answer


def sample_charts() -> dict[str, dict[str, object]]:
    costs_nano_usd = SortedValues(1_000_000 * (i % 17) + 400_000 * i for i in range(60))
    activity = [
        SessionActivity(bucket_start_ms=START_MS + day * DAY_MS, sessions=20 + day, positive=8, negative=3)
        for day in range(7)
    ]
    return {
        "cost": histogram_chart(
            distribution(costs_nano_usd, scale=NANO_USD_PER_USD, fraction=0.95, interquartile=False),
            title="Cost per session",
            unit="usd",
        ),
        "activity": activity_chart(activity, time_range=RANGES["7d"], now=START_MS + 6 * DAY_MS),
    }


def sample_comparison() -> list[FeedbackRow]:
    return breakdown(
        [
            FeedbackCounts(value="B", sessions=260, positive=150, negative=40),
            FeedbackCounts(value="A", sessions=240, positive=110, negative=75),
            FeedbackCounts(value="C", sessions=12, positive=0, negative=0),
        ]
    )


def sample_records() -> list[FeedbackRecord]:
    """An end user's thumbs down with a comment, a reviewer's score, a judge's label (escaped text too)."""
    later = START_MS + 60_000
    return [
        FeedbackRecord("r1", "s", None, "rating", False, "<i>Booked</i> the wrong day", "user-42", "end_user",
                       START_MS, later),
        FeedbackRecord("r2", "s", None, "accuracy", 2.0, None, "dashboard:sk-hg-abc", "human", later, later),
        FeedbackRecord("r3", "s", "req-1", "tone", "calm", None, "judge", "llm", START_MS, START_MS),
    ]  # fmt: skip


def sample_record_comparison() -> list[RecordRow]:
    """Stars (1-5) per prompt version: B scores higher than A, C has no records."""
    counts = [FeedbackCounts("B", 4, 0, 0), FeedbackCounts("A", 4, 0, 0), FeedbackCounts("C", 1, 0, 0)]
    stars = [("B", 5), ("B", 4), ("B", 5), ("B", 4), ("A", 2), ("A", 3), ("A", 2), ("A", 1)]
    return record_breakdown(
        counts, [(v, float(n)) for v, n in stars], FeedbackConfig("stars", "numeric", 1, 5)
    )
