"""Reference thinned Erlang-k kernels for the symbolic tests, built without sdde.symbolic.

A gradient of delay ``u`` (Erlang-k, mean 1) has Poisson(``ρu``) staleness; with threshold
``K`` and step ``γ^s`` the kernel's transform is ``φ = Σ_{s<=K} c_s (z+ρ+k)^{−(s+k)}`` with
``c_s = (γρ)^s k^k (s+k−1)! / (s! (k−1)!)``. Here it is in numpy (coefficients, transform,
characteristic polynomial), as sdde's numerical kernel, and as the symbolic kernel with
exact rational parameters. Shared by tests/test_symbolic.py and
tests/test_symbolic_properties.py.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
import sympy as sp
from numpy.polynomial import polynomial as npoly

from sdde import delays
from sdde import symbolic as sym
from sdde.model.kernels import DelayKernel, StepPolicy


def to_float(expr: sp.Expr) -> float:
    """A sympy number as a float (``oo`` → ``inf``)."""
    return math.inf if expr == sp.oo else float(expr)


def thinned_coefficients(k: int, threshold: int, rho: Fraction, gamma: Fraction) -> list[float]:
    """``c_s = (γρ)^s k^k (s+k−1)! / (s! (k−1)!)``, ``s = 0..K``."""
    return [float((gamma * rho) ** s * k**k * math.comb(s + k - 1, s))
            for s in range(threshold + 1)]


def thinned_phi(z: complex | np.ndarray, k: int, threshold: int, rho: Fraction,
                gamma: Fraction) -> complex | np.ndarray:
    """``φ(z) = Σ c_s (z+λ)^{−(s+k)}``, ``λ = ρ + k``."""
    lam = float(rho) + k
    return sum(c / (z + lam) ** (s + k)
               for s, c in enumerate(thinned_coefficients(k, threshold, rho, gamma)))


def thinned_polynomial(kappa: float, k: int, threshold: int, rho: Fraction,
                       gamma: Fraction) -> np.ndarray:
    """Coefficients (highest degree first, monic) of ``z Q(z) + κ P(z)`` with
    ``Q = (z+λ)^{K+k}``, ``P = Σ c_s (z+λ)^{K−s}``: the numerator of ``z + κ φ(z)``
    (linear chain trick), built with numpy only."""
    shift = np.array([float(rho) + k, 1.0])  # z + λ, ascending powers
    q = npoly.polypow(shift, threshold + k)
    p = functools.reduce(npoly.polyadd, (
        c * npoly.polypow(shift, threshold - s)
        for s, c in enumerate(thinned_coefficients(k, threshold, rho, gamma))))
    poly = npoly.polyadd(npoly.polymulx(q), kappa * p)
    return poly[::-1] / poly[-1]


def delay_kernel(k: int, threshold: int, rho: Fraction, gamma: Fraction) -> DelayKernel:
    """sdde's numerical (quadrature-summed) kernel of the same thinned law."""
    policy = StepPolicy() if gamma == 1 else StepPolicy("geometric", float(gamma))
    return DelayKernel(delays.erlang(k, 1.0), threshold=threshold,
                       updates_per_delay=float(rho), policy=policy)


def symbolic_thinned(k: int, threshold: int, rho: Fraction,
                     gamma: Fraction) -> sym.SymbolicKernel:
    """``sdde.symbolic.thinned_erlang`` with exact rational ``ρ`` and ``γ``."""
    return sym.thinned_erlang(k, threshold, sp.Rational(rho.numerator, rho.denominator),
                              sp.Rational(gamma.numerator, gamma.denominator))
