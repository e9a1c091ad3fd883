"""Feedback records compared across the values of a property: booleans by positive rate (as the session
breakdown), numbers by mean with a 95% t interval and Welch's t-test, labels by counts and a chi-square
test. The distributions' tails are computed here (regularized incomplete beta and gamma functions, by
the continued fractions of Numerical Recipes, section 6), so no numerical library is needed."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from heliograph.domain.breakdown import FeedbackCounts, two_proportion_p_value, wilson_interval
from heliograph.domain.feedback_values import ConfigKind, FeedbackConfig, FeedbackValue

__all__ = [
    "RecordRow",
    "chi_square_p_value",
    "record_breakdown",
    "student_t_quantile",
    "student_t_two_sided_p",
    "welch_p_value",
]

_EPS = 1e-15
_ITERATIONS = 300


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, _ITERATIONS):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return h


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1 - x) / b


def student_t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom."""
    return _incomplete_beta(df / 2, 0.5, df / (df + t * t))


def student_t_quantile(probability: float, df: float) -> float:
    """The t with P(T <= t) = probability (above 0.5), by bisection."""
    low, high = 0.0, 1e6
    for _ in range(200):
        middle = (low + high) / 2
        if 1 - student_t_two_sided_p(middle, df) / 2 < probability:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _upper_gamma(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x)."""
    if x <= 0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:  # the series of P, then Q = 1 - P
        term = total = 1.0 / a
        for n in range(1, _ITERATIONS):
            term *= x / (a + n)
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return 1.0 - total * math.exp(log_front)
    tiny = 1e-300  # the continued fraction of Q (modified Lentz)
    b = x + 1 - a
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for n in range(1, _ITERATIONS):
        an = -n * (n - a)
        b += 2
        d = an * d + b
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = b + an / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return math.exp(log_front) * h


def chi_square_p_value(table: Sequence[Sequence[int]]) -> float | None:
    """Pearson's chi-square test of independence of a table's rows and columns; None when a row or
    column is empty or the table has fewer than two of either."""
    rows = [r for r in table if sum(r)]
    columns = [j for j in range(len(rows[0]) if rows else 0) if sum(r[j] for r in rows)]
    if len(rows) < 2 or len(columns) < 2:
        return None
    total = sum(sum(r) for r in rows)
    statistic = 0.0
    for r in rows:
        for j in columns:
            expected = sum(r) * sum(q[j] for q in rows) / total
            statistic += (r[j] - expected) ** 2 / expected
    df = (len(rows) - 1) * (len(columns) - 1)
    return _upper_gamma(df / 2, statistic / 2)


def welch_p_value(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of Welch's t-test that two samples' means differ; None below two each."""
    if len(a) < 2 or len(b) < 2:
        return None
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    var_a = sum((x - mean_a) ** 2 for x in a) / (len(a) - 1) / len(a)
    var_b = sum((x - mean_b) ** 2 for x in b) / (len(b) - 1) / len(b)
    if var_a + var_b == 0:
        return 1.0 if mean_a == mean_b else 0.0
    t = (mean_a - mean_b) / math.sqrt(var_a + var_b)
    df = (var_a + var_b) ** 2 / (var_a**2 / (len(a) - 1) + var_b**2 / (len(b) - 1))
    return student_t_two_sided_p(t, df)


