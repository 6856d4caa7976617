"""The doubling-then-bisection search for the smallest sufficient sample size."""

from __future__ import annotations

import pytest

from lrstudy.sample_size import smallest_sample_size


@pytest.mark.parametrize("threshold", [2, 3, 4, 5, 37, 64, 65, 1000, 99_999, 100_000])
def test_finds_the_first_n_of_a_step(threshold: int) -> None:
    calls: list[int] = []

    def reaches(n: int) -> bool:
        calls.append(n)
        return n >= threshold

    assert smallest_sample_size(reaches, limit=100_000) == threshold
    assert all(2 <= n <= 100_000 for n in calls)
    assert len(calls) <= 2 * 17 + 2  # log2(100,000) ≈ 17 doublings, as many bisections


def test_none_when_the_limit_is_not_enough() -> None:
    assert smallest_sample_size(lambda n: n >= 101, limit=100) is None
    assert smallest_sample_size(lambda n: False, limit=10) is None


def test_starts_where_asked() -> None:
    assert smallest_sample_size(lambda n: True, limit=10, start=5) == 5
    assert smallest_sample_size(lambda n: n >= 7, limit=10, start=5) == 7
