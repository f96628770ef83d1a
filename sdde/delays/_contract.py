"""The input contract of a round-time spec: the ranges inside which every answer is trusted.

:func:`sdde.delays.parse` checks every law it builds against this contract; a value
outside it raises one ``ValueError`` line naming the parameter, the allowed range and a
valid example. Laws built directly in Python are not checked (the constructors only
reject laws that do not exist, such as a Pareto law with an infinite mean).

Two rules (``docs/cli.md``, "Delay laws"):

* **Time scale.** Every time the user writes (``mean``, ``scale``, ``value``, ``time``,
  ``low``, ``high``, ``shift``, ``1/rate``, trace durations) and the law's mean lie in
  ``[TIME_MIN, TIME_MAX]`` (``low`` and ``shift`` may also be 0). The cluster computes in
  units of its mean round time, so the scale itself never affects the numerics; the
  range only keeps the answers in the user's unit (run times, ``Var X = E[X]² cv²``,
  ``E[X³]``) representable with a wide margin.
* **Tail.** At most ``TAIL_SHARE`` of the mean round time may come from rounds rarer
  than ``TAIL_LEVEL`` (one in a million): ``E[X; X > q] <= TAIL_SHARE · E[X]`` with
  ``q`` the ``1 − TAIL_LEVEL`` quantile. Beyond it no run of a million rounds, no trace
  and no simulated staleness law sees the mean that the answers are built on. For the
  one-shape families this is a bound on the shape (:data:`SHAPE_LIMITS`, rounded
  inwards from the exact boundary, which :func:`tail_share` computes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from sdde import _lazy
from sdde.delays._base import DelayLaw
from sdde.delays._composite import Empirical, Mixture
from sdde.delays._families import Deterministic, Gamma, LogNormal, Pareto, Weibull
from sdde.delays._spec_examples import DELAY_SPEC_EXAMPLES

special = _lazy.module("scipy.special")

#: Smallest and largest time (in the user's unit) a spec may contain.
TIME_MIN: Final = 1e-9
TIME_MAX: Final = 1e9
#: Rounds rarer than this (per round) are "never seen" by a feasible run.
TAIL_LEVEL: Final = 1e-6
#: Largest share of the mean round time those rounds may carry.
TAIL_SHARE: Final = 0.1
#: Keys that are times (``rate`` is checked through ``1/rate``); ``low`` and ``shift``
#: may also be 0.
TIME_KEYS: Final = frozenset({"mean", "scale", "value", "time", "low", "high", "shift"})
_ZERO_OK: Final = frozenset({"low", "shift"})

#: family → (parameter, "min" or "max", limit). Exact boundaries of the tail rule:
#: Pareto 1.2, Weibull 0.1153, gamma 3.09e-5, lognormal cv 414 (sigma 3.472).
SHAPE_LIMITS: Final[Mapping[str, tuple[str, str, float]]] = {
    "pareto": ("shape", "min", 1.2),
    "weibull": ("shape", "min", 0.12),
    "gamma": ("shape", "min", 1e-4),
    "lognormal": ("cv", "max", 400.0),
}
#: The lognormal ``sigma`` that gives the largest allowed cv.
LOGNORMAL_MAX_SIGMA: Final = math.sqrt(math.log1p(SHAPE_LIMITS["lognormal"][2] ** 2))
#: Largest two-point slowdown: the slow and fast rounds differ by at most this factor.
MAX_SLOWDOWN: Final = 1e6
#: Shapes at which gamma, Weibull and Pareto laws are indistinguishable from a point
#: mass in double precision (cv below 1e-6 or so) are capped here.
MAX_SHAPE: Final[Mapping[str, float]] = {"gamma": 1e12, "weibull": 1e6, "pareto": 1e6}
#: Smallest lognormal cv (below it the law is a point mass to double precision).
LOGNORMAL_MIN_CV: Final = 1e-6


def example(family: str) -> str:
    """A valid spec of ``family`` (from the ``--help`` examples)."""
    return next((e for e in DELAY_SPEC_EXAMPLES if e.split(":", 1)[0] == family),
                DELAY_SPEC_EXAMPLES[0])


def _refuse(family: str, what: str, allowed: str, got: float | str, why: str) -> ValueError:
    got_text = f"{got:.10g}" if isinstance(got, float) else got
    return ValueError(f"{family}: {what} must be {allowed} ({why}), got {got_text}; "
                      f"e.g. {example(family)}")


def _time_range(zero_ok: bool) -> str:
    low = f"0 or in [{TIME_MIN:g}, {TIME_MAX:g}]" if zero_ok else \
        f"in [{TIME_MIN:g}, {TIME_MAX:g}]"
    return low


_TIME_WHY = "times are in your unit: rescale it, e.g. milliseconds instead of seconds"


def check_times(family: str, values: Mapping[str, float]) -> None:
    """Check the time-valued keys of a parsed spec against ``[TIME_MIN, TIME_MAX]``.

    Raises
    ------
    ValueError
        Naming the first key outside the range.
    """
    for key, value in values.items():
        if key == "rate":
            if value > 0 and not TIME_MIN <= 1.0 / value <= TIME_MAX:
                raise _refuse(family, "rate", f"in [{1 / TIME_MAX:g}, {1 / TIME_MIN:g}]",
                              value, _TIME_WHY)
            continue
        if key not in TIME_KEYS or value < 0 or (value == 0 and key in _ZERO_OK):
            continue  # negative values and zeros are refused by the constructors
        if value > 0 and not TIME_MIN <= value <= TIME_MAX:
            raise _refuse(family, key, _time_range(key in _ZERO_OK), value, _TIME_WHY)


def tail_share(law: DelayLaw, level: float = TAIL_LEVEL) -> float:
    """``E[X; X > q] / E[X]`` with ``q`` the ``1 − level`` quantile (closed forms).

    Parameters
    ----------
    law : DelayLaw
        A gamma (or exponential), Weibull, lognormal or Pareto law, or a two-point law;
        other laws return 0 (bounded support, or light tails).
    level : float
        Tail probability ``P(X > q)``.

    Returns
    -------
    float
        The share of the mean carried by rounds rarer than ``level``.

    Notes
    -----
    Pareto: ``level^{(α−1)/α}``. Lognormal: ``Φ(σ − z)`` with ``z = Φ^{-1}(1 − level)``.
    Gamma: ``Q(k + 1, q/θ)`` with ``Q(k, q/θ) = level``. Weibull:
    ``Q(1 + 1/k, −log level)``. ``Q`` is the regularised upper incomplete gamma function.
    """
    if isinstance(law, Pareto):
        return float(level ** ((law.shape - 1.0) / law.shape))
    if isinstance(law, LogNormal):
        return float(special.ndtr(law.sigma - special.ndtri(1.0 - level)))
    if isinstance(law, Gamma):
        q = special.gammainccinv(law.shape, level)
        return float(special.gammaincc(law.shape + 1.0, q))
    if isinstance(law, Weibull):
        return float(special.gammaincc(1.0 + 1.0 / law.shape, -math.log(level)))
    atoms = _two_point(law)
    if atoms is not None:
        (fast, slow), p = atoms, law.weights[1]  # type: ignore[attr-defined]
        return 0.0 if p > level else p * slow / ((1.0 - p) * fast + p * slow)
    return 0.0


def _two_point(law: DelayLaw) -> tuple[float, float] | None:
    if (isinstance(law, Mixture) and len(law.components) == 2
            and all(isinstance(c, Deterministic) for c in law.components)):
        return law.components[0].mean, law.components[1].mean
    return None


def check_law(family: str, values: Mapping[str, float], law: DelayLaw) -> None:
    """Check a law built from a spec against the contract (shapes, tail, time scale).

    Parameters
    ----------
    family : str
        The spec's family name (for messages and examples).
    values : mapping
        The spec's ``key=value`` pairs.
    law : DelayLaw
        The law built from them.

    Raises
    ------
    ValueError
        One line: the parameter, the allowed range, the value and a valid example.
    """
    if family == "erlang":
        family = "gamma"  # an Erlang law is a gamma law of whole shape k
    if isinstance(law, Empirical):
        lo, hi = law.support
        if not (lo >= TIME_MIN and hi <= TIME_MAX):
            bad = lo if lo < TIME_MIN else hi
            raise _refuse("trace", "every duration", _time_range(False), bad, _TIME_WHY)
        return
    limit = SHAPE_LIMITS.get(family)
    if limit is not None:
        name, kind, bound = limit
        if family == "lognormal":
            name = "cv" if "cv" in values else "sigma"
            value = values[name]
            bound = bound if name == "cv" else LOGNORMAL_MAX_SIGMA
        else:
            value = values.get(name, values.get("k", math.nan))
        if kind == "min" and not value >= bound:
            raise _refuse(family, name, f">= {bound:g}", value, _tail_why())
        if kind == "max" and not value <= bound:
            shown = math.floor(bound * 1e3) / 1e3  # rounded down: the bound shown is allowed
            raise _refuse(family, name, f"<= {shown:g}", value, _tail_why())
    top = MAX_SHAPE.get(family)
    if top is not None and values.get("shape", values.get("k", 0.0)) > top:
        raise _refuse(family, "shape" if "shape" in values else "k", f"<= {top:g}",
                      values.get("shape", values.get("k", 0.0)),
                      "larger shapes are a point mass to double precision: use "
                      "deterministic")
    if isinstance(law, LogNormal) and law.cv < LOGNORMAL_MIN_CV:
        name = "cv" if "cv" in values else "sigma"
        raise _refuse(family, name, f">= {LOGNORMAL_MIN_CV:g}" if name == "cv"
                      else f">= {math.sqrt(math.log1p(LOGNORMAL_MIN_CV ** 2)):.3g}",
                      values[name], "smaller values are a point mass to double precision: "
                      "use deterministic")
    if family == "two-point":
        slowdown = values.get("slowdown", 1.0)
        if slowdown > MAX_SLOWDOWN:
            raise _refuse(family, "slowdown", f"<= {MAX_SLOWDOWN:g}", slowdown,
                          "the fast and slow rounds would differ by more than 6 orders "
                          "of magnitude")
        if tail_share(law) > TAIL_SHARE:
            raise _refuse(family, "p·slowdown", f"<= {TAIL_SHARE / (1 - TAIL_SHARE):.3g}·(1−p) "
                          f"when p < {TAIL_LEVEL:g}", f"{values['p'] * slowdown:g}",
                          _tail_why())
    mean = law.mean  # derived: allow its rounding (mean=1e9 may come out as 1e9 + 1 ulp)
    if not TIME_MIN * (1 - 1e-12) <= mean <= TIME_MAX * (1 + 1e-12):
        raise _refuse(family, "the mean round time", _time_range(False), float(mean),
                      _TIME_WHY)


def _tail_why() -> str:
    return (f"outside it, more than {TAIL_SHARE:.0%} of the mean round time comes from "
            f"rounds rarer than 1 in {1 / TAIL_LEVEL:,.0f}, which no feasible run or "
            "simulation sees")
