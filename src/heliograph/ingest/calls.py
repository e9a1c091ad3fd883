"""A model call as observed (by the async-log endpoints or the gateway), and its normalised record.

Both ingestion paths build a `LoggedCall`; `record_of` is the one place that reads tokens, picks
the model, prices the call and applies the storage bounds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import orjson

from heliograph.domain.headers import HeliconeHeaders
from heliograph.domain.pricing import PriceTable
from heliograph.domain.records import RequestRecord
from heliograph.domain.usage import Usage, usage_from_response
from heliograph.errors import InvalidInput

__all__ = ["MAX_COST_NANO_USD", "MAX_STORED_JSON_DEPTH", "MAX_TOKENS", "LoggedCall", "json_text", "record_of"]

# Bounds that keep every stored number, and the sums over a session, inside a 64-bit integer.
MAX_TOKENS = 10**12
MAX_COST_NANO_USD = 10**15  # one million USD for one call
# orjson reads JSON nested 1,023 levels deep but writes only 254, so deeper JSON cannot be stored.
MAX_STORED_JSON_DEPTH = 254


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """One model call: what was asked, what came back (JSON, or a streamed text body), and when.

    `usage`, when given, is the token count reported beside the bodies (OTLP spans); else it is read
    from the response body.
    """

    provider: str
    target_url: str
    request_json: object
    response_json: object
    text_body: str | None
    status: int
    start_ms: int
    end_ms: int
    ttft_ms: int | None
    cost_override_nano_usd: int | None = None
    usage: Usage | None = None


def record_of(
    call: LoggedCall, *, org_id: str, helicone: HeliconeHeaders, prices: PriceTable
) -> RequestRecord:
    """Normalise a call: tokens from the response, model, cost from the price table unless overridden.

    A response with no usage in it (a stream logged without its usage chunk) has an unknown cost."""
    usage = call.usage or usage_from_response(json_body=call.response_json, text_body=call.text_body or None)
    if max(usage.prompt_tokens, usage.completion_tokens) > MAX_TOKENS:
        raise InvalidInput(f"Invalid usage: token counts above {MAX_TOKENS:.0e} are not plausible")
    request_model = call.request_json.get("model") if isinstance(call.request_json, dict) else None
    request_model = _text(request_model) if isinstance(request_model, str) and request_model else None
    model = _text(request_model or usage.model or "unknown")
    if call.cost_override_nano_usd is not None:
        cost_nano_usd, cost_known = call.cost_override_nano_usd, True
    elif not usage.found:  # tokens unknown, so the cost is unknown, not free (issue 14)
        cost_nano_usd, cost_known = 0, False
    else:
        cost = prices.cost(provider=call.provider, model=model, usage=usage)
        cost_nano_usd, cost_known = cost.nano_usd, cost.known
    if cost_nano_usd > MAX_COST_NANO_USD:
        raise InvalidInput("Invalid cost: more than 1,000,000 USD for one call is not plausible")
    return RequestRecord(
        org_id=org_id,
        request_id=helicone.request_id or str(uuid.uuid4()),
        created_at_ms=call.start_ms,
        response_created_at_ms=call.end_ms,
        latency_ms=call.end_ms - call.start_ms,
        time_to_first_token_ms=call.ttft_ms,
        status=call.status,
        provider=call.provider,
        model=model,
        request_model=request_model,
        user_id=helicone.user_id,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cost_nano_usd=cost_nano_usd,
        cost_known=cost_known,
        target_url=_text(call.target_url),
        request_body=json_text(call.request_json),
        response_body=_text(call.text_body) if call.text_body else json_text(call.response_json),
        properties=helicone.properties,
    )


def json_text(value: object) -> str:
    """`value` as the JSON text that is stored; InvalidInput when it is nested too deeply to write."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        raise InvalidInput(
            f"Invalid body: JSON nested more than {MAX_STORED_JSON_DEPTH} levels deep cannot be stored"
        ) from None


def _text(value: str) -> str:
    """Drop NUL characters, which PostgreSQL text cannot hold (JSON bodies keep them escaped)."""
    return value.replace("\x00", "")
