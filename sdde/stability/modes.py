"""Per-mode stability of a Hessian spectrum: direct for a few modes, gridded for a million.

:func:`solve_modes` answers, for every mode of a model, its certified unstable-root count,
rightmost root, decay rate, period, stationary variance and regime. Every one of these is
a function of the mode's gain ``κ`` alone (and the variance scales with the mode's noise
``σ²``), so:

* up to :data:`DIRECT_MODES` distinct gains each is solved on its own;
* beyond, the root and the unit-noise variance are tabulated on a piecewise Chebyshev grid
  in ``log κ`` with a checked error (:mod:`sdde.stability.gain_grid`) and interpolated;
  gains in panels that failed the check are solved on their own. Counts are 0 below the
  mean-field threshold ``κ*`` (it is the first gain at which a root reaches the imaginary
  axis, and every root is in the left half-plane for small ``κ``) and certified by the
  argument principle above it. Regime, verdict and headroom are closed forms in ``κ``
  given the thresholds.

:class:`ModeTable` holds the answers as columns (a million modes cost arrays, not a million
objects) and reads as a sequence of :class:`ModeResult`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from sdde._numerics import ComplexArray, FloatArray, finite_or_none
from sdde._progress import ProgressCallback
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.kernels import DelayKernel
from sdde.stability.gain_grid import GainInterpolant, fit_gain_function
from sdde.stability.mean_field import (
    phase_type_stationary_variance,
    stationary_variance,
    unit_noise_variances,
)
from sdde.stability.roots import (
    characteristic_roots,
    continued_root,
    dominant_root,
    unstable_root_count,
)
from sdde.stability.thresholds import DivergenceThresholds, Regime

#: Most distinct gains solved one by one; larger spectra are gridded.
DIRECT_MODES = 64
#: Relative error the gridded roots and variances are held to (the per-mode values are
#: compared with direct solves to 1e-6 in the tests: two orders of margin for the
#: estimate's own uncertainty).
GRID_TOL = 1e-8
#: Most gains above ``κ*`` whose unstable roots are counted one by one in a gridded
#: spectrum; beyond, the count is taken at this many gains and located by bisection
#: where it changes.
DIRECT_COUNTS = 256
#: In a gridded spectrum, one gain in this many is solved in full; the others are
#: continued from their two neighbouring full solutions (:func:`continued_roots`).
CONTINUATION_STRIDE = 4
#: The keys of :attr:`ModeTable.grid` a gridded spectrum fills (None when solved directly).
GRID_KEYS = ("tol", "root_panels", "root_evaluations", "direct_roots", "variance_panels",
             "variance_evaluations")
REGIMES: tuple[Regime, ...] = ("converges", "heavy-tailed", "diverges")


@dataclass(frozen=True)
class ModeResult:
    """Stability of one Hessian mode.

    Attributes
    ----------
    curvature : float
        ``h``.
    kappa : float
        ``κ = η n h``.
    unstable_roots : int or None
        Roots of the mean-field characteristic equation in the closed right half-plane
        (argument principle); None on the boundary.
    stable : bool or None
        Whether a run of the server converges (``κ`` below the almost-sure threshold;
        None: within that threshold's interval).
    headroom : float
        ``κ_as / κ``: the factor by which the learning rate can grow before a run diverges.
    root : complex or None
        Rightmost characteristic root (units of the mean delay), if computed.
    decay_rate : float
        ``−Re z₀ / E[X]`` per time unit (negative: growth); NaN if not computed.
    period : float
        Oscillation period ``2π E[X] / |Im z₀|`` (inf for a real root).
    variance : float
        Stationary variance of the mode (inf at or above the mean-square threshold; NaN
        if not computed).
    regime : {"converges", "heavy-tailed", "diverges"}
        Below the mean-square threshold, between it and the almost-sure one (runs
        converge, the stationary loss has infinite variance), or above.
    """

    curvature: float
    kappa: float
    unstable_roots: int | None
    stable: bool | None
    headroom: float
    root: complex | None
    decay_rate: float
    period: float
    variance: float
    regime: Regime = "converges"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (None for non-finite values)."""
        return {"h": self.curvature, "kappa": self.kappa,
                "unstable_roots": self.unstable_roots, "converges": self.stable,
                "regime": self.regime,
                "margin": finite_or_none(self.headroom),
                "rightmost_root": None if self.root is None
                else {"re": self.root.real, "im": self.root.imag},
                "decay_rate": finite_or_none(self.decay_rate),
                "period": finite_or_none(self.period),
                "stationary_variance": finite_or_none(self.variance)}


@dataclass(frozen=True, eq=False)
class ModeTable(Sequence[ModeResult]):
    """Every mode's answers as columns, in ascending gain; a sequence of :class:`ModeResult`.

    Attributes
    ----------
    curvature, kappa, headroom, decay_rate, period, variance : ndarray of float
        As in :class:`ModeResult` (one entry per mode).
    unstable_roots : ndarray of int
        Certified count, −1 where unknown (on the boundary).
    stable : ndarray of int8
        1 converges, 0 diverges, −1 within the almost-sure threshold's interval.
    root : ndarray of complex
        Rightmost root, NaN where none was found.
    regime : ndarray of int8
        Index into :data:`REGIMES`.
    exact : ndarray of bool
        Whether the mode's root was solved for it (else interpolated on the gain grid).
    grid : dict
        How the spectrum was solved: ``method`` ("direct" or "grid"), and for a grid its
        panels, evaluations, tolerance and the number of modes solved directly.
    """

    curvature: FloatArray
    kappa: FloatArray
    unstable_roots: npt.NDArray[np.int64]
    stable: npt.NDArray[np.int8]
    headroom: FloatArray
    root: ComplexArray
    decay_rate: FloatArray
    period: FloatArray
    variance: FloatArray
    regime: npt.NDArray[np.int8]
    exact: npt.NDArray[np.bool_]
    grid: dict[str, Any]

    @classmethod
    def from_results(cls, results: Sequence[ModeResult]) -> ModeTable:
        """A table of solved modes from :class:`ModeResult` records (ascending gain)."""
        def column(name: str, dtype: Any) -> Any:
            return np.array([getattr(r, name) for r in results], dtype=dtype)

        roots = [complex(math.nan, math.nan) if r.root is None else r.root for r in results]
        return cls(curvature=column("curvature", float), kappa=column("kappa", float),
                   unstable_roots=np.array([-1 if r.unstable_roots is None
                                            else r.unstable_roots for r in results],
                                           dtype=np.int64),
                   stable=np.array([-1 if r.stable is None else int(r.stable)
                                    for r in results], dtype=np.int8),
                   headroom=column("headroom", float), root=np.array(roots, dtype=complex),
                   decay_rate=column("decay_rate", float), period=column("period", float),
                   variance=column("variance", float),
                   regime=np.array([REGIMES.index(r.regime) for r in results], dtype=np.int8),
                   exact=np.ones(len(results), dtype=bool),
                   grid={"method": "direct", "gains": len(results),
                         **dict.fromkeys(GRID_KEYS)})

    def __len__(self) -> int:
        return int(self.kappa.size)

    @overload
    def __getitem__(self, index: int) -> ModeResult: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ModeResult]: ...

    def __getitem__(self, index: int | slice) -> ModeResult | Sequence[ModeResult]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = range(len(self))[index]
        count = int(self.unstable_roots[i])
        stable = int(self.stable[i])
        z = complex(self.root[i])
        return ModeResult(curvature=float(self.curvature[i]), kappa=float(self.kappa[i]),
                          unstable_roots=None if count < 0 else count,
                          stable=None if stable < 0 else bool(stable),
                          headroom=float(self.headroom[i]),
                          root=None if math.isnan(z.real) else z,
                          decay_rate=float(self.decay_rate[i]), period=float(self.period[i]),
                          variance=float(self.variance[i]),
                          regime=REGIMES[int(self.regime[i])])

    def __iter__(self) -> Iterator[ModeResult]:
        return (self[i] for i in range(len(self)))

    def regime_is(self, name: Regime) -> npt.NDArray[np.bool_]:
        """Mask of the modes in regime ``name``."""
        return np.asarray(self.regime == REGIMES.index(name))

    def verdict(self) -> bool | None:
        """False if a mode diverges, None if one is within the threshold's interval, else
        True."""
        if np.any(self.stable == 0):
            return False
        return None if np.any(self.stable < 0) else True

    def listed(self, limit: int) -> list[int]:
        """Indices of at most ``limit`` modes spread over the spectrum, both ends included."""
        if len(self) <= limit:
            return list(range(len(self)))
        return sorted(set(np.rint(np.linspace(0, len(self) - 1, limit)).astype(int).tolist()))


