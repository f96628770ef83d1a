"""Figure: the divergence threshold κ* against the variability of the round time.

``κ* = sdde.critical_kappa`` of the delay kernel, for six families of round-time laws of
mean 1, each swept over its shape: gamma (shape), lognormal (cv), Weibull (shape),
shifted exponential (shift), uniform (width) and two-point stragglers (5 % of rounds
slowed down by a factor swept from 1.05 to 100). Without a shared link or a staleness
threshold the kernel is the round law rescaled to mean 1, so κ* is the same at every
worker count (checked at n = 16 and 256); the largest stable learning rate is
``κ* / (n h)``. Triangles at the top: no divergence up to κ = 100 (gamma and Weibull
laws with shape ≤ 1, the exponential law, have ``κ* = ∞``).

Checks against independent closed forms from :mod:`sdde.symbolic` (docs/symbolic.md):
the point delay's ``π/2`` at cv = 0; the Erlang formula ``k tan(π/2k) / cos^k(π/2k)`` at
the gamma curve's whole shapes; the uniform law's ``π² a / (4 sin(πa/2))``; the
shifted exponential's crossing equation solved to 30 digits; and the gamma curve at
shape 1 is the exponential point, ``κ* = ∞`` (sympy's ``oo``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sympy as sp

from figures import OUT_DIR, check, new_figure, save
from sdde import AsyncSGDModel, Cluster, HessianSpectrum, critical_kappa
from sdde import delays as delay_laws
from sdde import symbolic as sym
from sdde.stability.mean_field import KAPPA_MAX

#: Worker counts at which the thresholds are recomputed from the cluster's own kernel.
WORKERS = (16, 256)
#: Relative agreement required with the closed forms (critical_kappa is accurate to
#: about 1e-12 on closed-form transforms; the sympy values are exact or 30 digits).
REL_TOL = 1e-9
#: Half-widths ``a`` of the uniform laws on ``[1 − a, 1 + a]`` checked in closed form.
UNIFORM_WIDTHS = (0.25, 0.5, 1.0)


def families(fast: bool) -> dict[str, tuple[Callable[[float], str], np.ndarray]]:
    """Family label → (parameter → law spec, parameter values)."""
    size = 12 if fast else 60
    return {
        "gamma (over its shape)": (lambda k: f"gamma:shape={k!r},mean=1",
                                   np.unique(np.concatenate([np.geomspace(1.0, 400.0, size),
                                                             [2.0, 3.0, 4.0, 10.0]]))),
        "Weibull (over its shape)": (lambda k: f"weibull:shape={k!r},mean=1",
                                     np.geomspace(1.0, 30.0, size)),
        "shifted exponential (over its shift)": (lambda s: f"shifted-exp:shift={s!r},mean=1",
                                                 np.unique(np.concatenate([
                                                     np.linspace(0.0, 0.98, size),
                                                     [0.25, 0.5, 0.9]]))),
        "uniform (over its width)": (lambda c: f"uniform:mean=1,cv={c!r}",
                                     np.unique(np.concatenate([
                                         np.linspace(0.02, 1 / math.sqrt(3), size),
                                         [w / math.sqrt(3) for w in UNIFORM_WIDTHS]]))),
        "lognormal (over its cv)": (lambda c: f"lognormal:mean=1,cv={c!r}",
                                    np.linspace(0.05, 2.6, size)),
        "two-point, 5 % stragglers (over the slowdown)": (
            lambda s: f"two-point:p=0.05,slowdown={s!r},mean=1",
            np.geomspace(1.05, 100.0, size)),
    }


def curve(spec_of: Callable[[float], str], params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cv, κ*) for each parameter value."""
    laws = [delay_laws.parse(spec_of(float(p))) for p in params]
    return (np.array([law.cv for law in laws]),
            np.array([critical_kappa(law) for law in laws]))


def anchors() -> list[tuple[str, str, float]]:
    """(what, law spec, closed-form κ*) from :mod:`sdde.symbolic`."""
    k = sp.Symbol("k", positive=True, integer=True)
    erlang = sym.lambdify(sym.critical_kappa(sym.erlang()).kappa, k)
    uniform = sym.critical_kappa(sym.uniform()).kappa
    a = next(iter(uniform.free_symbols))
    width = sym.lambdify(uniform, a)
    out = [("point delay π/2", "deterministic:value=1",
            float(sym.critical_kappa(sym.point_delay()).kappa)),
           ("exponential ∞", "exponential:mean=1",
            float(sym.critical_kappa(sym.exponential()).kappa))]
    out += [(f"Erlang-{j}", f"gamma:shape={float(j)!r},mean=1", float(erlang(j)))
            for j in (2, 3, 4, 10)]
    # uniform on [1 − a, 1 + a]: cv = a / √3
    out += [(f"uniform a = {w:g}", f"uniform:mean=1,cv={w / math.sqrt(3)!r}", float(width(w)))
            for w in UNIFORM_WIDTHS]
    out += [(f"shifted exp. {s}", f"shifted-exp:shift={float(s)!r},mean=1",
             float(sym.critical_kappa(sym.shifted_exponential(s)).kappa))
            for s in (sp.Rational(1, 4), sp.Rational(1, 2), sp.Rational(9, 10))]
    return out


