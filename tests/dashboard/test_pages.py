"""Dashboard pages over HTTP against the real server (both databases): what they show, filters, feedback."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import quote

import pytest

from dashboard.dashboard_support import listed_session_ids, log_session, page_title, rate, signed_in
from support import Cast, Tenant, feedback_filter, query_body

FEEDBACK = "Helicone-Session-Feedback"


def _api_sessions(tenant: Tenant, **body: Any) -> list[dict[str, Any]]:
    response = tenant.client.post("/v1/session/query", json=query_body(limit=1000, **body))
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _unrated_through_the_api(tenant: Tenant) -> set[str]:
    return {row["session_id"] for row in _api_sessions(tenant) if row["feedback"] is None}


def _none_filter() -> dict[str, Any]:
    """The tree the dashboard's "Not rated" choice sends: feedback is neither "1" nor "0"."""

    def leaf(value: str) -> dict[str, Any]:
        return {"request_response_rmt": {"properties": {FEEDBACK: {"not-equals": value}}}}

    return {"left": leaf("1"), "operator": "and", "right": leaf("0")}


class TestPagesRender:
    def test_every_page_renders_for_a_signed_in_organization(self, cast: Cast) -> None:
        session_id = log_session(cast.alice, requests=3, properties={"Prompt-Version": "A"})
        with signed_in(cast.alice) as browser:
            for path, title in [
                ("/dashboard/sessions", "Sessions"),
                (f"/dashboard/sessions/{session_id}", "Agent"),
                ("/dashboard/metrics", "Session metrics"),
                ("/dashboard/feedback", "Feedback comparison"),
                ("/dashboard/feedback?property=prompt-version", "Feedback comparison"),
                ("/dashboard/patterns", "Patterns"),
            ]:
                response = browser.get(path)
                assert response.status_code == 200, (path, response.text[:500])
                assert response.headers["content-type"].startswith("text/html")
                assert "script-src 'self'" in response.headers["content-security-policy"]
                assert response.headers["cache-control"] == "no-store"
                assert page_title(response.text) == title
                assert 'href="/dashboard/patterns"' not in response.text  # developers open it by its URL

    def test_the_vendored_libraries_are_served(self, cast: Cast) -> None:
        for path, marker in [
            ("/dashboard/static/vendor/chart.umd.js", "Chart.js v4."),
            ("/dashboard/static/vendor/htmx.min.js", "htmx"),
            ("/dashboard/static/dashboard.js", "data-chart-for"),
        ]:
            response = cast.outsider.get(path)
            assert response.status_code == 200
            assert marker in response.text[:2000] or marker in response.text

    def test_session_names_and_properties_are_escaped(self, cast: Cast) -> None:
        hostile = "<script>alert('x')</script>"
        session_id = log_session(
            cast.alice, name=hostile, properties={"Note": "<img src=x onerror=alert(1)>"}
        )
        with signed_in(cast.alice) as browser:
            for path in ("/dashboard/sessions", f"/dashboard/sessions/{session_id}"):
                html = browser.get(path).text
                assert hostile not in html
                assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
                assert "<img src=x" not in html

    def test_an_unknown_dashboard_path_is_a_not_found_page(self, cast: Cast) -> None:
        with signed_in(cast.alice) as browser:
            response = browser.get("/dashboard/no-such-page")
            assert response.status_code == 404
            assert page_title(response.text) == "Not found"


