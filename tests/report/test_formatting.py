"""report/formatting.py's rules that are not just string layout."""

from __future__ import annotations

from lrstudy.report.formatting import decimals_for


def test_decimals_follow_the_particle_data_group_rounding_rule() -> None:
    # PDG: leading digits 100-354 -> two significant digits, 355-949 -> one,
    # 950-999 -> rounded up to 1000, two significant digits
    assert decimals_for(0.127) == 2  # 0.13
    assert decimals_for(0.0025) == 4  # 0.0025
    assert decimals_for(0.04) == 2  # 0.04
    assert decimals_for(0.0062) == 3  # 0.006
    assert decimals_for(0.0097) == 3  # 0.010
    assert decimals_for(None) == 4 and decimals_for(0.0) == 4
    assert decimals_for(3e-9) == 6
