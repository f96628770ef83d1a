"""Stochastic delay differential equations as data (the *what*; :func:`sdde.solve` is the *how*).

A problem on ``0 <= t <= t_final`` with ``n_modes`` components:

    dx = f(t, x(t), y(t)) dt + g(x(t)) dW,    y_c(t) = ∫ x(t − u) dK_c(u),

where each delay channel ``K_c`` is a finite measure on ``u >= 0`` (a point lag is a unit
atom, a distributed kernel a delay law, possibly thinned and weighted) and ``x(t)`` for
``t <= 0`` is the history.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray
from sdde.delays import DelayLaw, Exponential, Gamma
from sdde.model.kernels import DelayKernel, as_kernel


@dataclass(frozen=True, kw_only=True)
class Delay:
    """A delay channel: the finite measure ``Σ_i weights_i δ(u − lags_i)`` on ``u >= 0``.

    A point lag is one atom of weight 1; a distributed kernel is a quadrature rule of
    its law (:meth:`from_kernel`). On a step grid the measure is spread onto the
    neighbouring grid points with linear (hat-function) weights: linear interpolation
    for an off-grid point lag, second-order quadrature for a distributed kernel.

    An Erlang kernel (``k`` exponential phases of rate ``ρ``) may instead carry
    ``chain = (k, ρ)``: the solvers then replace the delay by its linear chain
    ``y_1' = ρ(x − y_1)``, ``y_i' = ρ(y_{i−1} − y_i)``, ``y = y_k`` (exact, no history
    buffer), integrated by the same Euler–Maruyama step as ``x``.
    """

    lags: FloatArray
    weights: FloatArray
    name: str = "delay"
    chain: tuple[int, float] | None = None

    def __post_init__(self) -> None:
        lags = np.atleast_1d(np.asarray(self.lags, dtype=np.float64))
        weights = np.broadcast_to(np.asarray(self.weights, dtype=np.float64), lags.shape)
        if lags.size == 0:
            raise ValueError(f"{self.name}: a delay needs at least one lag")
        if lags.ndim != 1 or not np.all(np.isfinite(lags)) or np.any(lags < 0):
            raise ValueError(f"{self.name}: lags must be finite and >= 0, got {self.lags!r}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError(f"{self.name}: weights must be finite and >= 0")
        object.__setattr__(self, "lags", lags)
        object.__setattr__(self, "weights", np.array(weights))
        if self.chain is not None:
            stages, rate = self.chain
            if not (isinstance(stages, int) and stages >= 1 and rate > 0
                    and math.isfinite(rate)):
                raise ValueError(f"{self.name}: chain must be (stages >= 1, rate > 0), got "
                                 f"{self.chain!r}")

    @classmethod
    def point(cls, lag: float) -> Delay:
        """A single point lag ``u = lag``."""
        if not (isinstance(lag, int | float | np.floating) and math.isfinite(lag) and lag >= 0):
            raise ValueError(f"a lag must be a finite number >= 0, got {lag!r}; lags are "
                             "times in the past")
        return cls(lags=np.array([float(lag)]), weights=np.array([1.0]), name=f"lag {lag:g}")

    @classmethod
    def from_kernel(cls, kernel: DelayLaw | DelayKernel, *, time_unit: float = 1.0,
                    chain: bool = True, tail: float = 1e-9) -> Delay:
        """A distributed delay: the kernel ``w(u) dF̃(u)`` (mean-1 law) in units of
        ``time_unit`` (the mean delay, in the problem's time).

        With ``chain=True`` (default) an unthinned Erlang kernel (exponential, or gamma
        with whole shape ``k <= 64``) is integrated as its linear chain; otherwise, and
        for every other kernel, by grid quadrature. The kernel's upper tail of mass
        ``tail`` is moved onto the point where it is cut: the total mass is kept and the
        drift changes by at most ``2 · tail · gain · max|x|``, while a heavy tail no longer
        sets the length of the history buffer (Pareto 2.5: the last lag drops from 6000
        to 2300 mean delays at ``tail = 1e-9``, to 150 at ``1e-6``).
        """
        if not (time_unit > 0 and math.isfinite(time_unit)):
            raise ValueError(f"time_unit must be a finite number > 0, got {time_unit!r}")
        if not 0 <= tail < 1:
            raise ValueError(f"tail must be in [0, 1), got {tail!r}")
        k = as_kernel(kernel)
        rule = k.rule(4.0)
        order = np.argsort(rule.nodes, kind="stable")
        nodes, weights = rule.nodes[order], rule.weights[order].copy()
        beyond = np.concatenate([np.cumsum(weights[::-1])[::-1][1:], [0.0]])
        cut = int(np.argmax(beyond <= tail))  # first node with at most `tail` above it
        weights[cut] += beyond[cut]
        stages = _erlang_stages(k) if chain else None
        return cls(lags=nodes[:cut + 1] * time_unit, weights=weights[:cut + 1],
                   name=str(k.law),
                   chain=None if stages is None else (stages, stages / time_unit))

    @property
    def mass(self) -> float:
        """Total weight ``K([0, ∞))`` (1 for a probability kernel)."""
        return float(self.weights.sum())

    def grid_weights(self, dt: float) -> FloatArray:
        """Weights ``W_j`` with ``y(t_n) ≈ Σ_j W_j x(t_{n−j})``, ``j = 0, 1, …``.

        Each atom at ``u`` is split between grid points ``⌊u/dt⌋`` and ``⌊u/dt⌋ + 1`` in
        proportion to its distance from each (exact for ``x`` linear between them).
        """
        position = self.lags / dt
        below = np.floor(position)
        frac = position - below
        index = below.astype(np.int64)
        out = np.zeros(int(index.max()) + 2)
        np.add.at(out, index, self.weights * (1.0 - frac))
        np.add.at(out, index + 1, self.weights * frac)
        last = np.flatnonzero(out)[-1] if out.any() else 0
        return out[:last + 1]


def _erlang_stages(kernel: DelayKernel) -> int | None:
    """``k`` when the kernel is a plain Erlang-k law (``k <= 64``), else ``None``."""
    law = kernel.law
    if not kernel.trivial:
        return None
    if isinstance(law, Exponential):
        return 1
    if isinstance(law, Gamma) and law.is_erlang and law.shape <= _MAX_CHAIN:
        return int(law.shape)
    return None


#: Longest linear chain used for an Erlang kernel (beyond, grid quadrature is cheaper).
_MAX_CHAIN = 64


def chain_start(delay: Delay, problem: SDDEProblem, dt: float) -> FloatArray:
    """Initial chain stages ``y_i(0) = ∫ x(−u) dΓ_i(u)``, shape ``(k, n_modes)``.

    ``Γ_i`` is the Erlang law of ``i`` phases of the chain's rate; the integral is the
    grid quadrature of the history on ``t < 0`` (the value at ``0`` is the left limit
    ``x(0−)``, so a history that jumps at ``0`` does not leak into the chain).
    """
    assert delay.chain is not None
    stages, rate = delay.chain
    out = np.empty((stages, problem.n_modes))
    for i in range(1, stages + 1):
        phase = Delay.from_kernel(Gamma(shape=float(i), scale=1.0 / i), time_unit=i / rate,
                                  chain=False)
        w = phase.grid_weights(dt)
        times = -dt * np.arange(w.size, dtype=np.float64)
        times[0] = np.nextafter(0.0, -1.0)
        out[i - 1] = w @ problem.history_at(times)
    return out


@dataclass(frozen=True, kw_only=True)
class LinearDrift:
    """``f = offset − Σ_c gains[c] · y_c``: the drift of a quadratic loss, mode by mode.

    Attributes
    ----------
    gains : ndarray, shape (n_channels, n_modes)
        Gain of each delay channel on each mode (``a = η λ h`` in THEORY.md §3).
    offset : ndarray, shape (n_modes,)
        Constant forcing (0 for the quadratic loss around its optimum).
    """

    gains: FloatArray
    offset: FloatArray | float = 0.0

    def __post_init__(self) -> None:
        gains = np.atleast_2d(np.asarray(self.gains, dtype=np.float64))
        if gains.ndim != 2 or not np.all(np.isfinite(gains)):
            raise ValueError("gains must be a finite array of shape (n_channels, n_modes)")
        offset = np.broadcast_to(np.asarray(self.offset, dtype=np.float64),
                                 gains.shape[1:]).copy()
        if not np.all(np.isfinite(offset)):
            raise ValueError("offset must be finite")
        object.__setattr__(self, "gains", gains)
        object.__setattr__(self, "offset", offset)

    def __call__(self, t: float, x: FloatArray, y: FloatArray) -> FloatArray:
        """``f(t, x, y)`` for ``y`` of shape ``(n_channels, n_paths, n_modes)``."""
        return np.asarray(self.offset - np.einsum("cm,cpm->pm", self.gains, y))


@dataclass(frozen=True, kw_only=True)
class Diffusion:
    """``g(x) = sqrt(σ² + β² x²)`` (``kind="poisson"``) or ``g(x) = σ + β x``
    (``kind="linear"``), per mode, applied to independent Brownian motions.

    ``β = 0`` is additive noise. The ``poisson`` form is the multiplicative noise of
    Poisson-arriving stochastic gradients (THEORY.md §3): minibatch variance ``σ²`` plus
    the squared gradient ``(h x)²`` scaled into ``β² x²``.
    """

    sigma: FloatArray | float = 0.0
    beta: FloatArray | float = 0.0
    kind: str = "poisson"

    def __post_init__(self) -> None:
        if self.kind not in ("poisson", "linear"):
            raise ValueError(f"diffusion kind must be 'poisson' or 'linear', got {self.kind!r}")
        for name in ("sigma", "beta"):
            value = np.atleast_1d(np.asarray(getattr(self, name), dtype=np.float64))
            if value.ndim != 1 or not np.all(np.isfinite(value)):
                raise ValueError(f"diffusion {name} must be finite (one value or one per mode)")
            if self.kind == "poisson" and np.any(value < 0):
                raise ValueError(f"diffusion {name} must be >= 0")
            object.__setattr__(self, name, value)

    @property
    def additive(self) -> bool:
        """Whether ``g`` does not depend on ``x``."""
        return not np.any(np.asarray(self.beta))

    def __call__(self, x: FloatArray) -> FloatArray:
        sigma, beta = np.asarray(self.sigma), np.asarray(self.beta)
        if self.kind == "linear":
            return np.asarray(sigma + beta * x)
        return np.asarray(np.sqrt(sigma**2 + (beta * x) ** 2))


History = float | npt.ArrayLike | Callable[[float], Any]


@dataclass(frozen=True, kw_only=True)
class SDDEProblem:
    """An SDDE ``dx = f(t, x, y) dt + g(x) dW`` with delay channels ``y_c`` (see module).

    Parameters
    ----------
    drift : LinearDrift or callable
        ``f(t, x, y)`` with ``x`` of shape ``(n_paths, n_modes)`` and ``y`` of shape
        ``(n_channels, n_paths, n_modes)``; returns ``(n_paths, n_modes)``. A
        :class:`LinearDrift` runs in compiled code.
    delays : sequence of Delay
        The delay channels (point lags or distributed kernels).
    diffusion : Diffusion or callable
        ``g(x)`` (elementwise, one Brownian motion per mode).
    history : float, array or callable
        ``x(t)`` for ``t <= 0``: a constant (per mode) or a function of ``t``.
    t_final : float
        End of the time span ``[0, t_final]``.
    n_modes : int
        Number of components.

    Examples
    --------
    >>> p = SDDEProblem(drift=LinearDrift(gains=[[1.0]]), delays=(Delay.point(1.0),),
    ...                 diffusion=Diffusion(sigma=0.1), history=1.0, t_final=10.0)
    >>> p.n_modes, p.linear
    (1, True)
    """

    drift: LinearDrift | Callable[[float, FloatArray, FloatArray], FloatArray]
    delays: tuple[Delay, ...]
    diffusion: Diffusion | Callable[[FloatArray], FloatArray] = field(
        default_factory=Diffusion)
    history: History = 0.0
    t_final: float = 1.0
    n_modes: int = 0

    def __post_init__(self) -> None:
        delays = tuple(self.delays)
        if not delays or not all(isinstance(d, Delay) for d in delays):
            raise ValueError("delays must be a non-empty sequence of Delay (Delay.point(lag) "
                             "or Delay.from_kernel(law))")
        object.__setattr__(self, "delays", delays)
        if not (isinstance(self.t_final, int | float) and 0 < self.t_final < math.inf):
            raise ValueError(f"t_final must be a finite number > 0, got {self.t_final!r}")
        if not callable(self.drift):
            raise ValueError("drift must be a LinearDrift or a callable f(t, x, y)")
        if not callable(self.diffusion):
            raise ValueError("diffusion must be a Diffusion or a callable g(x)")
        n_modes = self.n_modes or self._infer_modes()
        object.__setattr__(self, "n_modes", int(n_modes))
        if isinstance(self.drift, LinearDrift) and self.drift.gains.shape != (len(delays),
                                                                             n_modes):
            raise ValueError(f"drift gains have shape {self.drift.gains.shape}, expected "
                             f"(n_channels, n_modes) = ({len(delays)}, {n_modes})")
        if isinstance(self.diffusion, Diffusion):
            for name in ("sigma", "beta"):
                if np.asarray(getattr(self.diffusion, name)).size not in (1, n_modes):
                    raise ValueError(f"diffusion {name} must have 1 or {n_modes} values")
        if not callable(self.history):
            value = np.atleast_1d(np.asarray(self.history, dtype=np.float64))
            if value.shape not in ((1,), (n_modes,)) or not np.all(np.isfinite(value)):
                raise ValueError(f"history must be finite, one value or one per mode "
                                 f"({n_modes}), or a function of t")

    def _infer_modes(self) -> int:
        if isinstance(self.drift, LinearDrift):
            return int(self.drift.gains.shape[1])
        if not callable(self.history):
            return int(np.atleast_1d(np.asarray(self.history)).size)
        return int(np.atleast_1d(np.asarray(self.history(0.0))).size)

    @property
    def linear(self) -> bool:
        """Whether the compiled path applies (linear drift, :class:`Diffusion` noise)."""
        return isinstance(self.drift, LinearDrift) and isinstance(self.diffusion, Diffusion)

    @property
    def max_lag(self) -> float:
        """The largest lag of any channel."""
        return max(float(d.lags.max()) for d in self.delays)

    def history_at(self, t: FloatArray) -> FloatArray:
        """``x(t)`` for ``t <= 0``, shape ``(len(t), n_modes)``."""
        t = np.asarray(t, dtype=np.float64)
        if callable(self.history):
            rows = [np.broadcast_to(np.asarray(self.history(float(ti)), dtype=np.float64),
                                    (self.n_modes,)) for ti in t]
            out = np.array(rows, dtype=np.float64).reshape(t.size, self.n_modes)
            if not np.all(np.isfinite(out)):
                raise ValueError("history(t) returned a non-finite value")
            return out
        value = np.broadcast_to(np.asarray(self.history, dtype=np.float64), (self.n_modes,))
        return np.tile(value, (t.size, 1))
