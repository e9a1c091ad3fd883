"""Request scores: named integers (booleans count as 1 and 0)."""

from __future__ import annotations

from collections.abc import Mapping

from heliograph.errors import InvalidInput

__all__ = ["MAX_SCORE", "MAX_SCORES", "REQUEST_FEEDBACK_SCORE", "check_scores"]

REQUEST_FEEDBACK_SCORE = "helicone-score-feedback"
MAX_SCORES = 100
# JavaScript's Number.MAX_SAFE_INTEGER: the largest score Helicone's clients can send exactly.
MAX_SCORE = 2**53 - 1


def check_scores(scores: Mapping[str, object]) -> dict[str, int]:
    """Validate a score map; InvalidInput names the first bad entry."""
    if not scores:
        raise InvalidInput("Invalid scores: give at least one score")
    if len(scores) > MAX_SCORES:
        raise InvalidInput(f"Invalid scores: at most {MAX_SCORES} per request")
    checked: dict[str, int] = {}
    for name, value in scores.items():
        if not name or len(name) > 256 or "\x00" in name:
            raise InvalidInput("Invalid score name: names are 1 to 256 characters, without NUL")
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON has one number type: 3.0 is the integer 3, as in Helicone's JavaScript
        if isinstance(value, bool):
            checked[name] = int(value)
        elif isinstance(value, int) and -MAX_SCORE <= value <= MAX_SCORE:
            checked[name] = value
        else:
            raise InvalidInput(f"Invalid score {name[:80]!r}: scores are integers or booleans")
    return checked
