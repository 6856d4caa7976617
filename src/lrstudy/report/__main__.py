"""``python -m lrstudy.report [metrics.json]``: see ``lrstudy.report.command``."""

import sys

from lrstudy.report.command import main

if __name__ == "__main__":
    sys.exit(main())
