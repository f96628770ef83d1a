"""Laws built from other laws: shifts, mixtures, empirical traces, equilibrium laws."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

import numpy as np
import numpy.typing as npt
from scipy import special

from sdde._numerics import ComplexArray, FloatArray, laplace_by_quadrature
from sdde.delays._base import (
    DelayLaw,
    as_output,
    integrate_sf,
    integrate_sf_tail,
    require_finite,
)
from sdde.delays._families import Deterministic, Exponential

#: Largest number of complex exponentials an empirical transform evaluates at once.
_EMPIRICAL_BLOCK = 4_000_000


@final
@dataclass(frozen=True, kw_only=True)
class Shifted(DelayLaw):
    """Law of ``shift + X`` for a base law of ``X``.

    ``Shifted(base=Exponential(scale=m), shift=c)`` is the shifted exponential: a fixed
    part ``c`` (e.g. communication) plus a memoryless part of mean ``m``.
    """

    base: DelayLaw
    shift: float
    family = "shifted"

    def __post_init__(self) -> None:
        if not isinstance(self.base, DelayLaw):
            raise ValueError(f"shifted: base must be a DelayLaw, got {self.base!r}")
        require_finite("shifted", "shift", self.shift, minimum=0.0, strict=False)

    @property
    def mean(self) -> float:
        return self.shift + self.base.mean

    @property
    def var(self) -> float:
        return self.base.var

    def raw_moment(self, order: int) -> float:
        return float(sum(special.comb(order, j) * self.shift ** (order - j)
                         * (self.base.raw_moment(j) if j else 1.0) for j in range(order + 1)))

    @property
    def support(self) -> tuple[float, float]:
        lo, hi = self.base.support
        return lo + self.shift, hi + self.shift

    @property
    def continuous_mass(self) -> float:
        return self.base.continuous_mass

    def atoms(self) -> tuple[FloatArray, FloatArray]:
        pts, mass = self.base.atoms()
        return pts + self.shift, mass

    def breakpoints(self) -> FloatArray:
        return np.unique(np.concatenate([self.base.breakpoints() + self.shift,
                                         super().breakpoints()]))

    def cdf(self, x: npt.ArrayLike) -> Any:
        return self.base.cdf(np.asarray(x, dtype=np.float64) - self.shift)

    def sf(self, x: npt.ArrayLike) -> Any:
        return self.base.sf(np.asarray(x, dtype=np.float64) - self.shift)

    def _pdf(self, x: FloatArray) -> Any:
        return self.base.pdf(x - self.shift)

    @property
    def has_fast_quantile(self) -> bool:
        return self.base.has_fast_quantile

    def _quantile(self, q: FloatArray) -> FloatArray:
        return np.asarray(self.base.quantile(q), dtype=np.float64) + self.shift

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        return self.base.sample(rng, size) + self.shift

    def sample_moment_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...], order: int
    ) -> FloatArray:
        # (c + x)^m dF(x) = Σ_j C(m, j) c^(m−j) x^j dF(x): a mixture of the base law
        # biased by x^j, with weights C(m, j) c^(m−j) E[X^j] (normalised by E[(c + X)^m]).
        weights = np.array([special.comb(order, j) * self.shift ** (order - j)
                            * (self.base._biasing_moment(j) if j else 1.0)
                            for j in range(order + 1)])
        which = rng.choice(order + 1, size=size, p=weights / weights.sum())
        out = np.empty(np.shape(which))
        for j in range(order + 1):
            mask = which == j
            out[mask] = self.base.sample_moment_biased(rng, int(mask.sum()), j)
        return out + self.shift

    @property
    def laplace_abscissa(self) -> float:
        return self.base.laplace_abscissa

    @property
    def fast_laplace(self) -> bool:
        return self.base.fast_laplace

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        return np.exp(-z * self.shift) * self.base._laplace(z)

    def scaled(self, factor: float) -> Shifted:
        return Shifted(base=self.base.scaled(factor), shift=self.shift * factor)

    def shifted(self, shift: float) -> Shifted:
        return Shifted(base=self.base, shift=self.shift + shift)

    def params(self) -> dict[str, Any]:
        return {"shift": float(self.shift), "base": str(self.base)}

    def __str__(self) -> str:
        if isinstance(self.base, Exponential):
            return f"shifted-exp:shift={self.shift:g},mean={self.mean:g}"
        return super().__str__()


def shifted_exponential(*, shift: float, mean: float) -> Shifted:
    """Shifted exponential with total ``mean`` (``shift`` plus an exponential part)."""
    require_finite("shifted-exp", "shift", shift, minimum=0.0, strict=False)
    require_finite("shifted-exp", "mean", mean, minimum=shift)
    return Shifted(base=Exponential(scale=mean - shift), shift=shift)


@final
@dataclass(frozen=True, kw_only=True)
class Mixture(DelayLaw):
    """Each round independently follows ``components[j]`` with probability ``weights[j]``."""

    components: tuple[DelayLaw, ...]
    weights: tuple[float, ...]
    family = "mixture"

    def __post_init__(self) -> None:
        comps, w = tuple(self.components), tuple(float(x) for x in self.weights)
        if not comps or len(comps) != len(w):
            raise ValueError("mixture: give as many weights as components (at least one)")
        if not all(isinstance(c, DelayLaw) for c in comps):
            raise ValueError("mixture: every component must be a DelayLaw")
        for j, wj in enumerate(w):
            require_finite("mixture", f"weights[{j}]", wj, minimum=0.0)
        if abs(sum(w) - 1.0) > 1e-9:
            raise ValueError(f"mixture: weights must sum to 1, got {sum(w)!r}")
        object.__setattr__(self, "components", comps)
        object.__setattr__(self, "weights", tuple(x / sum(w) for x in w))

    @classmethod
    def straggler(cls, *, base: DelayLaw, p: float, slowdown: float) -> Mixture:
        """A fraction ``p`` of rounds is ``slowdown`` times slower than ``base``.

        With a deterministic base this is the two-point straggler law.
        """
        _check_two_point(p, slowdown)
        return cls(components=(base, base.scaled(slowdown)), weights=(1.0 - p, p))

    @property
    def _w(self) -> FloatArray:
        return np.asarray(self.weights, dtype=np.float64)

    @property
    def mean(self) -> float:
        return float(sum(w * c.mean for w, c in zip(self.weights, self.components, strict=True)))

    def raw_moment(self, order: int) -> float:
        return float(sum(w * c.raw_moment(order)
                         for w, c in zip(self.weights, self.components, strict=True)))

    @property
    def support(self) -> tuple[float, float]:
        los, his = zip(*(c.support for c in self.components), strict=True)
        return min(los), max(his)

    @property
    def continuous_mass(self) -> float:
        return float(sum(w * c.continuous_mass
                         for w, c in zip(self.weights, self.components, strict=True)))

    def atoms(self) -> tuple[FloatArray, FloatArray]:
        pts = [c.atoms()[0] for c in self.components]
        mass = [w * c.atoms()[1] for w, c in zip(self.weights, self.components, strict=True)]
        return np.concatenate(pts), np.concatenate(mass)

    def breakpoints(self) -> FloatArray:
        return np.unique(np.concatenate([c.breakpoints() for c in self.components]))

    def cdf(self, x: npt.ArrayLike) -> Any:
        x = np.asarray(x, dtype=np.float64)
        return as_output(sum(w * np.asarray(c.cdf(x))
                             for w, c in zip(self.weights, self.components, strict=True)))

    def sf(self, x: npt.ArrayLike) -> Any:
        """``Σ_j w_j sf_j(x)``: full relative accuracy in the tail (not ``1 − cdf``)."""
        x = np.asarray(x, dtype=np.float64)
        return as_output(sum(w * np.asarray(c.sf(x))
                             for w, c in zip(self.weights, self.components, strict=True)))

    def _pdf(self, x: FloatArray) -> Any:
        return as_output(sum(w * np.asarray(c.pdf(x))
                             for w, c in zip(self.weights, self.components, strict=True)
                             if c.continuous_mass > 0))

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        return self.sample_moment_biased(rng, size, 0)

    def sample_moment_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...], order: int
    ) -> FloatArray:
        # component i is picked with probability w_i E[X_i^m] / E[X^m]
        moments = np.array([c._biasing_moment(order) if order else 1.0
                            for c in self.components])
        weights = self._w * moments
        which = rng.choice(len(self.components), size=size, p=weights / weights.sum())
        out = np.empty(np.shape(which))
        for j, comp in enumerate(self.components):
            mask = which == j
            count = int(mask.sum())
            out[mask] = (comp.sample(rng, count) if order == 0
                         else comp.sample_moment_biased(rng, count, order))
        return out

    @property
    def laplace_abscissa(self) -> float:
        return max(c.laplace_abscissa for c in self.components)

    @property
    def fast_laplace(self) -> bool:
        return all(c.fast_laplace for c in self.components)

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        return np.asarray(sum(w * c._laplace(z)
                              for w, c in zip(self.weights, self.components, strict=True)),
                          dtype=np.complex128)

    def scaled(self, factor: float) -> Mixture:
        return Mixture(components=tuple(c.scaled(factor) for c in self.components),
                       weights=self.weights)

    def params(self) -> dict[str, Any]:
        return {"components": [str(c) for c in self.components],
                "weights": [float(w) for w in self.weights]}

    def __str__(self) -> str:
        fast, slow = (*self.components, None)[:2]
        if (len(self.components) == 2 and isinstance(fast, Deterministic)
                and isinstance(slow, Deterministic)):
            return (f"two-point:p={self.weights[1]:g},slowdown={slow.value / fast.value:g},"
                    f"mean={self.mean:g}")
        return super().__str__()


def _check_two_point(p: float, slowdown: float) -> None:
    require_finite("two-point", "p", p, minimum=0.0, maximum=1.0)
    require_finite("two-point", "slowdown", slowdown, minimum=1.0)


def two_point(*, time: float, p: float, slowdown: float) -> Mixture:
    """Two-point straggler law: ``time`` w.p. ``1 - p``, ``slowdown * time`` w.p. ``p``."""
    _check_two_point(p, slowdown)
    require_finite("two-point", "time", time, minimum=0.0)
    return Mixture.straggler(base=Deterministic(value=time), p=p, slowdown=slowdown)


@final
@dataclass(frozen=True, kw_only=True, eq=False)
class Empirical(DelayLaw):
    """The empirical law of measured round durations (e.g. a trace of a real cluster).

    Parameters
    ----------
    samples : array_like, shape (n_samples,)
        Positive, finite durations. The law puts mass ``1/n_samples`` on each.
    source : str, optional
        Where the samples came from (a file path), for reports.
    """

    samples: FloatArray
    source: str | None = None
    family = "trace"

    def __post_init__(self) -> None:
        x = np.asarray(self.samples, dtype=np.float64).ravel()
        if x.size == 0:
            raise ValueError("trace: at least one duration is needed")
        bad = ~np.isfinite(x) | (x <= 0)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"trace: durations must be finite and > 0; sample {i + 1} "
                             f"(counting from 1) is {float(x[i]):g}")
        x = np.sort(x)
        x.setflags(write=False)
        object.__setattr__(self, "samples", x)

    @classmethod
    def from_file(cls, path: str | Path) -> Empirical:
        """Read durations from a text file: one number per line, ``#`` starts a comment."""
        p = Path(path)
        try:
            lines = p.read_text().splitlines()
        except OSError as exc:
            raise ValueError(f"trace: cannot read {str(p)!r}: {exc.strerror}") from None
        values = []
        for lineno, line in enumerate(lines, start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"trace: {str(p)!r} line {lineno}: expected one duration "
                                 f"> 0, got {text!r}")
            values.append(value)
        if not values:
            raise ValueError(f"trace: {str(p)!r} holds no durations")
        return cls(samples=np.array(values), source=str(p))

    @property
    def mean(self) -> float:
        return float(np.mean(self.samples))

    @property
    def var(self) -> float:
        return float(np.var(self.samples))

    def raw_moment(self, order: int) -> float:
        return float(np.mean(self.samples**order))

    @property
    def support(self) -> tuple[float, float]:
        return float(self.samples[0]), float(self.samples[-1])

    @property
    def continuous_mass(self) -> float:
        return 0.0

    def atoms(self) -> tuple[FloatArray, FloatArray]:
        pts, counts = np.unique(self.samples, return_counts=True)
        return pts, counts / self.samples.size

    def cdf(self, x: npt.ArrayLike) -> Any:
        x = np.asarray(x, dtype=np.float64)
        return as_output(np.searchsorted(self.samples, x, side="right") / self.samples.size)

    def _quantile(self, q: FloatArray) -> FloatArray:
        idx = np.clip(np.ceil(q * self.samples.size).astype(np.int64) - 1, 0, None)
        return self.samples[idx]

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        return rng.choice(self.samples, size=size)

    def sample_moment_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...], order: int
    ) -> FloatArray:
        weights = self.samples**order
        return rng.choice(self.samples, size=size, p=weights / weights.sum())

    @property
    def laplace_abscissa(self) -> float:
        return -math.inf

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        pts, mass = self.atoms()
        out = np.empty(z.shape, dtype=np.complex128)
        block = max(1, _EMPIRICAL_BLOCK // pts.size)
        for start in range(0, z.size, block):
            zb = z[start:start + block]
            out[start:start + block] = np.exp(-np.outer(zb, pts)) @ mass
        return out

    def scaled(self, factor: float) -> Empirical:
        return Empirical(samples=self.samples * factor, source=self.source)

    def params(self) -> dict[str, Any]:
        return {"n_samples": int(self.samples.size), "source": self.source}

    def __str__(self) -> str:
        if self.source is not None:
            return f"trace:{self.source}"
        return f"trace:<{self.samples.size} samples>"


@final
@dataclass(frozen=True, kw_only=True)
class Equilibrium(DelayLaw):
    """Equilibrium (forward-recurrence) law of a base law: density ``(1 - F(y)) / E[X]``.

    In a stationary renewal process this is the law of the time from a random instant
    to the next renewal; the cluster starts each worker's first push from it.

    Notes
    -----
    Moments: ``E[Y^k] = E[X^(k+1)] / ((k + 1) E[X])``. Transform:
    ``φ_e(z) = (1 - φ(z)) / (E[X] z)``. Sampling uses ``Y = U · X̃`` with ``U`` uniform
    and ``X̃`` length-biased, since the round covering a random instant is
    length-biased and the instant falls uniformly inside it.
    """

    base: DelayLaw
    family = "equilibrium"

    def __post_init__(self) -> None:
        if not isinstance(self.base, DelayLaw):
            raise ValueError(f"equilibrium: base must be a DelayLaw, got {self.base!r}")

    @property
    def mean(self) -> float:
        """``E[X²] / (2 E[X])``; infinite when the base has infinite variance (the law is
        still proper, and is what stationary start phases are drawn from)."""
        return self.base.raw_moment(2) / (2.0 * self.base.mean)

    @property
    def continuous_mass(self) -> float:
        return 1.0

    def raw_moment(self, order: int) -> float:
        return self.base.raw_moment(order + 1) / ((order + 1) * self.base.mean)

    @property
    def support(self) -> tuple[float, float]:
        return 0.0, self.base.support[1]

    def breakpoints(self) -> FloatArray:
        return np.unique(np.concatenate([[0.0], self.base.breakpoints(), self.base.atoms()[0]]))

    def cdf(self, x: npt.ArrayLike) -> Any:
        x = np.asarray(x, dtype=np.float64)
        flat = [integrate_sf(self.base, float(xi)) for xi in x.ravel()]
        return as_output(np.clip(np.reshape(flat, x.shape) / self.base.mean, 0.0, 1.0))

    def sf(self, x: npt.ArrayLike) -> Any:
        """``E[(X - y)^+] / E[X]``, integrated directly (full relative accuracy in the tail)."""
        x = np.asarray(x, dtype=np.float64)
        flat = [1.0 if xi <= 0 else integrate_sf_tail(self.base, float(xi)) / self.base.mean
                for xi in x.ravel()]
        return as_output(np.clip(np.reshape(flat, x.shape), 0.0, 1.0))

    def _pdf(self, x: FloatArray) -> Any:
        return as_output(np.where(x >= 0, np.asarray(self.base.sf(x)), 0.0) / self.base.mean)

    def _pdf_scalar(self, y: float) -> float:
        return float(self.base.sf(y)) / self.base.mean if y >= 0 else 0.0

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        return self.sample_moment_biased(rng, size, 0)

    def sample_moment_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...], order: int
    ) -> FloatArray:
        # y^m (1 − F(y)) / E[X] ∝ the law of U^{1/(m+1)} · X_{m+1}, X_{m+1} the base law
        # biased by x^(m+1): ∫_y^∞ x^(m+1) dF(x) · (m+1) y^m / x^(m+1) = (m+1) y^m (1 − F(y)).
        # m = 0: U · X̃ (the instant falls uniformly inside the length-biased round).
        self._biasing_moment(order)
        covering = self.base.sample_moment_biased(rng, size, order + 1)
        return rng.random(size) ** (1.0 / (order + 1)) * covering

    @property
    def laplace_abscissa(self) -> float:
        return self.base.laplace_abscissa

    @property
    def fast_laplace(self) -> bool:
        return self.base.fast_laplace

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        # (1 - φ(z)) / (μ z) cancels as z → 0 (error ~ 1e-16 / |μ z|); there the
        # equilibrium density (1 - F) / μ is integrated directly instead.
        mu = self.base.mean
        out = np.ones(z.shape, dtype=np.complex128)
        far = np.abs(mu * z) >= 1e-4
        out[far] = (1.0 - self.base._laplace(z[far])) / (mu * z[far])
        near = ~far & (z != 0)
        if np.any(near):
            lo, hi = self.support
            split = float(self.base.quantile(0.5))
            out[near] = [laplace_by_quadrature(self._pdf_scalar, complex(zi), lo, hi, split)
                         for zi in z[near]]
        return out

    def scaled(self, factor: float) -> Equilibrium:
        return Equilibrium(base=self.base.scaled(factor))

    def params(self) -> dict[str, Any]:
        return {"base": str(self.base)}
