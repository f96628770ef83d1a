"""Figure: parametric staleness models fitted to staleness measured by the exact simulator.

Sixteen workers, three round-time laws of mean 1: exponential (the exact staleness law is
geometric with ``p = 1/n``), gamma of shape 8 (over-dispersed against Poisson) and a
shifted exponential with shift 0.9 (nearly regular rounds: under-dispersed). Each panel
draws the histogram of the staleness :func:`sdde.simulate` records
(:meth:`SimulationResult.observed_staleness`), and over it the Poisson, geometric and
Conway–Maxwell–Poisson laws fitted by maximum likelihood
(:func:`sdde.cluster.staleness_models.fit_staleness`), with the AIC winner (``fit_best``) starred.

Checks: exponential rounds pick the geometric law, with ``p̂`` within three standard
errors of ``1/n``; gamma rounds pick an over-dispersed CMP law (``ν < 1``) and the
shifted exponential an under-dispersed one (``ν > 1``), as the sample variance against
the sample mean says; every fitted pmf sums to 1 within 1e-9 over ``0 … 4000`` (a direct
sum, not the tabulated law); the Poisson and geometric fits have the sample mean as their
mean (the MLE property) within 1e-9 relative, computed from the pmf; and every fit's
log-likelihood and AIC, recomputed as ``Σ log pmf(sᵢ)`` over the raw samples, match
what the fit reports, so the starred model is the one with the smallest AIC.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from figures import OUT_DIR, check, new_figure, save
from sdde import AsyncSGDModel, Cluster, HessianSpectrum, simulate
from sdde import delays as delay_laws
from sdde.cluster.staleness_models import MODELS, FittedStaleness, fit_best, fit_staleness

WORKERS = 16
LAWS = {
    "exponential": "exponential:mean=1",
    "gamma (shape 8)": "gamma:shape=8,mean=1",
    "shifted exp. (shift 0.9)": "shifted-exp:shift=0.9,mean=1",
}
#: Updates per replica and replicas (fast, full).
RUNS = {True: (20_000, 2), False: (200_000, 4)}
#: The exponential case's ``p̂`` must be this many standard errors from ``1/n`` at most.
#: (The standard error assumes independent samples; the simulated staleness sequence is
#: correlated, but its mean is pinned near ``n − 1`` by counting, so the error is smaller.)
SE_BOUND = 3.0
SUM_TOL = 1e-9
MEAN_REL_TOL = 1e-9


def measured_staleness(spec: str, *, fast: bool) -> np.ndarray:
    """Staleness of every gradient in the simulated runs (noise-free, tiny steps: the
    push schedule does not depend on the parameters, so neither does the staleness)."""
    updates, replicas = RUNS[fast]
    model = AsyncSGDModel(lr=1e-3, spectrum=HessianSpectrum.parse("1"), noise=0.0,
                          cluster=Cluster(workers=WORKERS, delay=delay_laws.parse(spec)))
    run = simulate(model, n_updates=updates, replicas=replicas, theta0=0.0,
                   record_every=updates, rng=np.random.default_rng(2026))
    return run.observed_staleness()


def check_fits(name: str, samples: np.ndarray, fits: list[FittedStaleness],
               best: FittedStaleness) -> None:
    """The checks of the module docstring, for one law."""
    mean, var = float(samples.mean()), float(samples.var())
    values, counts = np.unique(samples, return_counts=True)
    wide = np.arange(4001)
    for fit in fits:
        total = float(fit.pmf(wide).sum())
        check(abs(total - 1.0) <= SUM_TOL, f"{name}, {fit.model}: pmf sums to {total!r}")
        log_l = float(counts @ np.log(fit.pmf(values)))
        check(math.isclose(log_l, fit.log_likelihood, rel_tol=1e-9),
              f"{name}, {fit.model}: Σ log pmf(s) = {log_l!r}, the fit says "
              f"{fit.log_likelihood!r}")
        aic = 2 * len(fit.params) - 2 * log_l
        check(math.isclose(aic, fit.aic, rel_tol=1e-9),
              f"{name}, {fit.model}: AIC {aic!r} recomputed, {fit.aic!r} reported")
        if fit.model in ("poisson", "geometric"):
            fitted_mean = float(wide @ fit.pmf(wide))
            check(math.isclose(fitted_mean, mean, rel_tol=MEAN_REL_TOL),
                  f"{name}, {fit.model}: fitted mean {fitted_mean!r}, sample mean {mean!r}")
    check(best.aic == min(f.aic for f in fits) and best in fits,
          f"{name}: fit_best chose {best.model}, not the smallest AIC")
    if name == "exponential":
        p, se = best.params.get("p", math.nan), best.stderr.get("p", math.nan)
        check(best.model == "geometric" and abs(p - 1 / WORKERS) <= SE_BOUND * se,
              f"{name}: AIC picks {best.model} {best.params}, expected geometric with "
              f"p = 1/{WORKERS} within {SE_BOUND:g} SE ({se:.2g})")
    else:
        nu = best.params.get("nu", math.nan)
        check(best.model == "cmp" and (nu < 1) == (var > mean),
              f"{name}: AIC picks {best.model} {best.params}; sample mean {mean:.3f}, "
              f"variance {var:.3f}: expected CMP with ν {'<' if var > mean else '>'} 1")


def main(out_dir: Path = OUT_DIR, *, fast: bool = False) -> list[Path]:
    """Draw, check and save ``staleness_models.png``."""
    from sdde.cli.plots import plot_staleness_fits

    fig, axes = new_figure(1, len(LAWS), size=(14.0, 5.0))
    for ax, (name, spec) in zip(axes[0], LAWS.items(), strict=True):
        samples = measured_staleness(spec, fast=fast)
        fits = [fit_staleness(samples, model) for model in MODELS]
        best = fit_best(samples)
        check_fits(name, samples, fits, best)
        hi = int(np.quantile(samples, 0.999)) + 1
        plot_staleness_fits(np.bincount(samples), fits, window=(0, hi), legend=False, ax=ax)
        ax.set_title(f"{name}, n = {WORKERS}: sample mean {samples.mean():.2f}, "
                     f"variance {samples.var():.1f}", fontsize=9)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    for ax in axes[0, 1:]:
        ax.set_ylabel("")
    fig.suptitle("Staleness measured by the exact simulator, with Poisson, geometric and "
                 "Conway–Maxwell–Poisson laws fitted by maximum likelihood "
                 "(★ smallest AIC)", fontsize=11)
    return [save(fig, out_dir, "staleness_models.png")]


if __name__ == "__main__":
    for path in main():
        print(path)