class TestTenancy:
    def test_another_organizations_session_is_not_found_and_cannot_be_rated(self, cast: Cast) -> None:
        session_id = log_session(cast.alice, requests=2)
        before = cast.alice.client.get(f"/v1/session/{session_id}").json()
        with signed_in(cast.bob) as bob:
            page = bob.get(f"/dashboard/sessions/{session_id}")
            assert page.status_code == 404
            assert page_title(page.text) == "Not found"
            assert "There is no such session in your organization." in page.text
            assert session_id not in bob.get("/dashboard/sessions").text
            rating = bob.post(f"/dashboard/sessions/{session_id}/feedback", data={"rating": "down"})
            assert rating.status_code == 404
        assert cast.alice.client.get(f"/v1/session/{session_id}").json() == before
        with signed_in(cast.alice) as alice:
            assert alice.get(f"/dashboard/sessions/{session_id}").status_code == 200

    def test_a_session_id_with_a_slash_has_a_page(self, cast: Cast) -> None:
        session_id = log_session(cast.alice, prefix="team/a")
        with signed_in(cast.alice) as browser:
            html = browser.get("/dashboard/sessions").text
            assert f'href="/dashboard/sessions/{quote(session_id, safe="")}"' in html
            page = browser.get(f"/dashboard/sessions/{quote(session_id, safe='')}")
            assert page.status_code == 200
            assert session_id in page.text


class TestSessionPage:
    def test_it_shows_the_facts_the_tree_the_timeline_and_each_request(self, cast: Cast) -> None:
        session_id = log_session(
            cast.alice,
            requests=4,
            name="Trip planner",
            paths=("/plan", "/plan/search", "/plan/search", "/answer"),
        )
        with signed_in(cast.alice) as browser:
            html = browser.get(f"/dashboard/sessions/{session_id}").text
        api = cast.alice.client.get(f"/v1/session/{session_id}").json()["data"]
        # The path tree: collapsible nodes, in the API tree's order, with links to the requests.
        summaries = re.findall(r'<span class="tree-name">([^<]*)</span>', html)
        assert summaries == ["/", "plan", "search", "answer"]
        assert [child["name"] for child in api["tree"]["children"]] == ["plan", "answer"]
        assert html.count('<details class="tree-node" open>') == 4
        assert '<a href="#request-2">Request 2</a>' in html and '<a href="#request-3">Request 3</a>' in html
        # The timeline: one bar per request, placed by start offset (1 s apart) over the whole span.
        bars = re.findall(r'style="left: ([\d.]+)%; width: ([\d.]+)%"', html)
        assert len(bars) == 4
        lefts = [float(left) for left, _ in bars]
        assert lefts == sorted(lefts) and lefts[0] == 0
        assert lefts[1] == pytest.approx(1000 / 3100 * 100, abs=0.01)  # 3 s of gaps + 100 ms of latency
        # Each request: model, tokens, status, properties, and its bodies collapsed.
        for request in api["requests"]:
            assert request["request_id"] in html
        assert html.count('<details class="body"><summary>Raw request body</summary>') == 4
        assert html.count('<details class="body"><summary>Raw response body</summary>') == 4
        assert html.count('<section class="conversation"') == 4  # each request read as a conversation
        assert "gpt-4o-mini" in html and "Helicone-Session-Path" not in html  # the path heads each request
        assert "&#34;role&#34;: &#34;user&#34;" in html  # the body, indented and escaped

    def test_a_plain_form_post_rates_the_session_and_comes_back(self, cast: Cast) -> None:
        session_id = log_session(cast.alice, requests=2)
        with signed_in(cast.alice) as browser:
            response = browser.post(f"/dashboard/sessions/{session_id}/feedback", data={"rating": "down"})
            assert response.status_code == 303
            assert response.headers["location"] == f"/dashboard/sessions/{session_id}"
            assert 'data-feedback="down"' in browser.get(response.headers["location"]).text
        assert [row["session_id"] for row in _api_sessions(cast.alice, filter=feedback_filter("0"))] == [
            session_id
        ]

    def test_htmx_gets_the_feedback_widget_back_and_the_api_sees_each_change(self, cast: Cast) -> None:
        session_id = log_session(cast.alice, requests=2)
        htmx = {"HX-Request": "true", "HX-Target": "feedback"}
        with signed_in(cast.alice) as browser:
            for rating, stored, shown in [
                ("up", True, "up"),
                ("down", False, "down"),
                ("clear", None, "none"),
            ]:
                response = browser.post(
                    f"/dashboard/sessions/{session_id}/feedback", data={"rating": rating}, headers=htmx
                )
                assert response.status_code == 200
                widget = response.text
                assert widget.lstrip().startswith('<form id="feedback"')
                assert "<html" not in widget
                assert f'data-feedback="{shown}"' in widget
                assert widget.count('aria-pressed="true"') == (0 if stored is None else 1)
                (row,) = _api_sessions(cast.alice, search=session_id)
                assert row["feedback"] is stored

    def test_an_unknown_rating_changes_nothing(self, cast: Cast) -> None:
        session_id = log_session(cast.alice)
        with signed_in(cast.alice) as browser:
            response = browser.post(f"/dashboard/sessions/{session_id}/feedback", data={"rating": "maybe"})
            assert response.status_code == 422
        assert _unrated_through_the_api(cast.alice) == {session_id}


