"""The smallest sample size at which a power curve reaches its target.

Power grows with the number of seeds n, so the smallest sufficient n is found by
doubling from the smallest n until the target is reached, then bisecting the last
doubling: O(log n) evaluations of the power function.
"""

from __future__ import annotations

from collections.abc import Callable


def smallest_sample_size(reaches: Callable[[int], bool], limit: int, start: int = 2) -> int | None:
    """The smallest n ≥ ``start`` with ``reaches(n)``, or ``None`` if it is above ``limit``.

    ``reaches`` must be monotone in n (False up to some n, True from there on), as a
    test's power at a fixed effect is; it is called with integers in [start, limit].
    """
    high = start
    while not reaches(high):
        if high >= limit:
            return None
        high = min(2 * high, limit)
    low = max(start, high // 2)
    while low < high:
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle + 1
    return low
