"""``python -m sdde.cli``: the same as ``sdde-analyze``."""

import sys

from sdde.cli.command import main

if __name__ == "__main__":
    sys.exit(main())
