"""Tests for pricing token usage in integer nano-USD."""

from __future__ import annotations

import json
import random
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from importlib import resources
from typing import Any

import pytest

from heliograph.domain.pricing import Cost, PriceTable
from heliograph.domain.usage import Usage, usage_from_response

DEFAULT = PriceTable.load_default()


def table(*rows: dict[str, Any]) -> PriceTable:
    return PriceTable.from_json(json.dumps({"source": "test", "models": list(rows)}))


def row(provider: str, match: str, operator: str = "startsWith", **prices: Any) -> dict[str, Any]:
    return {"provider": provider, "match": match, "operator": operator, "input": 1, "output": 2} | prices


def test_gpt_4o_mini_costs_150_nano_usd_per_input_and_600_per_output_token() -> None:
    cost = DEFAULT.cost(
        provider="OPENAI", model="gpt-4o-mini", usage=Usage(prompt_tokens=12, completion_tokens=5)
    )
    assert cost == Cost(nano_usd=12 * 150 + 5 * 600, known=True)
    assert cost.nano_usd == 4_800


def test_known_model_with_no_tokens_costs_zero_but_is_known() -> None:
    assert DEFAULT.cost(provider="openai", model="gpt-4o", usage=Usage()) == Cost(0, True)


# 1,000 prompt + 1,000 completion tokens at (input + output) nano-USD per token.
@pytest.mark.parametrize(
    ("provider", "model", "nano_usd"),
    [
        pytest.param(
            "openai", "gpt-4o-mini-2024-07-18", (150 + 600) * 1_000, id="gpt-4o-mini-snapshot-not-gpt-4o"
        ),
        pytest.param("openai", "gpt-4o-2024-08-06", (2_500 + 10_000) * 1_000, id="gpt-4o-snapshot"),
        pytest.param("openai", "gpt-4o-2024-05-13", (5_000 + 15_000) * 1_000, id="equals-row-beats-prefix"),
        pytest.param("openai", "gpt-4.1-nano-2025-04-14", (100 + 400) * 1_000, id="gpt-4.1-nano-snapshot"),
        pytest.param("openai", "gpt-4-0613", (30_000 + 60_000) * 1_000, id="gpt-4-snapshot"),
        pytest.param(
            "openai", "gpt-4-turbo-2024-04-09", (10_000 + 30_000) * 1_000, id="gpt-4-turbo-snapshot"
        ),
        pytest.param("openai", "o3-mini-2025-01-31", (1_100 + 4_400) * 1_000, id="o3-mini-snapshot-not-o3"),
        pytest.param("openai", "gpt-5-mini-2025-08-07", (250 + 2_000) * 1_000, id="gpt-5-mini-snapshot"),
        pytest.param("openai", "GPT-4O-MINI", (150 + 600) * 1_000, id="case-insensitive"),
        pytest.param(
            "anthropic",
            "claude-3-5-sonnet-20241022",
            (3_000 + 15_000) * 1_000,
            id="claude-3-5-sonnet-snapshot",
        ),
        pytest.param("anthropic", "claude-3-5-haiku-latest", (800 + 4_000) * 1_000, id="claude-alias"),
        pytest.param(
            "anthropic", "claude-opus-4-20250514", (15_000 + 75_000) * 1_000, id="claude-opus-4-snapshot"
        ),
        pytest.param(
            "anthropic", "claude-opus-4-5-20251101", (5_000 + 25_000) * 1_000, id="claude-opus-4-5-not-opus-4"
        ),
    ],
)
def test_snapshot_names_price_as_the_longest_matching_prefix(
    provider: str, model: str, nano_usd: int
) -> None:
    usage = Usage(prompt_tokens=1_000, completion_tokens=1_000)
    assert DEFAULT.cost(provider=provider, model=model, usage=usage) == Cost(nano_usd, True)


@pytest.mark.parametrize("provider", ["CUSTOM", "custom", "ANTHROPIC", "", "not-a-provider"])
def test_provider_is_only_a_hint_so_other_providers_rows_still_price_the_model(provider: str) -> None:
    cost = DEFAULT.cost(
        provider=provider, model="gpt-4o-mini", usage=Usage(prompt_tokens=12, completion_tokens=5)
    )
    assert cost == Cost(4_800, True)


def test_rows_of_the_hinted_provider_win_over_other_providers_rows() -> None:
    prices = table(
        row("openai", "gpt-4o-mini", "equals", input=1, output=0),
        row("azure", "gpt-4o", "startsWith", input=2, output=0),
    )
    usage = Usage(prompt_tokens=1_000_000)
    assert prices.cost(provider="AZURE", model="gpt-4o-mini", usage=usage) == Cost(2_000_000_000, True)
    assert prices.cost(provider="OPENAI", model="gpt-4o-mini", usage=usage) == Cost(1_000_000_000, True)
    assert prices.cost(provider="CUSTOM", model="gpt-4o-mini", usage=usage) == Cost(1_000_000_000, True)


