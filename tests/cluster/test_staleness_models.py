"""Staleness models fitted to histograms (Poisson, geometric, Conway–Maxwell–Poisson).

Independent answers: the closed-form maximum-likelihood estimators against a numerical
maximisation of the same likelihood (scipy); the CMP law at ν = 1 against scipy's
Poisson; recovery of known parameters from samples drawn with a fixed seed (5 standard
errors: the estimators are asymptotically normal at N = 20 000, so a false failure has
probability ~6e-7 per parameter); exponential round times, whose exact staleness is
geometric with p = 1/n (renewal theory, and the simulator).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

import sdde
from sdde.cluster.staleness_models import (
    _log_normaliser,
    fit_best,
    fit_staleness,
    sample_cmp,
)

N = 20_000


@pytest.mark.parametrize(("model", "draw", "truth"), [
    ("poisson", lambda rng: rng.poisson(7.5, N), {"lam": 7.5}),
    ("geometric", lambda rng: rng.geometric(0.08, N) - 1, {"p": 0.08}),
    ("cmp", lambda rng: sample_cmp(4.0, 1.0, N, rng), {"lam": 4.0, "nu": 1.0}),
    ("cmp", lambda rng: sample_cmp(30.0, 2.0, N, rng), {"lam": 30.0, "nu": 2.0}),
    ("cmp", lambda rng: sample_cmp(0.8, 0.3, N, rng), {"lam": 0.8, "nu": 0.3}),
    ("cmp", lambda rng: sample_cmp(0.95, 0.02, N, rng), {"lam": 0.95, "nu": 0.02}),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_fit_recovers_known_parameters(model, draw, truth, seed) -> None:
    fit = fit_staleness(draw(np.random.default_rng(seed)), model)
    for name, value in truth.items():
        assert abs(fit.params[name] - value) < 5 * fit.stderr[name], (name, fit)


def test_closed_form_estimators_maximise_the_likelihood() -> None:
    rng = np.random.default_rng(3)
    x = rng.poisson(5.0, 2000)
    fit = fit_staleness(x, "poisson")
    numeric = optimize.minimize_scalar(lambda lam: -stats.poisson.logpmf(x, lam).sum(),
                                       bounds=(0.1, 50), method="bounded",
                                       options={"xatol": 1e-10}).x
    assert fit.params["lam"] == pytest.approx(numeric, rel=1e-7)
    assert fit.log_likelihood == pytest.approx(stats.poisson.logpmf(x, numeric).sum(), rel=1e-10)
    y = rng.geometric(0.2, 2000) - 1
    fit = fit_staleness(y, "geometric")
    numeric = optimize.minimize_scalar(lambda p: -stats.geom.logpmf(y + 1, p).sum(),
                                       bounds=(1e-4, 1 - 1e-4), method="bounded",
                                       options={"xatol": 1e-12}).x
    assert fit.params["p"] == pytest.approx(numeric, rel=1e-7)


def test_cmp_fit_is_a_maximum() -> None:
    # the likelihood at the fitted point beats every nearby point (relative steps 1e-3)
    x = sample_cmp(12.0, 1.4, 5000, np.random.default_rng(5))
    fit = fit_staleness(x, "cmp")
    best = fit.log_likelihood
    for dl in (-1e-3, 0.0, 1e-3):
        for dn in (-1e-3, 0.0, 1e-3):
            lam, nu = fit.params["lam"] * (1 + dl), fit.params["nu"] * (1 + dn)
            s = x.astype(float)
            other = float(np.sum(s * math.log(lam) - nu * np.array(
                [math.lgamma(v + 1) for v in s])) - s.size * _log_normaliser(lam, nu))
            assert other <= best + 1e-6


@pytest.mark.parametrize("lam", [0.3, 4.0, 60.0])
def test_cmp_at_nu_one_is_poisson(lam: float) -> None:
    assert _log_normaliser(lam, 1.0) == pytest.approx(lam, rel=1e-13)  # Z = e^λ
    fit = fit_staleness(np.random.default_rng(0).poisson(lam, 100) + 1, "poisson")
    cmp = type(fit)(model="cmp", params={"lam": lam, "nu": 1.0}, stderr={}, log_likelihood=0.0,
                    n_samples=1)
    s = np.arange(200)
    assert np.allclose(cmp.pmf(s), stats.poisson.pmf(s, lam), rtol=1e-11, atol=1e-300)


def test_exponential_rounds_have_geometric_staleness() -> None:
    # renewal theory: exponential rounds give P(S = s) = (1/n)(1 − 1/n)^s exactly; a fit to
    # the exact law's histogram (10⁶ gradients) recovers p = 1/n, and AIC prefers it
    n = 8
    law = sdde.Cluster(workers=n, delay=sdde.delays.parse("exponential:mean=1")).staleness(
        "exact")
    counts = np.round(law.probabilities * 1e6)
    fit = fit_staleness(counts, "geometric", counts=True)
    assert fit.params["p"] == pytest.approx(1 / n, abs=5 * fit.stderr["p"])
    assert fit_best(counts, counts=True, models=("poisson", "geometric")).model == "geometric"


def test_simulated_staleness_of_exponential_rounds_is_geometric() -> None:
    # the exact simulator's staleness (8 workers, exponential rounds) fits p = 1/8
    model = sdde.AsyncSGDModel(lr=0.001, cluster=sdde.Cluster(
        workers=8, delay=sdde.delays.parse("exponential:mean=1")),
        spectrum=sdde.HessianSpectrum.parse("1"))
    result = sdde.simulate(model, n_updates=40_000, rng=np.random.default_rng(2))
    stale = result.staleness[result.staleness >= 0]
    fit = fit_staleness(stale, "geometric")
    # the staleness sequence is autocorrelated (consecutive gradients overlap), so the
    # i.i.d. standard error understates the noise; 10 of them still bound it comfortably
    assert fit.params["p"] == pytest.approx(1 / 8, abs=10 * fit.stderr["p"])


@pytest.mark.parametrize(("spec", "dispersion"), [
    ("gamma:shape=8,mean=1", "over"),          # variance 32.5 > mean 15: ν < 1
    ("shifted-exp:shift=0.9,mean=1", "under"),  # variance 3.6 < mean 15: ν > 1
])
def test_cmp_follows_the_dispersion_of_exact_laws(spec: str, dispersion: str) -> None:
    # the exact staleness law of 16 workers (renewal theory, 10⁶ gradients): CMP's ν sits
    # on the side of 1 its variance says, and it is the closest of the three models
    law = sdde.Cluster(workers=16, delay=sdde.delays.parse(spec)).staleness("exact")
    counts = np.round(law.probabilities * 1e6)
    fits = {m: fit_staleness(counts, m, counts=True) for m in ("poisson", "geometric", "cmp")}
    assert (fits["cmp"].params["nu"] < 1) == (dispersion == "over")
    distance = {m: f.to_law().total_variation(law) for m, f in fits.items()}
    assert distance["cmp"] < min(distance["poisson"], distance["geometric"])
    assert fit_best(counts, counts=True).model == "cmp"


def test_to_law_is_a_staleness_law() -> None:
    fit = fit_staleness(np.random.default_rng(0).geometric(0.1, 5000) - 1, "geometric")
    law = fit.to_law()
    assert law.probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    assert law.mean == pytest.approx((1 - fit.params["p"]) / fit.params["p"], rel=1e-9)
    assert law.method == "fit:geometric"


@pytest.mark.parametrize(("data", "kwargs", "message"), [
    ([], {}, "non-empty"),
    ([[1, 2]], {}, "1-D"),
    ([1, -2, 3], {}, "whole numbers >= 0"),
    ([1.5, 2], {}, "whole numbers >= 0"),
    ([0, 0, 0], {"counts": True}, "not all zero"),
    ([1, -1], {"counts": True}, "counts >= 0"),
    ([0, 0, 0], {}, "positive mean"),
    ([1, 2], {"model": "negbin"}, "one of"),
])
def test_bad_input(data, kwargs, message) -> None:
    model = kwargs.pop("model", "poisson")
    with pytest.raises(ValueError, match=message):
        fit_staleness(np.array(data), model, **kwargs)


@settings(max_examples=40, deadline=None)
@given(lam=st.floats(0.05, 200.0), nu=st.floats(0.3, 5.0))
def test_cmp_pmf_sums_to_one(lam: float, nu: float) -> None:
    assume(math.log(lam) / nu < 9.0)  # the mode λ^{1/ν} below 8000: a plausible staleness
    fit = type(fit_staleness([1, 2, 3], "poisson"))(
        model="cmp", params={"lam": lam, "nu": nu}, stderr={}, log_likelihood=0.0, n_samples=1)
    law = fit.to_law()
    assert law.probabilities.sum() == pytest.approx(1.0, abs=1e-10)
