"""Laws built from other laws: shifts, mixtures, empirical traces, equilibrium laws."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, final

import numpy as np
import numpy.typing as npt

from sdde import _lazy
from sdde._numerics import ComplexArray, FloatArray, laplace_by_quadrature
from sdde._text_tables import read_number_table, without_comments
from sdde.delays._base import (
    DelayLaw,
    as_output,
    integrate_sf,
    integrate_sf_tail,
    require_finite,
)
from sdde.delays._families import Deterministic, Exponential

special = _lazy.module("scipy.special")

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

    Notes
    -----
    Mean, variance, moments, ``cdf``, quantiles and sampling use the exact samples.
    The Laplace transform ``φ(z) = Σ_j w_j exp(−z x_j)`` over the distinct values
    ``x_j`` (masses ``w_j``) is summed exactly while there are at most
    ``_EXACT_ATOMS`` of them. Beyond that it is summarised once, lazily: for a bin
    half-width ``h`` (``h = (x_max − x_min)/2 · 4^(−L)`` on levels ``L = 0, 1, …``) the
    values are grouped into cells ``|x_j − c_b| <= h`` of a uniform grid, and each cell
    keeps its first ``K`` moments about its centre ``c_b``, so that

    ``φ̃(z) = Σ_b exp(−z c_b) Σ_{k<K} M_{b,k} (−z h)^k / k!``,
    ``M_{b,k} = Σ_{j∈b} w_j ((x_j − c_b)/h)^k``.

    Each ``z`` uses the coarsest level with ``r = |z| h <= 1.5``. The Taylor remainder
    of ``exp`` gives, with ``K = 20``,

    ``|φ̃(z) − φ(z)| <= r^K e^r / K! · Σ_b w_b |exp(−z c_b)|``,

    ``r^K e^r / K! <= 6.2e-15``: below ``6.2e-15`` for ``Re z >= 0``, and below
    ``2.8e-14 · φ(Re z)`` left of the axis (``Σ_b w_b e^{−Re z c_b} <= e^r φ(Re z)``).
    Rounding of ``z x_j`` adds about ``ε |z| x_max φ(Re z)`` to both this and the exact
    sum (``1e-11`` at ``|z| x_max = 10⁵``). The moments
    ``0..K−1`` of the law are kept exactly (``K = 2`` would be atoms at the cell means,
    with error ``|z|² Σ_b w_b var_b / 2``: too coarse for ``|z|`` in the hundreds).
    A level with more than a quarter as many cells as distinct values is summed exactly
    instead, so the cost per ``z`` is at most that of the exact sum.
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
        # already sorted (e.g. scaled, or a sorted trace): copy instead of sorting
        x = x.copy() if bool(np.all(x[1:] >= x[:-1])) else np.sort(x)
        x.setflags(write=False)
        object.__setattr__(self, "samples", x)

    @classmethod
    def from_file(cls, path: str | Path) -> Empirical:
        """Read durations from a text file: one number per line, ``#`` starts a comment.

        Large files are parsed in bulk (pandas' C reader, which comes with xarray), not
        line by line; the line-by-line scan runs only to name the first bad line.

        Parameters
        ----------
        path : str or Path
            The trace file.

        Returns
        -------
        Empirical
            The law of the durations, with ``source`` the path.

        Raises
        ------
        ValueError
            One line naming the file: unreadable, not text, no durations, or the first
            line holding something other than a finite duration > 0.
        """
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise ValueError(f"trace: cannot read {str(p)!r}: {exc.strerror}") from None
        values = _parse_durations(data, str(p))
        return cls(samples=values, source=str(p))

    @property
    def mean(self) -> float:
        return self._stats[0]

    @property
    def var(self) -> float:
        return self._stats[1]

    @cached_property
    def _stats(self) -> tuple[float, float]:
        # computed once: analyses read the mean and cv of the law hundreds of times
        return float(np.mean(self.samples)), float(np.var(self.samples))

    def raw_moment(self, order: int) -> float:
        if order == 1:
            return self.mean
        return float(np.mean(self.samples**order))

    @property
    def support(self) -> tuple[float, float]:
        return float(self.samples[0]), float(self.samples[-1])

    @property
    def continuous_mass(self) -> float:
        return 0.0

    @cached_property
    def _atoms(self) -> tuple[FloatArray, FloatArray]:
        x = self.samples
        starts = np.concatenate([[0], np.flatnonzero(x[1:] != x[:-1]) + 1])
        counts = np.diff(np.append(starts, x.size))
        pts, mass = x[starts], counts / x.size
        pts.setflags(write=False)
        mass.setflags(write=False)
        return pts, mass

    def atoms(self) -> tuple[FloatArray, FloatArray]:
        return self._atoms

    def cdf(self, x: npt.ArrayLike) -> Any:
        x = np.asarray(x, dtype=np.float64)
        return as_output(np.searchsorted(self.samples, x, side="right") / self.samples.size)

    def sf(self, x: npt.ArrayLike) -> Any:
        x = np.asarray(x, dtype=np.float64)
        above = self.samples.size - np.searchsorted(self.samples, x, side="right")
        return as_output(above / self.samples.size)

    def _quantile(self, q: FloatArray) -> FloatArray:
        idx = np.clip(np.ceil(q * self.samples.size).astype(np.int64) - 1, 0, None)
        return self.samples[idx]

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        return rng.choice(self.samples, size=size)

    def sample_moment_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...], order: int
    ) -> FloatArray:
        # what rng.choice(samples, size, p=x^m / Σ x^m) draws, with the table built once
        cdf = self._biased_cdf(order)
        idx = cdf.searchsorted(rng.random(size), side="right")
        return self.samples[np.asarray(idx, dtype=np.int64)]

    def _biased_cdf(self, order: int) -> FloatArray:
        """Cumulative weights ``x^m / Σ x^m`` (cached per order ``m``)."""
        cache = self._biased_cdfs
        if order not in cache:
            weights = self.samples**order
            cdf = (weights / weights.sum()).cumsum()
            cdf /= cdf[-1]
            cdf.setflags(write=False)
            cache[order] = cdf
        return cache[order]

    @cached_property
    def _biased_cdfs(self) -> dict[int, FloatArray]:
        return {}

    @property
    def laplace_abscissa(self) -> float:
        return -math.inf

    def _laplace(self, z: ComplexArray) -> ComplexArray:
        pts, _ = self._atoms
        if pts.size <= _EXACT_ATOMS:
            return self._laplace_exact(z)
        out = np.empty(z.shape, dtype=np.complex128)
        h0 = 0.5 * float(pts[-1] - pts[0])
        ratio = np.abs(z) * h0 / _TAYLOR_RADIUS
        with np.errstate(divide="ignore"):
            levels = np.where(ratio > 1.0, np.ceil(np.log(ratio) / math.log(4.0)), 0.0)
        levels = levels.astype(np.int64)
        # round-off in the logarithm: move up a level until |z| h <= radius holds
        levels += np.abs(z) * h0 * 4.0 ** (-levels.astype(np.float64)) > _TAYLOR_RADIUS
        for level in np.unique(levels):
            sel = np.flatnonzero(levels == level)
            cells = self._taylor_cells(int(level))
            out[sel] = (self._laplace_exact(z[sel]) if cells is None
                        else _taylor_sum(z[sel], *cells))
        return out

    def _laplace_exact(self, z: ComplexArray) -> ComplexArray:
        """``Σ_j w_j exp(−z x_j)`` over the distinct values, in blocks of arguments."""
        pts, mass = self._atoms
        out = np.empty(z.shape, dtype=np.complex128)
        block = max(1, _EMPIRICAL_BLOCK // pts.size)
        for start in range(0, z.size, block):
            zb = z[start:start + block]
            out[start:start + block] = np.exp(-np.outer(zb, pts)) @ mass
        return out

    @cached_property
    def _taylor_levels(self) -> dict[int, tuple[FloatArray, FloatArray, float] | None]:
        return {}

    def _taylor_cells(self, level: int) -> tuple[FloatArray, FloatArray, float] | None:
        """Cell centres ``c_b``, scaled moments ``M_{b,k}`` and half-width ``h`` of a level.

        ``None`` when the level has more than a quarter as many cells as distinct
        values (the exact sum is then as cheap).
        """
        cache = self._taylor_levels
        if level in cache:
            return cache[level]
        pts, mass = self._atoms
        lo = float(pts[0])
        h = 0.5 * float(pts[-1] - lo) * 4.0 ** (-level)
        index = np.minimum(np.floor((pts - lo) / (2.0 * h)), 4.0**level - 1.0).astype(np.int64)
        starts = np.concatenate([[0], np.flatnonzero(index[1:] != index[:-1]) + 1])
        if 4 * starts.size > pts.size:
            cache[level] = None
            return None
        centres = lo + (index[starts] + 0.5) * (2.0 * h)
        offset = np.clip((pts - np.repeat(centres, np.diff(np.append(starts, pts.size))))
                         / h, -1.0, 1.0)
        moments = np.empty((starts.size, _TAYLOR_TERMS))
        term = mass.copy()
        for k in range(_TAYLOR_TERMS):
            moments[:, k] = np.add.reduceat(term, starts)
            term *= offset
        cache[level] = (centres, moments, h)
        return cache[level]

    def scaled(self, factor: float) -> Empirical:
        factor = float(factor)
        if not (math.isfinite(factor) and factor > 0.0):
            return Empirical(samples=self.samples * factor, source=self.source)
        cache = self._scaled_laws
        if factor not in cache:
            # a positive factor keeps the samples sorted: check only the two ends
            x = self.samples * factor
            if not (x[0] > 0.0 and math.isfinite(float(x[-1]))):
                return Empirical(samples=x, source=self.source)
            x.setflags(write=False)
            law = object.__new__(Empirical)
            object.__setattr__(law, "samples", x)
            object.__setattr__(law, "source", self.source)
            mean, var = self._stats
            law.__dict__["_stats"] = (mean * factor, var * factor * factor)
            if len(cache) >= _SCALED_CACHE:  # analyses rescale by a few factors only
                cache.pop(next(iter(cache)))
            cache[factor] = law
        return cache[factor]

    @cached_property
    def _scaled_laws(self) -> dict[float, Empirical]:
        return {}

    def params(self) -> dict[str, Any]:
        return {"n_samples": int(self.samples.size), "source": self.source}

    def __str__(self) -> str:
        if self.source is not None:
            return f"trace:{self.source}"
        return f"trace:<{self.samples.size} samples>"


#: Distinct trace values up to which the empirical transform is summed exactly.
_EXACT_ATOMS = 4096
#: Taylor terms ``K`` kept per cell of the summarised empirical transform.
_TAYLOR_TERMS = 20
#: Largest ``|z| h`` a summary level is used at (error ``<= r^K e^r / K!``, r this).
_TAYLOR_RADIUS = 1.5
#: Rescaled copies of a trace kept (``scaled`` is called with the same factors often).
_SCALED_CACHE = 8
#: Files above this size are parsed with pandas' C reader when it is installed.
_PANDAS_BYTES = 1 << 20


def _taylor_sum(z: ComplexArray, centres: FloatArray, moments: FloatArray,
                h: float) -> ComplexArray:
    """``Σ_b exp(−z c_b) Σ_k M_{b,k} (−z h)^k / k!`` in blocks of arguments."""
    n_terms = moments.shape[1]
    scale = 1.0 / special.factorial(np.arange(n_terms))
    out = np.empty(z.shape, dtype=np.complex128)
    block = max(1, _EMPIRICAL_BLOCK // (centres.size * 4))
    for start in range(0, z.size, block):
        zb = z[start:start + block]
        powers = (-zb * h)[:, None] ** np.arange(n_terms) * scale
        poly = powers.real @ moments.T + 1j * (powers.imag @ moments.T)
        out[start:start + block] = np.sum(np.exp(-np.outer(zb, centres)) * poly, axis=1)
    return out


def _parse_durations(data: bytes, name: str) -> FloatArray:
    """Durations in a trace file's bytes, one per line; ``#`` starts a comment.

    The fast paths (pandas' C reader for large files, else one ``float`` per token) only
    parse; the first offending line is looked for when they fail, so every error names
    the file and that line.
    """
    if b"\0" in data:
        raise ValueError(f"trace: {name!r} is not a text file of durations")
    text = without_comments(data)
    values: FloatArray | None = None
    try:
        if len(text) > _PANDAS_BYTES:
            values = _parse_pandas(text)
        if values is None:
            tokens = text.split()
            if len(tokens) == sum(1 for line in text.splitlines() if line.strip()):
                values = np.array(list(map(float, tokens)), dtype=np.float64)
    except (ValueError, UnicodeDecodeError):
        values = None
    if values is not None and values.size and bool(np.all(np.isfinite(values) & (values > 0))):
        return values
    # the line-by-line reading is the reference: it names the first bad line, and
    # decides whatever the bulk readers refused
    values = _parse_lines(data, name)
    if not values.size:
        raise ValueError(f"trace: {name!r} holds no durations")
    return values


def _parse_pandas(text: bytes) -> FloatArray | None:
    """One number per line through pandas' C reader (``None``: pandas is not installed).

    Raises ``ValueError`` when a line holds anything but one number.
    """
    table = read_number_table(text)
    if table is None:  # pragma: no cover - pandas comes with xarray
        return None
    if table.shape[1] != 1:
        raise ValueError("one number per line expected")
    return np.asarray(table.ravel())


def _parse_lines(data: bytes, name: str) -> FloatArray:
    """Line by line: raise for the first line that holds anything but a duration > 0."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"trace: {name!r} is not a text file of durations") from None
    values: list[float] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        token = line.split("#", 1)[0].strip()
        if not token:
            continue
        try:
            value = float(token)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"trace: {name!r} line {lineno}: expected one duration "
                             f"> 0, got {token!r}")
        values.append(value)
    return np.array(values, dtype=np.float64)


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
