"""The mean-square divergence threshold: where ``E θ²`` of the real server stops being bounded.

Above it the noise-free second moment grows, and with gradient noise the stationary loss has
infinite variance (heavy tails), although a typical run may still converge (the almost-sure
threshold of :mod:`sdde.stability.almost_sure` lies above it: by Jensen, ``E θ² → 0`` forces
``log |θ| → −∞``). theory/divergence.md derives what is here.

* **Exponential rounds, exact server.** In update-count time the pushing worker is uniform
  and independent of the past, so the second moments from an exchangeable start close on
  four numbers ``(E θ², E θ y_j, E y_j², E y_j y_k)`` (:func:`exponential_moment_map`); the
  spectral radius of that 4×4 map reaches 1 at ``n a² − a − 2 = 0``:
  ``κ_ms = (1 + √(1 + 8n)) / 2``, i.e. ``κ_ms (κ_ms − 1) = 2n`` (:func:`exponential_threshold`).
* **Deterministic rounds, and one worker**: the recursion is deterministic, so the
  mean-square threshold is the almost-sure one, in closed form.
* **Any law, Poisson-driven SDDE** (an approximation): jumps ``−a g θ(t − X)`` at rate
  ``λ = n`` (mean-round units) carry multiplicative noise whose predictable quadratic
  variation is ``(κ²/n) E[g²] θ(t − X)²``; ``E θ²`` then obeys a renewal equation whose
  kernel has mass ``(κ²/n) E[g²] ‖G_κ‖²``, ``G`` the fundamental solution of the mean
  equation, so ``κ_ms`` solves ``κ² E[g²] ‖G_κ‖² = n`` (:func:`poisson_sdde_threshold`).
  For exponential rounds this gives ``κ (κ + 1) = 2n``: low by one against the exact
  server, which is what the approximation costs at small ``n``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdde._numerics import FloatArray, brentq, finite_or_none, gauss_legendre_panels
from sdde.cluster.cluster import Cluster
from sdde.delays import Exponential
from sdde.model.kernels import DelayKernel, StepPolicy
from sdde.stability.almost_sure import closed_form_threshold, policy_factors
from sdde.stability.mean_field import critical_kappa


@dataclass(frozen=True)
class MeanSquareThreshold:
    """``κ_ms``: the gain ``κ = η n h`` above which ``E θ²`` of the server grows.

    Attributes
    ----------
    kappa : float
        The threshold (``inf``: none).
    method : str
        ``"closed form"`` (exact for the server) or ``"Poisson SDDE"`` (approximate).
    exact : bool
        Whether it is the exact server's threshold.
    """

    kappa: float
    method: str
    exact: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (None for non-finite values)."""
        return {"kappa": finite_or_none(self.kappa), "method": self.method,
                "exact": self.exact}


# ----------------------------------------------------------- exponential rounds
def exponential_moment_map(a: float, n: int) -> FloatArray:
    """One update's linear map of ``(E θ², E θ y_j, E y_j², E y_j y_k)``, exponential rounds.

    With ``P' = P − 2aQ + a²R`` the pusher's new value squared: ``Q' = P'/n + (1 − 1/n)
    (Q − aS)``, ``R' = P'/n + (1 − 1/n) R``, ``S' = (2/n)(Q − aS) + (1 − 2/n) S``
    (``n >= 2``; gradient noise of variance ``s²`` per update adds ``s² (1, 1/n, 1/n, 0)``).
    """
    if n < 2:
        raise ValueError(f"the exchangeable moments need n >= 2 workers, got {n}")
    p_row = np.array([1.0, -2.0 * a, a * a, 0.0])
    return np.array([
        p_row,
        p_row / n + (1 - 1 / n) * np.array([0.0, 1.0, 0.0, -a]),
        p_row / n + (1 - 1 / n) * np.array([0.0, 0.0, 1.0, 0.0]),
        [0.0, 2 / n, 0.0, 1 - 2 / n - 2 * a / n],
    ])


def exponential_threshold(n: int) -> float:
    """``κ_ms = (1 + √(1 + 8n)) / 2`` of the exact server with exponential rounds.

    ``det(M − I) = −2a (n a² − a − 2) / n³`` for the map :func:`exponential_moment_map`;
    its spectral radius is an eigenvalue (it preserves the cone of second-moment
    vectors), so it reaches 1 at the positive root of ``n a² − a − 2``. Large ``n``:
    ``√(2n) + ½ + O(n^{−1/2})``.

    Examples
    --------
    >>> exponential_threshold(1), exponential_threshold(3)
    (2.0, 3.0)
    """
    return 0.5 * (1.0 + math.sqrt(1.0 + 8.0 * n))


