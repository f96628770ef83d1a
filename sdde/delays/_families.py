"""Parametric computation-time families, with scipy.stats' formulas (not scipy.stats itself)."""

from __future__ import annotations

import abc
import cmath
import dataclasses
import functools
import itertools
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Self, final

import numpy as np
import numpy.typing as npt

from sdde import _lazy
from sdde._numerics import ComplexArray, FloatArray, exprel, laplace_by_quadrature
from sdde.delays._base import DelayLaw, as_output, require_finite

integrate = _lazy.module("scipy.integrate")
special = _lazy.module("scipy.special")

#: Smallest normal float: below it ``x / scale`` has lost digits (or is 0).
_TINY = sys.float_info.min
#: Below this coefficient of variation a law's transform is integrated in ``u = F(x)``.
_NARROW_CV = 1e-3


def _exp_or_inf(x: float) -> float:
    """``exp(x)``, infinite past the float range (``math.exp`` raises there)."""
    return math.exp(x) if x < 709.0 else math.inf


def _log_expm1(d: float) -> float:
    """``log(exp(d) - 1)`` for ``d > 0`` without overflow."""
    return d + math.log1p(-math.exp(-d)) if d > 1.0 else math.log(math.expm1(d))


def _gamma_or_inf(x: float) -> float:
    """``Γ(x)`` for ``x >= 1``, infinite past the float range (``math.gamma`` raises)."""
    try:
        return math.gamma(x)
    except OverflowError:
        return math.inf


