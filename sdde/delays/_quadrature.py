"""Quadrature rules ``Σ w_m g(x_m) ≈ ∫ g(x) dF(x)`` for functions with Poisson-like structure.

The staleness calculators integrate functions of the round time ``x`` such as
``Pois(k; a x)``, whose width in ``x`` is about ``sqrt(x / a)``: constant in the
variable ``y = sqrt(x)``. The rule below therefore combines three sets of panel edges:

* a uniform grid in ``y = sqrt(x)`` with step ``sqrt_step`` (resolves the Poisson kernel
  at every ``x``);
* quantiles of the law at logit-spaced levels (resolves the density, including
  integrable singularities at the lower end of the support, by a graded mesh);
* the law's breakpoints and any caller-supplied kinks (where the integrand or the
  density is not smooth),

and puts a 10-point Gauss–Legendre rule on every panel — in the variable ``u = F(x)``
(where ``dF = du``, so singular densities are harmless) when the law's quantile function
is closed form, in ``x`` with the density otherwise. Atoms are added as nodes with their
masses. The tests check the rule against closed forms to 1e-10.
"""

from __future__ import annotations

import math

import numpy as np

from sdde import _lazy
from sdde._numerics import FloatArray, gauss_legendre_panels
from sdde.delays import DelayLaw

special = _lazy.module("scipy.special")

#: Levels at which the law's quantiles cut panels: logit-spaced from 2e-16 to 1 - 2e-16.
_QUANTILE_LEVELS = special.expit(np.linspace(-36.0, 36.0, 97))
#: Mass of the upper tail that is left out of the continuous part (bounded by this).
_TAIL_LEFT_OUT = 2.0**-50


def law_quadrature(
    law: DelayLaw,
    *,
    sqrt_step: float,
    x_max: float = math.inf,
    kinks: FloatArray | None = None,
    order: int = 10,
) -> tuple[FloatArray, FloatArray]:
    """Nodes and weights integrating smooth functions of ``x`` against ``dF(x)``.

    Parameters
    ----------
    law : DelayLaw
        The law ``F`` (atoms and density part are both handled).
    sqrt_step : float
        Panel width in ``sqrt(x)``; ``1 / (2 sqrt(a))`` resolves ``Pois(k; a x)``.
    x_max : float
        Upper cut: the caller guarantees the integrand is negligible beyond it.
    kinks : ndarray, optional
        Extra points where the integrand is not smooth.
    order : int
        Gauss–Legendre nodes per panel.

    Returns
    -------
    nodes, weights : ndarray, shape (n_nodes,)
        The weights include the density (or atom masses), so ``Σ weights ≈ F(x_max)``.
    """
    pts, masses = law.atoms()
    keep = pts <= x_max
    nodes = [pts[keep]]
    weights = [masses[keep]]
    if law.continuous_mass > 0.0:
        lo, hi = law.support
        hi = min(hi, x_max, float(law.quantile(1.0 - _TAIL_LEFT_OUT)))
        if hi > lo:
            edges = _panel_edges(law, lo, hi, sqrt_step, kinks)
            if law.continuous_mass == 1.0 and law.has_fast_quantile:
                # Integrate in u = F(x): dF = du needs no density, so densities that are
                # singular (gamma or Weibull with shape < 1) or jump at the support's start
                # cost nothing; the same panels, mapped by F, still resolve the integrand.
                u_edges = np.unique(np.asarray(law.cdf(edges), dtype=np.float64))
                u, w = gauss_legendre_panels(u_edges, order)
                nodes.append(np.asarray(law.quantile(u), dtype=np.float64))
                weights.append(w)
            else:
                x, w = gauss_legendre_panels(edges, order)
                nodes.append(x)
                weights.append(w * np.asarray(law.pdf(x), dtype=np.float64))
    return np.concatenate(nodes), np.concatenate(weights)


def _panel_edges(law: DelayLaw, lo: float, hi: float, sqrt_step: float,
                 kinks: FloatArray | None) -> FloatArray:
    y_lo, y_hi = math.sqrt(lo), math.sqrt(hi)
    n_steps = max(1, math.ceil((y_hi - y_lo) / sqrt_step))
    grid = np.linspace(y_lo, y_hi, n_steps + 1) ** 2
    quantiles = np.asarray(law.quantile(_QUANTILE_LEVELS), dtype=np.float64)
    extra = [law.breakpoints(), quantiles, np.array([lo, hi])]
    if kinks is not None:
        extra.append(np.asarray(kinks, dtype=np.float64))
    edges = np.concatenate([grid, *extra])
    edges = edges[np.isfinite(edges) & (edges >= lo) & (edges <= hi)]
    edges = np.unique(edges)
    # Drop edges within a few ulps of the previous one: such panels carry nothing. The
    # last edge is ``hi`` itself, whatever was dropped before it (a law narrower than a
    # few thousand ulps would otherwise lose the mass of its last panel).
    kept = edges[np.concatenate([[True], np.diff(edges) > 8 * np.spacing(edges[1:])])]
    if kept.size == 1:
        return np.array([lo, hi]) if hi > lo else kept
    kept[-1] = edges[-1]
    return kept
