"""How the dashboard shows numbers, money, durations, times and bodies (the templates' filters)."""

from __future__ import annotations

from urllib.parse import quote

import orjson

from heliograph.api.schemas import session_time
from heliograph.domain.records import NANO_USD_PER_USD, RequestRecord

__all__ = [
    "FILTERS",
    "body_text",
    "cost",
    "count",
    "duration",
    "feedback_value",
    "percent",
    "quote_id",
    "usd",
    "when",
]

USD_DECIMALS = 6  # a millionth of a dollar: the cost of a few tokens of a small model
UNKNOWN = "—"  # a value the call did not report, never shown as zero
BODY_DISPLAY_CHARS = 20_000  # longer bodies are cut on the page; the API serves them whole


def usd(nano_usd: int | float) -> str:
    """Nano-USD as dollars, always with USD_DECIMALS decimals, so a column of costs lines up on its
    decimal point and a small call's cost still shows: $12.340000, $0.012300, $0.000026."""
    return f"${nano_usd / NANO_USD_PER_USD:,.{USD_DECIMALS}f}"


def cost(record: RequestRecord) -> str:
    """A request's cost as `usd`, or "—" when it is unknown (no usage in the response, or no price)."""
    return usd(record.cost_nano_usd) if record.cost_known else UNKNOWN


def usd_value(dollars: float) -> str:
    """Dollars (a float, as the metrics carry them) shown like `usd`."""
    return usd(dollars * NANO_USD_PER_USD)


def duration(ms: int | float) -> str:
    """850 ms, 12.3 s, 4 min 5 s, 2 h 3 min, 3 d 4 h: the two largest units, hours rolled up into days."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return _two_units(minutes, "min", rest, "s")
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _two_units(hours, "h", minutes, "min")
    days, hours = divmod(hours, 24)
    return _two_units(days, "d", hours, "h")


def _two_units(big: int, big_unit: str, small: int, small_unit: str) -> str:
    """`2 h 3 min`, or `2 h` when the smaller unit is zero (round axis marks stay short)."""
    return f"{big:,} {big_unit} {small} {small_unit}" if small else f"{big:,} {big_unit}"


def when(ms: int) -> str:
    """A time to the second, in UTC, as the API formats session times."""
    return session_time(ms)[:19]


def count(n: int | float) -> str:
    return f"{n:,}" if isinstance(n, int) else f"{n:,.1f}"


def percent(fraction: float | None) -> str:
    return "n/a" if fraction is None else f"{fraction * 100:.1f}%"


def quote_id(value: str) -> str:
    """A session id as one URL path segment (slashes and all)."""
    return quote(value, safe="")


def body_text(text: str) -> str:
    """A request or response body for reading: indented JSON if it parses, cut at BODY_DISPLAY_CHARS."""
    try:
        shown = orjson.dumps(orjson.loads(text), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        shown = text
    if len(shown) > BODY_DISPLAY_CHARS:
        cut = len(shown) - BODY_DISPLAY_CHARS
        return f"{shown[:BODY_DISPLAY_CHARS]}\n… ({cut:,} more characters; GET /v1/request/{{id}} has it all)"
    return shown


def feedback_value(value: bool | float | str) -> str:
    """A feedback record's value: thumbs for booleans, numbers without a needless `.0`, labels as they are."""
    if isinstance(value, bool):
        return "👍 up" if value else "👎 down"
    if isinstance(value, float):
        return f"{value:g}"
    return value


FILTERS = {
    "feedback_value": feedback_value,
    "usd": usd,
    "usd_value": usd_value,
    "cost": cost,
    "duration": duration,
    "when": when,
    "count": count,
    "percent": percent,
    "quote_id": quote_id,
    "body_text": body_text,
}
