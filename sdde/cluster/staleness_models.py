"""Parametric models of a measured staleness histogram, fitted by maximum likelihood.

Measured staleness (from a parameter server's logs, or :func:`sdde.simulate`) is often
summarised by a one- or two-parameter law, as in MindTheStep-AsyncPSGD (Bäckström et al.):

* **Poisson** ``P(S = s) = e^{−λ} λ^s / s!``: what the Poisson approximation gives for
  rounds of fixed length, given the arrival stream; variance = mean.
* **Geometric** ``P(S = s) = p (1 − p)^s``: exact for exponential round times
  (``p = 1/n``); over-dispersed, variance ``mean (1 + mean)``.
* **Conway–Maxwell–Poisson** ``P(S = s) ∝ λ^s / (s!)^ν``: one extra parameter ``ν`` moves
  the dispersion (``ν = 1`` Poisson, ``ν → 0`` geometric-like over-dispersion with
  ``λ < 1``, ``ν > 1`` under-dispersion, as for near-deterministic rounds).

:func:`fit_staleness` fits one model to counts or raw samples, with standard errors from
the observed information (the Hessian of the log-likelihood), and returns a
:class:`FittedStaleness` that gives its pmf, its :class:`~sdde.cluster.staleness.StalenessLaw`
(so it can be compared with :meth:`sdde.Cluster.staleness` by total variation) and its
AIC; :func:`fit_best` picks the model with the smallest AIC.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from sdde._numerics import FloatArray
from sdde.cluster.staleness import StalenessLaw

Model = Literal["poisson", "geometric", "cmp"]
MODELS: tuple[Model, ...] = ("poisson", "geometric", "cmp")

#: Terms of the CMP normalising series are summed until they fall below this fraction.
_CMP_TAIL = 1e-16


@dataclass(frozen=True)
class FittedStaleness:
    """A staleness model fitted to data.

    Attributes
    ----------
    model : {"poisson", "geometric", "cmp"}
    params : dict
        ``{"lam": λ}``, ``{"p": p}`` or ``{"lam": λ, "nu": ν}``.
    stderr : dict
        Standard errors of the parameters (observed information; asymptotic).
    log_likelihood : float
    n_samples : int
    """

    model: Model
    params: dict[str, float]
    stderr: dict[str, float]
    log_likelihood: float
    n_samples: int

    @property
    def aic(self) -> float:
        """Akaike's information criterion ``2k − 2 log L``."""
        return 2 * len(self.params) - 2 * self.log_likelihood

    def pmf(self, s: npt.ArrayLike) -> FloatArray:
        """``P(S = s)`` under the fitted model."""
        return np.exp(_log_pmf(self.model, _vector(self.model, self.params),
                               np.asarray(s, dtype=np.float64)))

    def to_law(self, k_max: int | None = None) -> StalenessLaw:
        """The fitted law as a :class:`~sdde.cluster.staleness.StalenessLaw` (tabulated to
        ``k_max``, by default where the tail falls below ``1e-12``)."""
        if k_max is None:
            k_max = 16
            while 1.0 - float(self.pmf(np.arange(k_max + 1)).sum()) > 1e-12 and k_max < 1 << 22:
                k_max *= 2
        p = self.pmf(np.arange(k_max + 1))
        s = np.arange(k_max + 1)
        mean = float(p @ s)
        var = float(p @ (s - mean) ** 2)
        return StalenessLaw(probabilities=p, tail_mass=max(0.0, 1.0 - float(p.sum())),
                            mean=mean, var=var, method=f"fit:{self.model}",
                            n_samples=self.n_samples)


def _vector(model: Model, params: dict[str, float]) -> FloatArray:
    if model == "poisson":
        return np.array([params["lam"]])
    if model == "geometric":
        return np.array([params["p"]])
    return np.array([params["lam"], params["nu"]])