class ScipyLaw(DelayLaw, abc.ABC):
    """A law evaluated with ``scipy.stats``' own formulas, without ``scipy.stats``.

    A family defines its standard law (``loc = 0``, ``scale = 1``) by the same expressions
    scipy's ``_cdf``, ``_sf``, ``_pdf``, ``_ppf`` and ``_rvs`` use, on the same argument
    types; this class wraps them in scipy's frame (``t = (x - loc) / scale``, the limits
    outside the support, ``nan`` for ``nan``). The values and draws are scipy's, bit for
    bit, while importing ``scipy.stats`` (0.3-0.5 s) and its argument checks (0.3 ms a
    call) are saved. Two deliberate differences: the density is 0 at ``x = inf`` (scipy
    gives ``nan`` for some shapes), and the moments are closed forms that avoid scipy's
    cancellations (:attr:`var`).
    """

    #: Hull of the standard law's support.
    _std_support: ClassVar[tuple[float, float]] = (0.0, math.inf)

    @property
    @abc.abstractmethod
    def _dist(self) -> Any:
        """The matching frozen ``scipy.stats`` object: a reference for the tests only."""

    @property
    @abc.abstractmethod
    def _loc_scale(self) -> tuple[float, float]:
        """``(loc, scale)`` as scipy's frozen object has them."""

    @abc.abstractmethod
    def _std_cdf(self, t: FloatArray) -> FloatArray:
        """Distribution function of the standard law inside its open support."""

    def _std_sf(self, t: FloatArray) -> FloatArray:
        """Survival function of the standard law inside its open support."""
        return 1.0 - self._std_cdf(t)

    def _std_pdf(self, t: FloatArray) -> FloatArray:
        """Density of the standard law on its closed support (finite ``t``)."""
        raise NotImplementedError  # pragma: no cover - families that do not override _pdf

    @abc.abstractmethod
    def _std_ppf(self, q: FloatArray) -> FloatArray:
        """Quantile of the standard law for ``0 < q < 1``."""

    def _std_rvs(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        """Draws of the standard law: scipy's default, the quantile of uniform draws."""
        return self._std_ppf(rng.uniform(size=size))

    def _frame(self, x: npt.ArrayLike, inner: Callable[[FloatArray], FloatArray],
               below: float, above: float, *, closed: bool = False) -> Any:
        """scipy's frame: ``inner(t)``, ``t = (x - loc) / scale``, on the open support
        (``closed``: the closed support, finite ``t``), ``below`` / ``above`` outside it,
        ``nan`` for ``nan``."""
        loc, scale = self._loc_scale
        a, b = self._std_support
        # Far in the tail (x - loc) / scale overflows to inf, where the limits are right;
        # inner() also sees the points outside the support, whose values are dropped. It
        # gets a 1-d array, as in scipy: numpy's 0-d power rounds differently.
        with np.errstate(all="ignore"):
            t = np.asarray(x, dtype=np.float64)
            t = np.asarray((t - loc if loc else t) / scale)  # x - 0 is x, bit for bit
            values = inner(t) if t.ndim == 1 else np.reshape(inner(t.reshape(-1)), t.shape)
        inside = (t >= a) & (t <= b) & (t < math.inf) if closed else (t > a) & (t < b)
        if inside.all():
            return as_output(values)
        out = np.where(inside, values, np.where(t <= a, below, above))
        return as_output(np.where(np.isnan(t), np.nan, out))

    @property
    def support(self) -> tuple[float, float]:
        loc, scale = self._loc_scale
        a, b = self._std_support
        return a * scale + loc, b * scale + loc

    def cdf(self, x: npt.ArrayLike) -> Any:
        return self._frame(x, self._std_cdf, 0.0, 1.0)

    def sf(self, x: npt.ArrayLike) -> Any:
        return self._frame(x, self._std_sf, 1.0, 0.0)

    def _pdf(self, x: FloatArray) -> Any:
        scale = self._loc_scale[1]
        return self._frame(x, lambda t: self._std_pdf(t) / scale, 0.0, 0.0, closed=True)

    def _pdf_scalar(self, x: float) -> float:
        return float(self._pdf(np.asarray(x, dtype=np.float64)))

    @property
    def has_fast_quantile(self) -> bool:
        return True

    @property
    def fast_laplace(self) -> bool:
        return type(self)._laplace is not ScipyLaw._laplace

    def _quantile(self, q: FloatArray) -> FloatArray:
        loc, scale = self._loc_scale
        lo, hi = self.support
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            inner = self._std_ppf(q if q.ndim == 1 else q.reshape(-1)) * scale
            inner = (inner + loc if loc else inner).reshape(q.shape)  # values >= +0: bit for bit
        if q.size and (q.min() == 0 or q.max() == 1):  # scipy's values there, sans warnings
            inner = np.where(q == 0, lo, np.where(q == 1, hi, inner))
        return np.asarray(inner, dtype=np.float64)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        loc, scale = self._loc_scale
        return np.asarray(self._std_rvs(rng, size) * scale + loc, dtype=np.float64)

    def _laplace_narrow(self, z: complex) -> complex:
        """``φ(z) = e^{-zμ} ∫_0^1 exp(-z (Q(u) - μ)) du`` for a law narrower than
        :data:`_NARROW_CV`: the density is a spike a quadrature in ``x`` can miss (it
        returned 0 for a lognormal law of cv 1e-5), while in ``u = F(x)`` the integrand is
        smooth; the levels cut off at the ends carry ``2e-15`` of the mass."""
        mu = self.mean
        edges = [1e-15, 1e-9, 1e-5, 1e-2, 0.5, 1 - 1e-2, 1 - 1e-5, 1 - 1e-9, 1 - 1e-15]

        def part(u: float, imag: bool) -> float:
            w = cmath.exp(-z * (float(self._quantile(np.asarray(u, dtype=np.float64))) - mu))
            return w.imag if imag else w.real

        total = complex(0.0)
        for a, b in itertools.pairwise(edges):
            re = integrate.quad(part, a, b, args=(False,), epsabs=1e-15, epsrel=1e-12,
                                limit=200)[0]
            im = 0.0 if z.imag == 0 else integrate.quad(
                part, a, b, args=(True,), epsabs=1e-15, epsrel=1e-12, limit=200)[0]
            total += complex(re, im)
        return cmath.exp(-z * mu) * total / (edges[-1] - edges[0])

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        """Adaptive quadrature; families with a closed form override this."""
        if self.cv < _NARROW_CV:
            return np.array([self._laplace_narrow(complex(zi)) for zi in z],
                            dtype=np.complex128)
        lo, hi = self.support
        split = float(self._quantile(np.asarray(0.5)))
        return np.array(
            [laplace_by_quadrature(self._pdf_scalar, complex(zi), lo, hi, split,
                                   sf=lambda x: float(self.sf(x))) for zi in z],
            dtype=np.complex128,
        )


@final
@dataclass(frozen=True, kw_only=True)
class Deterministic(DelayLaw):
    """Every round takes exactly ``value`` time units (a point delay)."""

    value: float
    family = "deterministic"

    def __post_init__(self) -> None:
        require_finite("deterministic", "value", self.value, minimum=0.0)

    @property
    def mean(self) -> float:
        return float(self.value)

    @property
    def var(self) -> float:
        return 0.0

    def raw_moment(self, order: int) -> float:
        return float(self.value) ** order

    @property
    def support(self) -> tuple[float, float]:
        return float(self.value), float(self.value)

    @property
    def continuous_mass(self) -> float:
        return 0.0

    def atoms(self) -> tuple[FloatArray, FloatArray]:
        return np.array([float(self.value)]), np.array([1.0])

    def cdf(self, x: npt.ArrayLike) -> Any:
        return as_output((np.asarray(x, dtype=np.float64) >= self.value).astype(np.float64))

    def _quantile(self, q: FloatArray) -> FloatArray:
        return np.full(q.shape, float(self.value))

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        return np.full(size, float(self.value))

    def sample_moment_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...], order: int
    ) -> FloatArray:
        return self.sample(rng, size)

    @property
    def laplace_abscissa(self) -> float:
        return -math.inf

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        return np.exp(-z * self.value)

    def scaled(self, factor: float) -> Deterministic:
        return Deterministic(value=self.value * factor)

    def params(self) -> dict[str, Any]:
        return {"value": float(self.value)}


