"""``critical_kappa`` per built-in law against the plain SciPy routes (issue 21).

Run: ``.venv/bin/python benchmarks/bench_critical_kappa.py`` (and, for the code before the
issue, ``PYTHONPATH=/work/before .venv/bin/python benchmarks/bench_critical_kappa.py``).

What is measured, per law, interleaved in one process (median of :data:`REPEATS` rounds,
after one warm-up call of each):

* **sdde**: ``critical_kappa(law)`` on a *fresh* law object each round (parsed outside the
  timer), so nothing cached on the law or its kernel is reused; ``sdde (same)`` times a
  second call on the same object (no result cache exists: it recomputes too).
* **the other**: the route a user would write with SciPy. For laws with a closed-form
  transform (written out here in numpy, mean 1): ``Re φ(iω)`` on a grid (step 0.05, or
  0.01 for the two-point law), ``scipy.optimize.brentq`` on every sign change (the phase
  condition ``arg φ(iω) = −π/2``), ``κ = −ω / Im φ(iω)``, stopping once ``ω`` exceeds the
  best ``κ`` (``|φ| <= 1``) or 100. For Pareto, lognormal and Weibull laws the same scan on
  a 0.25 grid with ``φ(iω)`` from ``scipy.integrate.quad(pdf, lo, inf, weight="cos"/"sin")``
  (QUADPACK's QAWF Fourier integral) and brentq on ``Re φ``.
* **ratio**: other / sdde (above 1: sdde is faster); **agree**: ``|κ_sdde/κ_other − 1|``
  (0 when both are infinite).
"""

from __future__ import annotations

import math
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
from scipy import integrate, optimize

from sdde import delays
from sdde.stability.mean_field import critical_kappa

REPEATS = 7
KAPPA_MAX = 100.0
Phi = Callable[[np.ndarray], np.ndarray]


def gamma_phi(k: float) -> Phi:
    return lambda w: (1.0 + 1j * w / k) ** (-k)


def uniform_phi(low: float, high: float) -> Phi:
    a, b = 2 * low / (low + high), 2 * high / (low + high)
    return lambda w: np.exp(-1j * w * a) * (1 - np.exp(-1j * w * (b - a))) / (1j * w * (b - a))


def two_point_phi(p: float, slowdown: float) -> Phi:
    a = 1.0 / (1.0 - p + p * slowdown)
    return lambda w: (1 - p) * np.exp(-1j * w * a) + p * np.exp(-1j * w * slowdown * a)


#: (spec, closed-form φ of the mean-1 law or None for a quadrature law, grid step)
CLOSED: list[tuple[str, Phi, float]] = [
    ("deterministic:value=1", lambda w: np.exp(-1j * w), 0.05),
    ("exponential:mean=1", lambda w: 1.0 / (1.0 + 1j * w), 0.05),
    ("shifted-exp:shift=0.5,mean=1",
     lambda w: np.exp(-0.5j * w) / (1.0 + 0.5j * w), 0.05),
    ("gamma:shape=2,mean=1", gamma_phi(2.0), 0.05),
    ("erlang:k=3,mean=1", gamma_phi(3.0), 0.05),
    ("gamma:shape=0.5,mean=1", gamma_phi(0.5), 0.05),
    ("gamma:shape=1e-4,mean=1", gamma_phi(1e-4), 0.05),
    ("uniform:low=0.5,high=1.5", uniform_phi(0.5, 1.5), 0.05),
    ("two-point:p=0.05,slowdown=10,mean=1", two_point_phi(0.05, 10.0), 0.01),
]
QUADRATURE = ["lognormal:mean=1,cv=0.5", "lognormal:mean=1,cv=1", "weibull:shape=1.5,mean=1",
              "weibull:shape=2,mean=1", "pareto:shape=2.5,mean=1", "pareto:shape=1.2,mean=1",
              "weibull:shape=0.12,mean=1", "lognormal:mean=1,cv=400"]