class TestSessionsList:
    @pytest.fixture
    def rated_sessions(self, cast: Cast) -> dict[str, str]:
        """Six one-request sessions: two up, two down, two not rated, with growing costs."""
        ids = {}
        for i, (label, rating) in enumerate(
            [
                ("up1", True),
                ("down1", False),
                ("none1", None),
                ("up2", True),
                ("down2", False),
                ("none2", None),
            ]
        ):
            ids[label] = log_session(
                cast.alice, prefix=label, start_ms=1_767_225_600_000 + i * 60_000, prompt_tokens=10 + i * 100
            )
            rate(cast.alice, ids[label], rating)
        return ids

    @pytest.mark.parametrize(
        ("choice", "expected"),
        [
            pytest.param("positive", ["up2", "up1"], id="thumbs-up"),
            pytest.param("negative", ["down2", "down1"], id="thumbs-down"),
            pytest.param("none", ["none2", "none1"], id="not-rated"),
            pytest.param("", ["none2", "down2", "up2", "none1", "down1", "up1"], id="any"),
        ],
    )
    def test_the_feedback_filter_selects_sessions_newest_first(
        self, cast: Cast, rated_sessions: dict[str, str], choice: str, expected: list[str]
    ) -> None:
        with signed_in(cast.alice) as browser:
            html = browser.get("/dashboard/sessions", params={"feedback": choice}).text
        assert listed_session_ids(html) == [rated_sessions[label] for label in expected]

    def test_sorting_and_paging_come_from_the_url(self, cast: Cast, rated_sessions: dict[str, str]) -> None:
        with signed_in(cast.alice) as browser:
            cheapest_first = browser.get(
                "/dashboard/sessions", params={"sort": "total_cost", "dir": "asc"}
            ).text
            assert listed_session_ids(cheapest_first)[0] == rated_sessions["up1"]
            assert 'aria-sort="ascending"' in cheapest_first
            # The header link flips the order and keeps the filters.
            assert 'href="/dashboard/sessions?sort=total_cost"' in cheapest_first
            searched = browser.get("/dashboard/sessions", params={"q": "none", "page": "1"}).text
            assert set(listed_session_ids(searched)) == {rated_sessions["none1"], rated_sessions["none2"]}
            beyond = browser.get("/dashboard/sessions", params={"page": "2"}).text
            assert listed_session_ids(beyond) == []
            assert "No sessions on this page." in beyond

    def test_costs_line_up_and_times_say_utc(self, cast: Cast, rated_sessions: dict[str, str]) -> None:
        with signed_in(cast.alice) as browser:
            html = browser.get("/dashboard/sessions").text
        costs = re.findall(r'<td class="num">(\$[^<]*)</td>', html)
        assert len(costs) == 6 and all(re.fullmatch(r"\$\d+\.\d{6}", cost) for cost in costs), costs
        assert "Started (UTC)" in html
        assert "Duration here runs from the first request's start to the last request's start" in html

    def test_a_page_of_fifty_links_to_the_next(self, cast: Cast) -> None:
        ids = [log_session(cast.alice, start_ms=1_767_225_600_000 + i * 1000) for i in range(51)]
        with signed_in(cast.alice) as browser:
            first = browser.get("/dashboard/sessions").text
            assert listed_session_ids(first) == ids[::-1][:50]
            assert 'rel="next" href="/dashboard/sessions?page=2"' in first
            second = browser.get("/dashboard/sessions?page=2").text
            assert listed_session_ids(second) == [ids[0]]
            assert 'rel="next"' not in second and 'rel="prev" href="/dashboard/sessions"' in second
            totals = browser.get(
                "/dashboard/sessions", headers={"HX-Request": "true", "HX-Target": "session-totals"}
            )
            assert (
                re.sub(r"\s+", " ", totals.text)
                .strip()
                .startswith('<span id="session-totals" class="totals"> 51 matching sessions (2 pages)')
            )

    def test_the_property_filter_selects_sessions_carrying_the_value(self, cast: Cast) -> None:
        a = log_session(cast.alice, properties={"Prompt-Version": "A"})
        b = log_session(cast.alice, properties={"Prompt-Version": "B"})
        with signed_in(cast.alice) as browser:
            only_b = browser.get("/dashboard/sessions", params={"prop": "prompt-version", "value": "B"}).text
            any_version = browser.get("/dashboard/sessions", params={"prop": "prompt-version"}).text
            by_model = browser.get(
                "/dashboard/sessions", params={"prop": "model", "value": "gpt-4o-mini"}
            ).text
        assert listed_session_ids(only_b) == [b]
        assert set(listed_session_ids(any_version)) == {a, b}
        assert set(listed_session_ids(by_model)) == {a, b}

    def test_htmx_gets_only_the_results_with_the_order_controls_out_of_band(
        self, cast: Cast, rated_sessions: dict[str, str]
    ) -> None:
        with signed_in(cast.alice) as browser:
            response = browser.get(
                "/dashboard/sessions",
                params={"sort": "total_tokens"},
                headers={"HX-Request": "true", "HX-Target": "sessions-results"},
            )
        assert response.status_code == 200
        assert "<html" not in response.text and "<h1>" not in response.text
        assert '<span class="field" id="sort-field" hx-swap-oob="true">' in response.text
        assert '<option value="total_tokens" selected>' in response.text
        assert len(listed_session_ids(response.text)) == 6

    def test_a_malformed_filter_is_explained_on_the_page(self, cast: Cast) -> None:
        with signed_in(cast.alice) as browser:
            response = browser.get(
                "/dashboard/sessions", params={"prop": "prompt-version", "value": "x" * 5000}
            )
        assert response.status_code == 400
        assert 'role="alert"' in response.text and "Invalid value for properties" in response.text


