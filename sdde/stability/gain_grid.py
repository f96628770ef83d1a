"""Per-mode functions of the gain ``κ``, tabulated once and interpolated with a checked error.

Every per-mode quantity of the analysis (the rightmost root, the decay rate, the stationary
variance) depends on a mode only through its gain ``κ = η n h``. A spectrum of a million
modes therefore needs the function on the range of its gains, not a million solves.
:func:`fit_gain_function` builds a piecewise Chebyshev interpolant in ``u = log κ``: panels
of Chebyshev–Lobatto nodes, each accepted only when two independent error estimates are
below the tolerance, and split in two otherwise:

* the size of its last two Chebyshev coefficients (for a function analytic near the panel
  they bound the interpolation error up to a small factor: Trefethen, *Approximation Theory
  and Approximation Practice*, ch. 8), and
* the difference between the interpolant and the function itself at two points that are
  not nodes (so a function that the coefficients misjudge is caught by evaluation).

Panels that still fail at the smallest width (a kink: the rightmost root switching between a
real root and a complex pair, or a root that could not be found) are marked *direct*: the
modes whose gains fall inside them are evaluated one by one by the caller, never
interpolated. The result of a query is therefore either interpolated within the tolerance
(as far as the two estimates can tell) or exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from numpy.polynomial.chebyshev import chebval

from sdde._numerics import FloatArray

#: Chebyshev degree of a panel (``DEGREE + 1`` Lobatto nodes).
DEGREE = 10
#: Widest panel, in ``log κ`` (a factor e² ≈ 7.4 in gain).
MAX_WIDTH = 2.0
#: Narrowest panel, in ``log κ``; a panel that still fails at this width is direct.
MIN_WIDTH = 1e-4
#: Where the test points sit inside a panel, in the reference interval ``[-1, 1]``: between
#: Lobatto nodes of degree :data:`DEGREE` (``cos(π k / 10)`` is never ±0.5 or ±0.15).
TEST_POINTS = (-0.5, 0.15)

GainFunction = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True)
class GainInterpolant:
    """A piecewise Chebyshev interpolant of a vector-valued ``f(κ)`` in ``log κ``.

    Attributes
    ----------
    edges : ndarray, shape (n_panels + 1,)
        Panel edges in ``log κ``, ascending.
    values : ndarray, shape (n_panels, DEGREE + 1, n_components)
        ``f`` at each panel's Lobatto nodes (NaN in direct panels).
    direct : ndarray of bool, shape (n_panels,)
        Panels where interpolation did not meet the tolerance: queries there are
        reported as needing a direct evaluation.
    error : ndarray, shape (n_panels,)
        The larger of the two error estimates of each accepted panel (NaN if direct).
    evaluations : int
        Calls of ``f`` at one gain that building the interpolant cost.
    tol : float
        The tolerance every accepted panel met.
    """

    edges: FloatArray
    values: FloatArray
    direct: npt.NDArray[np.bool_]
    error: FloatArray
    evaluations: int
    tol: float

    @property
    def n_panels(self) -> int:
        """Number of panels."""
        return int(self.edges.size - 1)

    def __call__(self, kappas: npt.ArrayLike) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """Interpolated values at ``kappas`` and the mask of gains that need a direct
        evaluation (inside a direct panel, or outside the interpolant's range).

        Returns
        -------
        values : ndarray, shape (n, n_components)
            NaN where the mask is set.
        needs_direct : ndarray of bool, shape (n,)
        """
        u = np.log(np.asarray(kappas, dtype=np.float64))
        panel = np.clip(np.searchsorted(self.edges, u, side="right") - 1, 0, self.n_panels - 1)
        outside = (u < self.edges[0]) | (u > self.edges[-1])
        needs = outside | self.direct[panel]
        out = np.full((u.size, self.values.shape[2]), np.nan)
        ok = np.flatnonzero(~needs)
        ok = ok[np.argsort(panel[ok], kind="stable")]  # one slice per panel
        bounds = np.searchsorted(panel[ok], np.arange(self.n_panels + 1))
        coefficients = self.coefficients
        for j in np.flatnonzero(np.diff(bounds)):
            rows = ok[bounds[j]:bounds[j + 1]]
            a, b = self.edges[j], self.edges[j + 1]
            x = np.clip((2.0 * u[rows] - a - b) / (b - a), -1.0, 1.0)
            out[rows] = chebval(x, coefficients[j]).T
        return out, needs

    @cached_property
    def coefficients(self) -> FloatArray:
        """Chebyshev coefficients of each panel's interpolant, shape like :attr:`values`."""
        return chebyshev_coefficients(self.values)


def lobatto_nodes(degree: int = DEGREE) -> FloatArray:
    """Chebyshev–Lobatto nodes ``cos(π k / degree)``, ``k = 0..degree`` (from 1 to −1)."""
    return np.asarray(np.cos(np.pi * np.arange(degree + 1) / degree), dtype=np.float64)


def chebyshev_coefficients(values: FloatArray) -> FloatArray:
    """Chebyshev coefficients ``c_0..c_p`` of the interpolants through Lobatto-node
    ``values`` (shape ``(n_panels, p + 1, m)``; node ``k`` at ``cos(π k / p)``): the
    discrete cosine transform of type I, ``c_j = (2/p) Σ'' f_k cos(π j k / p)`` with the
    end terms (and ``c_0``, ``c_p``) halved."""
    p = values.shape[1] - 1
    k = np.arange(p + 1)
    half = np.ones(p + 1)
    half[0] = half[-1] = 0.5
    transform = (2.0 / p) * half[:, None] * half[None, :] * np.cos(np.pi * np.outer(k, k) / p)
    return np.asarray(np.einsum("jk,nkm->njm", transform, values), dtype=np.float64)


def fit_gain_function(f: GainFunction, low: float, high: float, *, tol: float = 1e-9,
                      absolute: bool = False, degree: int = DEGREE,
                      max_width: float = MAX_WIDTH,
                      min_width: float = MIN_WIDTH) -> GainInterpolant:
    """Interpolate ``f`` on ``[low, high]`` (gains ``> 0``) to a checked tolerance.

    Parameters
    ----------
    f : callable
        ``f(kappas)`` for a 1-D array of gains returns an array of shape ``(n, m)``; NaN
        marks a value that could not be computed (its panel is refined, then direct).
    low, high : float
        The range of gains, ``0 < low <= high``.
    tol : float
        Accepted error of a panel: the Euclidean norm of the error over the components,
        relative to the panel's largest norm of ``f`` (or absolute, with ``absolute``).
    absolute : bool
        Measure the error absolutely (for a logarithm: a relative error of its argument).
    degree, max_width, min_width : int, float, float
        Chebyshev degree, widest and narrowest panel in ``log κ``.

    Returns
    -------
    GainInterpolant

    Examples
    --------
    >>> import numpy as np
    >>> g = fit_gain_function(lambda k: np.sqrt(k)[:, None], 1e-3, 10.0, tol=1e-12)
    >>> values, direct = g(np.array([0.5]))
    >>> bool(abs(values[0, 0] - np.sqrt(0.5)) < 1e-12), bool(direct[0])
    (True, False)
    """
    if not (0 < low <= high < math.inf):
        raise ValueError(f"gains must satisfy 0 < low <= high < inf, got {low!r}, {high!r}")
    nodes = lobatto_nodes(degree)
    tests = np.asarray(TEST_POINTS)
    ua, ub = math.log(low), math.log(high)
    if ub - ua < min_width:  # one gain (or a range narrower than a panel): one tiny panel
        centre = 0.5 * (ua + ub)
        ua, ub = centre - 0.5 * min_width, centre + 0.5 * min_width
    count = max(1, math.ceil((ub - ua) / max_width))
    pending = [(float(a), float(b)) for a, b in zip(np.linspace(ua, ub, count + 1)[:-1],
                                                   np.linspace(ua, ub, count + 1)[1:],
                                                   strict=True)]
    done: list[tuple[float, float, FloatArray | None, float]] = []
    evaluations = 0
    while pending:
        a = np.array([p[0] for p in pending])
        b = np.array([p[1] for p in pending])
        mid, half = 0.5 * (a + b), 0.5 * (b - a)
        points = np.concatenate([(mid[:, None] + half[:, None] * nodes).ravel(),
                                 (mid[:, None] + half[:, None] * tests).ravel()])
        raw = np.asarray(f(np.exp(points)), dtype=np.float64)
        evaluations += points.size
        raw = raw.reshape(points.size, -1)
        n = a.size
        at_nodes = raw[: n * nodes.size].reshape(n, nodes.size, -1)
        at_tests = raw[n * nodes.size:].reshape(n, tests.size, -1)
        errors = _panel_errors(at_nodes, at_tests, tests, absolute)
        split: list[tuple[float, float]] = []
        for i in range(n):
            if errors[i] <= tol:
                done.append((a[i], b[i], at_nodes[i], float(errors[i])))
            elif 2.0 * half[i] < 2.0 * min_width:
                done.append((a[i], b[i], None, math.nan))
            else:
                split += [(a[i], mid[i]), (mid[i], b[i])]
        pending = split
    done.sort(key=lambda p: p[0])
    m = raw.shape[1]
    values = np.full((len(done), nodes.size, m), np.nan)
    for i, (_a, _b, v, _e) in enumerate(done):
        if v is not None:
            values[i] = v
    edges = np.array([p[0] for p in done] + [done[-1][1]])
    return GainInterpolant(edges=edges, values=values,
                           direct=np.array([p[2] is None for p in done]),
                           error=np.array([p[3] for p in done]), evaluations=evaluations,
                           tol=tol)


def _panel_errors(at_nodes: FloatArray, at_tests: FloatArray, tests: FloatArray,
                  absolute: bool) -> FloatArray:
    """The larger of the coefficient-tail and the test-point estimate, per panel (inf where
    a value is NaN): ``|c_{p−1}| + |c_p|``, and the interpolant's miss at ``tests``."""
    c = chebyshev_coefficients(at_nodes)
    tail = np.linalg.norm(np.abs(c[:, -2]) + np.abs(c[:, -1]), axis=-1)
    basis = np.cos(np.outer(np.arange(c.shape[1]), np.arccos(tests)))  # T_j(x) = cos(j acos x)
    interpolated = np.einsum("jt,njm->ntm", basis, c)
    miss = np.linalg.norm(interpolated - at_tests, axis=-1).max(axis=1)
    error = np.maximum(tail, miss)
    if not absolute:
        scale = np.maximum(np.linalg.norm(at_nodes, axis=-1).max(axis=1), 1e-300)
        error = error / scale
    bad = ~np.all(np.isfinite(at_nodes), axis=(1, 2)) | ~np.all(np.isfinite(at_tests),
                                                                 axis=(1, 2))
    error[bad] = math.inf
    return np.asarray(error, dtype=np.float64)
