"""Does asynchrony pay? The synchronous-SGD baseline for the same cluster and loss.

Synchronous SGD waits for all ``n`` workers each round, which takes ``E[max_i X_i]``
(:attr:`sdde.Cluster.sync_round_time`), and applies their ``n`` gradients at once with the
same per-gradient step ``η`` (linear scaling: the step on the averaged gradient is
``n η``). Along a mode of curvature ``h`` one round multiplies the mean error by
``1 − κ g(0)`` with ``κ = η n h`` and ``g(0)`` the step policy's factor for fresh
gradients, so the round is stable iff ``0 < κ g(0) < 2`` and the slowest mode decays at

    r_sync = −ln max_i |1 − κ_i g(0)| / E[max X]    per time unit.

Asynchronous SGD applies ``n/E[X]`` updates per time unit but with stale gradients; its
decay rate is the stability report's. Their ratio says whether asynchrony pays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sdde._numerics import FloatArray

if TYPE_CHECKING:
    from sdde.model.async_sgd import AsyncSGDModel


@dataclass(frozen=True)
class SyncComparison:
    """Synchronous SGD beside asynchronous SGD on the same cluster, loss and ``η``.

    Attributes
    ----------
    round_time : float
        ``E[max_i X_i]``: one synchronous round.
    multipliers : ndarray
        ``|1 − κ_i g(0)|`` per mode: the mean error's factor per round.
    stable : bool
        Every multiplier below 1.
    decay_rate : float
        Slowest mode's decay rate per time unit (negative: it grows).
    async_decay_rate : float
        The asynchronous method's (from the stability report).
    """

    round_time: float
    multipliers: FloatArray
    stable: bool
    decay_rate: float
    async_decay_rate: float

    @property
    def speedup(self) -> float | None:
        """``async / sync`` decay rates when both converge (None otherwise)."""
        if self.decay_rate > 0 and self.async_decay_rate > 0:
            return self.async_decay_rate / self.decay_rate
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (no NaN or infinity: ``None`` instead)."""
        def finite(v: float | None) -> float | None:
            return None if v is None or not math.isfinite(v) else float(v)

        return {"round_time": finite(self.round_time), "stable": self.stable,
                "decay_rate": finite(self.decay_rate),
                "async_decay_rate": finite(self.async_decay_rate),
                "async_speedup": finite(self.speedup)}

    def summary(self) -> str:
        """One line for the command line."""
        head = (f"  synchronous SGD                same η per gradient, one round per "
                f"{self.round_time:.4g} time units: ")
        if not self.stable:
            return head + "DIVERGES (a round's step n·η·h exceeds 2)"
        if math.isinf(self.decay_rate):  # n·η·h = 1 on every mode: one round lands on θ*
            return head + ("converges in one round (the round's step n·η·h is exactly 1 on "
                           "every mode), faster than any asynchronous run")
        rate = f"decay rate {self.decay_rate:.4g}/time"
        s = self.speedup
        if s is None:
            verdict = "asynchronous SGD does not converge here"
        elif s >= 1:
            verdict = f"asynchrony is {s:.3g}× faster"
        else:
            verdict = f"synchronous SGD is {1 / s:.3g}× faster"
        return head + f"{rate}; {verdict}"


def compare_synchronous(model: AsyncSGDModel, async_decay_rate: float) -> SyncComparison:
    """The synchronous baseline for ``model`` beside its asynchronous decay rate.

    Parameters
    ----------
    model : AsyncSGDModel
    async_decay_rate : float
        The asynchronous slowest-mode decay rate (``StabilityReport.decay_rate``).

    Returns
    -------
    SyncComparison

    Examples
    --------
    >>> import sdde
    >>> fixed = sdde.delays.parse("deterministic:value=1")
    >>> m = sdde.AsyncSGDModel(lr=0.1, spectrum=sdde.HessianSpectrum.parse("1"),
    ...                        cluster=sdde.Cluster(workers=4, delay=fixed))
    >>> c = compare_synchronous(m, async_decay_rate=0.5)
    >>> c.round_time, round(c.decay_rate, 6)         # one round per unit, −ln(1 − 0.4)
    (1.0, 0.510826)
    """
    kappas = np.asarray(model.kappas, dtype=np.float64)
    fresh = float(model.policy.factor(np.array([0]))[0])
    multipliers = np.abs(1.0 - kappas * fresh)
    worst = float(np.max(multipliers))
    round_time = float(model.cluster.sync_round_time)
    rate = math.inf if worst == 0 else -math.log(worst) / round_time
    return SyncComparison(round_time=round_time, multipliers=multipliers,
                          stable=bool(worst < 1.0), decay_rate=rate,
                          async_decay_rate=float(async_decay_rate))