@final
@dataclass(frozen=True, kw_only=True)
class Exponential(ScipyLaw):
    """Memoryless rounds; ``scale`` is the mean round time."""

    scale: float
    family = "exponential"

    def __post_init__(self) -> None:
        require_finite("exponential", "scale", self.scale, minimum=0.0)

    @cached_property
    def _dist(self) -> Any:
        from scipy import stats  # loaded when a law first needs it

        return stats.expon(scale=self.scale)

    @property
    def laplace_abscissa(self) -> float:
        return -1.0 / self.scale

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        return 1.0 / (1.0 + self.scale * z)

    # The default round-time law: closed forms on numpy alone (not even scipy.special),
    # the values it has always had; the draws are scipy.stats.expon's.
    @property
    def mean(self) -> float:
        return float(self.scale)

    @property
    def var(self) -> float:
        return float(self.scale) ** 2

    def raw_moment(self, order: int) -> float:
        return math.factorial(order) * float(self.scale) ** order

    @property
    def _loc_scale(self) -> tuple[float, float]:
        return 0.0, float(self.scale)

    def _std_cdf(self, t: FloatArray) -> FloatArray:
        return -np.expm1(-t)

    def _std_sf(self, t: FloatArray) -> FloatArray:
        return np.exp(-t)

    def _std_pdf(self, t: FloatArray) -> FloatArray:
        return np.exp(-t)

    def _pdf_scalar(self, x: float) -> float:
        return math.exp(-x / self.scale) / self.scale if x >= 0 else 0.0

    def _std_ppf(self, q: FloatArray) -> FloatArray:
        return -np.log1p(-q)

    def _std_rvs(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        return rng.standard_exponential(size)

    def sample_moment_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...], order: int
    ) -> FloatArray:
        # x^m e^{-x/θ} is a gamma density of shape m + 1
        return rng.gamma(1.0 + order, self.scale, size)

    def scaled(self, factor: float) -> Exponential:
        return Exponential(scale=self.scale * factor)

    def params(self) -> dict[str, Any]:
        return {"scale": float(self.scale)}


