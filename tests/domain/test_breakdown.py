"""Wilson intervals, two-proportion tests and the breakdown rows built from them."""

from __future__ import annotations

import pytest

from heliograph.domain.breakdown import FeedbackCounts, breakdown, two_proportion_p_value, wilson_interval


def test_the_wilson_interval_matches_the_textbook_value() -> None:
    assert wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=5e-5)
    assert wilson_interval(0, 1) == pytest.approx((0.0, 0.79345), abs=5e-5)


def test_the_two_proportion_p_value_matches_a_hand_computation() -> None:
    # 45/50 against 30/50: pooled 0.75, standard error 0.0866, z = 3.4641, two-sided p = 0.000532.
    assert two_proportion_p_value(45, 50, 30, 50) == pytest.approx(0.000532, rel=1e-3)
    assert two_proportion_p_value(5, 5, 7, 7) == 1.0  # no variance: nothing can differ


def test_rows_compare_each_value_with_the_best_rated_one() -> None:
    rows = breakdown(
        [
            FeedbackCounts("B", sessions=60, positive=30, negative=20),
            FeedbackCounts("A", sessions=55, positive=45, negative=5),
            FeedbackCounts("C", sessions=3, positive=0, negative=0),
        ]
    )
    b, a, c = rows
    assert (a.rated, a.positive_rate, a.p_value) == (50, 0.9, None)  # the best has no p-value
    assert b.positive_rate == 0.6 and b.p_value == pytest.approx(0.000532, rel=1e-3)
    assert (c.rated, c.positive_rate, c.ci_low, c.p_value) == (0, None, None, None)


def test_a_tie_in_rate_goes_to_the_value_with_more_ratings() -> None:
    small, large = breakdown([FeedbackCounts("small", 2, 2, 0), FeedbackCounts("large", 9, 9, 0)])
    assert large.p_value is None and small.p_value == 1.0