def phase_brentq(phi: Phi, step: float) -> float:
    """Smallest crossing κ from a grid scan of ``Re φ(iω)`` and brentq on each sign change."""
    def re(w: float) -> float:
        return float(np.real(phi(np.array([w]))[0]))

    best, start = math.inf, 0.0
    while start < min(best, KAPPA_MAX):
        w = start + step * np.arange(1, 257)
        values = np.real(phi(w))
        left = np.concatenate([[re(start) if start > 0 else 1.0], values[:-1]])
        ends = np.concatenate([[start], w[:-1]])
        for i in np.flatnonzero(np.sign(left) * np.sign(values) <= 0):
            root = optimize.brentq(re, ends[i], w[i], xtol=1e-14, rtol=8.9e-16)
            im = float(np.imag(phi(np.array([root]))[0]))
            if im < 0:
                best = min(best, -root / im)
        start = float(w[-1])
    return best if best <= KAPPA_MAX else math.inf


def density(law: delays.DelayLaw) -> tuple[Callable[[float], float], float]:
    """The mean-1 law's density in plain ``math`` (scalar, as QUADPACK calls it) and the
    start of its support."""
    unit = law.normalized()
    if isinstance(unit, delays.LogNormal):
        mu, sigma = unit.mu, unit.sigma
        norm = 1.0 / (sigma * math.sqrt(2.0 * math.pi))
        return (lambda x: norm / x * math.exp(-0.5 * ((math.log(x) - mu) / sigma) ** 2)
                if x > 0 else 0.0), 0.0
    if isinstance(unit, delays.Weibull):
        k, lam = unit.shape, unit.scale
        return (lambda x: k / lam * (x / lam) ** (k - 1) * math.exp(-((x / lam) ** k))
                if x > 0 else 0.0), 0.0
    if isinstance(unit, delays.Pareto):
        a, xm = unit.shape, unit.scale
        return (lambda x: a / xm * (xm / x) ** (a + 1) if x >= xm else 0.0), xm
    raise ValueError(spec_error(law))


def spec_error(law: delays.DelayLaw) -> str:
    return f"no plain density for {law}"


def quad_phi(law: delays.DelayLaw) -> Phi:
    """``φ(iω)`` of the mean-1 law by QUADPACK's Fourier integrals (QAWF)."""
    pdf, lo = density(law)

    def phi(omega: np.ndarray) -> np.ndarray:
        out = []
        for w in np.atleast_1d(omega):
            cos = integrate.quad(pdf, lo, math.inf, weight="cos", wvar=float(w), limlst=100)[0]
            sin = integrate.quad(pdf, lo, math.inf, weight="sin", wvar=float(w), limlst=100)[0]
            out.append(complex(cos, -sin))
        return np.array(out)

    return phi


def quad_brentq(law: delays.DelayLaw) -> float:
    with warnings.catch_warnings():  # QUADPACK's notices on the heavy tails' cycles
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return phase_brentq(quad_phi(law), 0.25)


def timed(fn: Callable[[], float]) -> tuple[float, float]:
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def compare(spec: str, other: Callable[[], float], repeats: int = REPEATS) -> None:
    critical_kappa(delays.parse(spec))  # warm-up: imports, first compilation of paths
    other()
    fresh, same, base = [], [], []
    kappa = reference = math.nan
    for _ in range(repeats):
        law = delays.parse(spec)
        seconds, kappa = timed(lambda law=law: critical_kappa(law))
        fresh.append(seconds)
        same.append(timed(lambda law=law: critical_kappa(law))[0])
        seconds, reference = timed(other)
        base.append(seconds)
    t_sdde, t_other = statistics.median(fresh), statistics.median(base)
    agree = 0.0 if kappa == reference else abs(kappa / reference - 1.0)
    print(f"| {spec} | {kappa:.12g} | {1e3 * t_sdde:.3f} | {1e3 * statistics.median(same):.3f}"
          f" | {1e3 * t_other:.3f} | {t_other / t_sdde:.1f} | {agree:.1e} |", flush=True)


def main() -> None:
    print("| law | κ* (sdde) | sdde ms (fresh law) | sdde ms (same law) | the other ms | "
          "ratio | agree |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for spec, phi, step in CLOSED:
        compare(spec, lambda phi=phi, step=step: phase_brentq(phi, step))
    for spec in QUADRATURE:
        law = delays.parse(spec)
        compare(spec, lambda law=law: quad_brentq(law),
                repeats=5 if "cv=400" in spec else REPEATS)


if __name__ == "__main__":
    main()