@dataclass(frozen=True, kw_only=True)
class ShapeScaleLaw(ScipyLaw, abc.ABC):
    """A family with a ``shape`` and a ``scale``: ``X = scale · Y``, ``Y``'s law set by shape."""

    shape: float
    scale: float
    #: Shapes at or below this value are rejected; ``shape_hint`` says why.
    min_shape: ClassVar[float] = 0.0
    shape_hint: ClassVar[str] = ""

    def __post_init__(self) -> None:
        try:
            require_finite(self.family, "shape", self.shape, minimum=self.min_shape)
        except ValueError as exc:
            raise ValueError(f"{exc}{self.shape_hint}") from None
        require_finite(self.family, "scale", self.scale, minimum=0.0)

    @property
    def _loc_scale(self) -> tuple[float, float]:
        return 0.0, float(self.scale)

    @classmethod
    def from_mean(cls, *, shape: float, mean: float) -> Self:
        """The law with the given shape and mean (the scale that gives that mean)."""
        require_finite(cls.family, "mean", mean, minimum=0.0)
        return cls(shape=shape, scale=mean / cls(shape=shape, scale=1.0).mean)

    def scaled(self, factor: float) -> Self:
        return dataclasses.replace(self, scale=self.scale * factor)

    def params(self) -> dict[str, Any]:
        return {"shape": float(self.shape), "scale": float(self.scale)}


@final
@dataclass(frozen=True, kw_only=True)
class Gamma(ShapeScaleLaw):
    """Gamma law with ``shape`` k and ``scale`` θ; integer shape is the Erlang-k law."""

    family = "gamma"

    @property
    def is_erlang(self) -> bool:
        """True when the shape is a whole number (a chain of exponential phases)."""
        return float(self.shape).is_integer()

    @cached_property
    def _dist(self) -> Any:
        from scipy import stats  # loaded when a law first needs it

        return stats.gamma(self.shape, scale=self.scale)

    @property
    def mean(self) -> float:  # closed form: building a law needs no scipy.stats (0.3 s)
        return self.shape * self.scale

    @property
    def laplace_abscissa(self) -> float:
        return -1.0 / self.scale

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        # numpy's complex log1p is log(1 + w), which loses all digits of a small w (the
        # transform of gamma(1e12) at 1 was off by 3e-5): for |w| < 1/2 the real part
        # ½ log1p(2a + a² + b²) keeps them; farther out log|1 + w| is accurate, while the
        # log1p form cancels near the pole w = −1 (3e-4 off at 1 + w = 3e-7).
        w = self.scale * z
        a, b = w.real, w.imag
        near = np.abs(w) < 0.5
        real = np.empty(np.shape(w))
        real[near] = 0.5 * np.log1p(a[near] * (2.0 + a[near]) + b[near] ** 2)
        real[~near] = np.log(np.hypot(1.0 + a[~near], b[~near]))
        log1p_w = real + 1j * np.arctan2(b, 1.0 + a)
        with np.errstate(over="ignore"):  # next to the pole φ grows past any float: inf
            return np.exp(-self.shape * log1p_w)

    @property
    def var(self) -> float:
        return self.shape * self.scale * self.scale

    def raw_moment(self, order: int) -> float:
        # the rising factorial k (k + 1) ... (k + m - 1) θ^m (scipy: poch(k, m) θ^m)
        return math.prod(self.shape + i for i in range(order)) * self.scale**order

    def _std_cdf(self, t: FloatArray) -> FloatArray:
        return special.gammainc(self.shape, t)

    def _std_sf(self, t: FloatArray) -> FloatArray:
        return special.gammaincc(self.shape, t)

    def _std_pdf(self, t: FloatArray) -> FloatArray:
        return np.exp(special.xlogy(self.shape - 1.0, t) - t - special.gammaln(self.shape))

    def _std_ppf(self, q: FloatArray) -> FloatArray:
        return special.gammaincinv(self.shape, q)

    def _std_rvs(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        return rng.standard_gamma(self.shape, size)

    def sample_moment_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...], order: int
    ) -> FloatArray:
        return rng.gamma(self.shape + order, self.scale, size)


