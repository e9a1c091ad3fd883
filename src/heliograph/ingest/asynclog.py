"""Turns an async-log body (what Helicone's logging clients send) into a `RequestRecord`.

Validation follows Helicone's worker, in its order and with its messages, but answers each mistake
as every JSON endpoint does (docs/errors.md): 400 for a body that is not JSON or a value a person can
correct, 422 for a missing `providerRequest` or `providerResponse` (`timing` is optional).
Unknown keys are ignored because clients differ in what else they send.
Helicone's custom trace body is the same with two additions: a `provider` field (OPENAI when
absent, as in Helicone) and times that may also be strings (epoch seconds or milliseconds, or ISO 8601).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard

import orjson

from heliograph.domain.headers import read_helicone_headers
from heliograph.domain.pricing import PriceTable
from heliograph.domain.records import NANO_USD_PER_USD, RequestRecord
from heliograph.errors import INVALID_JSON_BODY, InvalidBody, InvalidInput
from heliograph.ingest.calls import LoggedCall, json_text, record_of

__all__ = ["PROVIDERS", "parse_async_log"]

PROVIDERS = {"custom": "CUSTOM", "oai": "OPENAI", "anthropic": "ANTHROPIC"}
# Epoch seconds beyond the year 9999 are a client bug, not a time.
_MAX_EPOCH_SECONDS = 253_402_300_799
_INT32 = 2**31
# Custom traces: a numeric time below this is in seconds, else in milliseconds (Helicone's rule).
_SECONDS_BELOW = 4_102_444_800
_MAX_PROVIDER_CHARS = 32  # the column's width


def parse_async_log(
    body: bytes,
    *,
    provider: str,
    headers: Iterable[tuple[str, str]],
    org_id: str,
    received_at_ms: int,
    prices: PriceTable,
    custom_trace: bool = False,
) -> RequestRecord:
    """Validate and normalise one async-log body; HTTP headers override `providerRequest.meta`.

    With `custom_trace`, the body is Helicone's custom trace: `provider` from the body, string times.
    """
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInput(INVALID_JSON_BODY) from None
    if not isinstance(payload, dict):
        raise InvalidInput("Invalid body: expected a JSON object")
    request, response = _required_objects(payload, "providerRequest", "providerResponse")

    url = request.get("url")
    if not isinstance(url, str):
        raise InvalidInput("Invalid providerRequest: 'url' should be a string")
    meta = request.get("meta", {})
    if not isinstance(meta, dict):
        raise InvalidInput("Invalid providerRequest: 'meta' should be an object")
    if "json" not in request or request["json"] is None:
        raise InvalidInput("Invalid providerRequest: 'json' is undefined")
    if "json" not in response or response["json"] is None:
        raise InvalidInput("Invalid providerResponse: 'json' is undefined")
    status = response.get("status")
    if not _is_number(status):
        raise InvalidInput("Invalid providerResponse: 'status' should be a number")
    if not -_INT32 <= status < _INT32:
        raise InvalidInput("Invalid providerResponse: 'status' is out of range")
    response_headers = response.get("headers", {})
    if not isinstance(response_headers, dict):
        raise InvalidInput("Invalid providerResponse: 'headers' should be an object")
    text_body = response.get("textBody")
    if text_body is not None and not isinstance(text_body, str):
        raise InvalidInput("Invalid providerResponse: 'textBody' should be a string")
    start_ms, end_ms, ttft_ms = _timing(payload.get("timing"), received_at_ms, string_times=custom_trace)
    if custom_trace:
        provider = _custom_trace_provider(payload.get("provider"))

    call = LoggedCall(
        provider=provider,
        target_url=url,
        request_json=request["json"],
        response_json=response["json"],
        text_body=text_body,
        status=int(status),
        start_ms=start_ms,
        end_ms=end_ms,
        ttft_ms=ttft_ms,
        cost_override_nano_usd=_cost_override(response.get("cost")),
    )
    helicone = read_helicone_headers([*_string_pairs(meta), *headers])
    return record_of(call, org_id=org_id, helicone=helicone, prices=prices)


def _required_objects(payload: dict[str, Any], *names: str) -> list[dict[str, Any]]:
    """The named parts of the body, each an object; InvalidBody (422) naming every one that is not."""
    parts, problems = [], []
    for name in names:
        part = payload.get(name)
        if isinstance(part, dict):
            parts.append(part)
        else:
            problems.append(f"{name}: {'Field required' if part is None else 'Input should be an object'}")
    if problems:
        raise InvalidBody("Validation failed: " + "; ".join(problems))
    return parts


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 2**53


def _string_pairs(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Meta values as header strings; non-strings become their JSON text (true, 1.5, {"a":1})."""
    return [(str(k), v if isinstance(v, str) else json_text(v)) for k, v in meta.items() if v is not None]


