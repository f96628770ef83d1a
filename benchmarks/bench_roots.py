"""Rightmost characteristic roots (issue 21): sdde vs tdscontrol on the same problems.

Run: ``.venv/bin/python benchmarks/bench_roots.py`` (and, for the figures before the
issue, ``PYTHONPATH=/work/before .venv/bin/python benchmarks/bench_roots.py``).

For each delay law (mean 1) at gain ``κ = 1`` it times, interleaved in one process,
median of 7 repeats:

* ``sdde warm``: ``characteristic_roots(κ, law, n=6)`` called again with the same law
  (what a worker-count search or a chart does: one kernel at many gains);
* ``sdde cold``: the same with a law equal up to ``1e-12`` in its mean (a new kernel, so
  its quadrature rules and generator are built inside the timing);
* the peer: ``tdscontrol.roots`` of the same equation written as its peer would: a
  point delay as one delay; an exponential/Erlang law as the linear ODE of the chain
  trick (exact; tdscontrol needs a delay, so the peer there is ``numpy.linalg.eigvals``
  of the ODE's matrix, all the spectrum there is); any other law as a multi-delay
  system ``x' = −κ Σ_j w_j x(t − x_j)``
  from a 32-point Gauss–Legendre rule of its density on ``[0, q₀.₉₉₉]`` (weights
  renormalised; building the system is outside the timing), asked for the roots with
  ``Re z >`` sdde's sixth root minus 0.1.

Accuracy agreement: ``|z₀ − z₀'|`` between the rightmost roots (``Im >= 0`` member) of
sdde and tdscontrol. For the multi-delay forms this is the peer's quadrature error (the
32-point rule is not the law), for the exact forms (point delay, chains) both are exact.
Also printed: how many roots each returns (gamma-2: sdde now returns the whole spectrum
of the cubic, its real root near −3.13 included).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

try:
    import tdscontrol
except ImportError:  # a peer, not a dependency of sdde
    raise SystemExit("bench_roots.py compares against tdscontrol: "
                     "pip install -e '.[bench]'") from None

from sdde import delays
from sdde.stability.roots import characteristic_roots

KAPPA = 1.0
N_ROOTS = 6
REPEATS = 7
LAWS = ["deterministic:value=1", "exponential:mean=1", "gamma:shape=2,mean=1",
        "uniform:low=0,high=2", "gamma:shape=2.5,mean=1", "lognormal:mean=1,cv=0.5",
        "pareto:shape=2.5,mean=1", "weibull:shape=1.5,mean=1",
        "shifted-exp:shift=0.5,mean=1"]
QUADRATURE_POINTS = 32


def _matrix(value: float | np.ndarray) -> np.ndarray:
    return np.asfortranarray(np.atleast_2d(np.asarray(value, dtype=np.float64)))


def peer_solver(law: delays.DelayLaw, kappa: float) -> tuple[str, Callable[[float], object]]:
    """The equation ``z + κ φ(z) = 0`` as its peer would solve it (module docstring): a
    label and ``bound -> roots with Re z > bound``."""
    law = law.normalized()
    if isinstance(law, delays.Deterministic):
        system = tdscontrol.tds([_matrix(0.0), _matrix(-kappa)], [0.0, 1.0])
        return "tds point", lambda bound: tdscontrol.roots(system, bound)
    shape = 1.0 if isinstance(law, delays.Exponential) else getattr(law, "shape", None)
    if isinstance(law, delays.Exponential | delays.Gamma) and float(shape).is_integer():
        k, rate = int(shape), 1.0 / law.scale  # x' = −κ y_k, y_1' = r (x − y_1), ...
        a = np.zeros((k + 1, k + 1))
        a[0, k] = -kappa
        for j in range(1, k + 1):
            a[j, j - 1], a[j, j] = rate, -rate
        # tdscontrol needs a delay; with none the peer is the ODE's eigenvalues
        return "eig(chain)", lambda bound: np.linalg.eigvals(a)
    lo = float(law.support[0])
    hi = float(law.quantile(0.999))
    x, w = np.polynomial.legendre.leggauss(QUADRATURE_POINTS)
    nodes = lo + (hi - lo) * (x + 1.0) / 2.0
    weights = w * (hi - lo) / 2.0 * np.asarray(law.pdf(nodes), dtype=np.float64)
    weights /= weights.sum()
    system = tdscontrol.tds([_matrix(0.0)] + [_matrix(-kappa * v) for v in weights],
                            [0.0] + [float(t) for t in nodes])
    return f"tds {QUADRATURE_POINTS}-delay", lambda bound: tdscontrol.roots(system, bound)


def rightmost(z: np.ndarray) -> complex:
    z = np.asarray(z, dtype=np.complex128)
    top = z.real.max()
    near = z[z.real >= top - 1e-9 * (1 + abs(top))]
    return complex(near[np.argmax(near.imag)])


def interleaved(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall time of each function, the functions called in turn each repeat."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, times, strict=True):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return [statistics.median(t) for t in times]


def cold_law(spec: str, counter: list[int]) -> delays.DelayLaw:
    """A law equal to ``spec`` up to ``1e-12`` in its time scale: a new kernel every call
    (its rules and generator are built inside the timing, in both trees)."""
    counter[0] += 1
    nudge = 1.0 + 1e-12 * counter[0]
    for key, value in (("mean=1", "mean"), ("value=1", "value"), ("high=2", "high")):
        if key in spec:
            number = float(key.split("=")[1]) * nudge
            return delays.parse(spec.replace(key, f"{value}={number!r}"))
    raise ValueError(spec)


def main() -> None:
    header = (f"{'law':32s} {'peer':>13s} {'sdde warm':>10s} {'sdde cold':>10s} "
              f"{'peer':>9s} {'warm/peer':>9s} {'cold/peer':>9s} {'|Δz₀|':>9s} "
              f"{'n sdde':>6s} {'n peer':>6s}")
    print(f"rightmost roots at κ = {KAPPA}, n = {N_ROOTS}; times in ms, median of "
          f"{REPEATS}, interleaved")
    print(header)
    for spec in LAWS:
        law = delays.parse(spec)
        ours = characteristic_roots(KAPPA, law, n=N_ROOTS)
        label, peer = peer_solver(law, KAPPA)
        bound = float(ours.real.min()) - 0.1
        theirs = np.asarray(peer(bound))
        theirs = theirs[theirs.real > bound]
        counter = [0]
        warm, cold, other = interleaved([
            lambda law=law: characteristic_roots(KAPPA, law, n=N_ROOTS),
            lambda spec=spec, counter=counter: characteristic_roots(
                KAPPA, cold_law(spec, counter), n=N_ROOTS),
            lambda peer=peer, bound=bound: peer(bound),
        ], REPEATS)
        gap = abs(rightmost(ours) - rightmost(theirs))
        print(f"{spec:32s} {label:>13s} {warm * 1e3:10.3f} {cold * 1e3:10.3f} "
              f"{other * 1e3:9.3f} {warm / other:9.2f} {cold / other:9.2f} {gap:9.1e} "
              f"{ours.size:6d} {theirs.size:6d}")
    gamma2 = characteristic_roots(KAPPA, delays.parse("gamma:shape=2,mean=1"), n=10)
    print("gamma-2 at κ = 1, every root sdde returns:", np.round(gamma2, 6))


if __name__ == "__main__":
    main()
