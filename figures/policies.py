"""Figure: step policies against the worker count, at a fixed learning rate.

Shifted-exponential round times (shift 0.5, mean 1), one Hessian mode (curvature
``h = 1``), learning rate ``η = 0.01``. Left: the slowest mode's decay rate
``−Re z₀ / E[X]`` against the worker count ``n`` for five step policies, each curve's
fastest worker count (star) and where it starts to diverge (cross). Right: the step
factors ``g(s)`` at 16 workers over that cluster's staleness pmf.

Policies that depend on ``n`` (``tail:A``, ``mindthestep:B``) are **rebuilt at every
``n`` from that ``n``'s Poisson staleness law**, as ``StepPolicy.for_cluster`` does for a
cluster of ``n`` workers (and as sweeps do): what an operator who re-fits the policy
after resizing the cluster runs, and what :func:`sdde.analyze_stability` does too
(``AsyncSGDModel.with_workers`` rebuilds them).

Checks: the fastest and largest stable worker counts are the report's; every plotted
curve (rates computed here from each ``n``'s own model) peaks at its star (up to ties
within rounding) and crosses zero between the largest stable worker count and the next;
:func:`check_limits` checks the report's answers against models built here: the
optimum no slower than either neighbour, stable at the limit and unstable one worker
beyond, by ``κ*`` and, for the rebuilt policies, by the certified root count. On the
right, ``E[g(S)] = 1`` for ``mindthestep`` under its own law. At full quality every
``n`` up to 64 and a 160-point geometric grid beyond are plotted; the fast version plots
14 geometric points up to the limit, 3 beyond, and the marks and their neighbours.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np

from figures import OUT_DIR, check, new_figure, save
from sdde import (
    AsyncSGDModel,
    Cluster,
    HessianSpectrum,
    StepPolicy,
    analyze_stability,
    characteristic_roots,
    delays,
)
from sdde.stability.report import MAX_WORKERS, worker_search_threshold

LR = 0.01
CURVATURE = 1.0
LAW = "shifted-exp:shift=0.5,mean=1"
POLICIES = ("constant", "inverse", "exponential:0.05", "tail:1", "mindthestep:0.05")
#: Workers of the right panel's step factors.
SHOWN_WORKERS = 16
#: The curves run to this multiple of the largest finite stable worker count.
BEYOND = 1.4


def depends_on_workers(spec: str) -> bool:
    """Whether the policy is built from the cluster's staleness law (so from ``n``)."""
    return spec.strip().startswith(("tail", "mindthestep"))


@cache
def model_at(law: str, spec: str, n: int, lr: float = LR,
             curvature: float = CURVATURE) -> AsyncSGDModel:
    """``n`` workers with round law ``law``; the policy built for that cluster."""
    cluster = Cluster(workers=int(n), delay=delays.parse(law))
    return AsyncSGDModel(lr=lr, cluster=cluster, spectrum=HessianSpectrum.parse(repr(curvature)),
                         policy=StepPolicy.for_cluster(spec, cluster))


@cache
def slowest_rate(law: str, spec: str, n: int, lr: float = LR,
                 curvature: float = CURVATURE) -> float:
    """Decay rate (per time unit) of the slowest mode with ``n`` workers."""
    m = model_at(law, spec, n, lr, curvature)
    rates = []
    for kappa in {float(m.kappas[0]), float(m.kappas[-1])}:
        z = characteristic_roots(kappa, m.kernel, n=1)
        rates.append(-float(z[0].real) / m.mean_delay if z.size else math.nan)
    return min(rates)


@cache
def stable_at(law: str, spec: str, n: int, lr: float = LR, curvature: float = CURVATURE) -> bool:
    """Whether the largest gain at ``n`` workers is below the server's almost-sure threshold,
    as the report's worker search takes it
    (:func:`sdde.stability.report.worker_search_threshold`)."""
    m = model_at(law, spec, n, lr, curvature)
    return bool(m.kappas[-1] < worker_search_threshold(m, n))