def _epoch_ms(part: object, name: str, *, string_times: bool) -> int:
    if string_times and isinstance(part, str):
        return _string_time_ms(part, name)
    if not isinstance(part, dict):
        raise InvalidInput(f"Invalid timing: '{name}' should be an object with seconds and milliseconds")
    seconds, millis = part.get("seconds"), part.get("milliseconds")
    if not _is_number(seconds):
        raise InvalidInput(f"Invalid timing: '{name}.seconds' should be a number")
    if not _is_number(millis):
        raise InvalidInput(f"Invalid timing: '{name}.milliseconds' should be a number")
    total = int(seconds * 1000 + millis)
    if total > _MAX_EPOCH_SECONDS * 1000:
        raise InvalidInput(f"Invalid timing: '{name}' is after the year 9999")
    return total


def _string_time_ms(text: str, name: str) -> int:
    """Epoch seconds or milliseconds as digits, or an ISO 8601 time (UTC when it names no zone)."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 16:
        number = int(text)
        total = number * 1000 if number < _SECONDS_BELOW else number
    else:
        try:
            moment = datetime.fromisoformat(text)
            total = round((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)
        except (ValueError, OverflowError):
            raise InvalidInput(
                f"Invalid timing: '{name}' should be an epoch time or an ISO 8601 time"
            ) from None
    if total > _MAX_EPOCH_SECONDS * 1000:
        raise InvalidInput(f"Invalid timing: '{name}' is after the year 9999")
    return total


def _custom_trace_provider(provider: object) -> str:
    if provider is None:
        return "OPENAI"
    if not isinstance(provider, str) or not 0 < len(provider) <= _MAX_PROVIDER_CHARS or "\x00" in provider:
        raise InvalidInput(f"Invalid provider: expected a name of 1 to {_MAX_PROVIDER_CHARS} characters")
    return provider.upper()[:_MAX_PROVIDER_CHARS]  # upper() may lengthen ("ß" is "SS")


def _timing(timing: object, received_at_ms: int, *, string_times: bool) -> tuple[int, int, int | None]:
    """(start ms, end ms, time to first token ms); without timing, start = end = arrival."""
    if timing is None:
        return received_at_ms, received_at_ms, None
    if not isinstance(timing, dict):
        raise InvalidInput("Invalid timing: expected an object with startTime and endTime")
    start = _epoch_ms(timing.get("startTime"), "startTime", string_times=string_times)
    end = _epoch_ms(timing.get("endTime"), "endTime", string_times=string_times)
    if start < 0 or end < 0:
        raise InvalidInput("startTime and endTime cannot be negative")
    if start > end:
        raise InvalidInput("startTime cannot be greater than endTime")
    ttft = timing.get("timeToFirstToken")
    if ttft is None:
        return start, end, None
    if not _is_number(ttft) or ttft < 0:
        raise InvalidInput("Invalid timing: 'timeToFirstToken' should be a non-negative number")
    return start, end, round(ttft)


def _cost_override(cost: object) -> int | None:
    """`providerResponse.cost` in USD as nano-USD, or None when absent (negative costs count as 0)."""
    if cost is None:
        return None
    if not _is_number(cost):
        raise InvalidInput("Invalid providerResponse: 'cost' should be a number")
    try:
        nano = (Decimal(str(cost)) * NANO_USD_PER_USD).to_integral_value()
    except InvalidOperation:
        raise InvalidInput("Invalid providerResponse: 'cost' should be a number") from None
    return max(int(nano), 0)
