"""The whole finite spectrum of a kernel with a rational transform (private).

Exponential and Erlang (integer-shape gamma) laws and their mixtures have
``φ(z) = Σ_c w_c (r_c / (r_c + z))^{k_c}``, so ``z + κ φ(z) = 0`` is a polynomial
equation (the linear chain trick: the SDDE is a finite linear system). Every root is
returned, left of the law's abscissa of convergence ``−min r_c`` too: a solution's
transform ``N / (z + κ φ)`` is analytic at the poles of ``φ``, so those roots are the
system's own eigenvalues.

The roots are the eigenvalues of the chain's matrix in its minimal form: one chain of
``K_r = max k_c`` stages per distinct rate ``r`` (phases sharing a rate tap the same
chain; separate chains of one rate would add the uncontrollable eigenvalue ``−r``, a pole
of ``Δ``, not a root). Unlike the companion matrix of the multiplied-out polynomial,
whose coefficients span many decades for a tall chain (at ``k = 40`` its roots near
``−k`` are wrong by 25 %), the chain matrix has entries of the size of the rates and
the gain, and its eigenvalues are accurate to ``~1e-14 (1 + |z|)`` (checked against
mpmath in the tests). Each root is then polished by Newton's method on the product form
above, whose evaluation is accurate to a few ulps of its terms wherever ``z`` is not a
pole (roots never are: ``Δ`` is infinite there).
"""

from __future__ import annotations

import functools

import numpy as np

from sdde._numerics import ComplexArray, FloatArray

#: ``(weight, rate, shape)`` of each phase, in mean-delay units.
Components = tuple[tuple[float, float, int], ...]

#: Newton steps at most per root, and the relative step that ends them.
_POLISH_STEPS = 8
_POLISH_TOL = 1e-15


@functools.lru_cache(maxsize=256)
def _chain_parts(components: Components) -> tuple[FloatArray, FloatArray]:
    """The chain matrix without its first row, and that row per unit gain (built once
    per kernel; a gain only scales the row).

    State ``(x, y_{r,1..K_r} for each distinct rate r)``: ``y_{r,1}' = r (x − y_{r,1})``,
    ``y_{r,j}' = r (y_{r,j−1} − y_{r,j})`` and ``x' = −κ Σ_c w_c y_{r_c, k_c}``.
    """
    stages: dict[float, int] = {}
    for _, rate, shape in components:
        stages[rate] = max(stages.get(rate, 0), shape)
    size = 1 + sum(stages.values())
    matrix = np.zeros((size, size))
    start: dict[float, int] = {}
    row = 1
    for rate, length in stages.items():
        start[rate] = row
        for j in range(length):
            matrix[row + j, row + j] = -rate
            matrix[row + j, 0 if j == 0 else row + j - 1] = rate
        row += length
    taps = np.zeros(size)
    for weight, rate, shape in components:
        taps[start[rate] + shape - 1] -= weight
    return matrix, taps


def chain_matrix(kappa: float, components: Components) -> FloatArray:
    """The minimal chain matrix ``A`` at gain ``κ``: ``s' = A s`` with ``s = (x, y)``
    (:func:`_chain_parts`); its eigenvalues are the roots of ``z + κ φ(z)``."""
    base, taps = _chain_parts(components)
    matrix = base.copy()
    matrix[0] = kappa * taps
    return matrix


def chain_roots(kappa: float, components: Components) -> ComplexArray:
    """Eigenvalues of the chain matrix at gain ``κ``: every root of ``z + κ φ(z)``,
    unpolished (good to ``~1e-14 (1 + |z|)`` for simple roots)."""
    return np.asarray(np.linalg.eigvals(chain_matrix(kappa, components)),
                      dtype=np.complex128)


def characteristic_value(kappa: float, components: Components, z: ComplexArray
                         ) -> tuple[ComplexArray, ComplexArray, FloatArray]:
    """``Δ(z) = z + κ φ(z)``, ``Δ'(z)`` and the scale of its rounding error: ``|z|`` plus
    each term ``t_c = κ w_c (r_c/(r_c+z))^{k_c}`` as ``|t_c| (1 + k_c (r_c + |z|) /
    |r_c + z|)`` (``r_c + z`` is rounded to ``eps (r_c + |z|)``, which the power
    amplifies near a pole); ``|Δ|`` at a root is a few ulps of the scale."""
    value = z.astype(np.complex128)
    slope = np.ones_like(value)
    scale = np.abs(value)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for weight, rate, shape in components:
            ratio = rate / (rate + z)
            term = kappa * weight * ratio**shape
            value = value + term
            slope = slope - term * shape / (rate + z)
            scale = scale + np.abs(term) * (1.0 + shape * (rate + np.abs(z)) / np.abs(rate + z))
    return value, slope, scale


def rational_roots(kappa: float, components: Components) -> ComplexArray:
    """Every root of ``z + κ φ(z)`` for a rational ``φ`` (all ``1 + Σ k_c`` of them, a
    multiple root repeated), sorted by real part descending, ``Im > 0`` first in a pair.

    Parameters
    ----------
    kappa : float
        Dimensionless gain ``κ > 0``.
    components : tuple of (weight, rate, shape)
        The phases of ``φ`` (:func:`sdde.stability.roots.phase_type_components`).

    Returns
    -------
    ndarray of complex, shape (1 + Σ k_c,)
        The roots; the members of a pair are exact conjugates.

    Notes
    -----
    The chain matrix's eigenvalues are polished by Newton's method on the product form
    when that lowers ``|Δ|``; near a multiple root, where Newton converges only linearly
    and two iterates could merge, a root is kept as the eigensolver gave it.
    """
    found = chain_roots(kappa, components)
    upper = found[found.imag >= 0.0]  # polish one member of each pair, mirror the other
    polished = _polish(kappa, components, upper)
    real = np.abs(polished.imag) <= 1e-14 * (1.0 + np.abs(polished))
    polished = np.where(real & (upper.imag == 0.0), polished.real + 0j, polished)
    pairs = polished[polished.imag > 0.0]
    roots = np.concatenate([polished[polished.imag == 0.0], pairs, pairs.conj()])
    if roots.size != found.size:  # an iterate crossed the axis: keep the eigenvalues
        roots = found
    return roots[np.lexsort((-roots.imag, -np.round(roots.real, 9)))]


def _polish(kappa: float, components: Components, z: ComplexArray) -> ComplexArray:
    """Newton's method from each of ``z``; a root keeps its start unless Newton lowered
    ``|Δ|`` and did not land on another root's polished value."""
    start_value, _, _ = characteristic_value(kappa, components, z)
    out = z.copy()
    live = np.ones(z.shape, dtype=bool)
    for _ in range(_POLISH_STEPS):
        if not live.any():
            break
        value, slope, _ = characteristic_value(kappa, components, out[live])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            step = value / slope
        step = np.where(np.isfinite(step), step, 0.0)
        out[live] -= step
        live[live] = np.abs(step) > _POLISH_TOL * (1.0 + np.abs(out[live]))
    end_value, _, _ = characteristic_value(kappa, components, out)
    better = np.isfinite(out) & (np.abs(end_value) <= np.abs(start_value))
    out = np.where(better, out, z)
    if out.size > 1:  # two starts that met: keep both starts (a multiple root)
        gap = np.abs(out[:, None] - out[None, :]) + np.eye(out.size)
        merged = np.any(gap <= 1e-9 * (1.0 + np.abs(out[:, None])), axis=1)
        out = np.where(merged, z, out)
    return out
