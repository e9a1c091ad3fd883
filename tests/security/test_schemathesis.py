"""Schemathesis fuzzes every operation of the OpenAPI document against a real server, on both databases.

Each operation gets up to EXAMPLES generated requests (schema-valid and schema-violating ones, plus
schemathesis' boundary values), sent with a real API key. Every answer must pass every check
schemathesis has: no 5xx, a documented status code, content type, headers and body, schema-valid
requests accepted and schema-violating ones refused. The gateway's proxy routes are left out: they
forward whatever they get to an upstream (tests/gateway covers them against the fake upstream); so
is OTLP export, whose protobuf bodies no JSON schema describes (tests/api/test_otlp.py covers it).

The schema comes from the app factory at import time, because pytest parametrizes before any server
runs; `test_the_fuzzed_document_is_the_one_the_server_serves` holds it equal to `/openapi.json`.
The number of cases run is printed in the terminal summary (tests/security/conftest.py).

Schemathesis' coverage phase (every boundary value and every schema violation of every field: some
20,000 cases for an operation with a filter body, most of the suite's time) runs on SQLite; on
PostgreSQL and ClickHouse the examples and fuzzing phases run, in both modes, reaching each store's
own SQL with generated filters, sorts and values. The `backends` marker (tests/conftest.py) says where.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from heliograph.app import create_app
from heliograph.config import Settings
from heliograph.domain.filters import parse_filter
from heliograph.domain.insights import in_window
from heliograph.errors import InvalidInput
from support import Server, Tenant, new_tenant

EXAMPLES = 25
_LAST_MS_OF_9999 = 253_402_300_799_999
DOCUMENT = create_app(Settings()).openapi()
# OTLP export bodies are protobuf messages (or their JSON mapping), which the document can only call
# binary; tests/api/test_otlp.py sends them hostile bodies instead.
schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(tag="gateway").exclude(tag="otlp")
without_coverage = schemathesis.openapi.from_dict(DOCUMENT).exclude(tag="gateway").exclude(tag="otlp")
without_coverage.config.phases.coverage.enabled = False
CASES: dict[str, dict[int, int]] = {}  # operation -> status -> cases, for the terminal summary

# Paths where schemathesis' "an undeclared method answers 405, whose Allow header lists the
# documented methods" checks cannot hold:
# GET /v1/request/query is GET /v1/request/{requestId} with the id "query" (400, not a UUID), and
# POST /v1/evals/scores is POST /v1/evals/{requestId} with the id "scores".
_UNDECLARED_METHODS_NOT_405 = {
    "/v1/request/query",
    "/v1/request/query-clickhouse",
    "/v1/request/query-ids",
    "/v1/evals/scores",
}
# Feedback values must fit their name's config (a label needs a categorical config, a number its
# range), a config must hold together (min below max, labels for a categorical one) and a feedback
# name is printable: rules on stored data or on characters that the document does not state, refused
# with 422 or 400 as documented.
_CHECKED_AGAINST_CONFIGS = {
    "/v1/feedback",
    "/v1/feedback/public/{token}",
    "/v1/feedback/config/{name}",
    "/v1/session/feedback/breakdown",
    "/v1/session/{sessionId}/feedback-link",
}

# A monitor's webhook_url must be an http(s) URL on a host the server's settings allow (the test server
# allows 127.0.0.1 only), and its filter must parse: rules on settings and on the filter language that
# the document does not state, refused with 400 as documented.
_CHECKED_AGAINST_SETTINGS = {"/v1/monitors", "/v1/monitors/{monitor_id}"}


@pytest.fixture
def fuzzer(server: Server) -> Iterator[Tenant]:
    """An organization of its own with one logged session, so reads are not all empty."""
    tenant = new_tenant(server, f"fuzz-{uuid.uuid4().hex[:8]}")
    tenant.log(headers={"Helicone-Session-Id": "fuzzed", "Helicone-Property-Kind": "seed"})
    yield tenant
    tenant.client.close()


def test_the_fuzzed_document_is_the_one_the_server_serves(server: Server) -> None:
    assert httpx.get(f"{server.base_url}/openapi.json").json() == DOCUMENT


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,  # the same cases on every run, so CI never fails by chance
)


@pytest.mark.backends("sqlite")
@schema.parametrize()
@SETTINGS
def test_every_operation_answers_as_documented(
    case: schemathesis.Case[Any], server: Server, fuzzer: Tenant
) -> None:
    _call_and_validate(case, server, fuzzer)


@pytest.mark.backends("postgresql", "chdb")
@without_coverage.parametrize()
@SETTINGS
def test_every_operation_answers_as_documented_in_examples_and_fuzzing(
    case: schemathesis.Case[Any], server: Server, fuzzer: Tenant
) -> None:
    _call_and_validate(case, server, fuzzer)


def _call_and_validate(case: schemathesis.Case[Any], server: Server, fuzzer: Tenant) -> None:
    excluded = []
    if case.path in _UNDECLARED_METHODS_NOT_405:
        excluded += [schemathesis.checks.unsupported_method, schemathesis.checks.allow_header_conformance]
    if (
        _breaks_a_rule_json_schema_cannot_state(case.body)
        or case.path in _CHECKED_AGAINST_CONFIGS | _CHECKED_AGAINST_SETTINGS
    ):
        excluded.append(schemathesis.checks.positive_data_acceptance)
    response = case.call_and_validate(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {fuzzer.key}"},
        excluded_checks=excluded,
    )
    by_status = CASES.setdefault(f"{case.method} {case.path}", {})
    by_status[response.status_code] = by_status.get(response.status_code, 0) + 1


def _not_one_sort(sort: Any) -> bool:
    """A sort that names other than one order (400: a silently dropped key would be a wrong order)."""
    if not isinstance(sort, dict) or not sort:
        return False
    nested = [value for key, value in sort.items() if key in ("properties", "values")]
    return len(sort) != 1 or any(not isinstance(value, dict) or len(value) != 1 for value in nested)


def _breaks_a_rule_json_schema_cannot_state(body: Any) -> bool:
    """A time window that ends before it starts, a moment outside 1970..9999, a custom trace's time
    as text that is neither epoch digits nor ISO 8601 (in a `{start, end}` window too), or a filter
    past the size limits (conditions
    counted over the whole tree), or a sort of several keys (or a nested properties sort of none or
    several, docs/compatibility.md): valid field by field, refused with 400 as the schema's
    descriptions say."""
    if not isinstance(body, dict):
        return False
    if any(_too_large(body.get(name)) for name in ("filter", "userFilter")) or _not_one_sort(
        body.get("sort")
    ):
        return True
    if isinstance(body.get("timeFilter"), dict) and "start" in body["timeFilter"]:
        return _unreadable_window(body["timeFilter"])
    window = body.get("timeFilter")
    timing = body.get("timing")
    if isinstance(window, dict):
        return _after(window.get("startTimeUnixMs"), window.get("endTimeUnixMs"))
    if isinstance(timing, dict):
        start, end = timing.get("startTime"), timing.get("endTime")
        if isinstance(start, str) or isinstance(end, str):
            return True
        if isinstance(start, dict) and isinstance(end, dict):
            moments = (_epoch_ms(start), _epoch_ms(end))
            return moments[0] > moments[1] or not all(0 <= ms <= _LAST_MS_OF_9999 for ms in moments)
    return False


def _unreadable_window(window: dict[str, Any]) -> bool:
    """A `{start, end}` window whose times are not ISO 8601 (or epoch milliseconds)."""
    try:
        in_window(None, start=str(window.get("start")), end=str(window.get("end")))
    except InvalidInput:
        return True
    return False


def _too_large(raw: Any) -> bool:
    try:
        parse_filter(raw)
    except InvalidInput as exc:
        return "too large" in str(exc) or "nested too deeply" in str(exc)
    return False


def _epoch_ms(part: dict[str, Any]) -> float:
    seconds, millis = part.get("seconds", 0), part.get("milliseconds", 0)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (seconds, millis)):
        return 0.0
    return float(seconds) * 1000 + float(millis)


def _after(start: object, end: object) -> bool:
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (start, end))
    return numbers and start > end  # type: ignore[operator]
