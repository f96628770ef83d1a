"""Computation-time laws of one worker round, and the spec strings that name them.

Every law is a frozen dataclass with moments, distribution functions, sampling from a
``numpy.random.Generator``, its Laplace–Stieltjes transform ``φ(z) = E[exp(-zX)]``, and
its equilibrium (forward-recurrence) law.

Layer 1 of 11, the bottom one: it imports only the shared ``sdde._numerics``; every
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