def worker_limits(law: str, spec: str, lr: float = LR,
                  curvature: float = CURVATURE) -> tuple[int, int | None, float]:
    """``(max stable workers, fastest workers, its decay rate)`` from
    :func:`sdde.analyze_stability` of the 16-worker model, which rebuilds ``tail:A`` and
    ``mindthestep:B`` at every ``n`` it tries (``AsyncSGDModel.with_workers``). The fastest
    count is ``None`` when the root finder finds no root at some ``n`` (``tail:0.5`` on
    light-tailed laws beyond about 28 workers). :func:`check_limits` checks the answers
    against models built here at and around them."""
    report = analyze_stability(model_at(law, spec, 16, lr, curvature))
    assert report.max_stable_workers is not None
    return report.max_stable_workers, report.optimal_workers, report.optimal_decay_rate


def check_limits(law: str, spec: str, limit: int, best: int | None, best_rate: float,
                 lr: float = LR, curvature: float = CURVATURE) -> None:
    """Check :func:`worker_limits` against the models built at and around its answers.

    The model at ``limit`` is stable and at ``limit + 1`` unstable by the server's
    almost-sure threshold (:func:`stable_at`, the report's verdict);
    the optimum is within ``1..limit``, its rate is the one returned and it is no slower
    than its neighbours (rates of :func:`slowest_rate`, computed here from each ``n``'s
    own model, not by the report's search).
    """
    name = f"{law}, {spec}"
    if limit < MAX_WORKERS:
        check(stable_at(law, spec, limit, lr, curvature)
              and not stable_at(law, spec, limit + 1, lr, curvature),
              f"{name}: not stable at n = {limit} and unstable at n = {limit + 1}")
    if best is None:  # unknown (no root found at some n), nothing more to check
        return
    check(1 <= best <= limit,
          f"{name}: fastest worker count {best} is not within 1..{limit} (max stable)")
    check(math.isclose(slowest_rate(law, spec, best, lr, curvature), best_rate, rel_tol=1e-9),
          f"{name}: rate at the fastest count {best} is not {best_rate!r}")
    neighbours = [k for k in (best - 1, best + 1) if 1 <= k <= limit]
    check(all(best_rate >= slowest_rate(law, spec, k, lr, curvature) for k in neighbours),
          f"{name}: the decay rate at the fastest count {best} is below a neighbour's")


def zero_crossing(n: np.ndarray, rate: np.ndarray) -> float:
    """Where the piecewise-linear curve, once positive, first falls to zero or below (NaN if
    never). ``tail:1`` starts at rate 0: with one worker every gradient is fresh, the
    stalest value the law knows, so its factor is ``1 − A = 0``."""
    falls = np.flatnonzero((rate[1:] <= 0) & (rate[:-1] > 0))
    if falls.size == 0:
        return math.nan
    i = int(falls[0]) + 1
    return float(n[i - 1] + (n[i] - n[i - 1]) * rate[i - 1] / (rate[i - 1] - rate[i]))


def worker_grid(top: int, marks: list[int], fast: bool, limit: int = 0) -> np.ndarray:
    """Every ``n`` up to 64 and a geometric grid beyond (full); fast: 14 geometric points
    up to ``limit`` and 3 beyond; both with the marks and their neighbours, up to ``top``."""
    if fast:
        end = min(max(limit, 1), top)
        base = np.concatenate([np.geomspace(1, end, 14).round(),
                               np.geomspace(end, top, 3).round()])
    else:
        base = np.concatenate([np.arange(1, min(64, top) + 1),
                               np.geomspace(64, top, 160).round() if top > 64 else []])
    extra = [k + d for k in marks for d in (-1, 0, 1)]
    grid = np.concatenate([base, extra, [top]])
    return np.unique(grid[(grid >= 1) & (grid <= top)]).astype(np.int64)