@pytest.mark.parametrize(
    "model",
    [
        pytest.param("unknown", id="unknown"),
        pytest.param("", id="empty"),
        pytest.param("llama-3.1-70b", id="unlisted"),
        pytest.param("my-gpt-4o-mini", id="name-only-contains-a-listed-one"),
        pytest.param("gpt", id="shorter-than-every-prefix"),
    ],
)
def test_unknown_model_costs_nothing_and_is_not_known(model: str) -> None:
    usage = Usage(prompt_tokens=1_000, completion_tokens=1_000)
    assert DEFAULT.cost(provider="openai", model=model, usage=usage) == Cost(0, False)


def test_openai_cached_prompt_tokens_are_priced_at_the_cache_read_price() -> None:
    usage = Usage(prompt_tokens=2_000, completion_tokens=100, cache_read_tokens=1_500)
    # 500 uncached x 150 + 1,500 cached x 75 + 100 completion x 600 nano-USD
    assert DEFAULT.cost(provider="openai", model="gpt-4o-mini", usage=usage) == Cost(247_500, True)


def test_anthropic_cache_writes_and_reads_are_priced_from_a_real_response_body() -> None:
    body = {
        "type": "message",
        "model": "claude-sonnet-4-20250514",
        "usage": {
            "input_tokens": 100,
            "cache_creation_input_tokens": 1_000,
            "cache_read_input_tokens": 5_000,
            "output_tokens": 200,
        },
    }
    usage = usage_from_response(json_body=body, text_body=None)
    assert usage.model is not None
    # 100 x 3,000 + 1,000 cache writes x 3,750 + 5,000 cache reads x 300 + 200 x 15,000 nano-USD
    expected = 300_000 + 3_750_000 + 1_500_000 + 3_000_000
    assert DEFAULT.cost(provider="ANTHROPIC", model=usage.model, usage=usage) == Cost(expected, True)


def test_missing_cache_prices_fall_back_to_the_input_price() -> None:
    usage = Usage(prompt_tokens=1_000, cache_read_tokens=400, cache_write_tokens=100)
    assert DEFAULT.cost(provider="openai", model="gpt-4-0613", usage=usage) == Cost(1_000 * 30_000, True)


def test_cache_counts_larger_than_the_prompt_leave_no_negative_uncached_input() -> None:
    usage = Usage(prompt_tokens=10, cache_read_tokens=50)
    assert DEFAULT.cost(provider="openai", model="gpt-4o-mini", usage=usage) == Cost(50 * 75, True)


@pytest.mark.parametrize(
    ("tokens", "nano_usd"),
    [
        pytest.param(1, 0, id="half-rounds-down-to-even-0"),
        pytest.param(3, 2, id="one-and-a-half-rounds-up-to-even-2"),
        pytest.param(5, 2, id="two-and-a-half-rounds-down-to-even-2"),
        pytest.param(7, 4, id="three-and-a-half-rounds-up-to-even-4"),
    ],
)
def test_cost_rounds_half_to_even_only_at_the_end(tokens: int, nano_usd: int) -> None:
    prices = table(row("custom", "tiny", input=0.0005, output=0))  # 0.5 nano-USD per token
    usage = Usage(prompt_tokens=tokens, completion_tokens=tokens)
    assert prices.cost(provider="custom", model="tiny", usage=usage) == Cost(nano_usd, True)


def test_cost_stays_exact_for_huge_token_counts() -> None:
    usage = Usage(prompt_tokens=10**15 + 1, completion_tokens=10**15 + 1)
    expected = (10**15 + 1) * 150 + (10**15 + 1) * 600
    assert DEFAULT.cost(provider="openai", model="gpt-4o-mini", usage=usage) == Cost(expected, True)


def _bundled_rows() -> list[dict[str, Any]]:
    text = resources.files("heliograph.domain").joinpath("prices.json").read_text(encoding="utf-8")
    rows: list[dict[str, Any]] = json.loads(text, parse_float=Decimal)["models"]
    return rows


@pytest.mark.parametrize(
    "price_row", [pytest.param(r, id=f"{r['provider']}/{r['match']}") for r in _bundled_rows()]
)
def test_every_bundled_row_prices_one_million_input_tokens_at_its_input_price(
    price_row: dict[str, Any],
) -> None:
    usage = Usage(prompt_tokens=1_000_000)
    cost = DEFAULT.cost(provider=price_row["provider"], model=price_row["match"], usage=usage)
    assert cost == Cost(int(price_row["input"] * 1_000_000_000), True)
    assert cost.nano_usd > 0


