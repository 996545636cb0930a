"""``python -m prolong ...``: the ``prolong`` command line."""

import sys

from prolong.cli import main

if __name__ == "__main__":
    sys.exit(main())