def solve_modes(model: AsyncSGDModel, thresholds: DivergenceThresholds,
                progress: ProgressCallback | None = None) -> ModeTable:
    """Every mode's stability answers (see the module docstring for the method).

    Parameters
    ----------
    model : AsyncSGDModel
        The model; its modes in :attr:`~AsyncSGDModel.kappas` order.
    thresholds : DivergenceThresholds
        Mean-field, mean-square and almost-sure thresholds (regimes, verdicts).
    progress : callable, optional
        Called with the fraction done.

    Returns
    -------
    ModeTable
    """
    report = progress or (lambda _f: None)
    kernel, scale = model.kernel, model.mean_delay
    kappas = model.kappas
    sigma2 = model.noise_intensities
    unique, inverse = np.unique(kappas, return_inverse=True)
    kstar = thresholds.mean.kappa
    regime = np.where(unique >= thresholds.almost_sure.kappa, 2,
                      np.where(unique >= thresholds.mean_square.kappa, 1, 0)).astype(np.int8)
    needs_variance = (regime == 0) & _any_noise_per_gain(sigma2, inverse, unique.size)
    if unique.size <= DIRECT_MODES:
        counts = np.array([_count(float(k), kernel) for k in unique], dtype=np.int64)
        report(0.3)
        roots = np.array([_root(float(k), kernel, int(c)) for k, c in zip(unique, counts,
                                                                         strict=True)])
        report(0.8)
        unit_var = np.full(unique.size, math.inf)
        if np.any(needs_variance):
            unit_var[needs_variance] = _direct_variances(unique[needs_variance], kernel)
        exact = np.ones(unique.size, dtype=bool)
        grid: dict[str, Any] = {"method": "direct", "gains": int(unique.size),
                                **dict.fromkeys(GRID_KEYS)}
    else:
        counts = _grid_counts(unique, kernel, kstar)
        report(0.2)
        roots, exact, root_grid = _grid_roots(unique, kernel, kstar)
        report(0.7)
        unit_var, var_grid = _grid_variances(unique, needs_variance, kernel)
        grid = {"method": "grid", "gains": int(unique.size), "tol": GRID_TOL,
                "root_panels": root_grid.n_panels, "root_evaluations": root_grid.evaluations,
                "direct_roots": int(np.count_nonzero(exact)),
                "variance_panels": None if var_grid is None else var_grid.n_panels,
                "variance_evaluations": None if var_grid is None else var_grid.evaluations}
    report(0.9)
    surely = thresholds.almost_sure
    stable = np.where(np.abs(unique - surely.kappa) < surely.half_width, -1,
                      (regime != 2).astype(np.int8)).astype(np.int8)
    z = roots[inverse]
    imag = np.abs(z.imag)
    with np.errstate(divide="ignore", invalid="ignore"):
        period = np.where(np.isnan(z.real) | (imag < 1e-12), math.inf,
                          2 * math.pi * scale / imag)
    converging = regime[inverse] == 0
    variance = np.full(kappas.size, math.inf)
    variance[converging] = 0.0
    noisy = converging & (sigma2 > 0)
    variance[noisy] = sigma2[noisy] * unit_var[inverse[noisy]]
    table = ModeTable(curvature=model.curvatures, kappa=kappas,
                      unstable_roots=counts[inverse], stable=stable[inverse],
                      headroom=surely.kappa / kappas, root=z, decay_rate=-z.real / scale,
                      period=np.asarray(period, dtype=np.float64), variance=variance,
                      regime=regime[inverse], exact=exact[inverse], grid=grid)
    report(1.0)
    return table