@final
@dataclass(frozen=True, kw_only=True)
class Uniform(ScipyLaw):
    """Rounds uniformly distributed on ``[low, high]``."""

    low: float
    high: float
    family = "uniform"

    def __post_init__(self) -> None:
        low = require_finite("uniform", "low", self.low, minimum=0.0, strict=False)
        require_finite("uniform", "high", self.high, minimum=low)

    @cached_property
    def _dist(self) -> Any:
        from scipy import stats  # loaded when a law first needs it

        return stats.uniform(loc=self.low, scale=self.high - self.low)

    @property
    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    @property
    def var(self) -> float:
        return (self.high - self.low) ** 2 / 12.0

    def raw_moment(self, order: int) -> float:
        # (b^(k+1) - a^(k+1)) / ((k+1)(b-a)) = Σ_j a^j b^(k-j) / (k+1): no overflow, no
        # cancellation (scipy's generic formula overflows for 0 < low < 1e-154).
        return float(sum(self.low**j * self.high ** (order - j)
                         for j in range(order + 1))) / (order + 1)

    _std_support = (0.0, 1.0)

    @property
    def _loc_scale(self) -> tuple[float, float]:
        return float(self.low), float(self.high - self.low)

    def _std_cdf(self, t: FloatArray) -> FloatArray:
        return t

    def _std_pdf(self, t: FloatArray) -> FloatArray:
        return 1.0 * (t == t)

    def _std_ppf(self, q: FloatArray) -> FloatArray:
        return q

    def _std_rvs(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        return rng.uniform(0.0, 1.0, size)

    @property
    def laplace_abscissa(self) -> float:
        return -math.inf

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        width = self.high - self.low
        return np.exp(-z * self.low) * exprel(-z * width)

    def sample_moment_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...], order: int
    ) -> FloatArray:
        # density ∝ x^m on [low, high]: invert its distribution function
        u, power = rng.random(size), order + 1.0
        return (self.low**power + u * (self.high**power - self.low**power)) ** (1.0 / power)

    def scaled(self, factor: float) -> Uniform:
        return Uniform(low=self.low * factor, high=self.high * factor)

    def params(self) -> dict[str, Any]:
        return {"low": float(self.low), "high": float(self.high)}


