"""Computation-time laws of one worker round, and the spec strings that name them.

Every law is a frozen dataclass with moments, distribution functions, sampling from a
``numpy.random.Generator``, its Laplace–Stieltjes transform ``φ(z) = E[exp(-zX)]``, and
its equilibrium (forward-recurrence) law.

Layer 1 of 12, the bottom one: it imports only the shared ``sdde._numerics``; every
other layer imports it (docs/architecture.md).

Examples
--------
>>> import numpy as np
>>> from sdde import delays
>>> law = delays.parse("lognormal:mean=1,cv=0.5")
>>> round(float(law.cv), 12)
0.5
>>> abs(complex(delays.Gamma(shape=2.0, scale=0.5).laplace(1j)) - 1 / (1 + 0.5j) ** 2) < 1e-15
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdde import _lazy

if TYPE_CHECKING:
    from sdde.delays._base import DelayLaw
    from sdde.delays._composite import (
        Empirical,
        Equilibrium,
        Mixture,
        Shifted,
        shifted_exponential,
        two_point,
    )
    from sdde.delays._families import (
        Deterministic,
        Exponential,
        Gamma,
        LogNormal,
        Pareto,
        ScipyLaw,
        Uniform,
        Weibull,
        erlang,
    )
    from sdde.delays._geometric_sum import GeometricSum
    from sdde.delays._spec import EXAMPLES, families, parse

# Loaded on first use, so that the command line can show its help and refuse bad input
# without importing the laws (and NumPy).
_EXPORTS = {
    "DelayLaw": "sdde.delays._base",
    "Empirical": "sdde.delays._composite",
    "Equilibrium": "sdde.delays._composite",
    "Mixture": "sdde.delays._composite",
    "Shifted": "sdde.delays._composite",
    "shifted_exponential": "sdde.delays._composite",
    "two_point": "sdde.delays._composite",
    "Deterministic": "sdde.delays._families",
    "Exponential": "sdde.delays._families",
    "Gamma": "sdde.delays._families",
    "LogNormal": "sdde.delays._families",
    "Pareto": "sdde.delays._families",
    "ScipyLaw": "sdde.delays._families",
    "Uniform": "sdde.delays._families",
    "Weibull": "sdde.delays._families",
    "erlang": "sdde.delays._families",
    "GeometricSum": "sdde.delays._geometric_sum",
    "EXAMPLES": "sdde.delays._spec",
    "families": "sdde.delays._spec",
    "parse": "sdde.delays._spec",
}
__all__ = [
    "EXAMPLES",
    "DelayLaw",
    "Deterministic",
    "Empirical",
    "Equilibrium",
    "Exponential",
    "Gamma",
    "GeometricSum",
    "LogNormal",
    "Mixture",
    "Pareto",
    "ScipyLaw",
    "Shifted",
    "Uniform",
    "Weibull",
    "erlang",
    "families",
    "parse",
    "shifted_exponential",
    "two_point",
]


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return __all__
