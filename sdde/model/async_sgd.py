"""Asynchronous SGD on a quadratic loss, mode by mode: the inputs of the stability analysis.

For ``f = ½ θᵀ H θ`` each Hessian eigenmode ``h`` decouples (THEORY.md §3). In units of
the mean delay ``E[X] = n / λ`` a mode obeys

    dx = −κ ∫ x(t − u) w(u) dF̃(u) dt + σ dW,    κ = η · n · h,    σ² = η² · n · c,

with ``c`` the gradient-noise variance along the mode, ``F̃`` the delay law of arriving
gradients (the arrival-weighted mixture of the groups' round laws, rescaled to mean 1)
and ``w`` the thinning/step-policy weight (:mod:`sdde.model.kernels`). In general
``κ = rate × step × curvature × mean delay``; with ``λ = n / E[X]`` that is ``η n h``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np

from sdde._numerics import FloatArray
from sdde.cluster.cluster import Cluster, WorkerGroup
from sdde.delays import DelayLaw, Mixture
from sdde.model._contract import VALUE_MAX, VALUE_MIN, check_value
from sdde.model.kernels import DelayKernel, StepPolicy
from sdde.model.problem import Delay, Diffusion, LinearDrift, SDDEProblem
from sdde.model.spectrum import MAX_LISTED, HessianSpectrum


@dataclass(frozen=True, kw_only=True, eq=False)
class AsyncSGDModel:
    """Asynchronous SGD with learning rate ``lr`` on a cluster and a quadratic loss.

    Parameters
    ----------
    lr : float
        Learning rate ``η > 0``.
    cluster : Cluster
        Workers, their round-time laws, staleness threshold and shared link.
    spectrum : HessianSpectrum
        Curvatures ``h`` of the loss (Hessian eigenvalues).
    noise : float or array_like
        Gradient-noise variance ``c >= 0`` along each mode (one value for all modes, or
        one per mode): the variance of one stochastic gradient's component.
    policy : StepPolicy
        Staleness-dependent step-size policy (default constant).
    backlog : float
        The gradient mass in flight at ``t = 0``, as a share of the SDDE's constant
        history: before ``0`` the history is ``backlog · x0``. 1 (the default) for
        asynchronous SGD, whose gradients due after ``0`` were all computed at ``θ₀``;
        ``q`` for error feedback, whose residuals start empty
        (:func:`sdde.literature.sparse_sgd.sparsified_model`).

    Examples
    --------
    >>> from sdde import Cluster, HessianSpectrum
    >>> m = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=32),
    ...                   spectrum=HessianSpectrum.parse("1,4"))
    >>> [round(float(k), 12) for k in m.kappas]
    [0.32, 1.28]
    """

    lr: float
    cluster: Cluster
    spectrum: HessianSpectrum
    noise: float | tuple[float, ...] | FloatArray = 0.0
    policy: StepPolicy = field(default_factory=StepPolicy)
    backlog: float = 1.0

    def __post_init__(self) -> None:
        lr = self.lr
        if isinstance(lr, bool) or not isinstance(lr, int | float):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        check_value("lr", lr, example="0.01")
        if not isinstance(self.cluster, Cluster):
            raise ValueError(f"cluster must be a Cluster, got {self.cluster!r}")
        if not isinstance(self.spectrum, HessianSpectrum):
            raise ValueError(f"spectrum must be a HessianSpectrum, got {self.spectrum!r}")
        self._check_noise()  # vectorised: a variant of a 10⁶-mode model checks in ms
        if not isinstance(self.policy, StepPolicy):
            raise ValueError(f"policy must be a StepPolicy, got {self.policy!r}")
        if not (isinstance(self.backlog, int | float) and 0 <= self.backlog <= 1):
            raise ValueError(f"backlog must be a number in [0, 1], got {self.backlog!r}")

    def _check_noise(self) -> None:
        """Check ``noise`` and store it as a float, or a read-only copy per mode (a model
        is compared by identity, like its spectrum: its arrays have no ``==`` that a
        dataclass could use)."""
        noise = np.atleast_1d(np.asarray(self.noise, dtype=np.float64))
        if noise.ndim != 1 or noise.size not in (1, self.spectrum.n_modes) or not np.all(
                np.isfinite(noise) & (noise >= 0)):
            raise ValueError("noise must be a finite number >= 0, or one such number per "
                             f"Hessian mode ({self.spectrum.n_modes}); got {self.noise!r}")
        outside = (noise != 0) & ((noise < VALUE_MIN) | (noise > VALUE_MAX))
        if np.any(outside):
            check_value("noise", float(noise[outside][0]), zero_ok=True, example="0.5")
        if noise.size == 1:
            object.__setattr__(self, "noise", float(noise[0]))
            return
        per_mode = noise.copy()
        per_mode.setflags(write=False)
        object.__setattr__(self, "noise", per_mode)

    # ------------------------------------------------------------------ scales
    @property
    def n_workers(self) -> int:
        """Total number of workers ``n``."""
        return self.cluster.n_workers

    @property
    def mean_delay(self) -> float:
        """``E[X] = n / λ``: the mean delay of an arriving gradient (the time unit)."""
        return self.n_workers / self.cluster.arrival_rate

    @property
    def curvatures(self) -> FloatArray:
        """Hessian eigenvalues ``h``, ascending."""
        return self.spectrum.ascending

    @property
    def kappas(self) -> FloatArray:
        """Dimensionless gains ``κ = η n h`` per mode (ascending)."""
        return self.lr * self.n_workers * self.curvatures

    @property
    def alphas(self) -> FloatArray:
        """Per-update gains ``α = η h`` of the discrete-time model."""
        return self.lr * self.curvatures

    @property
    def noise_variances(self) -> FloatArray:
        """Gradient-noise variance ``c`` per mode (in :attr:`curvatures` order)."""
        return self._noise_variances

    @cached_property
    def _noise_variances(self) -> FloatArray:
        c = np.broadcast_to(np.asarray(self.noise, dtype=np.float64), (self.spectrum.n_modes,))
        out = np.asarray(c[self.spectrum.order], dtype=np.float64)
        out.setflags(write=False)
        return out

    @property
    def noise_intensities(self) -> FloatArray:
        """``σ² = η² n c`` per mode: noise of the mode in units of the mean delay."""
        return self.lr**2 * self.n_workers * self.noise_variances

    # ------------------------------------------------------------------ kernel
    @cached_property
    def delay_law(self) -> DelayLaw:
        """Law of the delay of an arriving gradient (groups mixed by arrival rate)."""
        laws = self.cluster.round_laws
        if len(laws) == 1:
            return laws[0]
        rates = [g.workers / law.mean for g, law in zip(self.cluster.groups, laws, strict=True)]
        return Mixture(components=laws, weights=tuple(r / sum(rates) for r in rates))

    @cached_property
    def kernel(self) -> DelayKernel:
        """The delay kernel ``w(u) dF̃(u)`` (thinned and weighted when configured)."""
        trivial = self.cluster.threshold is None and self.policy.is_constant
        rho = None if trivial else self.cluster.accepted_rate * self.mean_delay
        return DelayKernel(self.delay_law, updates_per_delay=rho,
                           threshold=self.cluster.threshold, policy=self.policy)

    @property
    def kernel_depends_on_workers(self) -> bool:
        """Whether the kernel's shape changes with ``n`` (shared link, threshold, policy)."""
        return (self.cluster.link is not None or self.cluster.threshold is not None
                or not self.policy.is_constant)

    def staleness_weights(self, method: Literal["poisson", "exact"] = "poisson") -> FloatArray:
        """``q_s = g(s) P(S = s | accepted)`` for ``s <= K``: the discrete-time kernel.

        Time counts applied updates. ``method`` picks the staleness law: the cluster's
        Poisson approximation, or the exact renewal law (only where it has a closed form,
        :attr:`Cluster.renewal_exact`; it makes the discrete-time model exact for
        deterministic rounds, ``docs/validation.md``).
        """
        if method == "exact" and not self.cluster.renewal_exact:
            raise ValueError("the exact staleness law has no closed form for this cluster "
                             "(simulated laws and thresholds): use method='poisson'")
        law = self.cluster.staleness(method)
        p = np.asarray(law.probabilities, dtype=np.float64).copy()
        if self.cluster.threshold is not None:
            p[self.cluster.threshold + 1:] = 0.0
        p /= p.sum()
        return p * self.policy.factor(np.arange(p.size))

    # ---------------------------------------------------------------- problem
    def to_problem(self, t_final: float, *, x0: float | FloatArray = 1.0,
                   gradient_noise: str = "additive", jump_factor: float = 1.0) -> SDDEProblem:
        """The SDDE of the modes, in units of the mean delay, for :func:`sdde.solve`.

        ``dx = −κ ∫ x(t − u) w(u) dF̃(u) dt + g(x) dW`` per mode (in :attr:`curvatures`
        order), with history ``x0`` at ``t = 0`` and ``backlog · x0`` before (``x0``: the
        initial distance from the optimum along each mode).

        Parameters
        ----------
        t_final : float
            Time span, in mean delays.
        x0 : float or array_like
            History (one value, or one per mode in the spectrum's order, like ``noise``;
            the problem's modes are in :attr:`curvatures` order).
        gradient_noise : {"additive", "poisson"}
            ``"additive"``: ``g = σ`` (minibatch noise only). ``"poisson"``:
            ``g = sqrt(σ² + β² x²)`` with ``β = η √n h``: Poisson-arriving gradients also
            carry the squared gradient ``(h x)²`` as noise (THEORY.md §3).
        jump_factor : float
            Multiplies ``β²``: the mean squared update per arrival relative to one full
            gradient ``(η h x)²`` (sparsified pushes differ:
            :attr:`sdde.literature.sparse_sgd.SparsifiedModel.jump_factor`).
        """
        if gradient_noise not in ("additive", "poisson"):
            raise ValueError(f"gradient_noise must be 'additive' or 'poisson', got "
                             f"{gradient_noise!r}")
        if not (isinstance(jump_factor, int | float) and 0 <= jump_factor < math.inf):
            raise ValueError(f"jump_factor must be a finite number >= 0, got {jump_factor!r}")
        sigma = np.sqrt(self.noise_intensities)
        beta = (self.lr * math.sqrt(self.n_workers * jump_factor) * self.curvatures
                if gradient_noise == "poisson" else 0.0)
        start = np.atleast_1d(np.asarray(x0, dtype=np.float64))
        if start.size == self.spectrum.n_modes and start.size > 1:
            start = start[self.spectrum.order]
        return SDDEProblem(drift=LinearDrift(gains=self.kappas[None, :]),
                           delays=(Delay.from_kernel(self.kernel),),
                           diffusion=Diffusion(sigma=sigma, beta=beta),
                           history=start if self.backlog == 1.0 else _Backlog(start,
                                                                              self.backlog),
                           t_final=t_final, n_modes=self.spectrum.n_modes)

    # --------------------------------------------------------------- variants
    def with_lr(self, lr: float) -> AsyncSGDModel:
        """The same model at another learning rate."""
        return replace(self, lr=lr)

    def with_workers(self, n_workers: int) -> AsyncSGDModel:
        """The same model with ``n_workers`` identical workers.

        A step policy built from the cluster's staleness law (``tail:A``,
        ``mindthestep:B``: :attr:`StepPolicy.per_cluster`) is rebuilt from the new
        cluster's law.

        Raises
        ------
        ValueError
            For clusters of several worker groups (which mix to scale is ambiguous).
        """
        if len(self.cluster.groups) != 1:
            raise ValueError("changing the number of workers needs a single worker group")
        group = self.cluster.groups[0]
        cluster = Cluster(workers=[WorkerGroup(workers=int(n_workers), delay=group.delay)],
                          threshold=self.cluster.given_threshold, link=self.cluster.link)
        policy = self.policy
        if policy.per_cluster and policy.label is not None:  # adapts to its cluster's law
            policy = StepPolicy.for_cluster(policy.label, cluster)
        return replace(self, cluster=cluster, policy=policy)

    def with_group_workers(self, group: int, n_workers: int) -> AsyncSGDModel:
        """The same model with ``n_workers`` workers in worker group ``group`` (0 drops
        the group; the others keep theirs). Policies built from the cluster's staleness
        law are rebuilt, as in :meth:`with_workers`.

        Raises
        ------
        ValueError
            For a group index out of range, a negative count, or no worker left.
        """
        groups = self.cluster.groups
        if not 0 <= group < len(groups):
            raise ValueError(f"group must be in 0..{len(groups) - 1}, got {group!r}")
        if isinstance(n_workers, bool) or not isinstance(n_workers, int | np.integer) \
                or n_workers < 0:
            raise ValueError(f"n_workers must be a whole number >= 0, got {n_workers!r}")
        kept = [WorkerGroup(workers=int(n_workers) if i == group else g.workers,
                            delay=g.delay) for i, g in enumerate(groups)
                if (int(n_workers) if i == group else g.workers) > 0]
        if not kept:
            raise ValueError("at least one worker must remain")
        cluster = Cluster(workers=kept, threshold=self.cluster.given_threshold,
                          link=self.cluster.link)
        policy = self.policy
        if policy.per_cluster and policy.label is not None:
            policy = StepPolicy.for_cluster(policy.label, cluster)
        return replace(self, cluster=cluster, policy=policy)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description of the inputs."""
        return {"lr": self.lr, "n_workers": self.n_workers, "mean_delay": self.mean_delay,
                "policy": str(self.policy), "spectrum": self.spectrum.to_dict(),
                "noise": self.noise if isinstance(self.noise, float) else (
                    np.asarray(self.noise).tolist() if len(self.noise) <= MAX_LISTED
                    else {"listed": False, "mean": float(np.mean(self.noise)),
                          "max": float(np.max(self.noise))})}


@dataclass(frozen=True)
class _Backlog:
    """History ``x0`` at ``t = 0`` and ``share · x0`` before (a picklable callable)."""

    start: FloatArray
    share: float

    def __call__(self, t: float) -> FloatArray:
        return self.start if t >= 0 else self.share * self.start