@final
@dataclass(frozen=True, kw_only=True)
class LogNormal(ScipyLaw):
    """``X = exp(mu + sigma N)`` with ``N`` standard normal (heavy right tail)."""

    mu: float
    sigma: float
    family = "lognormal"

    def __post_init__(self) -> None:
        require_finite("lognormal", "mu", self.mu)
        require_finite("lognormal", "sigma", self.sigma, minimum=0.0)

    @classmethod
    def from_mean_cv(cls, *, mean: float, cv: float) -> LogNormal:
        """Lognormal law with the given mean and coefficient of variation."""
        require_finite("lognormal", "mean", mean, minimum=0.0)
        require_finite("lognormal", "cv", cv, minimum=0.0)
        sigma2 = math.log1p(cv * cv)
        return cls(mu=math.log(mean) - 0.5 * sigma2, sigma=math.sqrt(sigma2))

    @cached_property
    def _dist(self) -> Any:
        from scipy import stats  # loaded when a law first needs it

        return stats.lognorm(self.sigma, scale=math.exp(self.mu))

    @property
    def mean(self) -> float:
        return _exp_or_inf(self.mu + 0.5 * self.sigma * self.sigma)

    @property
    def var(self) -> float:
        # e^{2μ + σ²} expm1(σ²): scipy's p (p - 1) with p = e^{σ²} loses the digits of a
        # small σ (the contract allows cv down to 1e-6, where they are all lost)
        s2 = self.sigma * self.sigma
        return _exp_or_inf(2.0 * self.mu + s2 + _log_expm1(s2))

    def raw_moment(self, order: int) -> float:
        return _exp_or_inf(order * self.mu + 0.5 * (order * self.sigma) ** 2)

    @property
    def _loc_scale(self) -> tuple[float, float]:
        return 0.0, math.exp(self.mu)

    def _std_cdf(self, t: FloatArray) -> FloatArray:
        return special.ndtr(np.log(t) / self.sigma)

    def _std_sf(self, t: FloatArray) -> FloatArray:
        return special.ndtr(-(np.log(t) / self.sigma))

    def _std_pdf(self, t: FloatArray) -> FloatArray:
        s = self.sigma
        log_p = -np.log(t) ** 2 / (2 * s**2) - np.log(s * t * np.sqrt(2 * np.pi))
        return np.exp(np.where(t != 0, log_p, -np.inf))

    def _std_ppf(self, q: FloatArray) -> FloatArray:
        return np.exp(self.sigma * special.ndtri(q))

    def _std_rvs(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        return np.exp(self.sigma * rng.standard_normal(size))

    def _pdf_scalar(self, x: float) -> float:
        if x <= 0:
            return 0.0
        log_x = math.log(x)  # in the exponent: x · σ · √(2π) underflows for subnormal x
        t = (log_x - self.mu) / self.sigma
        return math.exp(-0.5 * t * t - log_x) / (self.sigma * math.sqrt(2.0 * math.pi))

    def sample_moment_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...], order: int
    ) -> FloatArray:
        # x^m tilts the normal log X by m σ²
        return np.exp(self.mu + order * self.sigma**2 + self.sigma * rng.standard_normal(size))

    def scaled(self, factor: float) -> LogNormal:
        return LogNormal(mu=self.mu + math.log(factor), sigma=self.sigma)

    def params(self) -> dict[str, Any]:
        return {"mu": float(self.mu), "sigma": float(self.sigma)}


