"""The abstract computation-time law and the helpers every family shares."""

from __future__ import annotations

import abc
import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from sdde import _lazy
from sdde._numerics import (
    ComplexArray,
    FloatArray,
    finite_or_none,
    invert_monotone,
    invert_monotone_many,
)

integrate = _lazy.module("scipy.integrate")

if TYPE_CHECKING:
    from sdde.delays._composite import Equilibrium, Shifted


def require_finite(owner: str, name: str, value: float, *, minimum: float | None = None,
                   strict: bool = True, maximum: float | None = None,
                   max_strict: bool = True) -> float:
    """Validate one numeric parameter and return it as a float.

    Raises ``ValueError`` naming the law, the parameter, the allowed range and the
    offending value, so a user can fix the input without reading code.
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}") from None
    lo_ok = minimum is None or (v > minimum if strict else v >= minimum)
    hi_ok = maximum is None or (v < maximum if max_strict else v <= maximum)
    if not (math.isfinite(v) and lo_ok and hi_ok):
        lo = "" if minimum is None else f"{'>' if strict else '>='} {minimum:g}"
        hi = "" if maximum is None else f"{'<' if max_strict else '<='} {maximum:g}"
        rng = " and ".join(p for p in (lo, hi) if p) or "finite"
        raise ValueError(f"{owner}: {name} must be finite and {rng}, got {value!r}")
    return v


def as_output(values: npt.ArrayLike) -> Any:
    """Return a numpy scalar for 0-d results and an array otherwise."""
    return np.asarray(values)[()]


class DelayLaw(abc.ABC):
    """A law of the computation time ``X`` of one worker round (``X > 0``, finite mean).

    Subclasses are frozen dataclasses; every one is either abstract or final. A law may
    have atoms (deterministic, two-point, empirical) and an absolutely continuous part;
    :attr:`continuous_mass` says how much mass the density :meth:`pdf` carries.

    Notes
    -----
    The Laplace–Stieltjes transform ``φ(z) = E[exp(-zX)]`` is defined for
    ``Re z >= 0`` for every law, and further left (``Re z >`` :attr:`laplace_abscissa`)
    where the law's tail allows it. The equilibrium (forward-recurrence) law has density
    ``(1 - F(y)) / E[X]``; it is the law of the time to a worker's next push seen from a
    random instant, and is how the cluster starts workers in stationary phases.
    """

    family: ClassVar[str]

    # ----------------------------------------------------------------- moments
    @property
    @abc.abstractmethod
    def mean(self) -> float:
        """Mean ``E[X]``."""

    @abc.abstractmethod
    def raw_moment(self, order: int) -> float:
        """Raw moment ``E[X**order]`` (``inf`` where it diverges)."""

    @property
    def var(self) -> float:
        """Variance ``Var[X]`` (``inf`` where the second moment diverges)."""
        m2 = self.raw_moment(2)
        return max(m2 - self.mean**2, 0.0) if math.isfinite(m2) else math.inf

    @property
    def std(self) -> float:
        """Standard deviation."""
        return math.sqrt(self.var)

    @property
    def cv(self) -> float:
        """Coefficient of variation ``std / mean``."""
        return self.std / self.mean

    # ----------------------------------------------------------- distribution
    @property
    @abc.abstractmethod
    def support(self) -> tuple[float, float]:
        """Closed hull ``(lower, upper)`` of the support; ``upper`` may be ``inf``."""

    @property
    def continuous_mass(self) -> float:
        """Mass of the absolutely continuous part (1 for a law with a density)."""
        return 1.0

    def atoms(self) -> tuple[FloatArray, FloatArray]:
        """Point masses of the law: ``(points, masses)``, both shape ``(n_atoms,)``."""
        return np.empty(0), np.empty(0)

    def breakpoints(self) -> FloatArray:
        """Points where the density may jump or be singular (finite support ends)."""
        return np.array([b for b in self.support if math.isfinite(b)], dtype=np.float64)

    @abc.abstractmethod
    def cdf(self, x: npt.ArrayLike) -> Any:
        """Distribution function ``P(X <= x)``."""

    def sf(self, x: npt.ArrayLike) -> Any:
        """Survival function ``P(X > x)``."""
        return as_output(1.0 - np.asarray(self.cdf(x), dtype=np.float64))

    def pdf(self, x: npt.ArrayLike) -> Any:
        """Density of the absolutely continuous part.

        Raises
        ------
        ValueError
            If the law has no continuous part (purely atomic laws have no density).
        """
        if self.continuous_mass <= 0.0:
            raise ValueError(f"{self.family}: the law is purely atomic and has no density")
        return self._pdf(np.asarray(x, dtype=np.float64))

    def _pdf(self, x: FloatArray) -> Any:
        raise NotImplementedError  # pragma: no cover - every law with a density overrides

    @property
    def has_fast_quantile(self) -> bool:
        """Whether :meth:`quantile` is closed form or a library call (not a root search)."""
        return False

    def quantile(self, q: npt.ArrayLike) -> Any:
        """Generalised inverse ``inf{x : F(x) >= q}`` for ``q`` in [0, 1]."""
        q_arr = np.asarray(q, dtype=np.float64)
        if np.any((q_arr < 0) | (q_arr > 1) | ~np.isfinite(q_arr)):
            raise ValueError(f"{self.family}: quantile levels must lie in [0, 1], got {q!r}")
        return as_output(self._quantile(q_arr))

    def _quantile(self, q: FloatArray) -> FloatArray:
        lo, hi = self.support
        if self.continuous_mass <= 0.0:  # purely atomic: invert the step cdf exactly
            pts, mass = self.atoms()
            order = np.argsort(pts)
            cum = np.cumsum(mass[order])
            idx = np.searchsorted(cum, q * cum[-1] * (1 - 1e-15), side="left")
            return np.where(q == 0, lo, pts[order][np.minimum(idx, pts.size - 1)])
        flat = q.ravel()
        out = np.where(flat == 0, lo, hi).astype(np.float64)
        inner = (flat > 0) & (flat < 1)
        if np.any(inner):
            out[inner] = invert_monotone_many(
                lambda x: np.asarray(self.cdf(x), dtype=np.float64), flat[inner], lo, hi)
        return out.reshape(q.shape)

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        """Draw i.i.d. samples of ``X``.

        Parameters
        ----------
        rng : numpy.random.Generator
            The only source of randomness.
        size : int or tuple of int
            Output shape.
        """

    def sample_length_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...]
    ) -> FloatArray:
        """Draw from the length-biased law ``x dF(x) / E[X]`` (the round covering a random instant).

        The same as :meth:`sample_moment_biased` with ``order=1``.
        """
        return self.sample_moment_biased(rng, size, 1)

    def sample_moment_biased(
        self, rng: np.random.Generator, size: int | tuple[int, ...], order: int
    ) -> FloatArray:
        """Draw from the moment-biased law ``x^m dF(x) / E[X^m]``.

        ``m = 1`` is the length-biased law; ``m = 2`` gives the length-biased law of the
        equilibrium law, ``U^{1/2} · X₂`` (see :class:`Equilibrium`).

        Parameters
        ----------
        rng : numpy.random.Generator
            The only source of randomness.
        size : int or tuple of int
            Output shape.
        order : int
            The power ``m >= 0``; ``E[X^m]`` must be finite.

        Notes
        -----
        Families override this with exact samplers; the default inverts the biased
        distribution function ``(x^m F(x) − m ∫_lo^x y^{m−1} F(y) dy) / E[X^m]``
        numerically (one quadrature per evaluation).
        """
        if order == 0:
            return self.sample(rng, size)
        moment = self._biasing_moment(order)
        u = rng.random(size)
        lo, hi = self.support

        def biased_cdf(x: float) -> float:
            integral = _integrate_cdf(self, lo, x, power=order - 1)
            return float((x**order * float(self.cdf(x)) - order * integral) / moment)

        flat = [invert_monotone(biased_cdf, float(ui), lo, hi, xtol=1e-10)
                for ui in np.ravel(u)]
        return np.asarray(flat, dtype=np.float64).reshape(np.shape(u))

    def _biasing_moment(self, order: int) -> float:
        """``E[X^order]``, or a ValueError naming the law when it is infinite."""
        moment = self.raw_moment(order)
        if not math.isfinite(moment):
            raise ValueError(f"{self}: E[X^{order}] is infinite, so the law biased by "
                             f"x^{order} does not exist")
        return moment

    @property
    def kappa_scale(self) -> float:
        """Order of magnitude of the divergence threshold ``κ*`` of the normalised law.

        1 for round laws; larger for laws, such as :class:`~sdde.delays.GeometricSum`,
        whose mean is many rounds, so that the threshold search reaches far enough.
        """
        return 1.0

    # ------------------------------------------------------------- transform
    @property
    def fast_laplace(self) -> bool:
        """Whether :meth:`laplace` is closed form (else adaptive quadrature per argument)."""
        return True

    @property
    def laplace_abscissa(self) -> float:
        """Abscissa of convergence: the transform exists for ``Re z`` above this value."""
        return 0.0

    def laplace(self, z: npt.ArrayLike) -> Any:
        """Laplace–Stieltjes transform ``φ(z) = E[exp(-z X)]``.

        Parameters
        ----------
        z : complex or array_like of complex
            Arguments with ``Re z >= 0`` (or ``Re z >`` :attr:`laplace_abscissa`).

        Returns
        -------
        complex or ndarray of complex
            Same shape as ``z``; ``φ(0) = 1`` exactly.
        """
        z_arr = np.asarray(z, dtype=np.complex128)
        if not np.all(np.isfinite(z_arr)):
            raise ValueError(f"{self.family}: laplace needs finite arguments")
        bad = (z_arr.real < 0) & ~(z_arr.real > self.laplace_abscissa)
        if np.any(bad):
            raise ValueError(
                f"{self.family}: the Laplace transform diverges for Re z <= "
                f"{self.laplace_abscissa:g}; got Re z = {z_arr.real[bad].min():g}"
            )
        try:
            out = np.asarray(self._laplace(z_arr.ravel()),
                             dtype=np.complex128).reshape(z_arr.shape)
        except OverflowError:
            raise ValueError(f"{self.family}: the Laplace transform overflows at "
                             f"Re z = {z_arr.real.min():g} (too far left of the "
                             "imaginary axis)") from None
        out[z_arr == 0] = 1.0
        return as_output(out)

    @abc.abstractmethod
    def _laplace(self, z: ComplexArray) -> ComplexArray:
        """Transform on a flat complex array already validated by :meth:`laplace`."""

    # ---------------------------------------------------------- transforms of the law
    @abc.abstractmethod
    def scaled(self, factor: float) -> DelayLaw:
        """Law of ``factor * X`` (same family)."""

    def normalized(self) -> DelayLaw:
        """The law rescaled to mean 1 (time measured in units of ``E[X]``)."""
        if not math.isfinite(self.mean):
            raise ValueError(f"{self.family}: the mean is infinite, so the law cannot be "
                             "normalised to mean 1")
        return self.scaled(1.0 / self.mean)

    def shifted(self, shift: float) -> Shifted:
        """Law of ``shift + X`` (e.g. a communication time added to every round)."""
        from sdde.delays._composite import Shifted

        return Shifted(base=self, shift=shift)

    def equilibrium(self) -> Equilibrium:
        """Equilibrium (forward-recurrence) law with density ``(1 - F(y)) / E[X]``."""
        from sdde.delays._composite import Equilibrium

        return Equilibrium(base=self)

    # ----------------------------------------------------------------- output
    @abc.abstractmethod
    def params(self) -> dict[str, Any]:
        """The defining parameters as plain JSON types."""

    def to_dict(self) -> dict[str, Any]:
        """Family, parameters and summary moments as plain JSON types."""
        return {"family": self.family, "params": self.params(), "mean": self.mean,
                "cv": finite_or_none(self.cv)}

    def __str__(self) -> str:
        inner = ",".join(f"{k}={_fmt(v)}" for k, v in self.params().items())
        return f"{self.family}:{inner}"


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _integrate_cdf(law: DelayLaw, lower: float, upper: float, power: int = 0) -> float:
    """``∫_lower^upper u^power F(u) du`` with the law's breakpoints and atoms as break
    points."""
    if upper <= lower:
        return 0.0
    pts = np.concatenate([law.breakpoints(), law.atoms()[0]])
    pts = pts[(pts > lower) & (pts < upper)]
    value, _ = integrate.quad(lambda u: u**power * float(law.cdf(u)), lower, upper,
                              points=pts if pts.size else None, limit=500,
                              epsabs=1e-13, epsrel=1e-12)
    return float(value)


def integrate_sf_tail(law: DelayLaw, lower: float) -> float:
    """``∫_lower^∞ (1 - F(u)) du = E[(X - lower)^+]`` with full relative accuracy."""
    lo, hi = law.support
    start = max(lower, lo)
    head = start - lower  # below the support, 1 - F = 1
    if start >= hi:
        return head
    pts = np.concatenate([law.breakpoints(), law.atoms()[0]])
    pts = pts[(pts > start) & (pts < hi)]
    if math.isinf(hi):
        body = 0.0
        if pts.size:
            body, _ = integrate.quad(lambda u: float(law.sf(u)), start, float(pts.max()),
                                     points=pts[pts < pts.max()] if pts.size > 1 else None,
                                     limit=500, epsabs=0.0, epsrel=1e-12)
            start = float(pts.max())
        tail, _ = integrate.quad(lambda u: float(law.sf(u)), start, math.inf, limit=500,
                                 epsabs=0.0, epsrel=1e-12)
        return head + body + tail
    value, _ = integrate.quad(lambda u: float(law.sf(u)), start, hi,
                              points=pts if pts.size else None, limit=500,
                              epsabs=0.0, epsrel=1e-12)
    return head + value


def integrate_sf(law: DelayLaw, upper: float) -> float:
    """``∫_0^upper (1 - F(u)) du = E[min(X, upper)]``."""
    if upper <= 0:
        return 0.0
    return upper - _integrate_cdf(law, 0.0, upper)