def _mean_interval(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None, None
    sd = math.sqrt(sum((x - mean) ** 2 for x in values) / (len(values) - 1))
    half = student_t_quantile(0.975, len(values) - 1) * sd / math.sqrt(len(values))
    return mean, mean - half, mean + half


@dataclass(frozen=True, slots=True)
class RecordRow:
    """One property value's records of a feedback name."""

    value: str
    sessions: int
    records: int
    type: ConfigKind
    positive: int = 0
    negative: int = 0
    positive_rate: float | None = None
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    labels: dict[str, int] = field(default_factory=dict)
    p_value: float | None = None


def _kind(config: FeedbackConfig | None, values: Sequence[FeedbackValue]) -> ConfigKind:
    if config is not None:
        return config.kind
    return "boolean" if all(isinstance(v, bool) for v in values) else "numeric"


def record_breakdown(
    counts: Sequence[FeedbackCounts],
    observations: Sequence[tuple[str, FeedbackValue]],
    config: FeedbackConfig | None,
) -> list[RecordRow]:
    """Rows in the order of `counts` (sessions per value). Booleans and numbers are compared with the
    best value (highest rate, highest mean), labels with the value that has the most records."""
    by_value: dict[str, list[FeedbackValue]] = defaultdict(list)
    for value, observed in observations:
        by_value[value].append(observed)
    kind = _kind(config, [v for _, v in observations])
    if kind == "boolean":
        return _boolean_rows(counts, by_value)
    if kind == "numeric":
        return _numeric_rows(counts, by_value)
    labels = list(config.labels) if config else sorted({str(v) for _, v in observations})
    return _label_rows(counts, by_value, labels)


def _boolean_rows(
    counts: Sequence[FeedbackCounts], by_value: dict[str, list[FeedbackValue]]
) -> list[RecordRow]:
    tallies = {
        c.value: (sum(v is True for v in by_value[c.value]), sum(v is False for v in by_value[c.value]))
        for c in counts
    }
    rated = [(v, up, down) for v, (up, down) in tallies.items() if up + down]
    best = max(rated, key=lambda t: (t[1] / (t[1] + t[2]), t[1] + t[2]), default=None)
    rows = []
    for c in counts:
        up, down = tallies[c.value]
        n = up + down
        low, high = wilson_interval(up, n) if n else (None, None)
        p = None
        if n and best is not None and c.value != best[0]:
            p = two_proportion_p_value(up, n, best[1], best[1] + best[2])
        rows.append(
            RecordRow(
                value=c.value,
                sessions=c.sessions,
                records=len(by_value[c.value]),
                type="boolean",
                positive=up,
                negative=down,
                positive_rate=up / n if n else None,
                ci_low=low,
                ci_high=high,
                p_value=p,
            )
        )
    return rows


def _numeric_rows(
    counts: Sequence[FeedbackCounts], by_value: dict[str, list[FeedbackValue]]
) -> list[RecordRow]:
    numbers = {c.value: [float(v) for v in by_value[c.value] if not isinstance(v, str)] for c in counts}
    best = max(
        (v for v in numbers if numbers[v]),
        key=lambda v: (sum(numbers[v]) / len(numbers[v]), len(numbers[v])),
        default=None,
    )
    rows = []
    for c in counts:
        mean, low, high = _mean_interval(numbers[c.value])
        p = None if best is None or c.value == best else welch_p_value(numbers[c.value], numbers[best])
        rows.append(
            RecordRow(
                c.value,
                c.sessions,
                len(numbers[c.value]),
                "numeric",
                mean=mean,
                ci_low=low,
                ci_high=high,
                p_value=p,
            )
        )
    return rows


def _label_rows(
    counts: Sequence[FeedbackCounts], by_value: dict[str, list[FeedbackValue]], labels: list[str]
) -> list[RecordRow]:
    tallies = {c.value: Counter(str(v) for v in by_value[c.value]) for c in counts}
    reference = max(counts, key=lambda c: sum(tallies[c.value].values()), default=None)
    rows = []
    for c in counts:
        tally = tallies[c.value]
        p = None
        if reference is not None and c.value != reference.value:
            table = [
                [tally[label] for label in labels],
                [tallies[reference.value][label] for label in labels],
            ]
            p = chi_square_p_value(table)
        rows.append(
            RecordRow(
                c.value,
                c.sessions,
                sum(tally.values()),
                "categorical",
                labels={label: tally[label] for label in labels},
                p_value=p,
            )
        )
    return rows
