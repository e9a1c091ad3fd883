"""Turns an async-log body (what Helicone's logging clients send) into a `RequestRecord`.

Validation follows Helicone's worker, in its order and with its messages, but answers 400 for
every client mistake. Unknown keys are ignored because clients differ in what else they send.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard

import orjson

from heliograph.domain.headers import read_helicone_headers
from heliograph.domain.pricing import PriceTable
from heliograph.domain.records import RequestRecord
from heliograph.domain.usage import usage_from_response
from heliograph.errors import InvalidInput

__all__ = ["PROVIDERS", "parse_async_log"]

PROVIDERS = {"custom": "CUSTOM", "oai": "OPENAI", "anthropic": "ANTHROPIC"}
# Epoch seconds beyond the year 9999 are a client bug, not a time.
_MAX_EPOCH_SECONDS = 253_402_300_799
# Bounds that keep every stored number, and the sums over a session, inside a 64-bit integer.
MAX_TOKENS = 10**12
MAX_COST_NANO_USD = 10**15  # one million USD for one call
_INT32 = 2**31


def parse_async_log(
    body: bytes,
    *,
    provider: str,
    headers: Iterable[tuple[str, str]],
    org_id: str,
    received_at_ms: int,
    prices: PriceTable,
) -> RequestRecord:
    """Validate and normalise one async-log body; HTTP headers override `providerRequest.meta`."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInput("Invalid JSON body") from None
    if not isinstance(payload, dict):
        raise InvalidInput("Invalid body: expected a JSON object")
    request, response = payload.get("providerRequest"), payload.get("providerResponse")
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise InvalidInput(
            "One of the required fields is missing, providerRequest, providerResponse, or timing"
        )

    url = request.get("url")
    if not isinstance(url, str):
        raise InvalidInput("Invalid providerRequest: 'url' should be a string")
    meta = request.get("meta", {})
    if not isinstance(meta, dict):
        raise InvalidInput("Invalid providerRequest: 'meta' should be an object")
    if "json" not in request or request["json"] is None:
        raise InvalidInput("Invalid providerRequest: 'json' is undefined")
    request_json = request["json"]
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
    start_ms, end_ms, ttft_ms = _timing(payload.get("timing"), received_at_ms)

    helicone = read_helicone_headers([*_string_pairs(meta), *headers])
    usage = usage_from_response(json_body=response["json"], text_body=text_body or None)
    if max(usage.prompt_tokens, usage.completion_tokens) > MAX_TOKENS:
        raise InvalidInput(f"Invalid usage: token counts above {MAX_TOKENS:.0e} are not plausible")
    request_model = request_json.get("model") if isinstance(request_json, dict) else None
    request_model = request_model if isinstance(request_model, str) and request_model else None
    model = request_model or usage.model or "unknown"
    override = _cost_override(response.get("cost"))
    if override is None:
        cost = prices.cost(provider=provider, model=model, usage=usage)
        cost_nano_usd, cost_known = cost.nano_usd, cost.known
    else:
        cost_nano_usd, cost_known = override, True
    if cost_nano_usd > MAX_COST_NANO_USD:
        raise InvalidInput("Invalid cost: more than 1,000,000 USD for one call is not plausible")

    return RequestRecord(
        org_id=org_id,
        request_id=helicone.request_id or str(uuid.uuid4()),
        created_at_ms=start_ms,
        response_created_at_ms=end_ms,
        latency_ms=end_ms - start_ms,
        time_to_first_token_ms=ttft_ms,
        status=int(status),
        provider=provider,
        model=_text(model),
        request_model=request_model and _text(request_model),
        user_id=helicone.user_id,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cost_nano_usd=cost_nano_usd,
        cost_known=cost_known,
        target_url=_text(url),
        request_body=orjson.dumps(request_json).decode(),
        response_body=_text(text_body) if text_body else orjson.dumps(response["json"]).decode(),
        properties=helicone.properties,
    )


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 2**53


def _string_pairs(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Meta values as header strings; non-strings become their JSON text (true, 1.5, {"a":1})."""
    return [
        (str(k), v if isinstance(v, str) else orjson.dumps(v).decode())
        for k, v in meta.items()
        if v is not None
    ]


def _text(value: str) -> str:
    """Drop NUL characters, which PostgreSQL text cannot hold (JSON bodies keep them escaped)."""
    return value.replace("\x00", "")


def _epoch_ms(part: object, name: str) -> int:
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


def _timing(timing: object, received_at_ms: int) -> tuple[int, int, int | None]:
    """(start ms, end ms, time to first token ms); without timing, start = end = arrival."""
    if timing is None:
        return received_at_ms, received_at_ms, None
    if not isinstance(timing, dict):
        raise InvalidInput("Invalid timing: expected an object with startTime and endTime")
    start = _epoch_ms(timing.get("startTime"), "startTime")
    end = _epoch_ms(timing.get("endTime"), "endTime")
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
        nano = (Decimal(str(cost)) * 1_000_000_000).to_integral_value()
    except InvalidOperation:
        raise InvalidInput("Invalid providerResponse: 'cost' should be a number") from None
    return max(int(nano), 0)