def _log_normaliser(lam: float, nu: float) -> float:
    """``log Σ_j λ^j / (j!)^ν``, summed until the terms are negligible (they peak near
    ``j ≈ λ^{1/ν}`` and then fall faster than geometrically)."""
    log_lam = math.log(lam)
    log_peak = log_lam / nu
    if log_peak > 15.0:  # the terms peak beyond s = 3e6: no staleness law looks like that
        raise ValueError(f"the CMP law with λ = {lam:g}, ν = {nu:g} peaks beyond 3e6")
    peak = math.exp(max(log_peak, 0.0))
    top = int(max(32.0, 2.0 * peak + 40.0 * math.sqrt(peak + 1.0) / max(nu, 1e-3) ** 0.5))
    while True:
        j = np.arange(top + 1, dtype=np.float64)
        terms = j * log_lam - nu * special.gammaln(j + 1.0)
        biggest = float(terms.max())
        if terms[-1] - biggest < math.log(_CMP_TAIL) and terms[-1] < terms[-2]:
            return biggest + math.log(float(np.exp(terms - biggest).sum()))
        if top > 1 << 22:
            raise ValueError(f"the CMP series with λ = {lam:g}, ν = {nu:g} does not "
                             "converge (ν too small for this λ)")
        top *= 2


def _log_pmf(model: Model, theta: FloatArray, s: FloatArray) -> FloatArray:
    if model == "poisson":
        lam = float(theta[0])
        return np.asarray(s * math.log(lam) - lam - special.gammaln(s + 1.0))
    if model == "geometric":
        p = float(theta[0])
        return np.asarray(math.log(p) + s * math.log1p(-p))
    lam, nu = float(theta[0]), float(theta[1])
    return np.asarray(s * math.log(lam) - nu * special.gammaln(s + 1.0)
                      - _log_normaliser(lam, nu))


def _as_counts(data: npt.ArrayLike, counts: bool) -> FloatArray:
    values = np.asarray(data)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("staleness data must be a non-empty 1-D array")
    if counts:
        c = values.astype(np.float64)
        if not np.all(np.isfinite(c)) or np.any(c < 0) or c.sum() <= 0:
            raise ValueError("a staleness histogram needs finite counts >= 0, not all zero")
        return c
    if not np.all(np.isfinite(values)) or np.any(values < 0) or np.any(values != np.round(values)):
        raise ValueError("staleness samples must be whole numbers >= 0")
    return np.bincount(values.astype(np.int64)).astype(np.float64)


def fit_staleness(data: npt.ArrayLike, model: Model = "cmp", *,
                  counts: bool = False) -> FittedStaleness:
    """Fit a staleness model by maximum likelihood.

    Parameters
    ----------
    data : array_like
        Staleness samples (whole numbers >= 0), or with ``counts=True`` a histogram:
        ``data[s]`` = number of gradients with staleness ``s``.
    model : {"poisson", "geometric", "cmp"}
    counts : bool
        Whether ``data`` is a histogram.

    Returns
    -------
    FittedStaleness

    Notes
    -----
    Poisson and geometric have closed-form estimators, ``λ̂ = mean`` and
    ``p̂ = 1/(1 + mean)``, with standard errors ``sqrt(λ̂/N)`` and
    ``p̂ sqrt((1 − p̂)/N)``. The CMP log-likelihood is maximised over ``(log λ, log ν)``
    by L-BFGS-B from the Poisson start ``(mean, 1)``; its standard errors come from a
    finite-difference Hessian of the log-likelihood at the optimum.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> fit = fit_staleness(rng.geometric(0.1, size=20000) - 1, "geometric")
    >>> round(fit.params["p"], 2), fit.stderr["p"] < 0.001
    (0.1, True)
    """
    if model not in MODELS:
        raise ValueError(f"staleness model must be one of {', '.join(MODELS)}, got {model!r}")
    c = _as_counts(data, counts)
    s = np.arange(c.size, dtype=np.float64)
    n = float(c.sum())
    mean = float(c @ s) / n
    if model == "poisson":
        if mean <= 0:
            raise ValueError("a Poisson fit needs a positive mean staleness")
        theta = np.array([mean])
        stderr = {"lam": math.sqrt(mean / n)}
    elif model == "geometric":
        p = 1.0 / (1.0 + mean)
        theta = np.array([p])
        stderr = {"p": p * math.sqrt((1.0 - p) / n)}
    else:
        theta, stderr = _fit_cmp(c, s, n, mean)
    log_l = float(c @ _log_pmf(model, theta, s))
    names = ("lam", "nu") if model == "cmp" else (("lam",) if model == "poisson" else ("p",))
    return FittedStaleness(model=model, params=dict(zip(names, map(float, theta), strict=True)),
                           stderr=stderr, log_likelihood=log_l, n_samples=round(n))


