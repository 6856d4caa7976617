"""``python -m lrstudy.pr_report``: see ``lrstudy.pr_report.command``."""

import sys

from lrstudy.pr_report.command import main

if __name__ == "__main__":
    sys.exit(main())
