"""``sdde.validate``: the public name of :mod:`sdde.validation.compare` (the same module)."""

import sys

from sdde.validation import compare

sys.modules[__name__] = compare
