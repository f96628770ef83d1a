"""The geometric sum of rounds: the age of a gradient sent piecemeal (error feedback).

With random-k sparsification and error feedback a worker sends each coordinate of its
accumulated gradient at the end of a round with probability ``p = k/d``, independently
of everything else; a gradient computed in one round therefore reaches the server, one
coordinate at a time, at the end of round ``G ~ Geometric(p)`` (on ``{1, 2, …}``) of its
worker, and its age is ``S = X_1 + … + X_G`` (``theory/derivations/sparsification.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, final

import numpy as np
import numpy.typing as npt

from sdde import _lazy
from sdde._numerics import ComplexArray, FloatArray, brentq
from sdde.delays._base import DelayLaw, as_output, require_finite
from sdde.delays._composite import Shifted
from sdde.delays._families import Deterministic, Exponential, Gamma

special = _lazy.module("scipy.special")

#: Probability mass of the rounds left out of the mixture ``Σ_g P(G = g) F^{*g}``.
_TAIL_LEFT_OUT = 1e-17
#: Points evaluated at once against every round count.
_BLOCK = 512


@final
@dataclass(frozen=True, kw_only=True)
class GeometricSum(DelayLaw):
    """Law of ``X_1 + … + X_G``: ``G ~ Geometric(p)`` i.i.d. rounds of a base law.

    Parameters
    ----------
    base : DelayLaw
        Law of one round; it must have a density, or be deterministic.
    p : float
        Success probability of ``G`` in ``(0, 1]`` (``E[G] = 1/p``; ``p = 1``: one round).

    Notes
    -----
    The Laplace transform is exact, ``φ_S = p φ / (1 − (1 − p) φ)``, and so are the mean
    ``E[X]/p`` and the variance. The distribution functions are the mixture
    ``Σ_g P(G = g) F^{*g}`` cut where the geometric tail is below 1e-17; the ``g``-fold
    sums (``g >= 2``) are exact for gamma, exponential and shifted gamma/exponential
    rounds (``g c + Gamma(g k, θ)``) and the shifted gamma with the same lower bound,
    mean and variance otherwise (:attr:`exact`), so that the roots, thresholds and
    variances, which use the transform, are exact for every base law.

    Examples
    --------
    >>> from sdde import delays
    >>> law = GeometricSum(base=delays.Exponential(scale=1.0), p=0.1)
    >>> round(law.mean, 12), round(float(law.cdf(10.0)), 12)  # Exponential(scale=10)
    (10.0, 0.632120558829)
    """

    base: DelayLaw
    p: float
    family = "geometric-sum"

    def __post_init__(self) -> None:
        if not isinstance(self.base, DelayLaw):
            raise ValueError(f"geometric-sum: base must be a DelayLaw, got {self.base!r}")
        if isinstance(self.p, bool):
            raise ValueError(f"geometric-sum: p must be a number in (0, 1], got {self.p!r}")
        require_finite("geometric-sum", "p", self.p, minimum=0.0, maximum=1.0,
                       max_strict=False)
        if not math.isfinite(self.base.var):
            raise ValueError("geometric-sum: the round law must have a finite variance, got "
                             f"{self.base}")
        if not (self.deterministic or self.base.continuous_mass == 1.0):
            raise ValueError("geometric-sum: the round law must have a density or be "
                             f"deterministic, got {self.base}")

    # ------------------------------------------------------------ the mixture
    @property
    def deterministic(self) -> bool:
        """Whether the rounds are deterministic (then the law is atoms at ``g · value``)."""
        return isinstance(self.base, Deterministic)

    @property
    def exact(self) -> bool:
        """Whether the distribution functions are exact (not moment-matched ``g``-fold sums)."""
        base = self.base.base if isinstance(self.base, Shifted) else self.base
        return self.deterministic or isinstance(base, Gamma | Exponential)

    @cached_property
    def _rounds(self) -> tuple[FloatArray, FloatArray]:
        """``g = 1 … g_max`` and ``P(G = g)``."""
        if self.p == 1.0:
            return np.array([1.0]), np.array([1.0])
        last = max(1, math.ceil(math.log(_TAIL_LEFT_OUT) / math.log1p(-self.p)))
        g = np.arange(1.0, last + 1.0)
        return g, self.p * np.exp((g - 1.0) * math.log1p(-self.p))

    @cached_property
    def _sums(self) -> tuple[FloatArray, FloatArray, FloatArray, float]:
        """The ``g``-fold sums for ``g >= 2`` as ``shift + Gamma(shape, scale)``."""
        g, mass = self._rounds
        lo = self.base.support[0]
        excess, var = self.base.mean - lo, self.base.var
        shape_one = excess * excess / var
        return g[1:] * lo, g[1:] * shape_one, mass[1:], var / excess

    def _sum_terms(self, x: FloatArray, kind: str) -> FloatArray:
        """``Σ_{g >= 2} P(G = g) F_g(x)`` for ``kind`` in cdf, sf, pdf."""
        shift, shape, mass, scale = self._sums
        if mass.size == 0:
            return np.zeros_like(x)
        flat = x.ravel()
        out = np.empty(flat.size)
        for start in range(0, flat.size, _BLOCK):  # bounds the (points × rounds) table
            y = np.maximum(flat[start:start + _BLOCK, None] - shift, 0.0) / scale
            if kind == "cdf":
                terms = special.gammainc(shape, y)
            elif kind == "sf":
                terms = special.gammaincc(shape, y)
            else:
                with np.errstate(divide="ignore"):
                    log_pdf = (shape - 1.0) * np.log(y) - y - special.gammaln(shape)
                terms = np.where(y > 0, np.exp(log_pdf), 0.0) / scale
            out[start:start + _BLOCK] = terms @ mass
        return out.reshape(x.shape)

    # ---------------------------------------------------------------- moments
    @property
    def mean(self) -> float:
        return self.base.mean / self.p

    @property
    def var(self) -> float:
        # Var S = E[G] Var X + Var G E[X]², Var G = (1 − p)/p²
        m = self.base.mean
        return self.base.var / self.p + (1.0 - self.p) * m * m / (self.p * self.p)

    def raw_moment(self, order: int) -> float:
        """``E[S^order]`` of the mixture (exact up to order 2 for every base law)."""
        if order == 0:
            return 1.0
        g, mass = self._rounds
        first = mass[0] * self.base.raw_moment(order)
        if self.deterministic:
            return float(first + np.sum(mass[1:] * (g[1:] * self.base.mean) ** order))
        shift, shape, weight, scale = self._sums
        # E[(c + Γ(k, θ))^m] = Σ_j C(m, j) c^(m−j) θ^j (k)_j
        total = sum(special.comb(order, j) * shift ** (order - j) * scale**j
                    * special.poch(shape, j) for j in range(order + 1))
        return float(first + np.sum(weight * total))

    @property
    def support(self) -> tuple[float, float]:
        return self.base.support[0], math.inf if self.p < 1.0 else self.base.support[1]

    @property
    def continuous_mass(self) -> float:
        return 0.0 if self.deterministic else 1.0

    def atoms(self) -> tuple[FloatArray, FloatArray]:
        if not self.deterministic:
            return super().atoms()
        g, mass = self._rounds
        return g * self.base.mean, mass.copy()

    def breakpoints(self) -> FloatArray:
        return self.base.breakpoints()

    # ----------------------------------------------------- distribution functions
    def cdf(self, x: npt.ArrayLike) -> Any:
        x_arr = np.asarray(x, dtype=np.float64)
        g, mass = self._rounds
        if self.deterministic:
            return as_output((x_arr[..., None] >= g * self.base.mean) @ mass)
        return as_output(mass[0] * np.asarray(self.base.cdf(x_arr))
                         + self._sum_terms(x_arr, "cdf"))

    def sf(self, x: npt.ArrayLike) -> Any:
        """Survival function, summed term by term (full relative accuracy in the tail)."""
        x_arr = np.asarray(x, dtype=np.float64)
        g, mass = self._rounds
        if self.deterministic:
            return as_output((x_arr[..., None] < g * self.base.mean) @ mass)
        return as_output(mass[0] * np.asarray(self.base.sf(x_arr))
                         + self._sum_terms(x_arr, "sf"))

    def _pdf(self, x: FloatArray) -> Any:
        return as_output(self._rounds[1][0] * np.asarray(self.base.pdf(x))
                         + self._sum_terms(x, "pdf"))

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        """Exact draws: ``G`` geometric, then the sum of ``G`` base rounds."""
        rounds = rng.geometric(self.p, size=size)
        flat = np.ravel(rounds)
        starts = np.concatenate([[0], np.cumsum(flat)[:-1]])
        draws = np.asarray(self.base.sample(rng, int(flat.sum())), dtype=np.float64)
        return np.add.reduceat(draws, starts).reshape(np.shape(rounds))

    @property
    def kappa_scale(self) -> float:
        """``1/p``: in units of its mean ``E[X]/p`` the threshold grows like ``1/p``."""
        return 1.0 / self.p

    # ----------------------------------------------------------------- transform
    @property
    def fast_laplace(self) -> bool:
        return self.base.fast_laplace

    @cached_property
    def laplace_abscissa(self) -> float:
        """The larger of the base's abscissa and the pole ``(1 − p) φ(z) = 1``."""
        floor = self.base.laplace_abscissa
        if floor == 0.0 or self.p == 1.0:
            return floor

        def gap(x: float) -> float:
            return (1.0 - self.p) * float(np.real(self.base.laplace(x))) - 1.0

        if math.isfinite(floor):
            left = floor * (1.0 - 1e-9)
            if gap(left) <= 0.0:  # the base transform stays below 1/(1 − p): no pole
                return floor
        else:  # bounded rounds: φ(x) grows without bound as x → −∞, so the pole exists
            left = -1.0 / self.base.mean
            while gap(left) <= 0.0:
                left *= 2.0
        return float(brentq(gap, left, 0.0, xtol=1e-14))

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        phi = np.asarray(self.base._laplace(z), dtype=np.complex128)
        return self.p * phi / (1.0 - (1.0 - self.p) * phi)

    # ------------------------------------------------------------------- output
    def scaled(self, factor: float) -> GeometricSum:
        return GeometricSum(base=self.base.scaled(factor), p=self.p)

    def params(self) -> dict[str, Any]:
        return {"base": str(self.base), "p": float(self.p)}
