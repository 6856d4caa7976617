"""The text chart of pr_report/text_chart.py (the PR report's chart): where each mark lands."""

from __future__ import annotations

import pytest

from lrstudy.pr_report.text_chart import TextRow, interval_text_chart


def strip_of(line: str, label_width: int, width: int) -> str:
    return line[label_width + 2 : label_width + 2 + width]


def test_marks_land_on_the_shared_scale() -> None:
    # Seeds 0.2 / 0.4 / 0.6 ... on an axis from 0 to 1 over 21 characters: one
    # character is 0.05. The head's mean is 0.5 (column 10); its interval over 0.4, 0.5,
    # 0.6 in [0, 1] is expit(0 -/+ 4.302653 * (0.1 / sqrt(3)) / 0.25) = expit(-/+0.993655)
    # = [0.2702, 0.7298]: columns 5 to 15.
    chart = interval_text_chart(
        [
            (
                "setting",
                [
                    TextRow("base", [0.0, 1.0, None], "note one"),
                    TextRow("head", [0.4, 0.5, 0.6], "note two"),
                ],
            )
        ],
        width=21,
        bounds=(0.0, 1.0),
    )
    title, scale, rule, base, head = chart.splitlines()
    assert title == "setting"
    assert rule == "      +----+----+----+----+"
    assert scale == "    0.00 0.25 0.50 0.75 1.00"
    # base: 0 and 1, mean 0.5; its interval, expit(-/+ 12.7062 * 0.5 / 0.25), spans
    # nearly all of [0, 1] and ends inside it, so it is drawn whole, not cut
    assert strip_of(base, 4, 21) == "[---------|---------]"
    assert base.endswith("  note one")
    # head: seeds at 8, 10, 12 hidden under the interval; mean at 10
    assert strip_of(head, 4, 21) == "     [----|----]     "
    assert head.endswith("  note two")


def test_seeds_outside_the_interval_show_and_stack() -> None:
    # 0.5 twice, 0.6 once, 0.9 nine times: mean 0.8083, t-interval [0.7018, 0.9149] covers
    # the 0.9 seeds; the 0.5 pair stacks into ":", 0.6 is a single ".".
    values = [0.9] * 9 + [0.5, 0.5, 0.6]
    chart = interval_text_chart([("s", [TextRow("r", values)])], width=41)
    row = chart.splitlines()[-1]
    assert row.count(":") == 1 and row.count(".") == 1
    assert row.index(":") < row.index(".") < row.index("[") < row.index("|") < row.index("]")
    assert row.rstrip().endswith("]")


def test_one_seed_is_a_mean_without_interval_and_no_seed_is_a_note() -> None:
    chart = interval_text_chart(
        [("s", [TextRow("base", [0.7]), TextRow("head", [None, float("nan")], "none")])],
        width=21,
    )
    lines = chart.splitlines()
    assert "[" not in lines[-2] and lines[-2].count("|") == 1
    assert lines[-1].split() == ["head", "none"]


def test_each_group_has_its_own_scale() -> None:
    chart = interval_text_chart(
        [
            ("low", [TextRow("r", [0.50, 0.52, 0.54])]),
            ("high", [TextRow("r", [0.990, 0.992, 0.994])]),
        ],
        width=30,
    )
    low, high = chart.split("\n\n")
    assert "0.5" in low.splitlines()[1] and "0.99" not in low
    assert "0.99" in high.splitlines()[1]
    assert interval_text_chart([]) == ""
    with pytest.raises(ValueError, match="at least 12"):
        interval_text_chart([("s", [TextRow("r", [1.0])])], width=5)
