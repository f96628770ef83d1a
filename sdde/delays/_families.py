"""Parametric computation-time families, backed by scipy.stats where scipy has them."""

from __future__ import annotations

import abc
import cmath
import dataclasses
import itertools
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Self, final

import numpy as np
import numpy.typing as npt

from sdde import _lazy
from sdde._numerics import ComplexArray, FloatArray, exprel, laplace_by_quadrature
from sdde.delays._base import DelayLaw, as_output, require_finite

integrate = _lazy.module("scipy.integrate")

#: Below this coefficient of variation a law's transform is integrated in ``u = F(x)``.
_NARROW_CV = 1e-3


def _exp_or_inf(x: float) -> float:
    """``exp(x)``, infinite past the float range (``math.exp`` raises there)."""
    return math.exp(x) if x < 709.0 else math.inf


def _gamma_or_inf(x: float) -> float:
    """``Γ(x)`` for ``x >= 1``, infinite past the float range (``math.gamma`` raises)."""
    try:
        return math.gamma(x)
    except OverflowError:
        return math.inf


class ScipyLaw(DelayLaw, abc.ABC):
    """A law whose distribution functions come from a frozen ``scipy.stats`` object."""

    @property
    @abc.abstractmethod
    def _dist(self) -> Any:
        """The frozen scipy distribution."""

    @property
    def mean(self) -> float:
        return float(self._dist.mean())

    @property
    def var(self) -> float:
        return float(self._dist.var())

    def raw_moment(self, order: int) -> float:
        return float(self._dist.moment(order))

    @property
    def support(self) -> tuple[float, float]:
        lo, hi = self._dist.support()
        return float(lo), float(hi)

    # Far in the tail (x - loc) / scale and powers of it overflow to inf, and scipy's
    # limits (F = 1, sf = 0, density 0) are right: the overflow is not worth a warning.
    @np.errstate(over="ignore")
    def cdf(self, x: npt.ArrayLike) -> Any:
        return as_output(self._dist.cdf(x))

    @np.errstate(over="ignore")
    def sf(self, x: npt.ArrayLike) -> Any:
        return as_output(self._dist.sf(x))

    @np.errstate(over="ignore")
    def _pdf(self, x: FloatArray) -> Any:
        return as_output(self._dist.pdf(x))

    @property
    def has_fast_quantile(self) -> bool:
        return True

    @property
    def fast_laplace(self) -> bool:
        return type(self)._laplace is not ScipyLaw._laplace

    def _quantile(self, q: FloatArray) -> FloatArray:
        return np.asarray(self._dist.ppf(q), dtype=np.float64)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        return np.asarray(self._dist.rvs(size=size, random_state=rng), dtype=np.float64)

    def _pdf_scalar(self, x: float) -> float:
        return float(self._dist.pdf(x))

    def _laplace_narrow(self, z: complex) -> complex:
        """``φ(z) = e^{-zμ} ∫_0^1 exp(-z (Q(u) - μ)) du`` for a law narrower than
        :data:`_NARROW_CV`: the density is a spike a quadrature in ``x`` can miss (it
        returned 0 for a lognormal law of cv 1e-5), while in ``u = F(x)`` the integrand is
        smooth; the levels cut off at the ends carry ``2e-15`` of the mass."""
        mu = self.mean
        edges = [1e-15, 1e-9, 1e-5, 1e-2, 0.5, 1 - 1e-2, 1 - 1e-5, 1 - 1e-9, 1 - 1e-15]

        def part(u: float, imag: bool) -> float:
            w = cmath.exp(-z * (float(self._dist.ppf(u)) - mu))
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
        split = float(self._dist.median())
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

    # Closed forms (the default round-time law is built on this one, so the command line
    # need not import scipy.stats, 0.3 s): same values as scipy.stats.expon, and the same
    # draws (scipy draws scale · standard_exponential from the generator too).
    @property
    def mean(self) -> float:
        return float(self.scale)

    @property
    def var(self) -> float:
        return float(self.scale) ** 2

    def raw_moment(self, order: int) -> float:
        return math.factorial(order) * float(self.scale) ** order

    @property
    def support(self) -> tuple[float, float]:
        return 0.0, math.inf

    # x / scale overflows to inf for a tiny scale far in the tail: exp(-inf) = 0 is right.
    @np.errstate(over="ignore")
    def cdf(self, x: npt.ArrayLike) -> Any:
        x = np.asarray(x, dtype=np.float64)
        return as_output(np.where(x > 0, -np.expm1(-np.maximum(x, 0.0) / self.scale), 0.0))

    @np.errstate(over="ignore")
    def sf(self, x: npt.ArrayLike) -> Any:
        x = np.asarray(x, dtype=np.float64)
        return as_output(np.where(x > 0, np.exp(-np.maximum(x, 0.0) / self.scale), 1.0))

    @np.errstate(over="ignore")
    def _pdf(self, x: FloatArray) -> Any:
        x = np.asarray(x, dtype=np.float64)
        return as_output(np.where(x >= 0, np.exp(-np.maximum(x, 0.0) / self.scale)
                                  / self.scale, 0.0))

    def _pdf_scalar(self, x: float) -> float:
        return math.exp(-x / self.scale) / self.scale if x >= 0 else 0.0

    def _quantile(self, q: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore"):  # q = 1: the quantile is +inf, as scipy's
            return np.asarray(-self.scale * np.log1p(-np.asarray(q, dtype=np.float64)),
                              dtype=np.float64)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        return np.asarray(rng.standard_exponential(size) * self.scale, dtype=np.float64)

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

    def _pdf_scalar(self, x: float) -> float:
        if x <= 0:
            return 0.0
        t = (math.log(x) - self.mu) / self.sigma
        return math.exp(-0.5 * t * t) / (x * self.sigma * math.sqrt(2.0 * math.pi))

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

    def _pdf(self, x: FloatArray) -> Any:
        # log form: x^(k-1) exp(-x^k) is inf · 0 = nan for large shapes in scipy
        x = np.asarray(x, dtype=np.float64)
        pos = x > 0
        with np.errstate(over="ignore", divide="ignore"):
            log_t = np.log(np.where(pos, x, 1.0) / self.scale)
            log_p = (math.log(self.shape / self.scale) + (self.shape - 1.0) * log_t
                     - np.exp(np.minimum(self.shape * log_t, 709.0)))
        return as_output(np.where(pos, np.exp(log_p), 0.0))

    def _pdf_scalar(self, x: float) -> float:
        if x <= 0:
            return 0.0
        log_t = math.log(x / self.scale)
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


def erlang(k: int, mean: float) -> Gamma:
    """Erlang-``k`` law (``k`` exponential phases) with the given mean."""
    if not (isinstance(k, int | np.integer) or float(k).is_integer()) or int(k) < 1:
        raise ValueError(f"erlang: k must be a whole number >= 1, got {k!r}")
    return Gamma.from_mean(shape=float(int(k)), mean=mean)


__all__ = [
    "Deterministic", "Exponential", "Gamma", "LogNormal", "Pareto", "ScipyLaw",
    "ShapeScaleLaw", "Uniform", "Weibull", "erlang",
]
