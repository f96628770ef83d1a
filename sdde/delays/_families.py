"""Parametric computation-time families, backed by scipy.stats where scipy has them."""

from __future__ import annotations

import abc
import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Self, final

import numpy as np
import numpy.typing as npt

from sdde._numerics import ComplexArray, FloatArray, exprel, laplace_by_quadrature
from sdde.delays._base import DelayLaw, as_output, require_finite


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

    def cdf(self, x: npt.ArrayLike) -> Any:
        return as_output(self._dist.cdf(x))

    def sf(self, x: npt.ArrayLike) -> Any:
        return as_output(self._dist.sf(x))

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

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        """Adaptive quadrature; families with a closed form override this."""
        lo, hi = self.support
        split = float(self._dist.median())
        return np.array(
            [laplace_by_quadrature(self._pdf_scalar, complex(zi), lo, hi, split,
                                   sf=lambda x: float(self._dist.sf(x))) for zi in z],
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

    def cdf(self, x: npt.ArrayLike) -> Any:
        x = np.asarray(x, dtype=np.float64)
        return as_output(np.where(x > 0, -np.expm1(-np.maximum(x, 0.0) / self.scale), 0.0))

    def sf(self, x: npt.ArrayLike) -> Any:
        x = np.asarray(x, dtype=np.float64)
        return as_output(np.where(x > 0, np.exp(-np.maximum(x, 0.0) / self.scale), 1.0))

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
    def laplace_abscissa(self) -> float:
        return -1.0 / self.scale

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        return np.exp(-self.shape * np.log1p(self.scale * z))

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
        return super()._laplace(z)

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
