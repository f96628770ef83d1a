"""The spectral density of a Hessian by stochastic Lanczos quadrature (SLQ).

For a random probe ``z`` with ``E[z zᵀ] = I`` (Rademacher: entries ±1), ``zᵀ f(H) z / dim``
is an unbiased estimate of ``tr f(H) / dim = ∫ f dμ``, the average of ``f`` over the
eigenvalues (Hutchinson). ``m`` Lanczos steps from ``v = z / ‖z‖`` give a tridiagonal
``T = Q Θ Qᵀ`` whose Ritz values ``θ_j`` and squared first components ``τ_j = Q_{0j}²`` are
the ``m``-point Gauss quadrature rule of the measure ``Σ_i (vᵀu_i)² δ(λ − λ_i)``
(Golub & Meurant 2010; Ubaru, Chen & Saad 2017, SIAM J. Matrix Anal. Appl. 38:1075). The
rule is exact for polynomials of degree ``<= 2m − 1``, so the moments
``tr(H^p) / dim``, ``p <= 2m − 1``, of the averaged rule carry only the probes' sampling
error, reported as a standard error over the probes (``moment_std_error``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray
from sdde.curvature._operator import HVP, CountingHVP, check_count, check_rng, resolve_dim

if TYPE_CHECKING:
    from sdde.model.spectrum import HessianSpectrum

#: Moments ``tr(H^p) / dim`` reported, ``p = 1 .. N_MOMENTS``.
N_MOMENTS = 4


@dataclass(frozen=True, kw_only=True, eq=False)
class SpectralDensity:
    """A Hessian's eigenvalue density as a weighted set of nodes, with its error.

    Attributes
    ----------
    nodes : ndarray, shape (n_nodes,)
        Ritz values of every probe, pooled (ascending).
    weights : ndarray, shape (n_nodes,)
        Their weights, summing to 1: the estimated share of the ``dim`` eigenvalues at each
        node (``weights · dim`` are multiplicities).
    probe_nodes, probe_weights : ndarray, shape (n_probes, n_steps)
        Each probe's Gauss rule (its weights sum to 1). A probe whose Lanczos run found an
        invariant subspace early (its rule is then exact) is padded with weight-0 copies of
        its largest node.
    moments : ndarray, shape (4,)
        Estimates of ``tr(H^p) / dim`` for ``p = 1 .. 4`` (the mean of the probes' rules).
    moment_std_error : ndarray, shape (4,)
        Their standard errors: the standard deviation over probes over ``√n_probes``.
        Gauss quadrature is exact to degree ``2 · n_steps − 1 >= 5`` per probe, so this
        sampling error is the whole error of these moments (up to rounding).
    dim : int
        Number of parameters.
    n_probes, n_steps : int
        Probes, and Lanczos steps per probe (at most ``dim``).
    n_hvp : int
        Hessian-vector products used (``n_probes · n_steps`` at most).
    """

    nodes: FloatArray
    weights: FloatArray
    probe_nodes: FloatArray
    probe_weights: FloatArray
    moments: FloatArray
    moment_std_error: FloatArray
    dim: int
    n_probes: int
    n_steps: int
    n_hvp: int

    @property
    def exact_degree(self) -> int:
        """Highest polynomial degree each probe's rule integrates exactly, ``2m − 1``."""
        return 2 * self.n_steps - 1

    @property
    def nonpositive_weight(self) -> float:
        """The share of the density at nodes ``<= 0`` (flat or negatively curved)."""
        return float(self.weights[self.nodes <= 0.0].sum())

    def moment(self, order: int) -> tuple[float, float]:
        """``tr(H^order) / dim`` and its standard error, for ``1 <= order <= 2m − 1``."""
        order = check_count("order", order, 0)
        if order > self.exact_degree:
            raise ValueError(f"order must be at most 2 · n_steps − 1 = {self.exact_degree} "
                             f"(the degree the quadrature is exact for), got {order}")
        per_probe = np.sum(self.probe_weights * self.probe_nodes ** order, axis=1)
        return float(per_probe.mean()), _std_error(per_probe)

    def smoothed(self, grid: npt.ArrayLike, width: float) -> FloatArray:
        """The density convolved with a Gaussian of standard deviation ``width``, on ``grid``.

        Integrates to 1 over the real line (for plots, as in PyHessian).
        """
        x = np.asarray(grid, dtype=np.float64)
        if not (width > 0 and np.isfinite(width)):
            raise ValueError(f"width must be a finite number > 0, got {width!r}")
        z = (x[..., None] - self.nodes) / width
        return np.asarray(np.exp(-0.5 * z * z) @ self.weights / (width * np.sqrt(2 * np.pi)))

    def to_spectrum(self, *, min_curvature: float = 0.0,
                    noise: float | None = None) -> HessianSpectrum:
        """The nodes above ``min_curvature`` as a weighted :class:`sdde.HessianSpectrum`.

        Built by :meth:`sdde.HessianSpectrum.from_density`. The weights are scaled by
        ``dim``, so they are multiplicities (they add up to ``dim · (1 − dropped share)``).
        Flat and negatively curved nodes have no stability question to answer and are
        left out; :attr:`nonpositive_weight` tells how much of the density they held.
        ``noise`` (one variance for every mode) is carried as the spectrum's ``noise``.
        """
        from sdde.model.spectrum import HessianSpectrum

        keep = (self.nodes > min_curvature) & (self.weights > 0)
        if not np.any(keep):
            raise ValueError(f"to_spectrum: no node above {min_curvature:g} carries weight "
                             "(the density is flat or negatively curved)")
        nodes = self.nodes[keep]
        return HessianSpectrum.from_density(
            nodes, self.weights[keep] * self.dim,
            noise=None if noise is None else np.full(nodes.size, float(noise)))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (the pooled rule, the moments and their errors)."""
        return {"nodes": [float(v) for v in self.nodes],
                "weights": [float(v) for v in self.weights],
                "moments": [float(v) for v in self.moments],
                "moment_std_error": [float(v) for v in self.moment_std_error],
                "dim": self.dim, "n_probes": self.n_probes, "n_steps": self.n_steps,
                "n_hvp": self.n_hvp}


def spectral_density(hvp: HVP, dim: int | None = None, *, n_probes: int = 16,
                     lanczos_steps: int = 64, rng: np.random.Generator | None = None,
                     probes: npt.ArrayLike | None = None) -> SpectralDensity:
    """Stochastic Lanczos quadrature: the Hessian's eigenvalue density from HVPs.

    Parameters
    ----------
    hvp : callable
        ``hvp(v) -> H v`` for float64 vectors of shape ``(dim,)``; ``H`` symmetric.
    dim : int, optional
        Number of parameters (taken from ``hvp.dim`` when left out).
    n_probes : int
        Rademacher probes, ``>= 2`` (the standard error needs two). The moments' standard
        error falls as ``1 / √n_probes``.
    lanczos_steps : int
        Lanczos steps per probe, ``>= 3`` (capped at ``dim``): each probe's rule has that
        many nodes and is exact for polynomials of degree ``2 · lanczos_steps − 1``.
    rng : numpy.random.Generator
        Draws the probes (required unless ``probes`` is given).
    probes : array_like, shape (n_probes, dim), optional
        Pre-drawn probe vectors (any non-zero rows; each is normalised), e.g. to reuse the
        same probes across models. ``n_probes`` is then their number.

    Returns
    -------
    SpectralDensity

    Notes
    -----
    Each step costs one HVP plus full reorthogonalisation against the previous vectors
    (classical Gram–Schmidt, twice), ``O(dim · m)`` flops and ``dim · m`` floats of memory
    per probe with ``m = lanczos_steps``; the whole run costs ``n_probes · m`` HVPs and
    ``O(n_probes · dim · m²)`` flops besides. Without reorthogonalisation the Lanczos
    vectors lose orthogonality once a Ritz value converges and the rule grows ghost
    copies of the extreme eigenvalues; full reorthogonalisation avoids this at the price
    of the ``m²`` term, affordable when ``dim · m`` floats fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> h = np.diag(np.linspace(1.0, 2.0, 50))
    >>> d = spectral_density(lambda v: h @ v, 50, n_probes=4, lanczos_steps=10,
    ...                      rng=np.random.default_rng(0))
    >>> round(float(d.weights.sum()), 12), round(float(d.moments[0]), 12)   # tr H / dim
    (1.0, 1.5)
    """
    n = resolve_dim(hvp, dim)
    steps = min(check_count("lanczos_steps", lanczos_steps, 3), n)
    if probes is None:
        count = check_count("n_probes", n_probes, 2)
        check_rng(rng, required=True)
        assert rng is not None
        z = rng.choice(np.array([-1.0, 1.0]), size=(count, n))
    else:
        z = np.array(probes, dtype=np.float64)
        if z.ndim != 2 or z.shape[1] != n or z.shape[0] < 2:
            raise ValueError(f"probes must have shape (n_probes, dim) = (>= 2, {n}), got "
                             f"{z.shape}")
        norms = np.linalg.norm(z, axis=1)
        if not np.all(np.isfinite(z)) or np.any(norms == 0):
            raise ValueError("probes must be finite and every row non-zero")
    op = CountingHVP(hvp, n)
    rules = [_gauss_rule(op, row, steps) for row in z]
    probe_nodes = np.stack([nodes for nodes, _ in rules])
    probe_weights = np.stack([weights for _, weights in rules])
    per_probe = np.stack([np.sum(probe_weights * probe_nodes ** p, axis=1)
                          for p in range(1, N_MOMENTS + 1)], axis=1)
    count = z.shape[0]
    live = probe_weights > 0
    order = np.argsort(probe_nodes[live], kind="stable")
    nodes = probe_nodes[live][order]
    weights = probe_weights[live][order] / count
    moments = per_probe.mean(axis=0)
    errors = np.array([_std_error(per_probe[:, p]) for p in range(N_MOMENTS)])
    for arr in (nodes, weights, probe_nodes, probe_weights, moments, errors):
        arr.setflags(write=False)
    return SpectralDensity(nodes=nodes, weights=weights, probe_nodes=probe_nodes,
                           probe_weights=probe_weights, moments=moments,
                           moment_std_error=errors, dim=n, n_probes=count, n_steps=steps,
                           n_hvp=op.calls)


def _std_error(samples: FloatArray) -> float:
    return float(np.std(samples, ddof=1) / np.sqrt(samples.size))


def _gauss_rule(op: CountingHVP, start: FloatArray, steps: int) -> tuple[FloatArray, FloatArray]:
    """Nodes and weights (padded to ``steps``) of the Lanczos Gauss rule from ``start``."""
    n = start.size
    basis = np.empty((steps, n))
    basis[0] = start / np.linalg.norm(start)
    alpha, beta = np.zeros(steps), np.zeros(steps - 1)
    size = steps
    for j in range(steps):
        w = np.array(op(basis[j]))  # a copy: an HVP may return a read-only array (JAX)
        alpha[j] = basis[j] @ w
        for _ in range(2):  # full reorthogonalisation, Gram–Schmidt twice
            w -= basis[: j + 1].T @ (basis[: j + 1] @ w)
        if j == steps - 1:
            break
        norm = float(np.linalg.norm(w))
        scale = max(float(np.max(np.abs(alpha[: j + 1]))), float(np.max(beta[:j], initial=0.0)))
        # An invariant Krylov subspace: what is left of H q is rounding (about eps · ‖H‖
        # per entry); the rule built so far is exact for this probe.
        if norm <= n * np.finfo(float).eps * scale:
            size = j + 1
            break
        beta[j] = norm
        basis[j + 1] = w / norm
    tri = np.diag(alpha[:size]) + np.diag(beta[: size - 1], 1) + np.diag(beta[: size - 1], -1)
    theta, vectors = np.linalg.eigh(tri)
    tau = vectors[0] ** 2
    tau = tau / tau.sum()  # exactly 1 (it is 1 up to rounding)
    nodes = np.full(steps, theta[-1])
    weights = np.zeros(steps)
    nodes[:size], weights[:size] = theta, tau
    return nodes, weights