def test_bundled_table_names_its_source_and_covers_the_common_models() -> None:
    document = json.loads(
        resources.files("heliograph.domain").joinpath("prices.json").read_text(encoding="utf-8")
    )
    assert "list prices as of" in document["source"]
    usage = Usage(prompt_tokens=1)
    for model in [
        "gpt-4o",
        "gpt-4.1-mini",
        "gpt-3.5-turbo",
        "o1",
        "o4-mini",
        "gpt-5-nano",
        "text-embedding-3-small",
        "claude-3-haiku-20240307",
        "claude-3-7-sonnet-20250219",
        "claude-haiku-4-5",
    ]:
        assert DEFAULT.cost(provider="", model=model, usage=usage).known, model


def test_default_table_is_loaded_once() -> None:
    assert PriceTable.load_default() is PriceTable.load_default()


@pytest.mark.parametrize(
    ("models", "message"),
    [
        pytest.param(
            [{"match": "m", "operator": "equals", "input": 1, "output": 1}],
            r"row 0 .*'provider'",
            id="no-provider",
        ),
        pytest.param([row("p", "")], r"row 0 .*'match'", id="empty-match"),
        pytest.param([row("p", "a"), row("p", "b", "contains")], r"row 1 .*'operator'", id="bad-operator"),
        pytest.param([row("p", "m", input=-1)], r"row 0 .*'input' must not be negative", id="negative-input"),
        pytest.param([row("p", "m", output=None)], r"row 0 .*'output' is required", id="missing-output"),
        pytest.param([row("p", "m", output="2.0")], r"row 0 .*'output' must be a number", id="string-price"),
        pytest.param([row("p", "m", input=True)], r"row 0 .*'input' must be a number", id="bool-price"),
        pytest.param(
            [row("p", "m", cache_read=-0.1)], r"row 0 .*'cache_read' must not be negative", id="neg-cache"
        ),
        pytest.param([row("p", "m"), row("P", "M")], r"row 1 .*duplicates", id="duplicate-row"),
        pytest.param(["gpt-4o"], r"row 0: expected an object", id="row-not-an-object"),
    ],
)
def test_invalid_price_rows_are_rejected_naming_the_row(models: list[Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        table(*models)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[]", id="not-an-object"),
        pytest.param('{"models": {}}', id="models-not-a-list"),
        pytest.param(
            '{"models": [{"provider": "p", "match": "m", "operator": "equals", "input": NaN, "output": 1}]}',
            id="nan-price",
        ),
    ],
)
def test_invalid_price_documents_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="price table"):
        PriceTable.from_json(text)


def _decimal_cost(prices: tuple[Decimal, ...], tokens: tuple[int, ...]) -> int:
    """The cost as Decimal arithmetic gives it: the reference the integer arithmetic must equal."""
    with localcontext() as context:
        context.prec = 400
        nano = sum((t * p for t, p in zip(tokens, prices, strict=True)), Decimal(0)) * 1000
        return int(nano.to_integral_value(rounding=ROUND_HALF_EVEN))


@pytest.mark.parametrize(
    "prices",
    [
        pytest.param({"input": "0.15", "output": "0.6"}, id="cents"),
        pytest.param({"input": "0.0000003", "output": "1.25", "cache_read": "0.075"}, id="fine-fractions"),
        pytest.param({"input": "3.0000000000001", "output": "15", "cache_write": "3.75"}, id="odd-fractions"),
        pytest.param({"input": "1e-45", "output": "2"}, id="too-fine-for-integers"),
    ],
)
def test_integer_pricing_equals_the_decimal_sum_rounded_half_to_even(prices: dict[str, str]) -> None:
    # Written as JSON numbers (the table parses them as Decimal), not as floats.
    numbers = ", ".join(f'"{key}": {value}' for key, value in prices.items())
    priced = PriceTable.from_json(
        '{"source": "test", "models": [{"provider": "openai", "match": "m", "operator": "equals", '
        + numbers
        + "}]}"
    )
    per_kind = [Decimal(prices["input"]), Decimal(prices.get("cache_read", prices["input"]))]
    per_kind += [Decimal(prices.get("cache_write", prices["input"])), Decimal(prices["output"])]
    generator = random.Random(7)
    for _ in range(500):
        read, write = generator.randrange(0, 10**5), generator.randrange(0, 10**5)
        prompt, completion = generator.randrange(0, 10**12), generator.randrange(0, 10**9)
        usage = Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            cache_read_tokens=read,
            cache_write_tokens=write,
        )
        cost = priced.cost(provider="OPENAI", model="m", usage=usage)
        tokens = (max(prompt - read - write, 0), read, write, completion)
        assert cost == Cost(nano_usd=_decimal_cost(tuple(per_kind), tokens), known=True)
