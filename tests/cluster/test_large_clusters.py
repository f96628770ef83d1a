"""Large worker counts: the fast staleness paths against the previous implementations.

The exact (renewal) law now evaluates each quadrature node's conditional law on a window
of ``O(sqrt(n))`` counts (a shifted FFT) instead of an FFT over ``0 … k_max``; the
Poisson approximation uses the round law's Laplace transform and one inverse FFT where
the transform is closed form. Both must equal the previous computations (kept as
``_tagged_group_pmf_reference`` and ``_mixed_poisson_quadrature``) to far below the
pmf's stated tolerance (1e-12 of tail mass), and satisfy the exact theorems: mean
staleness ``n - 1`` without a threshold, total mass 1 up to the tabulated tail.

Tiers (STYLE.md): closed forms (Poisson, negative binomial, mean ``n - 1``), then the
second implementation (the previous full-length methods), then hypothesis invariants.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import fft, special

from sdde import Cluster, delays
from sdde.cluster import _renewal as renewal
from sdde.cluster import staleness as poisson
from sdde.cluster.staleness import poisson_k_max, poisson_staleness

#: Agreement required between the fast paths and the previous implementations. The
#: measured differences are 1e-16 … 7e-15 (renewal, n <= 300) and 4e-12 (Poisson,
#: n = 10⁴, where the *previous* quadrature's k log λ - λ - log k! cancellation
#: dominates: it loses ~ n ε, see test_poisson_pmf_against_accurate_poisson).
TV_TOL = 1e-10
#: Agreement of the two current Poisson methods (transform, quadrature): measured 1e-15.
POISSON_TOL = 1e-13

LAWS = {
    "exponential": delays.Exponential(scale=1.0),
    "gamma4": delays.Gamma.from_mean(shape=4.0, mean=1.0),
    "gamma0.5": delays.Gamma.from_mean(shape=0.5, mean=1.0),
    "shifted-exp": delays.shifted_exponential(shift=0.5, mean=1.0),
    "two-point": delays.two_point(time=1.0, p=0.1, slowdown=3.0),
    "deterministic": delays.Deterministic(value=1.0),
}


def tv(p: np.ndarray, q: np.ndarray) -> float:
    return float(0.5 * np.abs(p - q).sum())


def previous_mixed_poisson_pmf(law, rate: float, k_max: int) -> np.ndarray:
    """The Poisson pmf as computed before this change (xlogy per (k, node) pair)."""
    out = np.zeros(k_max + 1)
    x_cut = float(special.gammainccinv(k_max + 1.0, 1e-18)) / rate
    nodes, weights = poisson.law_quadrature(law, sqrt_step=0.5 / math.sqrt(rate), x_max=x_cut)
    lam = rate * nodes
    order = np.argsort(lam)
    lam, weights = lam[order], weights[order]
    log_fact = special.gammaln(np.arange(k_max + 1) + 1.0)
    with np.errstate(under="ignore"):
        for start in range(0, lam.size, 32):
            lam_c, w_c = lam[start:start + 32], weights[start:start + 32]
            k_lo = max(0, math.floor(lam_c[0] - 10.0 * math.sqrt(lam_c[0]) - 10))
            k_hi = min(k_max, math.ceil(lam_c[-1] + 10.0 * math.sqrt(lam_c[-1]) + 40))
            if k_lo > k_hi:
                continue
            k = np.arange(k_lo, k_hi + 1, dtype=np.float64)
            log_p = (special.xlogy(k[:, None], lam_c[None, :]) - lam_c[None, :]
                     - log_fact[k_lo:k_hi + 1, None])
            out[k_lo:k_hi + 1] += np.exp(log_p) @ w_c
    return out


def tagged_pmfs(groups):
    """Per-group (fast, reference) pmfs of a tagged gradient, and k_max."""
    k_max = poisson_k_max(groups)
    counts = np.array([n for n, _ in groups], dtype=np.float64)
    laws = [law for _, law in groups]
    out = []
    for g, law in enumerate(laws):
        others = counts.copy()
        others[g] -= 1
        fast = renewal._tagged_group_pmf(law, laws, others, k_max, lambda f: None)
        ref = renewal._tagged_group_pmf_reference(law, laws, others, k_max)
        out.append((fast, ref))
    return out, k_max


# ------------------------------------------------------------- exact (renewal) law


@pytest.mark.parametrize("n", [2, 32])
@pytest.mark.parametrize("name", sorted(LAWS))
def test_windowed_renewal_equals_full_fft(name, n):
    pairs, _ = tagged_pmfs([(n, LAWS[name])])
    fast, ref = pairs[0]
    assert tv(fast, ref) < TV_TOL


@pytest.mark.parametrize("name", ["shifted-exp", "gamma4", "two-point", "deterministic"])
def test_windowed_renewal_equals_full_fft_300(name):
    pairs, _ = tagged_pmfs([(300, LAWS[name])])
    fast, ref = pairs[0]
    assert tv(fast, ref) < TV_TOL


@pytest.mark.slow
@pytest.mark.parametrize("name", ["exponential", "gamma0.5"])
def test_windowed_renewal_equals_full_fft_300_slow(name):
    # The reference takes 3 s (exponential) and 13 s (gamma 0.5) here.
    pairs, _ = tagged_pmfs([(300, LAWS[name])])
    fast, ref = pairs[0]
    assert tv(fast, ref) < TV_TOL


@pytest.mark.parametrize("groups", [
    [(20, LAWS["gamma4"]), (12, delays.Exponential(scale=3.0))],
    [(100, LAWS["shifted-exp"]), (60, LAWS["two-point"]), (1, LAWS["deterministic"])],
    [(1, LAWS["exponential"]), (1, delays.Gamma.from_mean(shape=2.0, mean=2.0))],
], ids=["gamma+exp", "three-groups", "two-single-workers"])
def test_windowed_renewal_equals_full_fft_mixed_groups(groups):
    pairs, _ = tagged_pmfs(groups)
    for fast, ref in pairs:
        assert tv(fast, ref) < TV_TOL


@pytest.mark.parametrize("n", [2, 32, 300, 3000])
@pytest.mark.parametrize("name", ["shifted-exp", "gamma4", "two-point"])
def test_renewal_mean_is_n_minus_one(name, n):
    # Without a threshold E[S] = n - 1 exactly (theory/staleness.md §2); the table misses
    # its tail (mass t beyond k_max), so the tabulated mean is short by at most about
    # t · (k_max + a few sd) and the mass by t.
    groups = [(n, LAWS[name])]
    k_max = poisson_k_max(groups)
    pmf = renewal.renewal_staleness_pmf(groups, k_max)
    tail = 1.0 - pmf.sum()
    assert -1e-13 <= tail <= 1e-11
    mean = pmf @ np.arange(pmf.size)
    assert mean == pytest.approx(n - 1, abs=2.0 * max(tail, 1e-14) * k_max + 1e-9 * n)
    assert np.all(pmf >= -1e-15)


def test_renewal_ten_thousand_workers_is_fast_and_exact():
    groups = [(10_000, LAWS["shifted-exp"])]
    k_max = poisson_k_max(groups)
    assert renewal.estimate_renewal_seconds(groups, k_max) < 10.0
    pmf = renewal.renewal_staleness_pmf(groups, k_max)  # ~1 s (was 190 s)
    tail = 1.0 - pmf.sum()
    assert 0.0 <= tail <= 1e-11
    assert pmf @ np.arange(pmf.size) == pytest.approx(9_999, abs=2.0 * tail * k_max + 1e-6)


def test_progress_is_regular_monotone_and_complete():
    calls: list[float] = []
    groups = [(2_000, LAWS["shifted-exp"]), (500, LAWS["gamma4"])]
    renewal.renewal_staleness_pmf(groups, poisson_k_max(groups), calls.append)
    assert len(calls) >= 20  # one per chunk of nodes
    assert np.all(np.diff(calls) >= 0)
    assert calls[-1] == pytest.approx(1.0)
    assert max(np.diff(calls)) < 0.2  # no long silent stretch


def test_estimate_is_cheap_and_grows_with_n():
    estimates = []
    for n in (100, 10_000, 1_000_000):
        groups = [(n, LAWS["shifted-exp"])]
        k_max = poisson_k_max(groups)
        estimates.append(renewal.estimate_renewal_seconds(groups, k_max))
    assert estimates[0] < estimates[1] < estimates[2]
    assert estimates[1] < 10.0  # the CLI computes this law
    assert estimates[2] > 10.0  # and could refuse this one ("use --no-exact")


def test_estimate_single_worker_is_zero():
    assert renewal.estimate_renewal_seconds([(1, LAWS["exponential"])], 10) == 0.0


def test_significant_frequencies_bound_is_safe():
    # Beyond n_freq the product of powers must underflow (< e^-745) for every node.
    law = LAWS["two-point"]
    for n, x in [(10, np.linspace(0.1, 5.0, 64)), (5_000, np.linspace(0.9, 1.1, 64))]:
        pmf = renewal.count_pmf(law, x)
        centre = np.rint(pmf @ np.arange(pmf.shape[1])).astype(np.int64)
        size = 4096
        n_freq = renewal._significant_frequencies([(pmf, n, centre)], size)
        psi = fft.rfft(renewal._centred_fold(pmf, centre, size), axis=1)
        with np.errstate(divide="ignore"):
            log_power = n * np.log(np.abs(psi))
        assert np.all(log_power[:, n_freq:] < -745.0)


def test_centred_dft_direct_equals_fft():
    law = LAWS["gamma4"]
    pmf = renewal.count_pmf(law, np.linspace(0.5, 20.0, 64))
    centre = np.rint(pmf @ np.arange(pmf.shape[1])).astype(np.int64)
    size, n_freq = 3000, 200
    re, im = renewal._centred_dft(pmf, centre, size, n_freq)
    psi = fft.rfft(renewal._centred_fold(pmf, centre, size), axis=1)[:, :n_freq]
    np.testing.assert_allclose(re, psi.real, rtol=0, atol=1e-14)
    np.testing.assert_allclose(im, psi.imag, rtol=0, atol=1e-14)


# ------------------------------------------------------------------ Poisson pmf

POISSON_LAWS = {
    **LAWS,
    "uniform": delays.Uniform(low=0.5, high=1.5),
    "mixture": delays.Mixture(components=(delays.Exponential(scale=0.5),
                                          delays.Gamma.from_mean(shape=3.0, mean=3.0)),
                              weights=np.array([0.7, 0.3])),
}


@pytest.mark.parametrize("n", [2, 32, 300, 10_000])
@pytest.mark.parametrize("name", sorted(POISSON_LAWS))
def test_poisson_transform_equals_quadrature(name, n):
    law = POISSON_LAWS[name]
    rate = (n - 1) / law.mean
    k_max = poisson._k_max([law], np.array([rate]), poisson.TAIL_TOL)
    size = poisson._transform_length(law, rate)
    assert size is not None
    fast = poisson._mixed_poisson_transform(law, rate, k_max, size)
    ref = poisson._mixed_poisson_quadrature(law, rate, k_max)
    assert tv(fast, ref) < POISSON_TOL
    assert np.all(fast >= 0)


@pytest.mark.parametrize("n", [2, 32, 300, 10_000])
@pytest.mark.parametrize("name", ["shifted-exp", "gamma0.5", "two-point", "uniform", "mixture",
                                  "lognormal"])
def test_poisson_equals_previous_implementation(name, n):
    law = (delays.LogNormal.from_mean_cv(mean=1.0, cv=1.0) if name == "lognormal"
           else POISSON_LAWS[name])
    rate = (n - 1) / law.mean
    k_max = poisson._k_max([law], np.array([rate]), poisson.TAIL_TOL)
    assert tv(poisson.mixed_poisson_pmf(law, rate, k_max),
              previous_mixed_poisson_pmf(law, rate, k_max)) < TV_TOL


@pytest.mark.parametrize("n", [32, 10_000])
@pytest.mark.parametrize("spec", ["lognormal:mean=1,cv=1", "weibull:shape=0.7,mean=1",
                                  "pareto:shape=3,mean=1"])
def test_poisson_quadrature_panels_are_resolved(spec, n, monkeypatch):
    # Panels of two Poisson standard deviations (_SQRT_STEP = 1) against half as wide:
    # round-off apart (measured 2e-15; 1.5 times wider would give 3e-13, twice 5e-11).
    law = delays.parse(spec)
    rate = (n - 1) / law.mean
    k_max = poisson._k_max([law], np.array([rate]), poisson.TAIL_TOL)
    coarse = poisson._mixed_poisson_quadrature(law, rate, k_max)
    monkeypatch.setattr(poisson, "_SQRT_STEP", 0.5 * poisson._SQRT_STEP)
    fine = poisson._mixed_poisson_quadrature(law, rate, k_max)
    assert tv(coarse, fine) < 1e-14


@pytest.mark.parametrize("lam", [31.0, 9_999.0, 299_999.0])
def test_poisson_pmf_against_accurate_poisson(lam):
    # Deterministic rounds: S ~ Poisson(λ). Reference: the log-pmf through the deviance
    # (1+d) log1p(d) - d and Stirling's remainder, free of the k log λ - λ - log k!
    # cancellation (error ~ ε · |k - λ| instead of ε · λ). The transform's own error
    # grows like ε λ too (the phase λ sin ω of φ is rounded): measured TV 2e-15 at
    # λ = 10⁴ and 1.0e-13 at 3·10⁵, against 4e-12 and 1.4e-10 for the previous
    # quadrature; the current quadrature uses the same deviance form (3e-15 at 10⁴).
    law = delays.Deterministic(value=1.0)
    k_max = int(lam + 12 * math.sqrt(lam) + 30)
    size = poisson._transform_length(law, lam)
    fast = poisson._mixed_poisson_transform(law, lam, k_max, size)
    k = np.arange(1, k_max + 1, dtype=np.float64)
    d = (k - lam) / lam
    # log p_k = -λ ((1+d) log1p(d) - d) - ½ log(2π k) - stirlerr(k)
    stirlerr = special.gammaln(k + 1) - (k * np.log(k) - k + 0.5 * np.log(2 * np.pi * k))
    big = k >= 15  # Stirling series (next term < 2e-16 there): the difference cancels
    kb2 = k[big] ** -2.0
    stirlerr[big] = (1 / 12 - kb2 * (1 / 360 - kb2 * (1 / 1260 - kb2 * (
        1 / 1680 - kb2 / 1188)))) / k[big]
    with np.errstate(divide="ignore", invalid="ignore"):
        deviance = np.where(d == -1.0, 1.0, (1 + d) * np.log1p(d) - d)
    exact = np.concatenate([[math.exp(-lam)], np.exp(-lam * deviance - 0.5 * np.log(
        2 * np.pi * k) - stirlerr)])
    assert tv(fast, exact) < 1e-15 + 1e-18 * lam
    assert tv(poisson._mixed_poisson_quadrature(law, lam, k_max), exact) < 1e-15 + 1e-18 * lam
    if lam > 1e3:
        previous = previous_mixed_poisson_pmf(law, lam, k_max)
        assert tv(fast, exact) < tv(previous, exact)


def test_poisson_transform_closed_form_negative_binomial():
    # Gamma(shape a, scale θ) mixing: S ~ NegBin(a, 1 / (1 + rate θ)).
    law = delays.Gamma.from_mean(shape=2.5, mean=1.0)
    rate = 4_999.0
    k_max = poisson._k_max([law], np.array([rate]), poisson.TAIL_TOL)
    size = poisson._transform_length(law, rate)
    fast = poisson._mixed_poisson_transform(law, rate, k_max, size)
    q = 1.0 / (1.0 + rate * law.scale)
    k = np.arange(k_max + 1)
    log_nb = (special.gammaln(k + law.shape) - special.gammaln(law.shape)
              - special.gammaln(k + 1) + law.shape * np.log(q) + k * np.log1p(-q))
    assert tv(fast, np.exp(log_nb)) < 1e-11


def test_poisson_dispatch_uses_transform_only_for_closed_forms():
    assert poisson._transform_length(delays.LogNormal.from_mean_cv(mean=1.0, cv=1.0),
                                     100.0) is None
    assert poisson._transform_length(LAWS["shifted-exp"], 100.0) is not None


def test_million_workers_tabulate_the_bulk():
    # K_CAP = 2^18 used to cut the table below the bulk (mean 10⁶): an all-zero pmf.
    groups = [(1_000_000, LAWS["shifted-exp"])]
    k_max = poisson_k_max(groups)
    assert k_max > 10_000_000
    law, _ = poisson_staleness([(100_000, LAWS["shifted-exp"])])
    assert law.tail_mass < 1e-9
    assert law.probabilities @ np.arange(law.k_max + 1) == pytest.approx(99_999, rel=1e-9)


def test_poisson_k_max_matches_poisson_staleness():
    for groups in ([(32, LAWS["gamma4"])], [(20, LAWS["exponential"]), (5, LAWS["two-point"])]):
        assert poisson_k_max(groups) == poisson_staleness(groups)[0].k_max


@pytest.mark.slow
def test_million_workers_poisson_staleness():
    law = Cluster(workers=1_000_000, delay=LAWS["shifted-exp"]).staleness("poisson")
    assert law.tail_mass < 1e-9
    assert law.probabilities @ np.arange(law.k_max + 1) == pytest.approx(999_999, rel=1e-9)


# -------------------------------------------------------------------- properties


@st.composite
def tractable_law(draw):
    mean = draw(st.floats(0.2, 5.0))
    kind = draw(st.sampled_from(["exp", "gamma", "shifted", "two-point"]))
    if kind == "exp":
        return delays.Exponential(scale=mean)
    if kind == "gamma":
        return delays.Gamma.from_mean(shape=draw(st.floats(0.5, 8.0)), mean=mean)
    if kind == "shifted":
        return delays.shifted_exponential(shift=draw(st.floats(0.0, 0.9)) * mean, mean=mean)
    return delays.two_point(time=mean, p=draw(st.floats(0.02, 0.5)),
                            slowdown=draw(st.floats(1.5, 4.0)))


def check_windowed_renewal(law, n, second):
    groups = [(n, law)] if second is None else [(n, law), second]
    pairs, _ = tagged_pmfs(groups)
    for fast, ref in pairs:
        assert tv(fast, ref) < TV_TOL
        assert fast.sum() <= 1.0 + 1e-12
    total = sum(m for m, _ in groups)
    k_max = poisson_k_max(groups)
    pmf = renewal.renewal_staleness_pmf(groups, k_max)
    tail = 1.0 - pmf.sum()
    assert pmf @ np.arange(pmf.size) == pytest.approx(
        total - 1, abs=2.0 * max(tail, 1e-14) * k_max + 1e-9 * total)


SECOND_GROUP = st.one_of(st.none(), st.tuples(st.integers(1, 20), tractable_law()))


@settings(max_examples=8, deadline=None, derandomize=True)
@given(law=tractable_law(), n=st.integers(2, 40), second=SECOND_GROUP)
def test_property_windowed_renewal_equals_full_fft(law, n, second):
    check_windowed_renewal(law, n, second)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, derandomize=True)
@given(law=tractable_law(), n=st.integers(2, 120), second=SECOND_GROUP)
def test_property_windowed_renewal_equals_full_fft_slow(law, n, second):
    check_windowed_renewal(law, n, second)
