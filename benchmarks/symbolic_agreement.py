"""Symbolic against numerical results (issue 4): the largest relative disagreement.

Run: ``.venv/bin/python benchmarks/symbolic_agreement.py``. For each result family it
draws parameters from a fixed seed over the ranges of
``tests/test_symbolic_properties.py`` and reports the largest relative
difference between ``sdde.symbolic`` and sdde's numerical code (``critical_kappa``,
``characteristic_roots``, ``stationary_variance``). The tests assert 1e-9 (κ*, variance
of closed-form laws) and 1e-7 (variance of quadrature kernels); this prints what is seen.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from fractions import Fraction

import numpy as np
import sympy as sp

from sdde import delays
from sdde import symbolic as sym
from sdde.model.kernels import DelayKernel, StepPolicy
from sdde.stability.mean_field import critical_kappa, stationary_variance
from sdde.stability.roots import characteristic_roots

DRAWS = 20


def _rel(a: float, b: float) -> float:
    return 0.0 if a == b else abs(a - b) / abs(b)


def _thinned(rng: np.random.Generator) -> tuple[int, int, Fraction, Fraction]:
    k, threshold = int(rng.integers(1, 4)), int(rng.integers(0, 6))
    rho = Fraction(int(rng.integers(1, 41)), 2)
    gamma = Fraction(1) if rng.random() < 0.5 else Fraction(int(rng.integers(30, 100)), 100)
    return k, threshold, rho, gamma


def _thinned_pair(k: int, threshold: int, rho: Fraction,
                  gamma: Fraction) -> tuple[sym.SymbolicKernel, DelayKernel]:
    symbolic = sym.thinned_erlang(k, threshold, sp.Rational(rho.numerator, rho.denominator),
                                  sp.Rational(gamma.numerator, gamma.denominator))
    policy = StepPolicy() if gamma == 1 else StepPolicy("geometric", float(gamma))
    return symbolic, DelayKernel(delays.erlang(k, 1.0), threshold=threshold,
                                 updates_per_delay=float(rho), policy=policy)


def kappa_star(rng: np.random.Generator) -> Iterator[tuple[str, float]]:
    """κ*: symbolic threshold against the numerical scan."""
    yield "point delay", _rel(float(sym.critical_kappa(sym.point_delay()).kappa),
                              critical_kappa(delays.Deterministic(value=1.0)))
    formula = sym.erlang_threshold_formula()
    shape = sym.erlang().parameters["k"]
    for k in range(2, 21):
        yield "Erlang-k (k = 2..20)", _rel(float(formula.subs(shape, k)),
                                           critical_kappa(delays.erlang(k, 1.0)))
    for _ in range(DRAWS):
        a = float(rng.uniform(1e-3, 1.0))
        yield "uniform", _rel(float(sym.critical_kappa(sym.uniform(a)).kappa),
                              critical_kappa(delays.Uniform(low=1 - a, high=1 + a)))
        s = float(rng.uniform(0.05, 0.95))
        yield "shifted exponential", _rel(
            float(sym.critical_kappa(sym.shifted_exponential(s)).kappa),
            critical_kappa(delays.shifted_exponential(shift=s, mean=1.0)))
        p, r = float(rng.uniform(0.01, 0.5)), float(rng.uniform(1.5, 20.0))
        yield "two-point", _rel(float(sym.critical_kappa(sym.two_point(p, r)).kappa),
                                critical_kappa(delays.two_point(time=1.0, p=p, slowdown=r)))
        symbolic, kernel = _thinned_pair(*_thinned(rng))
        exact = sym.critical_kappa(symbolic).kappa
        if exact != sp.oo and float(exact) <= 500:
            yield "thinned Erlang-k", _rel(float(exact),
                                           critical_kappa(kernel, kappa_max=2 * float(exact)))


def damping(rng: np.random.Generator) -> Iterator[tuple[str, float]]:
    """Critical damping: the symbolic double root against the rightmost numerical root."""
    cases: list[tuple[str, sym.SymbolicKernel, delays.DelayLaw]] = [
        ("point delay", sym.point_delay(), delays.Deterministic(value=1.0))]
    cases += [("Erlang-k (k = 1..6)", sym.erlang(k), delays.erlang(k, 1.0)) for k in range(1, 7)]
    for name, kernel, law in cases:
        result = sym.critical_damping(kernel)
        roots = characteristic_roots(float(result.kappa), law, 2)
        # a double root is resolved to ~sqrt(eps) by any root finder
        yield name, _rel(float(roots[0].real), float(result.root))


def variance(rng: np.random.Generator) -> Iterator[tuple[str, float]]:
    """Stationary variance: closed form at σ = 1 against the Parseval integral."""
    cases: list[tuple[str, Callable[[], sym.SymbolicKernel], delays.DelayLaw]] = [
        ("point delay", sym.point_delay, delays.Deterministic(value=1.0)),
        ("exponential", sym.exponential, delays.Exponential(scale=1.0)),
        ("Erlang-2", lambda: sym.erlang(2), delays.erlang(2, 1.0)),
        ("Erlang-3", lambda: sym.erlang(3), delays.erlang(3, 1.0)),
    ]
    for name, make, law in cases:
        formula = sym.stationary_variance(make())
        top = critical_kappa(law)
        top = 10.0 if math.isinf(top) else top
        for fraction in rng.uniform(0.01, 0.9, DRAWS // 4):
            kappa = float(fraction * top)
            exact = float(formula.subs({sym.KAPPA: kappa, sym.SIGMA: 1}))
            yield name, _rel(stationary_variance(kappa, law), exact)
    symbolic, kernel = _thinned_pair(1, 1, Fraction(2), Fraction(1))
    formula = sym.stationary_variance(symbolic)
    for kappa in (0.5, 2.0, 8.0):
        yield "thinned exponential K=1 ρ=2", _rel(
            stationary_variance(kappa, kernel),
            float(formula.subs({sym.KAPPA: kappa, sym.SIGMA: 1})))


def main() -> None:
    rng = np.random.default_rng(20261130)
    for title, family in [("kappa*", kappa_star), ("critical damping root", damping),
                          ("stationary variance", variance)]:
        worst: dict[str, float] = {}
        count: dict[str, int] = {}
        for name, err in family(rng):
            worst[name] = max(worst.get(name, 0.0), err)
            count[name] = count.get(name, 0) + 1
        print(f"\n{title}")
        for name in worst:
            print(f"  {name:32s} n={count[name]:3d}  max rel diff {worst[name]:.1e}")


if __name__ == "__main__":
    main()