def _any_noise_per_gain(sigma2: FloatArray, inverse: npt.NDArray[np.intp],
                        n_unique: int) -> npt.NDArray[np.bool_]:
    """Whether any mode of each distinct gain has noise."""
    noisy = np.zeros(n_unique, dtype=bool)
    noisy[inverse[sigma2 > 0]] = True
    return noisy


def _direct_variances(kappas: FloatArray, kernel: DelayKernel) -> FloatArray:
    """Unit-noise variances gain by gain: the Lyapunov equation of a rational kernel, else
    :func:`stationary_variance`'s adaptive integral (to about 1e-10)."""
    exact = phase_type_stationary_variance(float(kappas[0]), kernel)
    if exact is not None:
        return unit_noise_variances(kappas, kernel)
    return np.array([stationary_variance(float(k), kernel) for k in kappas])


def _count(kappa: float, kernel: DelayKernel) -> int:
    count = unstable_root_count(kappa, kernel)
    return -1 if count is None else int(count)


def _root(kappa: float, kernel: DelayKernel, count: int) -> complex:
    """The rightmost root (NaN if none was found); the certified count steers the search."""
    z = characteristic_roots(kappa, kernel, n=2, unstable_count=None if count < 0 else count)
    if z.size:
        return complex(z[0])
    found = dominant_root(kappa, kernel)  # a rational kernel's continued root is still exact
    return complex(math.nan, math.nan) if found is None else complex(found)