class TestNotRatedFilter:
    """ "Not rated" must select exactly the sessions whose feedback the API reports as null."""

    def test_among_one_request_sessions_it_selects_exactly_the_unrated(self, cast: Cast) -> None:
        for rating in (True, False, None, None, True):
            rate(cast.alice, log_session(cast.alice, requests=1), rating)
        with signed_in(cast.alice) as browser:
            listed = set(listed_session_ids(browser.get("/dashboard/sessions?feedback=none").text))
        through_api = {row["session_id"] for row in _api_sessions(cast.alice, filter=_none_filter())}
        assert listed == through_api == _unrated_through_the_api(cast.alice)
        assert len(listed) == 2

    def test_among_multi_request_sessions_it_selects_exactly_the_unrated(self, cast: Cast) -> None:
        for rating in (True, False, None):
            rate(cast.alice, log_session(cast.alice, requests=3), rating)
        with signed_in(cast.alice) as browser:
            listed = set(listed_session_ids(browser.get("/dashboard/sessions?feedback=none").text))
        assert listed == _unrated_through_the_api(cast.alice)
        assert len(listed) == 1


class TestMetricsAndComparison:
    @pytest.fixture
    def two_versions(self, cast: Cast) -> None:
        for version, ratings in (("A", (True, False, False, None)), ("B", (True, True, True, False))):
            for i, rating in enumerate(ratings):
                session_id = log_session(
                    cast.alice,
                    requests=1 + i,
                    properties={"Prompt-Version": version},
                    prompt_tokens=50 * (i + 1),
                )
                rate(cast.alice, session_id, rating)

    def test_the_metrics_histograms_are_the_apis(self, cast: Cast, two_versions: None) -> None:
        with signed_in(cast.alice) as browser:
            html = browser.get("/dashboard/metrics", params={"p": "p95", "iqr": "1"}).text
        charts = {
            chart_id: json.loads(unescape(data))
            for chart_id, data in re.findall(
                r'<script type="application/json" data-chart-for="([^"]+)">(.*?)</script>', html, re.S
            )
        }
        assert set(charts) == {"chart-cost", "chart-duration", "chart-requests", "chart-activity"}
        api = cast.alice.client.post(
            "/v1/session/metrics/query",
            json={"nameContains": "", "timezoneDifference": 0, "pSize": "p95", "useInterquartile": True},
        ).json()["data"]
        for chart_id, key in [("chart-cost", "session_cost"), ("chart-duration", "session_duration")]:
            assert charts[chart_id]["series"][0]["data"] == [b["value"] for b in api[key]]
        # Requests per session: the API's bins as whole numbers (sessions of 1 to 4 requests: 1, 2, 3, 4).
        requests = charts["chart-requests"]
        assert requests["labels"] == ["1", "2", "3", "4"]
        assert requests["series"][0]["data"] == [2, 2, 2, 2]
        assert sum(b["value"] for b in api["session_count"]) == 8
        activity = charts["chart-activity"]
        assert [s["label"] for s in activity["series"]] == ["Thumbs up", "Thumbs down", "Not rated"]
        assert [sum(s["data"]) for s in activity["series"]] == [4, 3, 1]
        assert (
            '<option value="p95" selected>' in html
            and 'id="iqr" type="checkbox" name="iqr" value="1" checked' in html
        )

    def test_last_7_days_draws_7_days_ending_today(self, cast: Cast, two_versions: None) -> None:
        before = datetime.now(UTC).date()
        with signed_in(cast.alice) as browser:
            html = browser.get("/dashboard/metrics", params={"range": "7d"}).text
        after = datetime.now(UTC).date()  # the page's today is one of the two, even across midnight
        (data,) = re.findall(
            r'<script type="application/json" data-chart-for="chart-activity">(.*?)</script>', html
        )
        labels = json.loads(unescape(data))["labels"]
        assert labels in [[str(today - timedelta(days=6 - i)) for i in range(7)] for today in (before, after)]

    def test_the_comparison_table_is_the_apis_breakdown(self, cast: Cast, two_versions: None) -> None:
        with signed_in(cast.alice) as browser:
            html = browser.get("/dashboard/feedback", params={"property": "prompt-version"}).text
        api = cast.alice.client.post("/v1/session/feedback/breakdown", json={"property": "prompt-version"})
        rows = {row["value"]: row for row in api.json()["data"]}
        assert rows["B"]["positive_rate"] == 0.75 and rows["A"]["positive_rate"] == pytest.approx(1 / 3)
        table = html.split('class="data compare-table"')[1].split("</table>")[0]
        cells = [
            re.sub(r"<[^>]+>|\s+", " ", row).split() for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
        ]
        assert [cell[0] for cell in cells] == list(rows)  # same order: most sessions first
        assert "75.0%" in html and "33.3%" in html
        low, high = rows["A"]["ci_low"], rows["A"]["ci_high"]
        assert f"({low * 100:.1f}% \u2013 {high * 100:.1f}%)" in html
        assert "Best" in html and "Not significant" in html  # 3 of 4 against 1 of 3 proves nothing
        assert 'href="/dashboard/sessions?prop=prompt-version&amp;value=A"' in html
        assert "prompt-version" in html.split('id="dimension-suggestions"')[1].split("</datalist>")[0]

    def test_model_is_a_built_in_dimension(self, cast: Cast, two_versions: None) -> None:
        with signed_in(cast.alice) as browser:
            html = browser.get("/dashboard/feedback", params={"property": "model"}).text
        assert ">gpt-4o-mini</a>" in html
