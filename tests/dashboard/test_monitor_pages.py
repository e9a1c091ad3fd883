"""The Monitors pages against the real server: the list with each monitor's state and last value, the
create and edit forms (an empty secret keeps the stored one), deliveries, and bad input explained."""

from __future__ import annotations

import json
import re
import time
from html import unescape
from typing import Any

from dashboard.dashboard_support import log_session, page_title, rate, signed_in
from heliograph.domain.breakdown import wilson_interval
from support import Cast

FORM = {
    "name": "B thumbs down",
    "feedback_name": "rating",
    "metric": "negative_rate",
    "operator": "gt",
    "threshold": "0.25",
    "window_min": "60",
    "min_rated": "20",
    "filter_json": '{"request_response_rmt": {"properties": {"variant": {"equals": "B"}}}}',
    "webhook_url": "http://127.0.0.1:9/hook",
    "webhook_secret": "dashboard-secret-1",
}


def _api_monitors(cast: Cast) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = cast.alice.client.get("/v1/monitors").json()["data"]
    return data


def test_a_monitor_made_in_the_dashboard_is_listed_edited_and_deleted(cast: Cast) -> None:
    with signed_in(cast.alice) as browser:
        empty = browser.get("/dashboard/monitors")
        assert empty.status_code == 200 and page_title(empty.text) == "Monitors"
        assert "No monitors yet." in empty.text

        created = browser.post("/dashboard/monitors", data=FORM)
        assert created.status_code == 303, created.text
        (monitor,) = _api_monitors(cast)
        assert created.headers["location"] == f"/dashboard/monitors/{monitor['id']}"
        assert monitor["filter"] == {"request_response_rmt": {"properties": {"variant": {"equals": "B"}}}}
        assert (monitor["window_s"], monitor["min_rated"], monitor["threshold"]) == (3600, 20, 0.25)

        listed = browser.get("/dashboard/monitors").text
        assert f'data-monitor-id="{monitor["id"]}"' in listed and "B thumbs down" in listed
        assert 'data-state="insufficient_data"' in listed
        page = browser.get(f"/dashboard/monitors/{monitor['id']}")
        assert page.status_code == 200 and "No deliveries yet" in page.text
        assert "dashboard-secret-1" not in page.text

        edited = browser.post(
            f"/dashboard/monitors/{monitor['id']}", data={**FORM, "name": "renamed", "webhook_secret": ""}
        )
        assert edited.status_code == 303, edited.text
        (after,) = _api_monitors(cast)
        assert after["name"] == "renamed"
        tested = cast.alice.client.post(f"/v1/monitors/{monitor['id']}/test")
        assert tested.status_code == 202
        shown = browser.get(f"/dashboard/monitors/{monitor['id']}").text
        assert f'data-delivery-id="{tested.json()["data"]["id"]}"' in shown

        deleted = browser.post(f"/dashboard/monitors/{monitor['id']}/delete")
        assert deleted.status_code == 303 and _api_monitors(cast) == []
        assert browser.get(f"/dashboard/monitors/{monitor['id']}").status_code == 404


def test_bad_input_in_the_form_is_explained_and_nothing_is_stored(cast: Cast) -> None:
    with signed_in(cast.alice) as browser:
        for change, message in (
            ({"filter_json": "{not json"}, "The filter is not JSON"),
            ({"filter_json": '{"nope": {}}'}, "Unknown filter table"),
            ({"webhook_url": "https://hooks.example.com/x"}, "HELIOGRAPH_WEBHOOK_ALLOWED_HOSTS"),
            ({"threshold": "a lot"}, "must be numbers"),
            ({"webhook_secret": "short"}, "secret of 8 or more"),
        ):
            answer = browser.post("/dashboard/monitors", data={**FORM, **change}, follow_redirects=True)
            assert answer.status_code == 200, answer.text
            errors = re.findall(r'<p class="message error"[^>]*>(.*?)</p>', answer.text, re.S)
            assert len(errors) == 1 and message in unescape(errors[0]), (change, errors)
        assert _api_monitors(cast) == []


def _trend_of(html: str) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" data-chart-for="feedback-trend">(.*?)</script>', html, re.S
    )
    assert found, html[:2000]
    data: dict[str, Any] = json.loads(unescape(found.group(1)))
    return data


def test_the_comparison_page_draws_each_value_s_positive_rate_per_day_with_its_wilson_band(
    cast: Cast,
) -> None:
    day = 86_400_000
    today = int(time.time() * 1000) // day * day
    ratings = {"A": [True, True, True, False], "B": [True, False, False, False]}
    for variant, values in ratings.items():
        for rating in values:
            session = log_session(cast.alice, start_ms=today + 1_000, properties={"Variant": variant})
            rate(cast.alice, session, rating)
    with signed_in(cast.alice) as browser:
        page = browser.get("/dashboard/feedback?property=variant&range=7d")
    assert page.status_code == 200, page.text
    trend = _trend_of(page.text)
    assert trend["kind"] == "trend" and len(trend["labels"]) == 7 and trend["marks"] == []
    by_value = {s["label"]: s for s in trend["series"]}
    assert set(by_value) == {"A", "B"}
    for value, positive_rate in (("A", 0.75), ("B", 0.25)):
        series = by_value[value]
        assert series["data"][:6] == [None] * 6 and series["data"][6] == positive_rate
        assert series["rated"][6] == 4
        low, high = wilson_interval(round(positive_rate * 4), 4)
        assert (series["low"][6], series["high"][6]) == (low, high)
