"""The top of a Hessian's spectrum from Hessian-vector products (implicitly restarted Lanczos).

:func:`top_eigenvalues` runs ARPACK's implicitly restarted Lanczos method
(``scipy.sparse.linalg.eigsh``) on a ``LinearOperator`` whose mat-vec is the user's
Hessian-vector product, so the Hessian is never formed: memory is ``O(dim · ncv)`` with
``ncv = 2k + 1`` Lanczos vectors, and the cost is a few times ``ncv`` products. Every
returned pair carries its residual norm ``‖H u − λ u‖``: for a symmetric ``H`` some
eigenvalue lies within that distance of ``λ`` (the residual bound), whatever ARPACK did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray
from sdde.curvature._operator import HVP, CountingHVP, check_count, check_rng, resolve_dim

if TYPE_CHECKING:
    from sdde.model.spectrum import HessianSpectrum

Which = Literal["LA", "SA", "LM"]
_WHICH = ("LA", "SA", "LM")


@dataclass(frozen=True, kw_only=True, eq=False)
class TopEigenvalues:
    """Extreme eigenvalues of a Hessian, with their residuals and cost.

    Attributes
    ----------
    eigenvalues : ndarray, shape (k,)
        From the selected end inward: descending for ``which="LA"`` (largest first),
        ascending for ``"SA"`` (most negative first), by descending magnitude for ``"LM"``.
    eigenvectors : ndarray, shape (dim, k), or None
        Unit eigenvectors as columns (None unless asked for).
    residual_norms : ndarray, shape (k,)
        ``‖H u − λ u‖`` for each unit eigenvector ``u``: an eigenvalue of ``H`` lies within
        this distance of ``λ`` (for a symmetric ``H``; the HVP's own rounding comes on top).
    n_hvp : int
        Hessian-vector products used, the ``k`` residual checks included.
    dim : int
        Number of parameters.
    which : {"LA", "SA", "LM"}
        Which end was computed.
    method : {"lanczos", "dense"}
        ``"dense"`` when ``dim <= 2k + 1``: ARPACK would need the whole space anyway, so
        the Hessian is built from ``dim`` products and diagonalised.
    converged : bool
        False when ARPACK stopped at ``maxiter``; ``eigenvalues`` then holds the pairs that
        had converged (possibly fewer than ``k``).
    """

    eigenvalues: FloatArray
    eigenvectors: FloatArray | None
    residual_norms: FloatArray
    n_hvp: int
    dim: int
    which: str
    method: str
    converged: bool

    @property
    def k(self) -> int:
        """Number of eigenvalues returned."""
        return int(self.eigenvalues.size)

    def to_spectrum(self, *, min_curvature: float = 0.0,
                    noise: npt.ArrayLike | None = None) -> HessianSpectrum:
        """The eigenvalues above ``min_curvature`` as a :class:`sdde.HessianSpectrum`.

        Flat and negatively curved directions have no stability question to answer, so
        they are left out (with their noise); ``ValueError`` if none is left.

        Parameters
        ----------
        min_curvature : float
            Keep eigenvalues strictly above this.
        noise : float or array_like of shape (k,), optional
            Gradient-noise variance per eigenvalue, in this result's order (e.g.
            :func:`gradient_noise` on :attr:`eigenvectors`: its ``variances``); carried as
            the spectrum's ``noise``.
        """
        from sdde.model.spectrum import HessianSpectrum

        keep = self.eigenvalues > min_curvature
        if not np.any(keep):
            raise ValueError(f"to_spectrum: no eigenvalue above {min_curvature:g} (the "
                             "computed end of the spectrum is flat or negatively curved)")
        c = None
        if noise is not None:
            c = np.asarray(noise, dtype=np.float64)
            if c.ndim > 1 or c.size not in (1, self.k):
                raise ValueError(f"to_spectrum: noise must be one number or one per "
                                 f"eigenvalue ({self.k}), got shape {c.shape}")
            c = np.broadcast_to(c.reshape(-1), (self.k,))[keep]
        return HessianSpectrum(eigenvalues=self.eigenvalues[keep], noise=c)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (eigenvectors left out)."""
        return {"eigenvalues": [float(v) for v in self.eigenvalues],
                "residual_norms": [float(v) for v in self.residual_norms],
                "n_hvp": self.n_hvp, "dim": self.dim, "which": self.which,
                "method": self.method, "converged": self.converged}


