"""Price an LLM call in integer nano-USD from its token usage and the bundled price table."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from importlib import resources
from typing import Any

from heliograph.domain.usage import Usage

__all__ = ["Cost", "PriceTable"]

_OPERATORS = frozenset({"equals", "startsWith"})
_NANO_PER_MICRO = 1000


@dataclass(frozen=True, slots=True)
class Cost:
    """Cost of one call in nano-USD (USD x 1e9); ``known`` is False when no price matched."""

    nano_usd: int
    known: bool


@dataclass(frozen=True, slots=True)
class _Price:
    """One row of the price table; prices are USD per 1M tokens, names lower-cased."""

    provider: str
    match: str
    exact: bool
    input: Decimal
    output: Decimal
    cache_read: Decimal | None
    cache_write: Decimal | None
    # The prices of uncached input, cache reads, cache writes and output, each times _NANO_PER_MICRO,
    # as integer numerators over one common denominator (last): pricing then takes no Decimal
    # arithmetic. None for a price too finely divided to be worth it (see _nano_rates).
    nano_rates: tuple[int, int, int, int, int] | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nano_rates", _nano_rates(self.per_token_kind()))

    def per_token_kind(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """USD per 1M tokens of uncached input, cache reads, cache writes and output."""
        read = self.input if self.cache_read is None else self.cache_read
        write = self.input if self.cache_write is None else self.cache_write
        return self.input, read, write, self.output


# Prices with more decimal places than this keep the Decimal arithmetic (their integers would be huge).
_MAX_RATE_DECIMALS = 40


def _nano_rates(prices: tuple[Decimal, ...]) -> tuple[int, int, int, int, int] | None:
    ratios = [(price * _NANO_PER_MICRO).as_integer_ratio() for price in prices]
    denominator = math.lcm(*(den for _, den in ratios))
    if denominator > 10**_MAX_RATE_DECIMALS:
        return None
    a, b, c, d = (num * (denominator // den) for num, den in ratios)
    return a, b, c, d, denominator


class PriceTable:
    """Model prices, looked up by model name with the provider as a hint."""

    __slots__ = ("_found", "_rows")

    def __init__(self, rows: Sequence[_Price]) -> None:
        self._rows = tuple(rows)
        self._found: dict[tuple[str, str], _Price | None] = {}

    @classmethod
    def load_default(cls) -> PriceTable:
        """The table bundled as ``heliograph/domain/prices.json`` (loaded once)."""
        return _default_table()

    @classmethod
    def from_json(cls, text: str | bytes) -> PriceTable:
        """Parse and validate a prices.json document; raises ValueError naming any bad row."""
        document = json.loads(text, parse_float=Decimal)
        models = document.get("models") if isinstance(document, dict) else None
        if not isinstance(models, list):
            raise ValueError("price table: expected an object with a 'models' list")
        rows = [_parse_row(index, row) for index, row in enumerate(models)]
        seen: set[tuple[str, str, bool]] = set()
        for index, price in enumerate(rows):
            key = (price.provider, price.match, price.exact)
            if key in seen:
                raise ValueError(f"price table row {index} ({price.match!r}): duplicates an earlier row")
            seen.add(key)
        return cls(rows)

    def cost(self, *, provider: str, model: str, usage: Usage) -> Cost:
        """Cost of ``usage`` on ``model``; Cost(0, False) when no row matches the model."""
        price = self._find(provider.strip().lower(), model.strip().lower())
        if price is None:
            return Cost(nano_usd=0, known=False)
        cache_read = usage.cache_read_tokens
        cache_write = usage.cache_write_tokens
        uncached = max(usage.prompt_tokens - cache_read - cache_write, 0)
        tokens = (uncached, cache_read, cache_write, usage.completion_tokens)
        rates = price.nano_rates
        if rates is not None:
            # The same exact sum in integers: nano-USD = sum(tokens x numerator) / denominator.
            *numerators, denominator = rates
            nano, rest = divmod(sum(t * n for t, n in zip(tokens, numerators, strict=True)), denominator)
            if 2 * rest > denominator or (2 * rest == denominator and nano % 2):  # ROUND_HALF_EVEN
                nano += 1
            return Cost(nano_usd=nano, known=True)
        with localcontext() as context:
            context.prec = 200  # exact for any realistic token count
            micro_usd = sum((t * p for t, p in zip(tokens, price.per_token_kind(), strict=True)), Decimal(0))
            exact = (micro_usd * _NANO_PER_MICRO).to_integral_value(rounding=ROUND_HALF_EVEN)
        return Cost(nano_usd=int(exact), known=True)

    def _find(self, provider: str, model: str) -> _Price | None:
        """Best row for ``model``: same-provider rows first, then all rows (remembered per model)."""
        key = (provider, model)
        if key in self._found:
            return self._found[key]
        same_provider = [row for row in self._rows if row.provider == provider]
        found = _best_match(same_provider, model) or _best_match(self._rows, model)
        if len(self._found) < _MAX_REMEMBERED:  # model names are client input: bound what is kept
            self._found[key] = found
        return found


_MAX_REMEMBERED = 4096


def _best_match(rows: Sequence[_Price], model: str) -> _Price | None:
    """An equals row if any, else the startsWith row with the longest prefix."""
    best: _Price | None = None
    for row in rows:
        if row.exact:
            if row.match == model:
                return row
        elif model.startswith(row.match) and (best is None or len(row.match) > len(best.match)):
            best = row
    return best


def _parse_row(index: int, row: object) -> _Price:
    """Validate one row of the ``models`` list."""
    if not isinstance(row, dict):
        raise ValueError(f"price table row {index}: expected an object, got {row!r}")
    provider, match, operator = row.get("provider"), row.get("match"), row.get("operator")
    label = f"price table row {index} ({provider!r}, {match!r})"
    if not isinstance(provider, str) or not provider.strip():
        raise ValueError(f"{label}: 'provider' must be a non-empty string")
    if not isinstance(match, str) or not match.strip():
        raise ValueError(f"{label}: 'match' must be a non-empty string")
    if operator not in _OPERATORS:
        raise ValueError(f"{label}: 'operator' must be 'equals' or 'startsWith', not {operator!r}")
    return _Price(
        provider=provider.strip().lower(),
        match=match.strip().lower(),
        exact=operator == "equals",
        input=_required_price(label, row, "input"),
        output=_required_price(label, row, "output"),
        cache_read=_optional_price(label, row, "cache_read"),
        cache_write=_optional_price(label, row, "cache_write"),
    )


def _required_price(label: str, row: dict[str, Any], key: str) -> Decimal:
    price = _optional_price(label, row, key)
    if price is None:
        raise ValueError(f"{label}: {key!r} is required")
    return price


def _optional_price(label: str, row: dict[str, Any], key: str) -> Decimal | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or not Decimal(value).is_finite():
        raise ValueError(f"{label}: {key!r} must be a number, not {value!r}")
    if value < 0:
        raise ValueError(f"{label}: {key!r} must not be negative")
    return Decimal(value)


@functools.cache
def _default_table() -> PriceTable:
    text = resources.files("heliograph.domain").joinpath("prices.json").read_text(encoding="utf-8")
    return PriceTable.from_json(text)
