"""The request row as Helicone's `HeliconeRequest` has it, and ISO 8601 request times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel, Field

from heliograph.domain.records import NANO_USD_PER_USD
from heliograph.domain.store import StoredRequest
from heliograph.domain.usage import usage_from_response

__all__ = ["RequestPublic", "iso_time"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RequestPublic(BaseModel):
    """A request row with every required field of Helicone's `HeliconeRequest`, typed as it is there.

    Fields for what Heliograph does not record (prompts, assets, caching, audio tokens, the caller's
    country) are null, empty or false (docs/compatibility.md lists them); `cost_unknown` is an addition.
    """

    response_id: str | None = Field(description="The provider's id of the response (its body's `id`)")
    response_created_at: str | None
    response_status: int
    response_model: str | None = Field(description="The model the response body names")
    request_id: str
    request_created_at: str
    request_body: Any
    request_path: str = Field(description="The URL the call went to (as Helicone, the target URL)")
    request_user_id: str | None
    request_properties: dict[str, str] | None
    request_model: str | None
    model_override: str | None
    helicone_user: str | None
    provider: str
    delay_ms: int | None
    time_to_first_token: int | None
    total_tokens: int | None
    prompt_tokens: int | None
    prompt_cache_write_tokens: int | None
    prompt_cache_read_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None = Field(description="From the usage's reasoning-token details")
    prompt_audio_tokens: int | None
    completion_audio_tokens: int | None
    cost: float | None
    cost_unknown: bool = Field(
        description="True when no price matched the model, or the response carried no token usage "
        "(a stream without its usage chunk): cost is then 0 and means unknown, not free"
    )
    prompt_id: str | None
    prompt_version: str | None
    llmSchema: None
    country_code: str | None
    asset_ids: list[str] | None
    asset_urls: dict[str, str] | None
    scores: dict[str, int] | None
    properties: dict[str, str]
    assets: list[str]
    target_url: str
    model: str
    cache_reference_id: str | None
    cache_enabled: bool
    ai_gateway_body_mapping: str | None
    response_body: Any

    @classmethod
    def of(cls, stored: StoredRequest) -> RequestPublic:
        r = stored.record
        response_body = _json_or_text(r.response_body)
        facts = (
            usage_from_response(json_body=response_body, text_body=None)
            if isinstance(response_body, dict)
            else usage_from_response(json_body=None, text_body=r.response_body)
        )
        return cls(
            response_id=facts.response_id,
            response_created_at=iso_time(r.response_created_at_ms),
            response_status=r.status,
            response_model=facts.model,
            request_id=r.request_id,
            request_created_at=iso_time(r.created_at_ms),
            request_body=_json_or_text(r.request_body),
            request_path=r.target_url,
            request_user_id=r.user_id,
            request_properties=r.properties,
            request_model=r.request_model,
            model_override=None,
            helicone_user=None,
            provider=r.provider,
            delay_ms=r.latency_ms,
            time_to_first_token=r.time_to_first_token_ms,
            total_tokens=r.total_tokens,
            prompt_tokens=r.prompt_tokens,
            prompt_cache_write_tokens=r.cache_write_tokens,
            prompt_cache_read_tokens=r.cache_read_tokens,
            completion_tokens=r.completion_tokens,
            reasoning_tokens=facts.reasoning_tokens,
            prompt_audio_tokens=None,
            completion_audio_tokens=None,
            cost=r.cost_nano_usd / NANO_USD_PER_USD,
            cost_unknown=not r.cost_known,
            prompt_id=None,
            prompt_version=None,
            llmSchema=None,
            country_code=None,
            asset_ids=None,
            asset_urls=None,
            scores=stored.scores,
            properties=r.properties,
            assets=[],
            target_url=r.target_url,
            model=r.model,
            cache_reference_id=None,
            cache_enabled=False,
            ai_gateway_body_mapping=None,
            response_body=response_body,
        )


def iso_time(ms: int) -> str:
    """ISO 8601 in UTC with millisecond precision and a `Z`."""
    return (_EPOCH + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _json_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
