"""The transform ``φ(iω)`` of a heavy-tailed law on a band of the imaginary axis, to rounding.

For a law with a density ``f`` that continues analytically into the quarter plane
``Re x >= c, Im x <= 0`` and decays there (Pareto, lognormal), the tail of the Fourier
integral is turned onto the vertical line ``x = c − it`` (numerical steepest descent):

    ∫_c^∞ e^{−iωx} f(x) dx = −i e^{−iωc} ∫_0^∞ e^{−ωt} f(c − it) dt,

whose integrand decays like ``e^{−ωt}`` instead of oscillating: Gauss–Laguerre with
:data:`_LAGUERRE_NODES` nodes in ``s = ωt`` takes it to rounding once ``ωc >=``
:data:`_TAIL_PHASE` (``f(c − is/ω)`` varies on the scale ``s ~ ωc``). The body
``[lower, c]`` is a composite Gauss–Legendre rule in ``x`` on panels that are geometric
(resolving the density, smooth on a log scale) and at most ``4/ω_max`` wide (resolving
``e^{−iωx}``). A few hundred nodes, all closed form (no scipy.stats call), replace the
thousands that a rule cut far out in the tail needs, and no tail mass is left out.
``tests/stability/test_axis_transform.py`` checks it against mpmath's incomplete gamma
function (Pareto) and adaptive quadrature (lognormal).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sdde._numerics import ComplexArray, FloatArray, complex_times_real, gauss_legendre_panels
from sdde.delays import DelayLaw, LogNormal, Pareto, Weibull

#: Smallest ``ω c`` of the tail's line integral: Gauss–Laguerre with 24 nodes reaches
#: rounding from ``ωc ≈ 15`` on (Pareto shapes 1.2 to 3, lognormal); 20 leaves a margin.
_TAIL_PHASE = 20.0
_LAGUERRE_NODES = 24
#: Largest phase ``ω · (panel width)`` of the body's 10-point Gauss–Legendre panels
#: (4: rounding-level error up to the band's top, where 6 left 1e-12).
_PANEL_PHASE = 4.0
#: Mass of the law below which its body rule starts (lognormal): ``Φ(−9) ≈ 1e-19``.
_LOWER_SDS = 9.0
#: Levels whose quantiles cut a light-tailed law's panels (logit-spaced, as in
#: :mod:`sdde.delays._quadrature`); mass beyond the last is ``2e-16``.
_LEVELS = 1.0 / (1.0 + np.exp(-np.linspace(-36.0, 36.0, 49)))

Density = Callable[[ComplexArray], ComplexArray]


@dataclass(frozen=True)
class AnalyticForms:
    """Closed forms of one law that :class:`AxisTransform` needs.

    Attributes
    ----------
    density : callable
        The density; for laws with ``tail``, continued to complex ``z`` with ``Re z > 0``.
    cdf : callable
        The distribution function at real points.
    edges : callable
        ``edges(cut, width)``: body panel edges up to ``cut``, resolving the density, at
        most ``width`` apart.
    variation : float
        Total variation of the density: ``|φ(iω)| <= variation / ω``.
    variation2 : float
        Total variation of ``x² f(x)``: ``|d²/dω² φ(iω)| <= variation2 / ω``.
    tail : bool
        Whether the tail is a steepest-descent line (heavy tails); otherwise the body
        runs to ``upper``, beyond which the mass is below ``2e-16``.
    upper : float
        The light-tailed body's end (``inf`` with a tail).
    min_cut : float
        Where the steepest-descent line may start at the earliest: ``|f(c − it)|`` must
        not grow along it.
    """

    density: Density
    cdf: Callable[[FloatArray], FloatArray]
    edges: Callable[[float, float], FloatArray]
    variation: float
    variation2: float
    tail: bool = True
    upper: float = math.inf
    min_cut: float = 0.0


def analytic_forms(law: DelayLaw) -> AnalyticForms | None:
    """:class:`AnalyticForms` of a Pareto, lognormal or Weibull (shape > 1) law, else None."""
    if isinstance(law, Pareto):
        return _pareto_forms(float(law.shape), float(law.scale))
    if isinstance(law, LogNormal):
        return _lognormal_forms(float(law.mu), float(law.sigma))
    if isinstance(law, Weibull) and law.shape > 1.0:
        return _weibull_forms(float(law.shape), float(law.scale))
    return None


def _pareto_forms(shape: float, scale: float) -> AnalyticForms:
    def density(z: ComplexArray) -> ComplexArray:
        return np.asarray(shape / scale * np.exp(-(shape + 1.0) * np.log(z / scale)),
                          dtype=np.complex128)

    def cdf(x: FloatArray) -> FloatArray:
        ratio = scale / np.maximum(x, scale)
        return np.asarray(-np.expm1(shape * np.log(ratio)), dtype=np.float64)

    # f jumps to shape/scale at the scale and falls; so does x² f (to shape·scale)
    return AnalyticForms(density, cdf, functools.partial(_body_edges, scale, 0.25),
                         2.0 * shape / scale, 2.0 * shape * scale)


def _lognormal_forms(mu: float, sigma: float) -> AnalyticForms:
    from scipy import special

    norm = 1.0 / (sigma * math.sqrt(2.0 * math.pi))

    def density(z: ComplexArray) -> ComplexArray:
        t = (np.log(z) - mu) / sigma
        return norm * np.exp(-0.5 * t * t) / z

    def cdf(x: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore"):
            return np.asarray(special.ndtr((np.log(x) - mu) / sigma), dtype=np.float64)

    lower, top = math.exp(mu - _LOWER_SDS * sigma), math.exp(mu + _LOWER_SDS * sigma)

    def edges(cut: float, width: float) -> FloatArray:  # nothing past ``top`` (1e-19)
        return _body_edges(lower, min(0.25, sigma), min(cut, top), width)

    peak = norm * math.exp(0.5 * sigma * sigma - mu)  # f at the mode e^{μ − σ²}
    peak2 = norm * math.exp(mu + 0.5 * sigma * sigma)  # x² f at its mode e^{μ + σ²}
    # On z = r e^{iθ} (|θ| < π/2) |f| ∝ exp(−((log r − μ)² − θ²)/2σ²)/r: it cannot grow
    # along the line from c once log c − μ >= π/2 + 1 (a narrow law's density would
    # otherwise reach e^{θ²/2σ²} there)
    return AnalyticForms(density, cdf, edges, 2.0 * peak, 2.0 * peak2,
                         min_cut=math.exp(mu + 0.5 * math.pi + 1.0))


def _weibull_forms(shape: float, scale: float) -> AnalyticForms:
    def density(z: ComplexArray) -> ComplexArray:
        t = np.asarray(z) / scale
        return shape / scale * t ** (shape - 1.0) * np.exp(-(t**shape))

    def cdf(x: FloatArray) -> FloatArray:
        return np.asarray(-np.expm1(-((np.maximum(x, 0.0) / scale) ** shape)),
                          dtype=np.float64)

    levels = scale * (-np.log1p(-_LEVELS)) ** (1.0 / shape)

    def edges(cut: float, width: float) -> FloatArray:
        grid = np.linspace(levels[0], cut, max(1, math.ceil((cut - levels[0]) / width)) + 1)
        return np.unique(np.concatenate([levels[levels < cut], grid]))

    # f and x² f are unimodal, with modes where (x/λ)^k = 1 − 1/k and 1 + 1/k
    modes = scale * np.array([1.0 - 1.0 / shape, 1.0 + 1.0 / shape]) ** (1.0 / shape)
    peaks = np.real(density(modes.astype(np.complex128))) * np.array([1.0, 1.0]) * [
        1.0, modes[1] ** 2]
    return AnalyticForms(density, cdf, edges, 2.0 * float(peaks[0]), 2.0 * float(peaks[1]),
                         tail=False, upper=float(levels[-1]))


@functools.cache
def _laguerre() -> tuple[FloatArray, FloatArray]:
    from scipy import special

    nodes, weights = special.roots_laguerre(_LAGUERRE_NODES)
    return np.asarray(nodes, dtype=np.float64), np.asarray(weights, dtype=np.float64)


class AxisTransform:
    """``φ(iω)`` and ``d/dω Re φ(iω)`` of a law for ``omega_min <= ω <= omega_max``.

    Parameters
    ----------
    forms : AnalyticForms
        The law's closed forms (from :func:`analytic_forms`).
    omega_min, omega_max : float
        The band (``0 < omega_min <= omega_max``); accuracy outside it is not claimed.
    """

    def __init__(self, forms: AnalyticForms, omega_min: float, omega_max: float) -> None:
        self.cut = max(_TAIL_PHASE / omega_min, forms.min_cut) if forms.tail else forms.upper
        self.omega_min, self.omega_max = omega_min, omega_max
        self._density = forms.density if forms.tail else None
        self._variation2 = forms.variation2
        edges = forms.edges(self.cut, _PANEL_PHASE / omega_max)
        if edges.size > 1:
            nodes, weights = gauss_legendre_panels(edges, 10)
            self.nodes = nodes
            self.weights = weights * np.real(forms.density(nodes.astype(np.complex128)))
        else:
            self.nodes = self.weights = np.empty(0)

    def curvature_bound(self) -> float:
        """A bound on ``|d²/dω² Re φ(iω)|`` for ``ω >= omega_min``.

        The body's ``Σ w_j x_j²`` (its weights are positive), or ``V₂/ω`` (``V₂`` the
        total variation of ``x² f``: integrate ``E[X² e^{−iωX}]`` by parts), plus twice the tail's
        ``∫_0^∞ e^{−ωt} |f(c − it)| (c + t)² dt`` at ``ω = omega_min`` (largest there),
        which bounds the second derivative of ``−i e^{−iωc} ∫ e^{−ωt} f(c − it) dt``.
        """
        body = min(float(self.weights @ self.nodes**2),
                   self._variation2 / self.omega_min + 1e-12)
        if self._density is None:
            return body
        s, ell = _laguerre()
        w, c = self.omega_min, self.cut
        line = np.abs(self._density(np.asarray(c - 1j * s / w, dtype=np.complex128))) \
            * (c + s / w) ** 2
        return body + 2.0 * float(ell @ line) / w

    def re_on_grid(self, start: float, step: float, count: int) -> FloatArray:
        """``Re φ(iω)`` on the grid ``ω_k = start + k·step``, ``k < count``.

        The body's exponentials come from one rotation per node,
        ``e^{−iω_{k+1}x} = e^{−iω_k x} e^{−i·step·x}`` (a complex product instead of an
        exponential; rounding grows like ``k·eps``, below 1e-13 for ``k <= 256``).
        """
        table = np.empty((count, self.nodes.size), dtype=np.complex128)
        table[0] = np.exp(-1j * start * self.nodes)
        table[1:] = np.exp(-1j * step * self.nodes)
        np.cumprod(table, axis=0, out=table)
        omega = np.asarray(start + step * np.arange(count), dtype=np.float64)
        body: FloatArray = table.real @ self.weights
        return np.asarray(body + self._tail(omega).real,
                          dtype=np.float64)

    def _tail(self, w: FloatArray) -> ComplexArray:
        if self._density is None:
            return np.zeros(w.shape, dtype=np.complex128)
        s, ell = _laguerre()
        f = self._density(np.asarray(self.cut - 1j * s[None, :] / w[:, None],
                                     dtype=np.complex128))
        return np.asarray(-1j * np.exp(-1j * w * self.cut) * complex_times_real(f, ell) / w,
                          dtype=np.complex128)

    def __call__(self, omega: FloatArray) -> tuple[ComplexArray, FloatArray]:
        """``φ(iω)`` and ``d/dω Re φ(iω)`` at each ``ω`` (shape ``(n,)``)."""
        w = np.asarray(omega, dtype=np.float64)
        table = np.exp(-1j * np.outer(w, self.nodes))
        body = complex_times_real(table, self.weights)
        body_slope = table.imag @ (self.weights * self.nodes)  # −Σ w x sin ωx
        if self._density is None:
            return body, np.asarray(body_slope, dtype=np.float64)
        s, ell = _laguerre()
        c = self.cut
        f = self._density(np.asarray(c - 1j * s[None, :] / w[:, None], dtype=np.complex128))
        line = complex_times_real(f, ell) / w                 # G = ∫ e^{−ωt} f(c − it) dt
        line_slope = -complex_times_real(f, ell * s) / w**2   # G' = −∫ t e^{−ωt} f(c − it) dt
        turn = -1j * np.exp(-1j * w * c)
        tail = turn * line
        tail_slope = turn * (-1j * c * line + line_slope)
        return body + tail, np.asarray(body_slope + tail_slope.real, dtype=np.float64)


def _body_edges(lower: float, log_width: float, upper: float, width: float) -> FloatArray:
    """Panel edges from ``lower`` to ``upper``: geometric (ratio ``e^{log_width}``) while
    those panels are narrower than ``width``, then uniform of width at most ``width``."""
    switch = min(max(width / math.expm1(log_width), lower), upper)
    n_geo = math.ceil(math.log(switch / lower) / log_width) if switch > lower else 0
    n_lin = math.ceil((upper - switch) / width) if upper > switch else 0
    return np.concatenate([np.geomspace(lower, switch, n_geo + 1),
                           np.linspace(switch, upper, n_lin + 1)[1:]])