def same(a: float, b: float) -> bool:
    """Equal within :data:`REL_TOL` (both infinite counts as equal)."""
    return a == b or math.isclose(a, b, rel_tol=REL_TOL)


def main(out_dir: Path = OUT_DIR, *, fast: bool = False) -> list[Path]:
    """Draw, check and save ``kappa_vs_cv.png``."""
    from sdde.cli.plots import plot_threshold_vs_cv

    fig, axes = new_figure(size=(8.0, 5.6))
    ax = axes[0, 0]
    drawn: dict[str, float] = {}  # law spec → plotted κ*
    markers = "osD^vP"
    for (label, (spec_of, params)), marker in zip(families(fast).items(), markers, strict=True):
        cv, kappa = curve(spec_of, params)
        plot_threshold_vs_cv(cv, kappa, label=label, top=KAPPA_MAX, marker=marker, ms=3,
                             lw=1.2, ax=ax)
        drawn.update({spec_of(float(p)): float(v) for p, v in zip(params, kappa, strict=True)})
    points = {"deterministic:value=1": 0.0, "exponential:mean=1": 1.0}
    for spec, cv0 in points.items():
        value = critical_kappa(delay_laws.parse(spec))
        drawn[spec] = value
        plot_threshold_vs_cv([cv0], [value], label=spec.split(":")[0], top=KAPPA_MAX,
                             marker="*", ms=12, color="black", ls="none", ax=ax)
    closed = anchors()
    for what, spec, value in closed:
        check(spec in drawn, f"{what}: {spec} is not on the plotted curves")
        check(same(drawn[spec], value),
              f"{what}: plotted κ* = {drawn[spec]!r}, closed form {value!r}")
    check(drawn["gamma:shape=1.0,mean=1"] == drawn["exponential:mean=1"] == math.inf,
          "the gamma curve at shape 1 is not the exponential point κ* = ∞")
    finite = [(cv, v) for _, spec, v in closed if math.isfinite(v)
              for cv in [delay_laws.parse(spec).cv]]
    plot_threshold_vs_cv([c for c, _ in finite], [v for _, v in finite], top=KAPPA_MAX,
                         label="closed forms (sdde.symbolic)", marker="o", ms=9,
                         mfc="none", mec="black", mew=1.0, ls="none", ax=ax)
    for n in WORKERS:  # the cluster's kernel at n: the same thresholds
        for spec in ("gamma:shape=2.0,mean=1", "shifted-exp:shift=0.5,mean=1",
                     "two-point:p=0.05,slowdown=10.0,mean=1"):
            law = delay_laws.parse(spec)
            model = AsyncSGDModel(lr=0.01, spectrum=HessianSpectrum.parse("1"),
                                  cluster=Cluster(workers=n, delay=law))
            check(same(critical_kappa(model.kernel), critical_kappa(law)),
                  f"{spec}: κ* of the cluster's kernel at n = {n} differs from the law's")
    ax.set_ylim(1.3, KAPPA_MAX)
    ticks = [1.5, 2, 3, 5, 10, 20, 50, 100]
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.annotate("exponential = gamma (shape 1): κ* = ∞", (1.0, KAPPA_MAX), xytext=(1.12, 70),
                fontsize=8, arrowprops={"arrowstyle": "->", "lw": 0.8})
    ax.annotate("deterministic: κ* = π/2", (0.0, math.pi / 2), xytext=(0.12, 1.38),
                fontsize=8)
    ax.set_xlim(-0.05, None)
    ax.set_title("Divergence threshold against round-time variability (laws of mean 1; "
                 "the same at every n)\n▲ at the top: no divergence up to κ = "
                 f"{KAPPA_MAX:g} (κ* = ∞)", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    ax.grid(True, which="both", alpha=0.25)
    return [save(fig, out_dir, "kappa_vs_cv.png")]


if __name__ == "__main__":
    for path in main():
        print(path)
