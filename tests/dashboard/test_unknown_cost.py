"""A request whose cost is unknown shows "—" on the session page, never "$0" (issue 14, bug 4)."""

from __future__ import annotations

import re
import uuid
from html import unescape

from dashboard.dashboard_support import signed_in
from ingest_support import body_with, log, sse
from support import Cast


def _costs_shown(html: str) -> list[str]:
    return [unescape(c).strip() for c in re.findall(r"<dt>Cost</dt><dd>([^<]*)", html)]


def test_a_stream_without_usage_shows_an_unknown_cost(cast: Cast) -> None:
    session_id = f"unknown-cost-{uuid.uuid4()}"
    stream = sse({"choices": [{"index": 0, "delta": {"content": "Hi"}}]}, done=True)
    body = body_with({"model": "gpt-4o-mini", "stream": True, "messages": []}, {}, text_body=stream)
    log(cast.alice, body, headers={"Helicone-Session-Id": session_id})
    with signed_in(cast.alice) as browser:
        response = browser.get(f"/dashboard/sessions/{session_id}")
    assert response.status_code == 200
    costs = _costs_shown(response.text)
    assert "—" in costs, costs
    assert "$0" not in costs[1:], costs  # the request's own cost; the session's total comes first
