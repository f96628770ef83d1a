"""``sdde.sweep``: the public name of :mod:`sdde.sweeps.engine` (the same module)."""

import sys

from sdde.sweeps import engine

sys.modules[__name__] = engine
