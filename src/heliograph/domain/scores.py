"""Request scores: named integers (booleans count as 1 and 0)."""

from __future__ import annotations

from collections.abc import Mapping

from heliograph.errors import InvalidInput

__all__ = ["MAX_SCORES", "REQUEST_FEEDBACK_SCORE", "check_scores"]

REQUEST_FEEDBACK_SCORE = "helicone-score-feedback"
MAX_SCORES = 100
_INT64 = 2**63


def check_scores(scores: Mapping[str, object]) -> dict[str, int]:
    """Validate a score map; InvalidInput names the first bad entry."""
    if not scores:
        raise InvalidInput("Invalid scores: give at least one score")
    if len(scores) > MAX_SCORES:
        raise InvalidInput(f"Invalid scores: at most {MAX_SCORES} per request")
    checked: dict[str, int] = {}
    for name, value in scores.items():
        if not name or len(name) > 256:
            raise InvalidInput("Invalid score name: names are 1 to 256 characters")
        if isinstance(value, bool):
            checked[name] = int(value)
        elif isinstance(value, int) and -_INT64 <= value < _INT64:
            checked[name] = value
        else:
            raise InvalidInput(f"Invalid score {name[:80]!r}: scores are integers or booleans")
    return checked
