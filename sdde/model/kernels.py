"""Delay kernels of the SDDE: the normalised delay law, thinned and weighted.

A mode of asynchronous SGD obeys ``dx = −κ ∫ x(t−u) w(u) dF̃(u) dt + σ dW`` in units of
the mean delay, with ``F̃`` the delay law rescaled to mean 1 and ``w(u)`` the expected
step-size factor of a gradient that was ``u`` old when it arrived: the acceptance
probability under a staleness threshold ``K`` times a staleness-dependent step policy
``g(s)``. With ``ρ`` accepted updates per mean delay, the staleness of such a gradient is
Poisson with mean ``ρ u`` (the Poisson approximation), so

    w(u) = Σ_{s <= K} g(s) · Pois(s; ρ u),     φ(z) = ∫ e^{−z u} w(u) dF̃(u).

For the built-in policies the sum is closed form (``theory/stability.md`` §5). The
transform ``φ`` is the law's own (closed form) when ``w ≡ 1``; otherwise it is summed
from a fixed quadrature rule built for the frequencies asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from sdde._numerics import ComplexArray, FloatArray, complex_times_real
from sdde.delays import (
    DelayLaw,
    Deterministic,
    Equilibrium,
    Exponential,
    Gamma,
    Mixture,
    Weibull,
)
from sdde.delays._quadrature import law_quadrature

#: Mass of the law's upper tail a quadrature rule may leave out (bounds the error it adds
#: to ``φ`` in the closed right half-plane).
RULE_TAIL = 1e-12
#: Tail mass left out by the coarse rules used to scan for sign changes (their absolute
#: error is about twice this; scans re-check any grid value this close to zero).
COARSE_TAIL = 1e-6
#: Phase ``ω · (panel width)`` of a 10-point Gauss–Legendre panel. For ``e^{-iωx}`` times
#: a constant density the relative error is about ``6e-31 · P^20``: 2e-15 at ``P = 6``
#: (full rules) and 7e-13 at ``P = 8`` (coarse rules). A density that varies within a
#: panel raises it: at ``P = 8`` Weibull shape 1/2 shows 1.1e-11 (tests/model/test_kernels.py).
_PANEL_PHASE = 6.0
_COARSE_PANEL_PHASE = 8.0
#: Most panels a rule may use; beyond, the tail is cut earlier (heavy tails, high ω) and
#: the cut mass is recorded in :attr:`TransformRule.error`.
_MAX_PANELS = 4000
#: Half-width, in standard deviations, of the Poisson window a table policy's weight sums.
_WINDOW_SDS = 10.0


@dataclass(frozen=True)
class StepPolicy:
    """Step-size factor ``g(s)`` applied to a gradient of staleness ``s``.

    Parameters
    ----------
    name : {"constant", "inverse", "geometric", "table"}
        ``constant``: ``g = 1``. ``inverse``: ``g = 1 / (1 + s)`` (staleness-aware SGD,
        Zhang et al. 2016). ``geometric``: ``g = γ^s`` (also ``η·e^{−βS}``, with
        ``γ = e^{−β}``). ``table``: ``g(s) = values[min(s, len(values) − 1)]``, any
        staleness-adaptive rule, e.g. :meth:`tail_adaptive`.
    gamma : float, optional
        The factor ``γ`` in (0, 1] of the geometric policy.
    values : tuple of float, optional
        The table of a ``table`` policy (finite, ``>= 0``; the last value holds beyond).
    label : str, optional
        How the policy prints (e.g. ``tail:0.5``, ``mindthestep:0.05``).
    scale : float, optional
        Constant factor ``c > 0`` multiplying ``g`` (default 1): :meth:`target_matching`
        is ``c·γ^s``.
    per_cluster : bool, optional
        Built from the cluster's own staleness law (:meth:`for_cluster`): a model with
        another number of workers rebuilds it from its ``label``
        (:meth:`sdde.model.async_sgd.AsyncSGDModel.with_workers`), as a policy that adapts to the
        measured staleness would.

    Examples
    --------
    >>> StepPolicy.parse("geometric:0.9")
    StepPolicy(name='geometric', gamma=0.9, values=None, label=None, scale=1.0, per_cluster=False)
    >>> StepPolicy.parse("exponential:0.1").gamma == math.exp(-0.1)   # η·e^{−0.1 S}
    True
    >>> StepPolicy(name="table", values=(1.0, 0.5, 0.25)).factor([0, 1, 2, 7]).tolist()
    [1.0, 0.5, 0.25, 0.25]
    """

    name: Literal["constant", "inverse", "geometric", "table"] = "constant"
    gamma: float | None = None
    values: tuple[float, ...] | None = None
    label: str | None = None
    scale: float = 1.0
    per_cluster: bool = False

    def __post_init__(self) -> None:
        if self.name not in ("constant", "inverse", "geometric", "table"):
            raise ValueError(f"step policy must be constant, inverse, geometric:GAMMA, "
                             f"exponential:BETA or tail:A (or mindthestep:BETA[:TARGET]), "
                             f"got {self.name!r}")
        c = self.scale
        if not (isinstance(c, int | float) and not isinstance(c, bool)
                and 0 < c < math.inf):
            raise ValueError(f"a step policy's scale must be a finite number > 0, got {c!r}")
        object.__setattr__(self, "scale", float(c))
        if self.name == "geometric":
            g = self.gamma
            if not (isinstance(g, int | float) and not isinstance(g, bool) and 0 < g <= 1):
                raise ValueError(f"geometric step policy needs 0 < gamma <= 1, got {g!r}")
        elif self.gamma is not None:
            raise ValueError(f"the {self.name} step policy takes no gamma")
        if self.name == "table":
            table = np.asarray(self.values if self.values is not None else (), dtype=float)
            if table.ndim != 1 or table.size == 0 or not np.all(np.isfinite(table)) \
                    or np.any(table < 0):
                raise ValueError("a table step policy needs values: finite numbers >= 0, "
                                 "at least one")
            object.__setattr__(self, "values", tuple(float(v) for v in table))
        elif self.values is not None:
            raise ValueError(f"the {self.name} step policy takes no table of values")

    @classmethod
    def tail_adaptive(cls, amplitude: float, staleness: Any) -> StepPolicy:
        """``g(s) = 1 + A (1 − 2 F(s))``: larger steps for fresh gradients, smaller for stale.

        ``F`` is the staleness CDF (a :class:`sdde.cluster.staleness.StalenessLaw`, e.g. the
        cluster's Poisson law or one fitted to a measured histogram with
        :mod:`sdde.cluster.staleness_models`). The median gradient keeps ``g ≈ 1``; the stalest
        get ``1 − A``, the freshest ``1 + A``.

        Parameters
        ----------
        amplitude : float
            ``A`` in ``[0, 1]``.
        staleness : StalenessLaw
            The law whose CDF ranks a gradient's staleness.
        """
        if not (isinstance(amplitude, int | float) and 0 <= amplitude <= 1):
            raise ValueError(f"tail-adaptive step policy needs 0 <= A <= 1, got {amplitude!r}")
        cdf = np.cumsum(np.asarray(staleness.probabilities, dtype=np.float64))
        table = 1.0 + amplitude * (1.0 - 2.0 * np.minimum(cdf, 1.0))
        return cls(name="table", values=(*table.tolist(), 1.0 - amplitude),
                   label=f"tail:{_spec_number(amplitude)}")

    @classmethod
    def target_matching(cls, beta: float, staleness: Any, target: float = 1.0) -> StepPolicy:
        """MindTheStep: ``g(s) = target · e^{−βs} / E[e^{−βS}]``, so ``E[g(S)] = target``.

        The step size is chosen from a model of the staleness law so that the expected
        update matches a target (Bäckström et al. 2019, MindTheStep-AsyncPSGD); this
        exponential family, normalised under the model law, is our instantiation of that
        principle. With ``target = 1`` the mean step is the user's ``η`` while stale
        gradients weigh less than fresh ones. It is the geometric policy ``γ = e^{−β}``
        scaled by ``c = target / E[e^{−βS}]``: the kernel of ``exponential:β`` times
        ``c``, so its ``κ*`` is that of ``exponential:β`` divided by ``c``. For a Poisson
        law of mean ``m``, ``E[e^{−βS}] = exp(−m (1 − e^{−β}))``.

        Parameters
        ----------
        beta : float
            ``β >= 0`` (``β = 0``: the constant step ``target · η``).
        staleness : StalenessLaw
            The law ``S`` is drawn from: the cluster's Poisson law
            (:meth:`for_cluster`), a measured or exact law, or a fitted one
            (:meth:`sdde.cluster.staleness_models.FittedStaleness.to_law`; a fit itself is
            accepted too). ``E[e^{−βS}]`` is summed over its table (the tail mass beyond
            it, at most ``tail_mass``, is left out; ``β = 0`` gives ``c = target``).
        target : float
            The mean step factor ``E[g(S)] > 0`` (default 1).

        Examples
        --------
        >>> from sdde.cluster.staleness_models import fit_staleness
        >>> law = fit_staleness([3, 5, 4, 4, 6, 2], "poisson").to_law()     # Poisson(4)
        >>> policy = StepPolicy.target_matching(0.1, law)
        >>> str(policy), round(policy.scale / math.exp(4 * (1 - math.exp(-0.1))), 12)
        ('mindthestep:0.1', 1.0)
        """
        if not (isinstance(beta, int | float) and math.isfinite(beta) and beta >= 0):
            raise ValueError(f"mindthestep step policy needs beta >= 0, got {beta!r}")
        if not (isinstance(target, int | float) and 0 < target < math.inf):
            raise ValueError(f"mindthestep step policy needs a target > 0, got {target!r}")
        gamma = math.exp(-beta)
        if gamma == 0.0:
            raise ValueError(f"mindthestep step policy: beta = {beta!r} is too large "
                             f"(e^(-beta) underflows)")
        if not hasattr(staleness, "probabilities") and hasattr(staleness, "to_law"):
            staleness = staleness.to_law()
        p = np.asarray(staleness.probabilities, dtype=np.float64)
        with np.errstate(divide="ignore"):
            log_mgf = (0.0 if beta == 0 else  # E[1] = 1, whatever the table leaves out
                       float(special.logsumexp(np.log(p) - beta * np.arange(p.size))))
        scale = (target * math.exp(-log_mgf) if -log_mgf + math.log(target) < 709.0
                 else math.inf)
        if not 0 < scale < math.inf:
            raise ValueError(f"mindthestep step policy: E[exp(-beta S)] = exp({log_mgf:.4g})"
                             f" leaves no finite step scale (beta {beta!r} too large for "
                             f"this staleness law)")
        label = f"mindthestep:{_spec_number(beta)}"
        if target != 1:
            label += f":{_spec_number(target)}"
        return cls(name="geometric", gamma=gamma, label=label, scale=scale)

    @classmethod
    def parse(cls, spec: str, staleness: Any = None) -> StepPolicy:
        """Policy from ``constant``, ``inverse``, ``geometric:GAMMA``, ``exponential:BETA``
        (``e^{−βs}``), ``tail:A`` (:meth:`tail_adaptive`) or ``mindthestep:BETA`` /
        ``mindthestep:BETA:TARGET`` (:meth:`target_matching`); the last two need the
        ``staleness`` law."""
        name, _, arg = spec.strip().partition(":")
        if name == "mindthestep":
            beta_text, _, target_text = arg.partition(":")
            try:
                beta = float(beta_text)
                target = float(target_text) if target_text else 1.0
            except ValueError:
                raise ValueError(f"the mindthestep step policy needs numbers, as in "
                                 f"mindthestep:0.05 or mindthestep:0.05:1; got {spec!r}"
                                 ) from None
            if not (math.isfinite(beta) and beta >= 0):
                raise ValueError(f"mindthestep step policy needs beta >= 0, as in "
                                 f"mindthestep:0.05; got {spec!r}")
            if not 0 < target < math.inf:
                raise ValueError(f"mindthestep step policy needs a target > 0, as in "
                                 f"mindthestep:0.05:1; got {spec!r}")
            if staleness is None:
                raise ValueError("the mindthestep step policy needs the cluster's "
                                 "staleness law")
            return cls.target_matching(beta, staleness, target)
        if name in ("exponential", "tail"):
            try:
                value = float(arg)
            except ValueError:
                raise ValueError(f"the {name} step policy needs a number, as in {name}:0.5; "
                                 f"got {spec!r}") from None
            if name == "exponential":
                if not (math.isfinite(value) and value >= 0):
                    raise ValueError(f"exponential step policy needs beta >= 0, as in "
                                     f"exponential:0.1; got {spec!r}")
                # echoed as typed: exponential:BETA is geometric:e^{−BETA} underneath
                return cls("geometric", math.exp(-value),
                           label=f"exponential:{_spec_number(value)}")
            if not 0 <= value <= 1:
                raise ValueError(f"tail-adaptive step policy needs 0 <= A <= 1, as in "
                                 f"tail:0.5; got {spec!r}")
            if staleness is None:
                raise ValueError("the tail step policy needs the cluster's staleness law")
            return cls.tail_adaptive(value, staleness)
        if name == "geometric":
            try:
                gamma = float(arg)
            except ValueError:
                raise ValueError(f"geometric step policy needs a number, as in "
                                 f"geometric:0.9; got {spec!r}") from None
            if not 0 < gamma <= 1:
                raise ValueError(f"geometric step policy needs 0 < gamma <= 1, as in "
                                 f"geometric:0.9; got {spec!r}")
            return cls("geometric", gamma)
        if arg:
            raise ValueError(f"the {name} step policy takes no argument; got {spec!r}")
        return cls(name)  # type: ignore[arg-type]

    @classmethod
    def for_cluster(cls, spec: str, cluster: Any) -> StepPolicy:
        """:meth:`parse` for a cluster: ``tail:A`` ranks staleness by, and
        ``mindthestep:BETA[:TARGET]`` normalises over, the cluster's Poisson-approximated
        staleness law (computed only for those policies)."""
        needs_law = spec.strip().startswith(("tail", "mindthestep"))
        policy = cls.parse(spec, staleness=cluster.staleness("poisson") if needs_law else None)
        return replace(policy, per_cluster=True) if needs_law else policy

    @property
    def is_constant(self) -> bool:
        """Whether ``g ≡ 1``."""
        if self.scale != 1.0:
            return False
        if self.name == "table":
            return all(v == 1.0 for v in self.values or ())
        return self.name == "constant" or (self.name == "geometric" and self.gamma == 1.0)

    def __str__(self) -> str:
        if self.label:
            return self.label
        if self.name == "table":
            text = f"table[{len(self.values or ())}]"
        else:
            text = f"geometric:{self.gamma:g}" if self.name == "geometric" else self.name
        return text if self.scale == 1.0 else f"{self.scale:g}×{text}"

    def factor(self, staleness: npt.ArrayLike) -> FloatArray:
        """``g(s)`` at the given staleness values."""
        if self.scale != 1.0:
            return self.scale * replace(self, scale=1.0, label=None).factor(staleness)
        s = np.asarray(staleness, dtype=np.float64)
        if self.name == "inverse":
            return 1.0 / (1.0 + s)
        if self.name == "geometric":
            return np.asarray(float(self.gamma or 1.0) ** s, dtype=np.float64)
        if self.name == "table":
            table = np.asarray(self.values, dtype=np.float64)
            return np.asarray(table[np.minimum(s, table.size - 1).astype(np.int64)])
        return np.ones_like(s)

    def weight(self, mean_staleness: npt.ArrayLike, threshold: int | None) -> FloatArray:
        """``E[g(S) 1{S <= K}]`` for ``S ~ Poisson(m)``, elementwise in ``m >= 0``.

        Closed forms: constant ``Q(K+1, m)``; inverse ``(P(1 <= S' <= K+1)) / m`` with
        ``S' ~ Poisson(m)``; geometric ``e^{−(1−γ) m} P(Poisson(γ m) <= K)``, ``Q`` the
        regularised upper incomplete gamma function; times :attr:`scale`.
        """
        if self.scale != 1.0:
            base = replace(self, scale=1.0, label=None)
            return np.asarray(self.scale * base.weight(mean_staleness, threshold),
                              dtype=np.float64)
        m = np.asarray(mean_staleness, dtype=np.float64)
        big_k = math.inf if threshold is None else threshold

        def cdf(k: float, mean: FloatArray) -> FloatArray:  # P(Poisson(mean) <= k)
            if math.isinf(k):
                return np.ones_like(mean)
            return np.asarray(special.pdtr(k, mean), dtype=np.float64)

        if self.name == "inverse":
            out = np.empty_like(m)
            small = m < 1.0
            ms = m[~small]
            out[~small] = (cdf(big_k + 1, ms) - np.exp(-ms)) / ms
            # Below m = 1 the difference cancels: sum e^{-m} m^s / (s+1)! directly (the
            # terms fall by a factor m/(s+2) each; 30 terms leave < 1/31! behind).
            mt = m[small]
            terms = np.ones_like(mt)
            total = np.ones_like(mt)
            for s in range(1, int(min(big_k, 30)) + 1):
                terms = terms * mt / (s + 1)
                total += terms
            out[small] = np.exp(-mt) * total
            return out
        if self.name == "geometric" and self.gamma != 1.0:
            g = float(self.gamma or 1.0)
            return np.exp(-(1.0 - g) * m) * cdf(big_k, g * m)
        if self.name == "table":
            # Σ_{s <= min(K, L−1)} g(s) P(S = s), plus the last value over L <= s <= K
            table = np.asarray(self.values, dtype=np.float64)
            top = int(min(table.size - 1, big_k))
            out = _windowed_poisson_sum(m, table[: top + 1])
            if big_k > table.size - 1:
                out = out + table[-1] * (cdf(big_k, m) - cdf(float(table.size - 1), m))
            return np.asarray(out, dtype=np.float64)
        return cdf(big_k, m)


def _windowed_poisson_sum(mean: FloatArray, values: FloatArray) -> FloatArray:
    """``Σ_{s < len(values)} values[s] · Pois(s; m)`` elementwise in ``m``.

    Means are taken in sorted blocks; each block only sums the ``s`` within 10 standard
    deviations of its means (below: −10, above: +40 more), where the Poisson mass left out
    is below 1e-20 (as in :func:`sdde.cluster.staleness.mixed_poisson_pmf`). Long tables (the
    tail-adaptive policy's, thousands of entries at hundreds of workers) then cost about
    the window, not the table, per mean.
    """
    flat = np.asarray(mean, dtype=np.float64).ravel()
    out = np.zeros(flat.size)
    order = np.argsort(flat, kind="stable")
    log_fact = special.gammaln(np.arange(values.size) + 1.0)
    block = 32
    for start in range(0, flat.size, block):
        idx = order[start:start + block]
        m = flat[idx]
        lo = max(0, math.floor(m[0] - _WINDOW_SDS * math.sqrt(m[0]) - 10))
        hi = min(values.size - 1, math.ceil(m[-1] + _WINDOW_SDS * math.sqrt(m[-1]) + 40))
        if lo > hi:
            continue
        ks = np.arange(lo, hi + 1, dtype=np.float64)
        # xlogy: s log m with 0 log 0 = 0, so m = 0 puts its mass on s = 0 only
        log_pmf = special.xlogy(ks[None, :], m[:, None]) - m[:, None] - log_fact[None, lo:hi + 1]
        out[idx] = np.exp(log_pmf) @ values[lo:hi + 1]
    return out.reshape(np.shape(mean))


def _spec_number(value: float) -> str:
    """``value`` as a spec prints it: short (``%g``) when that reads back exactly."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


@dataclass(frozen=True)
class TransformRule:
    """Quadrature rule ``φ(z) ≈ Σ_j weights_j e^{−z nodes_j}`` for ``|Im z| <= omega_max``.

    ``error`` bounds the absolute error in the closed right half-plane: the kernel mass
    left out beyond the last node plus the rule's own error (≈ 1e-12).
    """

    nodes: FloatArray
    weights: FloatArray
    omega_max: float
    error: float

    def __call__(self, z: ComplexArray) -> ComplexArray:
        out = np.empty(z.shape, dtype=np.complex128)
        flat, res = z.ravel(), out.ravel()
        block = max(1, 2**20 // max(self.nodes.size, 1))
        for start in range(0, flat.size, block):
            zb = flat[start:start + block]
            res[start:start + block] = complex_times_real(
                np.exp(-np.outer(zb, self.nodes)), self.weights)
        return out

    def with_derivative(self, z: ComplexArray) -> tuple[ComplexArray, ComplexArray]:
        """``φ(z)`` and ``φ'(z) = −Σ w_j x_j e^{−z x_j}`` from one exponential table."""
        table = np.exp(-np.outer(z.ravel(), self.nodes))
        value = complex_times_real(table, self.weights).reshape(z.shape)
        slope = -complex_times_real(table, self.weights * self.nodes).reshape(z.shape)
        return value, slope

    def re_on_axis(self, omega: FloatArray) -> FloatArray:
        """``Re φ(iω) = Σ w_j cos(ω x_j)``, cheaper than the complex transform."""
        out = np.empty(omega.shape, dtype=np.float64)
        block = max(1, 2**20 // max(self.nodes.size, 1))
        for start in range(0, omega.size, block):
            ob = omega[start:start + block]
            out[start:start + block] = np.cos(np.outer(ob, self.nodes)) @ self.weights
        return out


    def re_on_grid(self, start: float, step: float, count: int) -> FloatArray:
        """``Re φ(iω)`` on the grid ``ω_k = start + k·step``, ``k < count``.

        Uses ``cos(a + (k+1)θ) = 2 cos θ cos(a + kθ) − cos(a + (k−1)θ)``: two flops per
        node and frequency instead of a cosine. The recurrence's rounding error grows at
        most like ``k² eps`` (≤ 3e-10 for ``k <= 1024``), far below the coarse rule's error.
        """
        out = np.empty(count, dtype=np.float64)
        previous = np.cos(start * self.nodes)
        out[0] = previous @ self.weights
        if count == 1:
            return out
        twice_cos = 2.0 * np.cos(step * self.nodes)
        current = np.cos((start + step) * self.nodes)
        out[1] = current @ self.weights
        for k in range(2, count):
            previous = twice_cos * current - previous
            previous, current = current, previous
            out[k] = current @ self.weights
        return out


class DelayKernel:
    """The kernel ``w(u) dF̃(u)`` of one mode, in units of the mean delay.

    Parameters
    ----------
    law : DelayLaw
        Delay law of arriving gradients (normalised to mean 1 here).
    updates_per_delay : float, optional
        ``ρ``: accepted updates per mean delay (``≈ n · acceptance``); needed when a
        threshold or a non-constant policy is set.
    threshold : int, optional
        Staleness threshold ``K``.
    policy : StepPolicy, optional
        Step-size policy (default constant).

    Examples
    --------
    >>> from sdde import delays
    >>> k = DelayKernel(delays.Exponential(scale=3.0))
    >>> complex(k.transform(1j))
    (0.5-0.5j)
    """

    def __init__(self, law: DelayLaw, *, updates_per_delay: float | None = None,
                 threshold: int | None = None, policy: StepPolicy | None = None) -> None:
        self.law = law.normalized()
        self.policy = policy or StepPolicy()
        self.threshold = threshold
        self.trivial = threshold is None and self.policy.is_constant
        if not self.trivial and not (isinstance(updates_per_delay, int | float)
                                     and 0 < updates_per_delay < math.inf):
            raise ValueError("a staleness threshold or step policy needs updates_per_delay "
                             f"> 0, got {updates_per_delay!r}")
        self.updates_per_delay = float(updates_per_delay) if updates_per_delay else math.nan
        self._rules: dict[tuple[float, float], TransformRule] = {}

    # ----------------------------------------------------------------- weights
    def weight(self, u: npt.ArrayLike) -> FloatArray:
        """``w(u)`` at delays ``u`` (in units of the mean delay)."""
        u_arr = np.asarray(u, dtype=np.float64)
        if self.trivial:
            return np.ones_like(u_arr)
        return self.policy.weight(self.updates_per_delay * u_arr, self.threshold)

    @property
    def point_delay(self) -> bool:
        """Whether the kernel is a single atom at 1 (the Lambert-W case)."""
        return isinstance(self.law, Deterministic)

    @cached_property
    def mass(self) -> float:
        """``φ(0) = E[w(X̃)]`` (1 without a threshold or policy)."""
        if self.trivial:
            return 1.0
        return float(np.sum(self._base_rule.weights))

    @cached_property
    def weighted_mean(self) -> float:
        """``E[w(X̃) X̃]``: bounds ``|φ'|`` on the imaginary axis."""
        if self.trivial:
            return 1.0
        rule = self._base_rule
        return float(rule.weights @ rule.nodes)

    @property
    def heavy_tailed(self) -> bool:
        """Whether ``φ`` fails to extend analytically left of the imaginary axis.

        Then the fundamental solution does not decay exponentially: once the
        transient has passed it decays like the tail of the delay law. A finite
        threshold makes any kernel light-tailed (``w`` decays like ``e^{−ρu}``).
        """
        policy = self.policy
        damped = (self.threshold is not None
                  or (policy.name == "geometric" and policy.gamma != 1.0)
                  or (policy.name == "table" and (policy.values or (1.0,))[-1] == 0.0))
        return self.law.laplace_abscissa == 0.0 and not damped

    @property
    def completely_monotone(self) -> bool:
        """Whether the kernel is a mixture of exponentials (then ``Re φ(iω) > 0``)."""
        return self.trivial and _completely_monotone(self.law)

    @property
    def fast(self) -> bool:
        """Whether the exact transform is closed form (no quadrature rule is used)."""
        return self.trivial and self.law.fast_laplace

    @cached_property
    def _shift(self) -> float | None:
        """``c`` with ``φ(z) = s·φ_F(z + c)`` when the kernel's transform is the law's own
        closed form, shifted (else None): ``c = 0`` for a plain kernel, and for the
        geometric policy without a threshold ``w(u) = s·E[γ^S]`` with ``S ~ Poisson(ρu)``
        is ``s·e^{−(1−γ)ρu}``, so ``c = (1−γ)ρ`` (``s`` the policy's scale). Used on the
        imaginary axis (the root count's certificate, variances); Newton keeps the
        quadrature rule its generator guesses come from."""
        if not self.law.fast_laplace:
            return None
        if self.trivial:
            return 0.0
        policy = self.policy
        if self.threshold is None and policy.name == "geometric":
            return (1.0 - float(policy.gamma or 1.0)) * self.updates_per_delay
        return None

    def _closed(self, z: ComplexArray) -> Any:
        """The closed-form transform (valid when :attr:`_shift` is not None)."""
        if self.trivial:
            return self.law.laplace(z)
        shift = self._shift
        assert shift is not None
        return self.policy.scale * np.asarray(self.law.laplace(z + shift))

    # --------------------------------------------------------------- transform
    def transform(self, z: npt.ArrayLike) -> Any:
        """``φ(z) = E[w(X̃) e^{−z X̃}]`` (vectorised).

        Exact (closed form) for plain laws with a closed-form transform; otherwise from
        a quadrature rule with absolute error :meth:`transform_error` for ``Re z >= 0``.
        Left of the axis the rule gives the transform of the kernel truncated at its
        last node.
        """
        z_arr = np.asarray(z, dtype=np.complex128)
        if self.fast:
            return self.law.laplace(z_arr)
        omega = float(np.max(np.abs(z_arr.imag), initial=0.0))
        out = self.rule(omega)(z_arr)
        return out if out.ndim else complex(out)

    def transform_error(self, omega_max: float = 0.0, *, coarse: bool = False) -> float:
        """Bound on the absolute error of :meth:`transform` (or of the coarse
        :meth:`on_axis`) for ``Re z >= 0`` and ``|Im z| <= omega_max``."""
        if self.fast or (coarse and self._shift is not None):  # closed forms (on_axis)
            return 1e-13
        return self.rule(omega_max, tail=COARSE_TAIL if coarse else RULE_TAIL).error

    def with_derivative(self, z: npt.ArrayLike) -> tuple[ComplexArray, ComplexArray]:
        """``φ(z)`` and ``φ'(z) = −E[w X̃ e^{−z X̃}]`` (for closed forms a central difference
        along the imaginary direction, which never crosses the abscissa of convergence;
        step ``1e-5 max(1, |z|)``, or 1e-4 of the distance to the abscissa: absolute error
        about 1e-10 away from poles, plenty for Newton)."""
        z_arr = np.asarray(z, dtype=np.complex128)
        if self.fast:
            gap = z_arr.real - self.law.laplace_abscissa  # distance to the nearest pole
            h = 1j * np.minimum(1e-5 * np.maximum(1.0, np.abs(z_arr)), 1e-4 * gap)
            values = np.asarray(self.law.laplace(np.stack([z_arr, z_arr + h, z_arr - h])))
            return values[0], (values[1] - values[2]) / (2 * h)
        return self.rule(float(np.max(np.abs(z_arr.imag), initial=0.0))).with_derivative(z_arr)

    def rule(self, omega_max: float, *, tail: float = RULE_TAIL) -> TransformRule:
        """Quadrature rule for the transform at ``|Im z| <= omega_max`` (cached).

        ``tail`` is the law's upper-tail mass the rule may leave out; a coarse rule
        (``tail = 1e-9``) is enough to locate sign changes and is far cheaper for
        heavy-tailed laws.
        """
        omega = 4.0 * 2.0 ** max(0, math.ceil(math.log2(max(omega_max, 1e-300) / 4.0)))
        if (omega, tail) not in self._rules:
            self._rules[omega, tail] = self._build_rule(omega, tail)
        return self._rules[omega, tail]

    @cached_property
    def _base_rule(self) -> TransformRule:
        return self.rule(4.0)

    def _build_rule(self, omega: float, tail: float) -> TransformRule:
        law = self.law
        lo, hi = law.support
        cut = min(hi, float(law.quantile(1.0 - tail)))
        full = tail <= RULE_TAIL
        width = (_PANEL_PHASE if full else _COARSE_PANEL_PHASE) / omega
        max_panels = _MAX_PANELS if full else _MAX_PANELS // 8
        if math.isfinite(cut) and (cut - lo) / width > max_panels:
            cut = lo + max_panels * width
        left_out = float(law.sf(cut)) if cut < hi else 0.0
        kinks = np.arange(lo, cut, width) if cut > lo else None
        if self.trivial:
            sqrt_step = math.sqrt(max(cut, 1.0))
        else:
            sqrt_step = 0.5 / math.sqrt(self.updates_per_delay)
        nodes, weights = law_quadrature(law, sqrt_step=sqrt_step, x_max=cut, kinks=kinks)
        weights = weights * self.weight(nodes)
        keep = weights > 0
        return TransformRule(nodes[keep], weights[keep], omega, left_out + 1e-12)

    def on_axis(self, omega: FloatArray, *, coarse: bool = False) -> ComplexArray:
        """``φ(iω)``: to full accuracy, or with ``coarse=True`` to about ``2 COARSE_TAIL``
        (see :meth:`transform_error`)."""
        omega = np.asarray(omega, dtype=np.float64)
        if self._shift is not None:
            return np.asarray(self._closed(np.asarray(1j * omega, dtype=np.complex128)),
                              dtype=np.complex128)
        top = float(np.max(omega, initial=0.0))
        rule = self.rule(top, tail=COARSE_TAIL if coarse else RULE_TAIL)
        return rule(np.asarray(1j * omega, dtype=np.complex128))

    def re_on_axis(self, omega: FloatArray, *, coarse: bool = False) -> FloatArray:
        """``Re φ(iω)``; ``coarse=True`` allows an absolute error of about ``2 COARSE_TAIL``."""
        omega = np.asarray(omega, dtype=np.float64)
        if self._shift is not None:
            return np.asarray(self._closed(np.asarray(1j * omega, dtype=np.complex128)),
                              dtype=np.complex128).real
        top = float(np.max(omega, initial=0.0))
        return self.rule(top, tail=COARSE_TAIL if coarse else RULE_TAIL).re_on_axis(omega)

    def describe(self) -> str:
        """One line: the law and, when set, the threshold and step policy."""
        return str(self.law) + self.describe_options()

    def describe_options(self) -> str:
        """``" (staleness cut-off K = 40, step policy tail:0.5)"``, or ``""`` when neither
        is set."""
        extra = []
        if self.threshold is not None:
            extra.append(f"staleness cut-off K = {self.threshold}")
        if not self.policy.is_constant:
            extra.append(f"step policy {self.policy}")
        return f" ({', '.join(extra)})" if extra else ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"law": self.law.to_dict(), "threshold": self.threshold,
                "policy": str(self.policy), "mass": self.mass,
                "updates_per_delay": None if self.trivial else self.updates_per_delay}


def _completely_monotone(law: DelayLaw) -> bool:
    """Whether the law has a completely monotone density (a mixture of exponentials)."""
    if isinstance(law, Exponential):
        return True
    if isinstance(law, Gamma | Weibull):
        return law.shape <= 1.0
    if isinstance(law, Mixture):
        return all(_completely_monotone(c) for c in law.components)
    if isinstance(law, Equilibrium):  # equilibrium of a mixture of exponentials is one
        return _completely_monotone(law.base)
    return False


def as_kernel(law_or_kernel: DelayLaw | DelayKernel) -> DelayKernel:
    """The kernel itself, or the plain kernel ``dF̃`` of a delay law."""
    if isinstance(law_or_kernel, DelayKernel):
        return law_or_kernel
    if isinstance(law_or_kernel, DelayLaw):
        return DelayKernel(law_or_kernel)
    raise ValueError(f"expected a DelayLaw or DelayKernel, got {law_or_kernel!r}")