def top_eigenvalues(hvp: HVP, dim: int | None = None, k: int = 10, *, which: Which = "LA",
                    tol: float = 0.0, rng: np.random.Generator | None = None,
                    maxiter: int | None = None,
                    return_eigenvectors: bool = False) -> TopEigenvalues:
    """The ``k`` extreme eigenvalues of the Hessian behind ``hvp``.

    Parameters
    ----------
    hvp : callable
        ``hvp(v) -> H v`` for float64 vectors of shape ``(dim,)``; ``H`` must be symmetric.
        A :class:`FlatHVP` from an adapter (:func:`hvp_from_jax`, :func:`hvp_from_torch`)
        carries its own ``dim``.
    dim : int, optional
        Number of parameters (taken from ``hvp.dim`` when left out).
    k : int
        How many eigenvalues, ``1 <= k <= dim``.
    which : {"LA", "SA", "LM"}
        Largest algebraic (the top curvatures; the default: a network's Hessian is
        indefinite), smallest algebraic (the most negative curvature), or largest magnitude.
    tol : float
        ARPACK's relative accuracy of the Ritz values; 0 (the default) asks for machine
        precision.
    rng : numpy.random.Generator, optional
        Draws the starting vector (reproducible runs); without it ARPACK draws its own.
    maxiter : int, optional
        ARPACK's restart limit (default ``10 · dim``).
    return_eigenvectors : bool
        Keep the ``(dim, k)`` eigenvectors (e.g. for :func:`gradient_noise`).

    Returns
    -------
    TopEigenvalues

    Notes
    -----
    Cost: ARPACK keeps ``ncv = min(dim, 2k + 1)`` vectors of length ``dim`` and typically
    needs a few multiples of ``ncv`` products (``n_hvp`` reports the count). The residual
    norms cost ``k`` more products. With ``dim <= 2k + 1`` the Hessian is formed from
    ``dim`` products and diagonalised densely (``method="dense"``).

    Examples
    --------
    >>> import numpy as np
    >>> h = np.diag(np.arange(1.0, 101.0))           # eigenvalues 1 .. 100
    >>> top = top_eigenvalues(lambda v: h @ v, 100, k=3)
    >>> np.round(top.eigenvalues, 10)
    array([100.,  99.,  98.])
    >>> bool(top.residual_norms.max() < 1e-8)
    True
    """
    n = resolve_dim(hvp, dim)
    k = check_count("k", k, 1)
    if k > n:
        raise ValueError(f"k must be at most dim = {n}, got {k}")
    if which not in _WHICH:
        raise ValueError(f"which must be one of {', '.join(_WHICH)}, got {which!r}")
    if not (isinstance(tol, int | float) and 0.0 <= tol < 1.0):
        raise ValueError(f"tol must be a number in [0, 1) (0: machine precision), got {tol!r}")
    check_rng(rng, required=False)
    if maxiter is not None:
        maxiter = check_count("maxiter", maxiter, 1)
    op = CountingHVP(hvp, n)
    if n <= 2 * k + 1:
        values, vectors, residuals = _dense(op, n)
        method, converged = "dense", True
    else:
        values, vectors, converged = _arpack(op, n, k, which, float(tol), rng, maxiter)
        residuals = np.array([np.linalg.norm(op(vectors[:, j]) - values[j] * vectors[:, j])
                              for j in range(values.size)])
        method = "lanczos"
    order = _order(values, which)[:k]
    values, vectors, residuals = values[order], vectors[:, order], residuals[order]
    for arr in (values, vectors, residuals):
        arr.setflags(write=False)
    return TopEigenvalues(eigenvalues=values,
                          eigenvectors=vectors if return_eigenvectors else None,
                          residual_norms=residuals, n_hvp=op.calls, dim=n, which=which,
                          method=method, converged=converged)


def _order(values: FloatArray, which: str) -> np.ndarray:
    """Indices from the selected end inward."""
    key = {"LA": -values, "SA": values, "LM": -np.abs(values)}[which]
    return np.argsort(key, kind="stable")


def _dense(op: CountingHVP, n: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """All eigenpairs of the Hessian formed column by column from ``n`` products."""
    eye = np.eye(n)
    h = np.column_stack([op(eye[:, j]) for j in range(n)])
    h = 0.5 * (h + h.T)  # symmetric by assumption; this removes the products' rounding
    values, vectors = np.linalg.eigh(h)
    residuals = np.linalg.norm(h @ vectors - vectors * values, axis=0)
    return values, vectors, residuals


def _arpack(op: CountingHVP, n: int, k: int, which: str, tol: float,
            rng: np.random.Generator | None,
            maxiter: int | None) -> tuple[FloatArray, FloatArray, bool]:
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    linear = LinearOperator((n, n), matvec=op, dtype=np.float64)
    v0 = None if rng is None else rng.standard_normal(n)
    try:
        values, vectors = eigsh(linear, k=k, which=which, tol=tol, v0=v0, maxiter=maxiter)
    except ArpackNoConvergence as exc:
        return (np.asarray(exc.eigenvalues, dtype=np.float64).real,
                np.asarray(exc.eigenvectors, dtype=np.float64).reshape(n, -1), False)
    return np.asarray(values, dtype=np.float64), np.asarray(vectors, dtype=np.float64), True