@final
@dataclass(frozen=True, kw_only=True)
class Weibull(ShapeScaleLaw):
    """Weibull law with ``shape`` k and ``scale`` λ (k < 1: heavier than exponential)."""

    family = "weibull"

    @cached_property
    def _dist(self) -> Any:
        from scipy import stats  # loaded when a law first needs it

        return stats.weibull_min(self.shape, scale=self.scale)

    @property
    def mean(self) -> float:
        return self.scale * _gamma_or_inf(1.0 + 1.0 / self.shape)

    @property
    def var(self) -> float:
        # λ² Γ(1+h)² expm1(D), D = lnΓ(1+2h) − 2 lnΓ(1+h), h = 1/k: scipy's Γ(1+2h) − Γ(1+h)²
        # cancels for large shapes (relative error ~1e-16 / cv², 1e-4 at k = 1e6)
        h = 1.0 / self.shape
        log_g = math.lgamma(1.0 + h)
        return _exp_or_inf(2.0 * (math.log(self.scale) + log_g)
                           + _log_expm1(_weibull_log_ratio(h)))

    def raw_moment(self, order: int) -> float:
        return self.scale**order * _gamma_or_inf(1.0 + order / self.shape)

    def _std_cdf(self, t: FloatArray) -> FloatArray:
        return -special.expm1(-pow(t, self.shape))

    def _std_sf(self, t: FloatArray) -> FloatArray:
        return np.exp(-pow(t, self.shape))

    def _std_ppf(self, q: FloatArray) -> FloatArray:
        return pow(-special.log1p(-q), 1.0 / self.shape)

    def _pdf(self, x: FloatArray) -> Any:
        # log form: x^(k-1) exp(-x^k) is inf · 0 = nan for large shapes in scipy
        x = np.asarray(x, dtype=np.float64)
        pos = (x > 0) & (x < math.inf)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            x_pos = np.where(pos, x, 1.0)
            t = x_pos / self.scale  # underflows (to subnormals, or 0) for the tiniest x
            log_t = np.where(t >= _TINY, np.log(t), np.log(x_pos) - math.log(self.scale))
            log_p = (math.log(self.shape / self.scale) + (self.shape - 1.0) * log_t
                     - np.exp(np.minimum(self.shape * log_t, 709.0)))
        return as_output(np.where(pos, np.exp(log_p), np.where(np.isnan(x), np.nan, 0.0)))

    def _pdf_scalar(self, x: float) -> float:
        if not 0 < x < math.inf:
            return 0.0
        t = x / self.scale
        log_t = math.log(t) if t >= _TINY else math.log(x) - math.log(self.scale)
        log_p = (math.log(self.shape / self.scale) + (self.shape - 1.0) * log_t
                 - math.exp(min(self.shape * log_t, 709.0)))
        return math.exp(log_p)

    @property
    def laplace_abscissa(self) -> float:
        if self.shape > 1:
            return -math.inf
        return -1.0 / self.scale if self.shape == 1 else 0.0

    @property
    def fast_laplace(self) -> bool:
        return self.shape == 1

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        if self.shape == 1:
            return 1.0 / (1.0 + self.scale * z)
        real = z.imag == 0
        if self.shape > 1 or not np.any(real):
            return super()._laplace(z)
        out = np.empty(z.shape, dtype=np.complex128)
        if not np.all(real):
            out[~real] = super()._laplace(z[~real])
        out[real] = [self._laplace_real(float(s)) for s in z.real[real]]
        return out

    def _laplace_real(self, s: float) -> float:
        """``E[exp(-s X)]`` for real ``s >= 0`` and shape < 1, as a smooth integral.

        With ``t = (X/λ)^k ~ Exp(1)``, ``φ(s) = ∫_0^∞ exp(-t - sλ t^{1/k}) dt``: no density
        singularity at 0, and the integrand falls from ``e^{-t}`` near ``t* = (sλ)^{-k}``,
        which the panels resolve (the density form loses its accuracy to roundoff there).
        """
        if s == 0.0:
            return 1.0
        log_c, inv = math.log(s * self.scale), 1.0 / self.shape

        def integrand(t: float) -> float:
            if t <= 0.0:
                return 1.0
            return math.exp(-t - math.exp(min(log_c + inv * math.log(t), 700.0)))

        t_star = math.exp(-self.shape * log_c)
        # decades around t* (the integrand falls steeply past t*), and e^{-60} beyond
        cuts = {0.0, 60.0, *(min(t_star * 10.0**j, 60.0) for j in range(-3, 8))}
        edges = sorted(cuts)
        return float(sum(integrate.quad(integrand, a, b, epsabs=1e-16, epsrel=1e-12,
                                        limit=200)[0]
                         for a, b in itertools.pairwise(edges) if b > a))

    def sample_moment_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...], order: int
    ) -> FloatArray:
        # (X/scale)^shape is Exp(1); x^m biasing makes it Gamma(1 + m/shape)
        return self.scale * rng.gamma(1.0 + order / self.shape, 1.0, size) ** (1.0 / self.shape)