def exponential_stationary_variance(kappa: float, n: int, noise_intensity: float) -> float:
    """Stationary ``E θ²`` of the exact server, exponential rounds, additive gradient noise.

    ``σ² (κ + 1) / (2κ) / (1 − κ (κ − 1) / (2n))`` with ``σ² = η² n c`` the SDDE's noise
    intensity per mean round (``inf`` at or above :func:`exponential_threshold`); the
    mean-field SDDE's value is the first factor alone.
    """
    margin = 1.0 - kappa * (kappa - 1.0) / (2.0 * n)
    if margin <= 0:
        return math.inf
    return noise_intensity * (kappa + 1.0) / (2.0 * kappa) / margin


# ------------------------------------------------------------- Poisson SDDE
class _Norm2:
    """``κ ↦ ‖G_κ‖² = (1/π) ∫_0^∞ |iω + κ φ(iω)|⁻² dω`` on a fixed frequency rule.

    ``φ(iω)`` does not depend on ``κ``, so the transform is evaluated once per rule and
    every ``κ`` costs one vector operation. The rule is composite Gauss–Legendre: panels of
    width ``step`` up to ``4 (1 + κ_max)``, where the resonance sits (:meth:`refined` halves
    them, keeping the rest), then geometric panels to ``W``, and the ``1/ω²`` tail beyond
    ``W`` exactly. For densities ``|φ(iω)| = O(1/ω)``, so what the tail formula neglects is
    ``O(κ/W³)``; laws without a closed-form transform use ``W = 64 (1 + κ_max)`` and
    their cheaper coarse transform (error about ``2e-9``). The far panels are few (48
    geometric), so the rule is good to about ``1e-5`` relative on ``‖G‖²``: plenty for a
    threshold that is itself an approximation of the server's, and it keeps a law without
    a closed-form transform under a second. :func:`stationary_variance` of
    :mod:`sdde.stability.mean_field` is the independent adaptive route the tests compare
    with.
    """

    def __init__(self, kernel: DelayKernel, kappa_max: float, step: float = 0.2) -> None:
        self.kernel, self.step = kernel, step
        self.near = 4.0 * (1.0 + kappa_max)
        far = (2000.0 if kernel.fast else 64.0) * (1.0 + kappa_max)
        omega, weights = gauss_legendre_panels(np.geomspace(self.near, far, 48), order=8)
        far_phi = kernel.on_axis(omega, coarse=not kernel.fast)
        self.far = (omega, weights, far_phi, 1.0 / far)
        self.omega, self.weights = gauss_legendre_panels(np.arange(0.0, self.near + step / 2,
                                                                   step), order=8)
        self.phi = kernel.on_axis(self.omega, coarse=not kernel.fast)

    def refined(self) -> _Norm2:
        """The same rule with the near panels halved (the far part reused)."""
        out = object.__new__(_Norm2)
        out.kernel, out.step, out.near, out.far = self.kernel, self.step / 2, self.near, self.far
        out.omega, out.weights = gauss_legendre_panels(
            np.arange(0.0, self.near + out.step / 2, out.step), order=8)
        out.phi = self.kernel.on_axis(out.omega, coarse=not self.kernel.fast)
        return out

    def __call__(self, kappa: float) -> float:
        omega, weights, phi, tail = self.far
        near = self.weights @ (1.0 / np.abs(1j * self.omega + kappa * self.phi) ** 2)
        rest = weights @ (1.0 / np.abs(1j * omega + kappa * phi) ** 2)
        return float((near + rest + tail) / math.pi)


