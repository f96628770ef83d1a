"""Figure: asynchrony as implicit momentum, and whether asynchrony pays against synchronous SGD.

Left, implicit momentum (:mod:`sdde.literature.momentum`). With geometric staleness
``P(S = s) = p (1 − p)^s`` (exact for ``n`` exponential workers, ``p = 1/n``) the
discrete-time mean recursion of asynchronous SGD, ``x_{t+1} = x_t − α Σ_s q_s x_{t−s}``,
is the heavy-ball method with momentum ``μ = 1 − p`` and step ``α p``. Top: ``E[θ_t]``
from the asynchronous recursion (:func:`sdde.stability.discrete.discrete_moments` on the geometric
weights; markers) and from :meth:`HeavyBall.mean` (lines) for three settings. Bottom: the
critical gain ``α*`` against the implied momentum: the closed form ``2(2 − p)/p`` (line)
and the discrete model's threshold scan (:func:`sdde.stability.discrete.discrete_critical_alpha`;
points at ``p = 1/n``).

Right, synchronous against asynchronous SGD (:mod:`sdde.literature.synchrony`). Two Hessian modes
(curvatures 0.1 and 1), ``η = 0.01`` per gradient, three round-time laws of mean 1.
Asynchronous: the slowest mode's decay rate ``−Re z₀ / E[X]`` (rightmost characteristic
root, as in ``convergence_speed.py``); synchronous: :func:`compare_synchronous`'s rate,
one linearly scaled step ``n η`` per round of ``E[max X]``. Where the asynchronous curve
falls below the synchronous one (or diverges, ✖) asynchrony stops paying (●); the
synchronous rounds themselves diverge once ``n η h_max >= 2``.

Checks: the two mean curves agree to 1e-10 (relative to their largest value); the scanned
thresholds equal ``2(2 − p)/p`` to 1e-8 relative and the plotted line is that formula;
:func:`heavy_ball` has ``μ = 1 − 1/n`` (:func:`implicit_momentum`) and is stable for the
plotted settings. For exponential rounds the synchronous round is ``H_n`` (the harmonic
number) and its rate ``−ln max_h |1 − n η h| / H_n``, and the asynchronous rate is the
closed form ``(1 − √(1 − 4 κ_min)) / 2`` (``z² + z + κ = 0``; the stiff mode's rate
``1/2`` is larger); deterministic rounds take exactly 1 and two-point rounds
``a + 9a (1 − 0.95^n)`` (``a = 1/1.45``); each marked point where asynchrony stops paying
lies between the last worker count where asynchrony converges at least as fast (its
:attr:`SyncComparison.speedup` at least 1, or synchrony diverging) and the first where
it does not.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from figures import OUT_DIR, check, new_figure, save
from sdde import AsyncSGDModel, Cluster, HessianSpectrum, characteristic_roots
from sdde import delays as delay_laws
from sdde.literature.momentum import geometric_critical_alpha, heavy_ball, implicit_momentum
from sdde.literature.synchrony import SyncComparison, compare_synchronous
from sdde.stability.discrete import discrete_critical_alpha, discrete_moments

#: (workers n, per-update gain α) of the mean curves: p = 1/n.
SETTINGS = ((4, 0.05), (4, 0.2), (16, 0.5))
STEPS = 160
#: Worker counts of the threshold points (their geometric weights fit the scan's table).
THRESHOLD_WORKERS = (1, 2, 3, 4, 6, 8, 12, 16)

LR = 0.01
CURVATURES = (0.1, 1.0)
LAWS = {
    "deterministic": "deterministic:value=1",
    "exponential": "exponential:mean=1",
    "two-point (5 % stragglers ×10)": "two-point:p=0.05,slowdown=10,mean=1",
}
#: Largest worker count drawn (sync diverges from 2 / (η h_max) = 200).
TOP = 240
MEAN_TOL = 1e-10
REL_TOL = 1e-9


def geometric_weights(p: float) -> np.ndarray:
    """``q_s = p (1 − p)^s`` down to 1e-18 (the test suite's truncation)."""
    cut = int(np.ceil(np.log(1e-18) / np.log(1 - p))) if p < 1 else 0
    return p * (1 - p) ** np.arange(cut + 1)


def draw_momentum(ax_mean: object, ax_crit: object) -> None:
    """The two left panels, with their checks."""
    for n, alpha in SETTINGS:
        p = 1.0 / n
        hb = heavy_ball(alpha, p)
        check(math.isclose(hb.momentum, implicit_momentum(n), rel_tol=1e-15) and hb.stable,
              f"n = {n}, α = {alpha}: momentum {hb.momentum}, stable {hb.stable}")
        recursion, _ = discrete_moments(alpha, geometric_weights(p), STEPS)
        ball = hb.mean(STEPS)
        gap = float(np.max(np.abs(recursion - ball)))
        check(gap <= MEAN_TOL * max(1.0, float(np.max(np.abs(ball)))),
              f"n = {n}, α = {alpha}: async recursion and heavy ball differ by {gap:.3g}")
        t = np.arange(STEPS + 1)
        (line,) = ax_mean.plot(t, ball, lw=1.3,  # type: ignore[attr-defined]
                               label=f"n = {n} (μ = {hb.momentum:g}), α = {alpha:g}: "
                                     f"radius {hb.spectral_radius:.3f}")
        ax_mean.plot(t[::5], recursion[::5], "o", ms=3.5, mfc="none",  # type: ignore[attr-defined]
                     color=line.get_color())
    ax_mean.plot([], [], "o", ms=3.5, mfc="none", color="0.3",  # type: ignore[attr-defined]
                 label="markers: async mean recursion (geometric staleness)")
    ax_mean.axhline(0.0, color="black", lw=0.6)  # type: ignore[attr-defined]
    ax_mean.set(xlabel="server updates t", ylabel="E[θ_t] / θ₀",  # type: ignore[attr-defined]
                title="Lines: heavy ball with momentum μ = 1 − p, step α·p")
    ax_mean.legend(fontsize=7, loc="upper right")  # type: ignore[attr-defined]

    mu = np.linspace(0.0, 0.95, 200)
    curve = np.array([geometric_critical_alpha(1.0 - m) for m in mu])
    check(np.allclose(curve, 2 * (1 + mu) / (1 - mu), rtol=1e-13),
          "the plotted threshold line is not 2(2 − p)/p")
    ax_crit.plot(mu, curve, color="black", lw=1.3,  # type: ignore[attr-defined]
                 label="closed form α* = 2(2 − p)/p = 2(1 + μ)/(1 − μ)")
    points = []
    for n in THRESHOLD_WORKERS:
        scanned = discrete_critical_alpha(geometric_weights(1.0 / n))
        check(math.isclose(scanned, geometric_critical_alpha(1.0 / n), rel_tol=1e-8)
              and math.isclose(scanned, 2 * (2 * n - 1), rel_tol=1e-8),
              f"n = {n}: scanned threshold {scanned!r}, closed form {2 * (2 * n - 1)}")
        points.append((implicit_momentum(n), scanned))
    m, a = np.array(points).T
    ax_crit.plot(m, a, "o", color="tab:red", ms=5,  # type: ignore[attr-defined]
                 label="threshold scan of the async recursion, n = 1 … 16 workers")
    for n, (x, y) in zip(THRESHOLD_WORKERS, points, strict=True):
        if n in (1, 2, 4, 8, 16):
            ax_crit.annotate(f"n = {n}", (x, y), textcoords="offset points",  # type: ignore[attr-defined]
                             xytext=(6, -10) if n == 1 else (-4, 7),
                             ha="left" if n == 1 else "right", fontsize=7)
    from matplotlib.ticker import ScalarFormatter

    ax_crit.set_yscale("log")  # type: ignore[attr-defined]
    for axis in (ax_crit.yaxis,):  # type: ignore[attr-defined]
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(ScalarFormatter())
    ax_crit.tick_params(axis="y", which="both", labelsize=7)  # type: ignore[attr-defined]
    ax_crit.set(xlabel="implied momentum μ = 1 − p",  # type: ignore[attr-defined]
                ylabel="critical gain α* = η h (per update)")
    ax_crit.legend(fontsize=7, loc="upper left")  # type: ignore[attr-defined]


def model(spec: str, workers: int) -> AsyncSGDModel:
    """The two-mode model at ``workers`` workers."""
    return AsyncSGDModel(lr=LR, spectrum=HessianSpectrum.parse(",".join(map(repr, CURVATURES))),
                         cluster=Cluster(workers=workers, delay=delay_laws.parse(spec)))


def async_rate(m: AsyncSGDModel) -> float:
    """The slowest mode's decay rate per time unit (rightmost root of each mode)."""
    return min(-float(characteristic_roots(float(k), m.kernel, n=1)[0].real) / m.mean_delay
               for k in m.kappas)


def paying(c: SyncComparison) -> bool:
    """Whether asynchrony converges, and at least as fast as synchrony (if that does)."""
    if c.async_decay_rate <= 0:
        return False
    return c.decay_rate <= 0 or (c.speedup is not None and c.speedup >= 1.0)


def sync_closed_form(name: str, n: int) -> tuple[float, float]:
    """Synchronous round time and decay rate from first principles."""
    if name == "exponential":
        round_time = sum(1.0 / k for k in range(1, n + 1))
    elif name == "deterministic":
        round_time = 1.0
    else:
        a = 1.0 / 1.45
        round_time = a + 9 * a * (1 - 0.95**n)
    worst = max(abs(1 - n * LR * h) for h in CURVATURES)
    return round_time, -math.log(worst) / round_time


def draw_synchrony(ax: object, *, fast: bool) -> None:
    """The right panel, with its checks."""
    top_sync = 2.0 / (LR * max(CURVATURES))
    for (name, spec), marker, shift in zip(LAWS.items(), "so^", (0.0, 0.04, 0.08),
                                           strict=True):
        grid = (np.unique(np.geomspace(1, TOP, 28).round().astype(int)) if fast
                else np.arange(1, TOP + 1))
        comparisons: dict[int, SyncComparison] = {}

        def at(n: int, spec: str = spec, comparisons: dict = comparisons) -> SyncComparison:
            if n not in comparisons:
                m = model(spec, n)
                comparisons[n] = compare_synchronous(m, async_rate(m))
            return comparisons[n]

        rows = [at(int(n)) for n in grid]
        stop = next((int(n) for n, c in zip(grid, rows, strict=True) if not paying(c)), None)
        if stop is not None and fast:  # refine on the integers between grid points
            lo = int(grid[list(grid).index(stop) - 1])
            hi = stop
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if paying(at(mid)) else (lo, mid)
            stop = hi
        n_all = np.array(sorted(comparisons))
        sync = np.array([comparisons[n].decay_rate for n in n_all])
        asyn = np.array([comparisons[n].async_decay_rate for n in n_all])
        for n in n_all:
            c = comparisons[n]
            round_time, rate = sync_closed_form(name, int(n))
            check(math.isclose(c.round_time, round_time, rel_tol=REL_TOL)
                  and (math.isclose(c.decay_rate, rate, rel_tol=REL_TOL) or c.decay_rate
                       == rate), f"{name}, n = {n}: sync round {c.round_time!r} rate "
                                 f"{c.decay_rate!r}; closed form {round_time!r}, {rate!r}")
            if name == "exponential":
                kappa = n * LR * min(CURVATURES)
                closed = (1 - math.sqrt(1 - 4 * kappa)) / 2
                check(math.isclose(c.async_decay_rate, closed, rel_tol=1e-6),
                      f"exponential, n = {n}: async rate {c.async_decay_rate!r}, closed "
                      f"form {closed!r}")
        (line,) = ax.plot(n_all, np.where(asyn > 0, asyn, np.nan), lw=1.6,  # type: ignore[attr-defined]
                          marker=marker, ms=5, mfc="none", markevery=(shift, 0.12),
                          label=f"{name}: asynchronous")
        color = line.get_color()
        ax.plot(n_all, np.where(sync > 0, sync, np.nan), lw=1.3, ls="--",  # type: ignore[attr-defined]
                color=color, label=f"{name}: synchronous")
        diverged = n_all[asyn <= 0]
        if diverged.size:
            ax.plot([diverged[0]], [1.2e-3], "X", ms=9, color=color,  # type: ignore[attr-defined]
                    mec="black", mew=0.6)
        if stop is not None:
            before = at(stop - 1)
            check(paying(before) and not paying(at(stop)),
                  f"{name}: asynchrony stops paying at n = {stop}, but speedups are "
                  f"{before.speedup} at n = {stop - 1} and {at(stop).speedup} at n = {stop}")
        if stop is not None and at(stop).async_decay_rate > 0:  # slower, not diverged (✖)
            ax.plot([stop], [at(stop).decay_rate], "o", ms=8, color=color,  # type: ignore[attr-defined]
                    mec="black", mew=0.8,
                    label=f"{name}: asynchrony stops paying at n = {stop}")
    ax.axvline(top_sync, color="0.4", lw=0.8, ls=":",  # type: ignore[attr-defined]
               label=f"synchronous diverges from n = {top_sync:.0f} (n η h_max ≥ 2)")
    ax.set(xscale="log", yscale="log", ylim=(1e-3, 1.5), xlim=(1, TOP),  # type: ignore[attr-defined]
           xlabel="workers n", ylabel="decay rate of the slowest mode (1 / time)",
           title=f"η = {LR:g} per gradient, curvatures {CURVATURES[0]:g} and "
                 f"{CURVATURES[1]:g}; ✖ asynchronous diverges")
    ax.legend(fontsize=7, loc="upper left")  # type: ignore[attr-defined]


def main(out_dir: Path = OUT_DIR, *, fast: bool = False) -> list[Path]:
    """Draw, check and save ``momentum_synchrony.png``."""
    fig, axes = new_figure(2, 2, size=(13.0, 8.0), width_ratios=(1.0, 1.15))
    grid = axes[0, 1].get_gridspec()
    for ax in axes[:, 1]:
        ax.remove()
    right = fig.add_subplot(grid[:, 1])
    draw_momentum(axes[0, 0], axes[1, 0])
    draw_synchrony(right, fast=fast)
    axes[0, 0].set_title("Asynchrony as implicit momentum (geometric staleness, p = 1/n)\n"
                         "lines: heavy ball, μ = 1 − p, step α·p", fontsize=9)
    right.set_title("Does asynchrony pay? Asynchronous (solid) against synchronous SGD "
                    "(dashed)\n" + right.get_title(), fontsize=9)
    return [save(fig, out_dir, "momentum_synchrony.png")]


if __name__ == "__main__":
    for path in main():
        print(path)