@final
@dataclass(frozen=True, kw_only=True)
class Pareto(ShapeScaleLaw):
    """Pareto (power-law) rounds: ``P(X > x) = (scale / x)**shape`` for ``x >= scale``.

    The shape must exceed 1, otherwise the mean round time is infinite and no worker
    count or learning rate question has an answer.
    """

    family = "pareto"
    min_shape = 1.0
    shape_hint = " (shape <= 1 has an infinite mean round time)"

    @cached_property
    def _dist(self) -> Any:
        from scipy import stats  # loaded when a law first needs it

        return stats.pareto(self.shape, scale=self.scale)

    @property
    def mean(self) -> float:
        return self.shape * self.scale / (self.shape - 1.0)

    def raw_moment(self, order: int) -> float:
        if order >= self.shape:
            return math.inf
        return self.shape * self.scale**order / (self.shape - order)

    _std_support = (1.0, math.inf)

    @property
    def var(self) -> float:
        b = self.shape
        return b / (b - 2.0) / (b - 1.0) ** 2 * self.scale * self.scale if b > 2 else math.inf

    def _std_cdf(self, t: FloatArray) -> FloatArray:
        return 1 - t ** (-self.shape)

    def _std_sf(self, t: FloatArray) -> FloatArray:
        return t ** (-self.shape)

    def _std_pdf(self, t: FloatArray) -> FloatArray:
        return self.shape * t ** (-self.shape - 1)

    def _std_ppf(self, q: FloatArray) -> FloatArray:
        return pow(1 - q, -1.0 / self.shape)

    def _pdf_scalar(self, x: float) -> float:
        if x < self.scale:
            return 0.0
        return self.shape / self.scale * math.exp(-(self.shape + 1.0) * math.log(x / self.scale))

    def sample_moment_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...], order: int
    ) -> FloatArray:
        # x^m dF(x) / E[X^m] is again Pareto, with tail index shape - m (> 0 iff E[X^m] < ∞)
        self._biasing_moment(order)
        # Near shape − m = 0 the largest draws overflow to inf: a round longer than any
        # horizon, which is what they are (a stationary worker that never pushes).
        with np.errstate(over="ignore"):
            return self.scale * (1.0 - rng.random(size)) ** (-1.0 / (self.shape - order))


def _weibull_log_ratio(h: float) -> float:
    """``lnΓ(1 + 2h) − 2 lnΓ(1 + h)`` (about ``π² h² / 6``) to full relative accuracy.

    ``lgamma`` loses its relative accuracy next to its zero at 1 (2e-12 off at h = 0.02),
    so below ``h = 1/4`` the series ``lnΓ(1 + x) = −γx + Σ_{j>=2} (−1)^j ζ(j) x^j / j``
    is used, split as ``ζ(j) = 1 + (ζ(j) − 1)``: the ones sum to
    ``log1p(h² / (1 + 2h))``, the rest falls by ``h`` a term.
    """
    if h >= 0.25:
        return math.lgamma(1.0 + 2.0 * h) - 2.0 * math.lgamma(1.0 + h)
    rest = math.fsum((-1) ** j * zc * (2.0**j - 2.0) / j * h**j
                     for j, zc in enumerate(_zeta_minus_one(), start=2))
    return math.log1p(h * h / (1.0 + 2.0 * h)) + rest


@functools.cache
def _zeta_minus_one() -> tuple[float, ...]:
    """``ζ(j) − 1`` for ``j = 2, ..., 41`` (the series above needs 40 terms at h = 1/4)."""
    return tuple(float(v) for v in special.zetac(np.arange(2.0, 42.0)))


def erlang(k: int, mean: float) -> Gamma:
    """Erlang-``k`` law (``k`` exponential phases) with the given mean."""
    if not (isinstance(k, int | np.integer) or float(k).is_integer()) or int(k) < 1:
        raise ValueError(f"erlang: k must be a whole number >= 1, got {k!r}")
    return Gamma.from_mean(shape=float(int(k)), mean=mean)


__all__ = [
    "Deterministic", "Exponential", "Gamma", "LogNormal", "Pareto", "ScipyLaw",
    "ShapeScaleLaw", "Uniform", "Weibull", "erlang",
]
