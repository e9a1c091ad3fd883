"""`/v1/session/feedback/breakdown` with `name` (issue 17, item 5): the records of a feedback name per
property value, with counts, rates, means and intervals that match a hand-computed answer."""

from __future__ import annotations

import math
import re
import uuid
from typing import Any

import pytest

from dashboard.dashboard_support import signed_in
from heliograph.domain.breakdown import two_proportion_p_value
from heliograph.domain.feedback_stats import chi_square_p_value, welch_p_value
from support import Cast, Tenant, session_headers

T_975_DF2 = 4.302652729911275  # Student's t, 97.5th percentile, 2 degrees of freedom (tables)


def _variant_sessions(tenant: Tenant, variant: str, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        session_id = f"bd-{variant}-{uuid.uuid4()}"
        tenant.log(headers=session_headers(session_id, "/", **{"Helicone-Property-Variant": variant}))
        ids.append(session_id)
    return ids


def _breakdown(tenant: Tenant, **body: Any) -> dict[str, dict[str, Any]]:
    response = tenant.client.post("/v1/session/feedback/breakdown", json={"property": "variant", **body})
    assert response.status_code == 200, response.text
    return {row["value"]: row for row in response.json()["data"]}


def test_booleans_numbers_and_labels_match_a_hand_computed_answer(cast: Cast) -> None:
    alice = cast.alice
    a1, a2, a3 = _variant_sessions(alice, "A", 3)
    b1, b2 = _variant_sessions(alice, "B", 2)
    alice.client.put("/v1/feedback/config/stars", json={"type": "numeric", "min": 1, "max": 5})
    alice.client.put("/v1/feedback/config/tone", json={"type": "categorical", "labels": ["calm", "rude"]})
    records = [
        ("helpful", a1, "ann", True), ("helpful", a1, "bo", False), ("helpful", a2, "ann", True),
        ("helpful", a3, "ann", True), ("helpful", b1, "ann", False), ("helpful", b2, "ann", False),
        ("stars", a1, "ann", 4), ("stars", a1, "bo", 5), ("stars", a2, "ann", 3),
        ("stars", b1, "ann", 2), ("stars", b2, "ann", 1),
        ("tone", a1, "ann", "calm"), ("tone", a2, "ann", "calm"), ("tone", a3, "ann", "rude"),
        ("tone", b1, "ann", "rude"), ("tone", b2, "ann", "rude"),
    ]  # fmt: skip
    for name, session_id, rater, value in records:
        sent = alice.client.post(
            "/v1/feedback", json={"session_id": session_id, "name": name, "rater": rater, "value": value}
        )
        assert sent.status_code == 201, sent.text
    # The same rater again replaces, never adds: still 4 helpful records on A.
    alice.client.post(
        "/v1/feedback", json={"session_id": a2, "name": "helpful", "rater": "ann", "value": True}
    )

    helpful = _breakdown(alice, name="helpful")
    assert [(r["sessions"], r["records"], r["positive"], r["negative"]) for r in helpful.values()] == [
        (3, 4, 3, 1),
        (2, 2, 0, 2),
    ]
    assert helpful["A"]["type"] == "boolean" and helpful["A"]["positive_rate"] == 0.75
    assert helpful["A"]["p_value"] is None  # the best rate is what the others are compared with
    assert helpful["B"]["p_value"] == pytest.approx(two_proportion_p_value(0, 2, 3, 4))

    stars = _breakdown(alice, name="stars")
    a, b = stars["A"], stars["B"]
    assert (a["type"], a["records"], a["mean"], b["records"], b["mean"]) == ("numeric", 3, 4.0, 2, 1.5)
    half = T_975_DF2 * 1.0 / math.sqrt(3)  # A: 4, 5, 3 has standard deviation 1
    assert (a["ci_low"], a["ci_high"]) == (pytest.approx(4 - half), pytest.approx(4 + half))
    # Welch: se^2 = 1/3 + 0.5/2, t = -2.5 / sqrt(7/12), df = (7/12)^2 / ((1/3)^2 / 2 + (1/4)^2 / 1)
    assert b["p_value"] == pytest.approx(welch_p_value([2, 1], [4, 5, 3]))
    assert 0.04 < b["p_value"] < 0.06  # t = -3.27 on 2.88 degrees of freedom

    tone = _breakdown(alice, name="tone")
    assert tone["A"]["labels"] == {"calm": 2, "rude": 1} and tone["B"]["labels"] == {"calm": 0, "rude": 2}
    assert tone["A"]["type"] == "categorical" and tone["A"]["p_value"] is None
    assert tone["B"]["p_value"] == pytest.approx(chi_square_p_value([[0, 2], [2, 1]]))

    # Without a name, the breakdown is the sessions' ratings, as before.
    plain = _breakdown(alice)
    assert set(plain["A"]) == {
        "value", "sessions", "rated", "positive", "negative", "positive_rate", "ci_low", "ci_high", "p_value",
    }  # fmt: skip
    # Another organization sees none of it.
    assert _breakdown(cast.bob, name="helpful") == {}

    # The comparison page takes the name too, and shows the same numbers.
    with signed_in(alice) as browser:
        page = browser.get("/dashboard/feedback", params={"property": "variant", "name": "stars"})
        assert page.status_code == 200
        summaries = dict(
            re.findall(r'<tr data-value="(\w)">.*?class="summary">\s*(.*?)\s*</td>', page.text, re.S)
        )
        assert summaries["A"].startswith("mean 4") and summaries["B"].startswith("mean 1.5")
        tone_page = browser.get("/dashboard/feedback", params={"property": "variant", "name": "tone"}).text
        assert "calm: 2, rude: 1" in tone_page and "calm: 0, rude: 2" in tone_page
        # The patterns page shows both feedback components, with a hostile comment as text.
        patterns = browser.get("/dashboard/patterns").text
        assert "Feedback records comparison" in patterns and "mean 4.5" in patterns
        assert "&lt;i&gt;Booked&lt;/i&gt; the wrong day" in patterns and "<i>Booked" not in patterns


def test_a_name_with_no_records_gives_empty_counts(cast: Cast) -> None:
    _variant_sessions(cast.alice, "A", 1)
    rows = _breakdown(cast.alice, name="nothing-here")
    assert [(r["sessions"], r["records"], r["positive_rate"]) for r in rows.values()] == [(1, 0, None)]