def _grid_counts(unique: FloatArray, kernel: DelayKernel, kstar: float) -> npt.NDArray[np.int64]:
    """Counts of a gridded spectrum: 0 below ``κ*``; above, one by one for up to
    :data:`DIRECT_COUNTS` gains, else at that many and bisected where they change."""
    counts = np.zeros(unique.size, dtype=np.int64)
    above = np.flatnonzero(unique >= kstar)
    if above.size <= DIRECT_COUNTS:
        counts[above] = [_count(float(k), kernel) for k in unique[above]]
        return counts
    picks = np.unique(np.rint(np.linspace(above[0], above[-1], DIRECT_COUNTS)).astype(int))
    known = {int(i): _count(float(unique[i]), kernel) for i in picks}
    for lo, hi in itertools.pairwise(picks):
        a, b = int(lo), int(hi)
        while b - a > 1 and known[a] != known[b]:  # the change lies between a and b
            mid = (a + b) // 2
            known[mid] = _count(float(unique[mid]), kernel)
            a, b = (mid, b) if known[mid] == known[a] else (a, mid)
        counts[int(lo):int(hi) + 1] = known[int(lo)]
        counts[b:int(hi) + 1] = known[int(hi)]
    for i, c in known.items():
        counts[i] = c
    return counts


def _grid_roots(unique: FloatArray, kernel: DelayKernel,
                kstar: float) -> tuple[ComplexArray, npt.NDArray[np.bool_], GainInterpolant]:
    """Rightmost roots of a gridded spectrum: ``z/κ`` interpolated in ``log κ``."""

    def f(k: FloatArray) -> FloatArray:
        z = continued_roots(k, kernel, kstar)
        return np.column_stack([z.real / k, np.abs(z.imag) / k])

    grid = fit_gain_function(f, float(unique[0]), float(unique[-1]), tol=GRID_TOL)
    values, direct = grid(unique)
    roots = (values[:, 0] + 1j * values[:, 1]) * unique
    for i in np.flatnonzero(direct):
        roots[i] = _solved_root(float(unique[i]), kernel, kstar)
    return np.asarray(roots, dtype=np.complex128), np.asarray(direct), grid


def continued_roots(kappas: FloatArray, kernel: DelayKernel, kstar: float,
                    stride: int = CONTINUATION_STRIDE) -> ComplexArray:
    """Rightmost roots (``Im >= 0``) at many gains: solved in full at every ``stride``-th
    gain (in ascending order, both ends and every gain at or above ``κ*`` included), and
    between them continued by Newton's method from both neighbouring full solutions.

    A continued root is kept only when the continuations from the left and from the right
    reach the same root (to ``1e-9 (1 + |z|)``): if the rightmost branch changed between
    the two full solutions (a real root meeting another and leaving as a complex pair),
    they reach different roots and the gain is solved in full. NaN where none is found.
    """
    order = np.argsort(kappas, kind="stable")
    k = np.asarray(kappas, dtype=np.float64)[order]
    full = np.zeros(k.size, dtype=bool)
    full[::max(stride, 1)] = True
    full[-1] = True
    full |= (k >= kstar) | kernel.heavy_tailed
    z = np.full(k.size, complex(math.nan, math.nan))
    for i in np.flatnonzero(full):
        z[i] = _solved_root(float(k[i]), kernel, kstar)
    anchors = np.flatnonzero(full)
    for i in np.flatnonzero(~full):
        j = int(np.searchsorted(anchors, i))
        left, right = anchors[j - 1], anchors[j]
        guesses = [z[left] * k[i] / k[left], z[right] * k[i] / k[right]]
        reached = [continued_root(float(k[i]), kernel, complex(g)) for g in guesses]
        a, b = reached
        if a is not None and b is not None and abs(a - b) <= 1e-9 * (1.0 + abs(a)):
            z[i] = a
        else:
            z[i] = _solved_root(float(k[i]), kernel, kstar)
    out = np.empty_like(z)
    out[order] = z
    return out


def _solved_root(kappa: float, kernel: DelayKernel, kstar: float) -> complex:
    """:func:`_root` with the count: 0 below ``κ*`` (a theorem), certified above."""
    z = _root(kappa, kernel, 0 if kappa < kstar else _count(kappa, kernel))
    return complex(z.real, abs(z.imag))


def _grid_variances(unique: FloatArray, wanted: npt.NDArray[np.bool_],
                    kernel: DelayKernel) -> tuple[FloatArray, GainInterpolant | None]:
    """Unit-noise stationary variances of a gridded spectrum: ``log(κ v)`` interpolated in
    ``log κ`` (it tends to a constant as ``κ → 0``; its error is the relative error of
    ``v``)."""
    out = np.full(unique.size, math.inf)
    if not np.any(wanted):
        return out, None
    k = unique[wanted]

    def f(x: FloatArray) -> FloatArray:
        return np.log(x * unit_noise_variances(x, kernel))[:, None]

    grid = fit_gain_function(f, float(k[0]), float(k[-1]), tol=GRID_TOL, absolute=True)
    values, direct = grid(k)
    v = np.exp(values[:, 0]) / k
    if np.any(direct):
        v[direct] = unit_noise_variances(k[direct], kernel)
    out[wanted] = v
    return out, grid