def main(out_dir: Path = OUT_DIR, *, fast: bool = False) -> list[Path]:
    """Draw, check and save ``policies.png``."""
    from sdde.cli.plots import plot_decay_vs_workers

    limits = {spec: worker_limits(LAW, spec) for spec in POLICIES}
    for spec, (limit, best, best_rate) in limits.items():
        check_limits(LAW, spec, limit, best, best_rate)
    finite = [lim for lim, _, _ in limits.values() if lim < MAX_WORKERS]
    top = math.ceil(BEYOND * max(finite + [b or 1 for _, b, _ in limits.values()]))
    cluster = Cluster(workers=SHOWN_WORKERS, delay=delays.parse(LAW))
    law = cluster.staleness("poisson")
    every_s = np.arange(law.k_max + 1)

    fig, axes = new_figure(1, 2, size=(11.0, 5.6), width_ratios=(1.5, 1.0))
    ax, ax_g = axes[0]
    colors = dict(zip(POLICIES, ("black", "tab:blue", "tab:green", "tab:orange", "tab:red"),
                      strict=True))
    for spec in POLICIES:
        limit, best, best_rate = limits[spec]
        assert best is not None
        marks = [best] + ([limit] if limit < top else [])
        n = worker_grid(top, marks, fast, limit)
        rate = np.array([slowest_rate(LAW, spec, int(k), LR, CURVATURE) for k in n])
        crossing = zero_crossing(n, rate)
        # the plotted maximum is the optimum (up to ties within rounding: the inverse
        # policy's kernel stops changing with n once e^{-n·shift} underflows); NaN is a
        # rate with no root found (far past the limit, where the decay rate underflows)
        check(float(np.nanmax(rate)) <= best_rate * (1 + 1e-9)
              and rate[int(np.searchsorted(n, best))] == best_rate,
              f"{spec}: plotted maximum {np.nanmax(rate)!r} at n = "
              f"{n[int(np.nanargmax(rate))]}, "
              f"the fastest count is {best} with rate {best_rate!r}")
        # the curve is the mean field's decay rate, so its zero is where the *mean*
        # diverges; the report's limit is the server's (checked by check_limits above)
        flat = n[rate >= best_rate * (1 - 1e-6)]
        fastest = (f"fastest n = {best}" if flat[0] > best / 2 else
                   f"rate flat from n = {flat[0]} (fastest {best} by rounding)")
        diverges = (f"diverges from n = {limit + 1}" if limit < MAX_WORKERS
                    else f"stable up to n = {MAX_WORKERS}")
        mean_g = float(law.probabilities @ StepPolicy.for_cluster(spec, cluster).factor(every_s))
        plot_decay_vs_workers(n, rate, optimum=(best, best_rate),
                              label=f"{spec} (E[g(S)] = {mean_g:.2f} at n = {SHOWN_WORKERS}):"
                                    f" {fastest}, {diverges}",
                              divergence=None if math.isnan(crossing) else crossing,
                              color=colors[spec], ax=ax)
    ax.set_title(f"Speed against workers ({LAW}, η = {LR:g}, h = {CURVATURE:g})\n"
                 "★ fastest worker count, ✖ divergence (rate crosses 0)", fontsize=9)
    low, high = ax.get_ylim()
    ax.axhspan(low, 0.0, color="tab:red", alpha=0.08, lw=0)
    ax.set_ylim(low, high)
    ax.text(0.02, 0.03, "below 0: diverges", transform=ax.transAxes, fontsize=8,
            color="tab:red")
    fig.legend(handles=[line for line in ax.get_lines() if not line.get_label().startswith("_")],
               loc="outside lower center", ncol=2, fontsize=7.5,
               title="tail: and mindthestep: are rebuilt from each n's Poisson staleness law",
               title_fontsize=8)

    # right: the step factors at 16 workers over the staleness pmf
    s = np.arange(int(law.quantile(1 - 1e-4)) + 1)
    pmf_ax = ax_g.twinx()
    pmf_ax.bar(s, law.probabilities[: s.size], color="0.85", width=1.0)
    pmf_ax.set_ylabel("staleness pmf P(S = s), Poisson approx. (grey bars)", fontsize=8)
    pmf_ax.set_ylim(0, 3 * float(law.probabilities.max()))
    ax_g.set_zorder(pmf_ax.get_zorder() + 1)
    ax_g.patch.set_visible(False)
    for spec in POLICIES:
        policy = StepPolicy.for_cluster(spec, cluster)
        ax_g.plot(s, policy.factor(s), color=colors[spec], lw=1.6)
        if spec.startswith("mindthestep"):
            mean = float(law.probabilities @ policy.factor(every_s))
            check(math.isclose(mean, 1.0, rel_tol=1e-9),
                  f"{spec}: E[g(S)] = {mean!r} under its own law, not the target 1")
    ax_g.axhline(1.0, color="0.4", lw=0.6, ls=":")
    ax_g.set_xlabel("staleness s (updates)")
    ax_g.set_ylabel("step factor g(s)  (step = η·g(s))")
    ax_g.set_title(f"Step factors at n = {SHOWN_WORKERS} (mean staleness {law.mean:.0f}), "
                   "colours as left", fontsize=9)
    return [save(fig, out_dir, "policies.png")]


if __name__ == "__main__":
    for path in main():
        print(path)
