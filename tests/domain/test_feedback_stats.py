"""The tails behind the feedback breakdown, against published table values."""

from __future__ import annotations

import pytest

from heliograph.domain.breakdown import FeedbackCounts
from heliograph.domain.feedback_stats import (
    chi_square_p_value,
    record_breakdown,
    student_t_quantile,
    student_t_two_sided_p,
    welch_p_value,
)
from heliograph.domain.feedback_values import FeedbackConfig


@pytest.mark.parametrize(
    ("t", "df", "p"),
    [
        pytest.param(2.228138852, 10, 0.05, id="t-10df-5pct"),
        pytest.param(12.70620474, 1, 0.05, id="t-1df-5pct"),
        pytest.param(2.0, 10, 0.0733880348, id="t-2-on-10df"),
        pytest.param(0.0, 5, 1.0, id="t-0"),
    ],
)
def test_student_t_two_sided_p_values(t: float, df: float, p: float) -> None:
    assert student_t_two_sided_p(t, df) == pytest.approx(p, abs=1e-8)


def test_student_t_quantiles() -> None:
    assert student_t_quantile(0.975, 2) == pytest.approx(4.302652730, abs=1e-7)
    assert student_t_quantile(0.975, 30) == pytest.approx(2.042272456, abs=1e-7)


@pytest.mark.parametrize(
    ("table", "p"),
    [
        pytest.param([[10, 20], [20, 10]], 0.0098232745, id="chi2-6.667-df1"),  # chi2 = 20/3
        pytest.param([[30, 10, 10], [10, 30, 10]], 4.539992976e-05, id="chi2-20-df2"),  # p = e^-10
        pytest.param([[5, 5], [5, 5]], 1.0, id="no-difference"),
    ],
)
def test_chi_square_p_values(table: list[list[int]], p: float) -> None:
    assert chi_square_p_value(table) == pytest.approx(p, abs=1e-8)


def test_chi_square_needs_two_rows_and_two_columns() -> None:
    assert chi_square_p_value([[3, 0], [4, 0]]) is None
    assert chi_square_p_value([[3, 2], [0, 0]]) is None


def test_welch() -> None:
    # Equal variances and sizes: Welch's t equals Student's, t = -3 / sqrt(2 * 2.5 / 5) = -3, df = 8.
    assert welch_p_value([1, 2, 3, 4, 5], [4, 5, 6, 7, 8]) == pytest.approx(student_t_two_sided_p(3.0, 8))
    assert student_t_two_sided_p(3.0, 8) == pytest.approx(0.0170716, abs=1e-6)
    assert welch_p_value([1], [2, 3]) is None


def test_a_name_without_config_that_mixes_booleans_and_numbers_is_compared_as_numbers() -> None:
    counts = [FeedbackCounts("A", 2, 0, 0), FeedbackCounts("B", 1, 0, 0)]
    rows = record_breakdown(counts, [("A", True), ("A", 0.5), ("B", 0.0)], None)
    assert [(r.type, r.records, r.mean) for r in rows] == [("numeric", 2, 0.75), ("numeric", 1, 0.0)]
    labelled = record_breakdown(
        counts, [("A", "x")], FeedbackConfig("tone", "categorical", labels=("x", "y"))
    )
    assert [r.labels for r in labelled] == [{"x": 1, "y": 0}, {"x": 0, "y": 0}]
