"""The input contract of the model's numbers: the ranges inside which every answer is trusted.

A learning rate, a curvature, a noise variance and an initial error each lie in
``[VALUE_MIN, VALUE_MAX]`` (noise and initial error may also be 0). Thirty decades either
side of 1 cover any honest setting (learning rates of 1e-8, curvatures of 1e6, ...) with
room to spare, and keep every product the analysis forms representable: gains
``κ = η n h`` up to about 1e66, noise intensities ``η² n σ²`` up to 1e96, losses
``h x0²`` up to 1e90. Outside, one ``ValueError`` line names the parameter, the range and
a valid example. Target losses may go further (``[TARGET_MIN, TARGET_MAX]``): only their
logarithm enters a time to target.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

import numpy as np

#: Smallest and largest learning rate, curvature, noise variance and initial error.
VALUE_MIN: Final = 1e-30
VALUE_MAX: Final = 1e30
#: Most workers the command answers for (every analysis was timed up to here: seconds).
MAX_WORKERS: Final = 1_000_000
#: Most Hessian eigenvalues a spectrum may list (each is a mode the analysis solves).
MAX_MODES: Final = 1_000_000
#: Smallest and largest target loss.
TARGET_MIN: Final = 1e-300
TARGET_MAX: Final = 1e300


def check_value(name: str, value: float, *, zero_ok: bool = False, example: str = "1",
                low: float = VALUE_MIN, high: float = VALUE_MAX) -> float:
    """``value`` as a float if it lies in ``[low, high]`` (or is 0 when ``zero_ok``).

    Raises
    ------
    ValueError
        One line naming ``name``, the range and ``example``.
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, e.g. {example}, got {value!r}") from None
    if (zero_ok and v == 0.0) or (math.isfinite(v) and low <= v <= high):
        return v
    allowed = f"0 or in [{low:g}, {high:g}]" if zero_ok else f"in [{low:g}, {high:g}]"
    raise ValueError(f"{name} must be {allowed} (the input contract), e.g. {example}, "
                     f"got {value!r}")


#: Smallest and largest gain ``κ = η n h`` of a mode the analysis answers for. Below
#: ``GAIN_MIN`` a mode moves by less than one part in 10⁹ per round (it needs more than
#: 10⁹ rounds to e-fold, and ``1 − κ`` rounds to 1 in places); above ``GAIN_MAX`` a
#: run's updates are a million times the distance they correct, far past every
#: divergence threshold of the built-in laws and policies.
GAIN_MIN: Final = 1e-9
GAIN_MAX: Final = 1e6


def check_gains(lr: float, n_workers: int, curvatures: Iterable[float]) -> None:
    """Refuse a setting whose smallest or largest gain ``η n h`` is outside the contract.

    Raises
    ------
    ValueError
        One line naming the gain, the curvature it belongs to and a setting that fits.
    """
    h = np.asarray(curvatures if isinstance(curvatures, np.ndarray) else list(curvatures),
                   dtype=np.float64)
    h_min, h_max = float(h.min()), float(h.max())
    top, bottom = lr * n_workers * h_max, lr * n_workers * h_min
    # the ends themselves are inside, up to rounding of the product η·n·h
    too_high, too_low = top > GAIN_MAX * (1 + 1e-12), bottom < GAIN_MIN * (1 - 1e-12)
    if h_max / h_min > GAIN_MAX / GAIN_MIN and (too_high or too_low):
        raise ValueError(
            f"lr: the curvatures span {h_max / h_min:.3g}, about the whole gain range "
            f"[{GAIN_MIN:g}, {GAIN_MAX:g}] of the input contract, so no learning rate fits "
            "them all: leave the flattest curvatures out of the Hessian")
    if too_high:
        raise ValueError(
            f"lr: the gain κ = η·n·h = {top:.3g} of curvature {h_max:g} is above "
            f"{GAIN_MAX:g} (the input contract; every threshold is orders of magnitude "
            f"lower): use a learning rate below {_three_digits(lr * GAIN_MAX / top, -1):g}")
    if too_low:
        raise ValueError(
            f"lr: the gain κ = η·n·h = {bottom:.3g} of curvature {h_min:g} is below "
            f"{GAIN_MIN:g} (the input contract: that mode would need more than a billion "
            f"rounds to move): use a learning rate above "
            f"{_three_digits(lr * GAIN_MIN / bottom, +1):g} or leave the flattest "
            "curvatures out")


def _three_digits(x: float, direction: int) -> float:
    """``x`` to three significant digits, rounded down (``-1``) or up (``+1``)."""
    scale = 10.0 ** (math.floor(math.log10(x)) - 2)
    ratio = float(f"{x / scale:.12g}")  # float noise (999.9999999997) is not a digit
    digits = math.floor(ratio) if direction < 0 else math.ceil(ratio)
    return digits * scale