def poisson_sdde_threshold(kernel: DelayKernel, n: int, *,
                           second_moment_weight: float = 1.0, rtol: float = 1e-5) -> float:
    """Smallest ``κ`` with ``κ² m₂ ‖G_κ‖² = n`` (the Poisson-driven SDDE's ``κ_ms``).

    ``‖G_κ‖² = (1/2π) ∫ |iω + κ φ(iω)|⁻² dω`` is the stationary variance of the mean
    equation at unit noise; ``m₂ = E[g(S)² 1{S <= K}]`` weighs the jumps' squared size (1
    for the constant policy without a cut-off). ``κ² ‖G_κ‖²`` grows from 0 to ``∞`` at
    ``κ*`` (like ``κ/2`` when ``κ* = ∞``): the root is bracketed on a grid and found by
    Brent, then found again on a rule twice as fine until two agree to ``rtol``.
    """
    kappa_star = critical_kappa(kernel)
    top = kappa_star if math.isfinite(kappa_star) else 2.0 * math.sqrt(n) + 4.0
    # the resonance's width is the distance of the rightmost root from the axis: near κ*
    # it is small, and so must be the panels
    norm2, previous = _Norm2(kernel, top), math.nan
    for _ in range(8):

        def excess(kappa: float, norm2: _Norm2 = norm2) -> float:
            if kappa >= kappa_star:
                return 1.0
            return kappa * kappa * second_moment_weight * norm2(kappa) / n - 1.0

        grid = np.linspace(0.0, top, 65)[1:]
        if math.isfinite(kappa_star):
            grid[-1] = kappa_star * (1.0 - 1e-9)
        values = np.array([excess(k) for k in grid])
        while values[-1] < 0 and not math.isfinite(kappa_star):  # κ* = ∞: look further
            grid = np.append(grid, 2.0 * grid[-1])
            values = np.append(values, excess(grid[-1]))
        if values[0] >= 0:
            root = float(brentq(excess, 1e-9, grid[0], xtol=1e-14, rtol=1e-12))
        elif values[-1] < 0:
            root = kappa_star
        else:
            j = int(np.flatnonzero(values >= 0)[0])
            root = float(brentq(excess, grid[j - 1], grid[j], xtol=1e-14,
                                         rtol=1e-12))
        if abs(root - previous) <= rtol * root:
            return root
        previous, norm2 = root, norm2.refined()
    return previous


def _second_moment_weight(kernel: DelayKernel, cluster: Cluster,
                          policy: StepPolicy | None, rho: float | None) -> float:
    """``E[g(S)² 1{S <= K}]`` over the kernel's staleness model (1 when trivial)."""
    if cluster.threshold is None and (policy is None or policy.is_constant):
        return 1.0
    squared = None
    if policy is not None and not policy.is_constant:
        table = policy_factors(policy, cluster.n_workers) ** 2
        squared = StepPolicy(name="table", values=tuple(float(v) for v in table))
    return DelayKernel(kernel.law, updates_per_delay=rho, threshold=cluster.threshold,
                       policy=squared).mass


def mean_square_threshold(cluster: Cluster, policy: StepPolicy | None = None, *,
                          kernel: DelayKernel | None = None) -> MeanSquareThreshold:
    """``κ_ms`` of the server: exact where the server's moments close, else the SDDE's.

    Parameters
    ----------
    cluster : Cluster
        Workers, round laws and staleness cut-off.
    policy : StepPolicy, optional
        Step-size factor ``g(s)`` (constant by default).
    kernel : DelayKernel, optional
        The model's delay kernel (:attr:`sdde.model.async_sgd.AsyncSGDModel.kernel`), for
        the Poisson-SDDE route; built from the cluster when omitted.

    Returns
    -------
    MeanSquareThreshold

    Examples
    --------
    >>> from sdde import Cluster, delays
    >>> t = mean_square_threshold(Cluster(workers=3, delay=delays.parse("exponential:mean=2")))
    >>> t.kappa, t.method
    (3.0, 'closed form')
    """
    exact = closed_form_threshold(cluster, policy)
    if exact is not None:
        return MeanSquareThreshold(kappa=exact, method="closed form", exact=True)
    laws = cluster.round_laws
    plain = cluster.threshold is None and (policy is None or policy.is_constant)
    if len(laws) == 1 and isinstance(laws[0], Exponential) and plain:
        return MeanSquareThreshold(kappa=exponential_threshold(cluster.n_workers),
                                   method="closed form", exact=True)
    rho = None
    if kernel is None:
        from sdde.model.async_sgd import AsyncSGDModel
        from sdde.model.spectrum import HessianSpectrum

        model = AsyncSGDModel(lr=1.0, cluster=cluster, spectrum=HessianSpectrum.parse("1"),
                              policy=policy or StepPolicy())
        kernel = model.kernel
    if not plain:
        rho = cluster.accepted_rate * cluster.n_workers / cluster.arrival_rate
    weight = _second_moment_weight(kernel, cluster, policy, rho)
    if weight == 0:
        return MeanSquareThreshold(kappa=math.inf, method="closed form", exact=True)
    return MeanSquareThreshold(
        kappa=poisson_sdde_threshold(kernel, cluster.n_workers, second_moment_weight=weight),
        method="Poisson SDDE", exact=False)