def _fit_cmp(c: FloatArray, s: FloatArray, n: float,
             mean: float) -> tuple[FloatArray, dict[str, float]]:
    if mean <= 0:
        raise ValueError("a CMP fit needs a positive mean staleness")
    log_fact = float(c @ special.gammaln(s + 1.0))
    sum_s = float(c @ s)

    def negative(x: FloatArray) -> float:  # −log L / N over (log λ, log ν)
        lam, nu = math.exp(x[0]), math.exp(x[1])
        try:
            return -(sum_s * x[0] - nu * log_fact - n * _log_normaliser(lam, nu)) / n
        except ValueError:
            return math.inf

    # start from the moment approximations mean ≈ λ^{1/ν} − (ν − 1)/(2ν), var ≈ λ^{1/ν}/ν
    var = float(c @ (s - mean) ** 2) / n
    nu0 = min(max(mean / var, 1e-2), 100.0) if var > 0 else 100.0
    base = mean + (nu0 - 1.0) / (2.0 * nu0)
    start = np.array([nu0 * math.log(base) if base > 0 else math.log(mean), math.log(nu0)])
    # derivative-free: the log-likelihood is +inf-guarded where the series would not converge
    result = optimize.minimize(negative, start, method="Nelder-Mead",
                               options={"xatol": 1e-9, "fatol": 1e-14, "maxiter": 4000})
    x = result.x
    theta = np.exp(x)
    hessian = _hessian(negative, x) * n  # observed information in (log λ, log ν)
    try:
        cov = np.linalg.inv(hessian)
        se_log = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    except np.linalg.LinAlgError:
        se_log = np.array([math.inf, math.inf])
    return theta, {"lam": float(theta[0] * se_log[0]), "nu": float(theta[1] * se_log[1])}


def _hessian(f: Callable[[FloatArray], float], x: FloatArray, step: float = 1e-4) -> FloatArray:
    """Central-difference Hessian of a scalar function of two variables."""
    h = np.zeros((2, 2))
    e = np.eye(2) * step
    for i in range(2):
        for j in range(2):
            h[i, j] = (f(x + e[i] + e[j]) - f(x + e[i] - e[j])
                       - f(x - e[i] + e[j]) + f(x - e[i] - e[j])) / (4 * step * step)
    return 0.5 * (h + h.T)


def fit_best(data: npt.ArrayLike, *, counts: bool = False,
             models: tuple[Model, ...] = MODELS) -> FittedStaleness:
    """The model with the smallest AIC among ``models`` (see :func:`fit_staleness`)."""
    fits = [fit_staleness(data, m, counts=counts) for m in models]
    return min(fits, key=lambda f: f.aic)


def sample_cmp(lam: float, nu: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draws from the Conway–Maxwell–Poisson law (inverse CDF on the tabulated pmf).

    Examples
    --------
    >>> x = sample_cmp(4.0, 1.0, 50000, np.random.default_rng(1))   # ν = 1: Poisson(4)
    >>> bool(abs(x.mean() - 4.0) < 0.05)
    True
    """
    top = 64
    log_z = _log_normaliser(lam, nu)
    while True:
        j = np.arange(top + 1, dtype=np.float64)
        pmf = np.exp(j * math.log(lam) - nu * special.gammaln(j + 1.0) - log_z)
        if 1.0 - pmf.sum() < 1e-14:
            break
        top *= 2
    cdf = np.cumsum(pmf)
    return np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1]), top)
