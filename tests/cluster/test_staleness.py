"""Staleness calculators: the Poisson (mixed-Poisson) approximation, the exact renewal law
and the simulated law, each checked against an independent answer.

Tiers (STYLE.md, "Tests"): closed forms first (geometric, negative binomial, Poisson,
point masses, the Erlang phase trick), then independent quadrature, then statistics
(simulation, with batch-means standard errors because staleness sequences are
autocorrelated). Every tolerance is justified where it is used; every seed is fixed.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from sdde import Cluster, delays
from sdde.cluster import _renewal as renewal
from sdde.cluster._staleness_sim import _staleness_with_threshold, previous_push, simulate_staleness
from sdde.cluster.staleness import StalenessLaw, mixed_poisson_pmf, poisson_staleness

# ------------------------------------------------------------------------- helpers


def batch_means_sem(x: np.ndarray, n_batches: int = 50) -> float:
    """Standard error of the mean of an autocorrelated sequence, by batch means.

    The sequence is cut into ``n_batches`` contiguous batches (a remainder at the end is
    dropped); batches much longer than the correlation time have nearly independent
    means, whose spread gives the standard error.
    """
    x = np.asarray(x, dtype=np.float64)
    size = x.size // n_batches
    means = x[: size * n_batches].reshape(n_batches, size).mean(axis=1)
    return float(means.std(ddof=1) / math.sqrt(n_batches))


def assert_pmf_matches_sample(stale: np.ndarray, pmf: np.ndarray, *, n_se: float = 6.0,
                              n_batches: int = 50, min_expected: float = 100.0) -> None:
    """Compare a sampled (autocorrelated) staleness sequence with a pmf, cell by cell.

    Each cell's frequency is compared with its probability within ``n_se`` batch-means
    standard errors. Cells expected fewer than ``min_expected`` times (2 per batch) are
    pooled into one cell: with most batches empty the batch-means SE of a rare cell is
    itself unreliable (measured: a cell expected 7 times reached 5.7 "SE" with a correct
    pmf). A plain chi-square test is not used: consecutive gradients of a worker are
    correlated, and for two-point rounds with n = 16 chi-square rejected a pmf that 40
    independent replicates confirm (p ~ 1e-21).
    """
    stale = np.asarray(stale)
    k_top = max(int(stale.max()) + 1, pmf.size)
    p = np.zeros(k_top)
    p[: pmf.size] = pmf
    size = stale.size // n_batches
    batches = stale[: size * n_batches].reshape(n_batches, size)
    freq = np.stack([np.bincount(b, minlength=k_top)[:k_top] / size for b in batches])
    rare = p * size * n_batches < min_expected
    cells_p = np.concatenate([p[~rare], [p[rare].sum()]])
    cells_f = np.concatenate([freq[:, ~rare], freq[:, rare].sum(axis=1, keepdims=True)], axis=1)
    mean = cells_f.mean(axis=0)
    se = cells_f.std(axis=0, ddof=1) / math.sqrt(n_batches)
    # A cell with (almost) no mass on either side carries no information; guard 0 / 0.
    se = np.maximum(se, 1.0 / (size * n_batches))
    z = np.abs(mean - cells_p) / se
    assert np.all(z < n_se), f"worst cell at {np.argmax(z)}: z = {z.max():.2f}"


def poisson_kernel_quad(law: delays.DelayLaw, rate: float, k: int) -> float:
    """Independent ``∫ Pois(k; rate x) f(x) dx`` by adaptive quadrature.

    The integrand lives within a few Poisson standard deviations of ``x = k / rate``:
    outside ``rate · x`` in ``[k - 25 sqrt(k) - 5, k + 25 sqrt(k + 1) + 60]`` the kernel
    ``Pois(k; rate x)`` is below ``e^-60``, so the finite window loses less than 1e-20.
    """
    lo_s, hi_s = law.support
    lo = max(lo_s, (k - 25.0 * math.sqrt(k) - 5.0) / rate, 0.0)
    hi = min(hi_s, (k + 25.0 * math.sqrt(k + 1.0) + 60.0) / rate)

    def f(x: float) -> float:
        if x <= 0.0:
            return 0.0
        return math.exp(k * math.log(rate * x) - rate * x - special.gammaln(k + 1.0)) \
            * float(law.pdf(x))

    peak = k / rate
    value, _ = integrate.quad(f, lo, hi, points=[peak] if lo < peak < hi else None,
                              limit=1000, epsabs=1e-15, epsrel=1e-13)
    return value


LIGHT_TAILED = {
    "exponential": delays.Exponential(scale=2.0),
    "gamma(2)": delays.Gamma.from_mean(shape=2.0, mean=1.0),
    "gamma(7)": delays.Gamma.from_mean(shape=7.0, mean=3.0),
    "shifted-exp": delays.shifted_exponential(shift=0.5, mean=1.0),
    "uniform": delays.Uniform(low=0.2, high=1.0),
    "deterministic": delays.Deterministic(value=1.5),
    "two-point": delays.two_point(time=1.0, p=0.1, slowdown=5.0),
}


# ===================================================== A. the Poisson approximation


@pytest.mark.parametrize("mean", [0.3, 2.0])
@pytest.mark.parametrize("rate", [0.01, 3.5, 31.0, 199.0])
def test_mixed_poisson_exponential_is_geometric(mean, rate):
    # ∫ Pois(k; a x) e^{-x/μ}/μ dx = p (1-p)^k with p = 1/(1 + aμ). Measured error 6e-16;
    # 1e-12 leaves room for the quadrature (documented to 1e-10) without hiding bias.
    k_max = int(40 * rate * mean + 200)
    p = mixed_poisson_pmf(delays.Exponential(scale=mean), rate, k_max)
    ref = stats.geom(1.0 / (1.0 + rate * mean)).pmf(np.arange(k_max + 1) + 1)
    np.testing.assert_allclose(p, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", [0.5, 2.0, 7.0])
@pytest.mark.parametrize("rate", [0.3, 3.5, 31.0, 199.0])
def test_mixed_poisson_gamma_is_negative_binomial(shape, rate):
    # Gamma(r, θ) mixing gives NB(r, 1/(1 + aθ)). Measured error: 1.2e-11 for r = 0.5
    # (the x^-1/2 singularity at 0), 1e-15 otherwise; 1e-10 is the documented accuracy of
    # the quadrature rule.
    scale = 0.7
    k_max = int(60 * rate * shape * scale + 300)
    p = mixed_poisson_pmf(delays.Gamma(shape=shape, scale=scale), rate, k_max)
    ref = stats.nbinom(shape, 1.0 / (1.0 + rate * scale)).pmf(np.arange(k_max + 1))
    np.testing.assert_allclose(p, ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("shape", [0.3, 0.1])
def test_mixed_poisson_gamma_small_shape_is_negative_binomial(shape):
    rate, scale = 10.0, 1.0 / shape
    k_max = int(60 * rate + 300)
    p = mixed_poisson_pmf(delays.Gamma(shape=shape, scale=scale), rate, k_max)
    ref = stats.nbinom(shape, 1.0 / (1.0 + rate * scale)).pmf(np.arange(k_max + 1))
    np.testing.assert_allclose(p, ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("rate", [0.01, 3.5, 31.0, 1000.0])
def test_mixed_poisson_deterministic_is_poisson(rate):
    # A point mass at c: the pmf is Poisson(a c) itself; only rounding remains (measured
    # 9e-16), so 1e-13 is tight.
    c = 0.8
    k_max = int(rate * c + 20 * math.sqrt(rate * c) + 50)
    p = mixed_poisson_pmf(delays.Deterministic(value=c), rate, k_max)
    np.testing.assert_allclose(p, stats.poisson(rate * c).pmf(np.arange(k_max + 1)),
                               rtol=0, atol=1e-13)


def test_mixed_poisson_zero_rate_is_point_mass_at_zero():
    p = mixed_poisson_pmf(delays.Exponential(scale=1.0), 0.0, 5)
    np.testing.assert_array_equal(p, [1.0, 0, 0, 0, 0, 0])


NO_CLOSED_FORM = {
    "lognormal cv 0.8": delays.LogNormal.from_mean_cv(mean=1.0, cv=0.8),
    "lognormal cv 2": delays.LogNormal.from_mean_cv(mean=1.0, cv=2.0),
    "pareto 2.5": delays.Pareto.from_mean(shape=2.5, mean=1.0),
    "uniform [0.5, 1.5]": delays.Uniform(low=0.5, high=1.5),
    "uniform [0, 2]": delays.Uniform(low=0.0, high=2.0),
}


@pytest.mark.parametrize("law", NO_CLOSED_FORM.values(), ids=NO_CLOSED_FORM.keys())
@pytest.mark.parametrize("rate", [0.7, 15.0, 63.0])
def test_mixed_poisson_matches_independent_quadrature(law, rate):
    # Per-k adaptive quadrature over a window around the kernel's peak x = k/a (see
    # poisson_kernel_quad). Measured agreement: 3e-16 at worst; 1e-10 is the documented
    # accuracy of sdde's rule.
    k_max = int(rate * 30 + 50)
    p = mixed_poisson_pmf(law, rate, k_max)
    ks = sorted({0, 1, 2, int(0.3 * rate), int(0.5 * rate), int(rate), int(1.5 * rate),
                 int(2 * rate), int(3 * rate), int(5 * rate), int(10 * rate)})
    ref = np.array([poisson_kernel_quad(law, rate, k) for k in ks])
    np.testing.assert_allclose(p[ks], ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("law", LIGHT_TAILED.values(), ids=LIGHT_TAILED.keys())
@pytest.mark.parametrize("n", [2, 16, 200])
def test_poisson_law_sums_to_one_minus_small_tail(law, n):
    # tail_mass is defined as 1 - Σ pmf; the calculator tabulates until P(S > k_max) is
    # below TAIL_TOL = 1e-12 (measured ≤ 6e-14 for these laws).
    s = Cluster(workers=n, delay=law).staleness("poisson")
    assert s.method == "poisson"
    assert np.all(s.probabilities >= 0)
    assert s.probabilities.sum() + s.tail_mass == pytest.approx(1.0, abs=1e-14)
    assert 0.0 <= s.tail_mass <= 1e-12


def test_poisson_law_tail_mass_gamma_half():
    s = Cluster(workers=2, delay=delays.Gamma.from_mean(shape=0.5, mean=1.0)).staleness()
    assert s.tail_mass <= 1e-12


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_poisson_variance_uniform_tiny_low():
    s = Cluster(workers=2, delay=delays.Uniform(low=1e-200, high=1.0)).staleness("poisson")
    assert s.var == pytest.approx(1.0 + 1.0 / 3.0, rel=1e-9)


@pytest.mark.parametrize("law", [*LIGHT_TAILED.values(), delays.Gamma.from_mean(shape=0.5,
                                                                                 mean=1.0)],
                         ids=[*LIGHT_TAILED.keys(), "gamma(0.5)"])
@pytest.mark.parametrize("n", [1, 2, 16, 200])
def test_poisson_staleness_moments(law, n):
    # Mixed Poisson: E[S] = a E[X] = n - 1 and Var S = E[S] + a² Var X
    # = (n-1) + (n-1)² cv², with a = (n-1)/μ.
    s = Cluster(workers=n, delay=law).staleness("poisson")
    cv2 = law.var / law.mean**2
    # Record fields come from closed forms: only rounding (measured ≤ 4e-16 relative).
    assert s.mean == pytest.approx(n - 1, rel=1e-12, abs=1e-12)
    assert s.var == pytest.approx((n - 1) + (n - 1) ** 2 * cv2, rel=1e-12, abs=1e-12)
    # Recomputed from the pmf: the table misses ≤ 1.2e-11 of mass (the tail beyond
    # k_max ≲ 1.2e4, or for gamma(0.5) a quadrature deficit at k = 0), which moves E[S] by
    # ≤ 1.5e-7 and E[S²] by ≤ 2e-3, relative ≤ 2e-8 of the variance wherever k_max is that
    # large; measured worst relative errors: 2.6e-12 (mean), 7.5e-11 (variance).
    k = np.arange(s.k_max + 1)
    p = s.probabilities
    mean = p @ k
    assert mean == pytest.approx(n - 1, rel=1e-9, abs=1e-12)
    assert p @ (k - mean) ** 2 == pytest.approx(s.var, rel=1e-8, abs=1e-12)


def test_heterogeneous_groups_poisson():
    # 24 gamma(shape 4, mean 1) + 8 exponential(mean 3).
    fast = delays.Gamma.from_mean(shape=4.0, mean=1.0)
    slow = delays.Exponential(scale=3.0)
    cluster = Cluster(workers=[(24, fast), (8, slow)])
    lam = 24 / 1.0 + 8 / 3.0
    assert cluster.arrival_rate == pytest.approx(lam, rel=1e-15)
    s = cluster.staleness("poisson")
    # Each arrival lies inside exactly one in-progress round of every other worker, so
    # Σ staleness = (n - 1) · #arrivals: the per-gradient mean is n - 1 for any groups.
    assert s.mean == pytest.approx(31.0, rel=1e-12)
    k = np.arange(s.k_max + 1)
    # From the pmf: tabulated until the geometric tail of the slow group is < 1e-12;
    # measured 6e-13 relative.
    assert s.probabilities @ k == pytest.approx(31.0, rel=1e-10)
    # Per group: S_g | x ~ Pois((Λ - 1/μ_g) x), so E[S_g] = Λ μ_g - 1, and the law is the
    # arrival-share mixture of the two group laws (shares n_g/μ_g / Λ).
    shares, seconds = [], []
    for n_g, law in [(24, fast), (8, slow)]:
        b = lam - 1.0 / law.mean
        p_g = mixed_poisson_pmf(law, b, 4000)
        # the slow group's tail beyond 4000 is ~ (79/80)^4000 < 1e-21
        assert p_g @ np.arange(4001) == pytest.approx(lam * law.mean - 1.0, rel=1e-10)
        shares.append(n_g / law.mean / lam)
        seconds.append(b * law.mean + b * b * law.raw_moment(2))
    shares_a = np.array(shares)
    assert shares_a @ np.array(seconds) - 31.0**2 == pytest.approx(s.var, rel=1e-12)
    mix = shares[0] * mixed_poisson_pmf(fast, lam - 1.0, s.k_max) \
        + shares[1] * mixed_poisson_pmf(slow, lam - 1.0 / 3.0, s.k_max)
    np.testing.assert_allclose(s.probabilities, mix, rtol=0, atol=1e-15)


# ============================================== B. the exact law from renewal counts


def erlang_count_pmf(k: int, phase_rate: float, t: float, m_max: int) -> np.ndarray:
    """Stationary Erlang-k renewal count by the phase trick (independent of sdde).

    Phases complete as a Poisson process of rate ``phase_rate``; in stationarity the
    current round has completed ``U`` phases, ``U`` uniform on ``{0 … k-1}``; so
    ``N(t) = floor((U + P) / k)`` with ``P ~ Poisson(phase_rate · t)``.
    """
    out = np.zeros(m_max + 1)
    p_max = (m_max + 2) * k
    pois = stats.poisson(phase_rate * t).pmf(np.arange(p_max))
    for u in range(k):
        m = (u + np.arange(p_max)) // k
        keep = m <= m_max
        np.add.at(out, m[keep], pois[keep] / k)
    return out


TIMES = np.array([0.0, 0.1, 0.7, 1.0, 2.5, 10.0, 37.3])


def test_count_pmf_exponential_is_poisson():
    # Exponential rounds: the stationary renewal process is Poisson(t/μ). Measured 1.6e-14
    # (differences of I_j); 1e-12 is 60x that.
    law = delays.Exponential(scale=1.3)
    pmf = renewal.count_pmf(law, TIMES)
    ref = stats.poisson(TIMES[:, None] / 1.3).pmf(np.arange(pmf.shape[1])[None, :])
    np.testing.assert_allclose(pmf, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("t", [0.0, 0.35, 0.7, 1.0, 1.4, 2.8001, 5.0, 13.0])
def test_count_pmf_deterministic(t):
    # A stationary lattice of period c: N(t) is floor(t/c) or one more, the latter with
    # probability frac(t/c) (the phase is uniform).
    c = 0.7
    pmf = renewal.count_pmf(delays.Deterministic(value=c), np.array([t]))[0]
    f = math.floor(t / c)
    ref = np.zeros(pmf.size)
    ref[f] = 1.0 - (t / c - f)
    ref[f + 1] += t / c - f
    np.testing.assert_allclose(pmf, ref, rtol=0, atol=1e-14)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 9])
def test_count_pmf_erlang_phase_trick(k):
    # Measured 4e-14 at worst; 1e-12.
    phase_rate = 1.7
    law = delays.erlang(k, mean=k / phase_rate)
    pmf = renewal.count_pmf(law, TIMES)
    for row, t in zip(pmf, TIMES, strict=True):
        np.testing.assert_allclose(row, erlang_count_pmf(k, phase_rate, t, row.size - 1),
                                   rtol=0, atol=1e-12)


@pytest.mark.parametrize("law", [
    delays.Gamma.from_mean(shape=0.5, mean=1.2),
    delays.Gamma.from_mean(shape=2.5, mean=0.8),
    delays.shifted_exponential(shift=0.5, mean=1.0),
    delays.two_point(time=1.0, p=0.2, slowdown=4.0),
    delays.two_point(time=0.3, p=0.5, slowdown=2.0),
], ids=["gamma(0.5)", "gamma(2.5)", "shifted-exp", "two-point 0.2x4", "two-point 0.5x2"])
def test_count_pmf_rows_sum_to_one_and_mean_is_t_over_mu(law):
    # Stationarity: E[N(t)] = t/μ exactly. Rows are telescoping differences, so they sum
    # to 1 up to rounding; the mean accumulates rounding of up to ~100 binomial or
    # incomplete-gamma terms (measured ≤ 7e-12 at t = 37); 1e-10.
    pmf = renewal.count_pmf(law, TIMES)
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(pmf @ np.arange(pmf.shape[1]), TIMES / law.mean,
                               rtol=0, atol=1e-10)
    assert np.all(pmf >= 0)


@pytest.mark.parametrize("shape, scale", [(0.5, 1.3), (1.0, 1.0), (2.0, 0.4), (7.0, 0.2)])
def test_integrated_sum_cdf_gamma_matches_quadrature(shape, scale):
    # I_j(t) = E[(t - T_j)^+] = ∫_0^t P(T_j <= u) du with T_j ~ Gamma(j k, θ).
    # Measured 2e-14; 1e-12.
    law = delays.Gamma(shape=shape, scale=scale)
    js = np.arange(8)
    ts = np.array([0.0, 0.3, 1.0, 2.7, 9.0])
    got = renewal.integrated_sum_cdf(law, js, ts[:, None])
    for a, t in enumerate(ts):
        for b, j in enumerate(js):
            if j == 0:
                ref = t
            elif t == 0:
                ref = 0.0
            else:
                ref = integrate.quad(stats.gamma(j * shape, scale=scale).cdf, 0.0, t,
                                     epsabs=1e-14, epsrel=1e-12)[0]
            assert got[a, b] == pytest.approx(ref, abs=1e-12), (t, j)


def test_integrated_sum_cdf_shifted_exponential_matches_quadrature():
    # T_j = j·shift + Gamma(j, scale): the cdf is shifted by j·shift. Measured 8e-16.
    law = delays.shifted_exponential(shift=0.5, mean=1.5)
    js = np.arange(7)
    ts = np.array([0.0, 0.5, 1.2, 2.0, 3.3, 6.0])
    got = renewal.integrated_sum_cdf(law, js, ts[:, None])
    for a, t in enumerate(ts):
        for b, j in enumerate(js):
            if j == 0:
                ref = t
            elif t <= 0.5 * j:
                ref = 0.0
            else:
                ref = integrate.quad(lambda u, j=j: stats.gamma(j).cdf(u - 0.5 * j),
                                     0.5 * j, t, epsabs=1e-14, epsrel=1e-12)[0]
            assert got[a, b] == pytest.approx(ref, abs=1e-12), (t, j)


def test_integrated_sum_cdf_two_point_by_enumeration():
    # Enumerate all 2^j fast/slow sequences. Exact arithmetic up to rounding; 1e-13.
    c1, p, slowdown = 0.6, 0.3, 2.5
    law = delays.two_point(time=c1, p=p, slowdown=slowdown)
    js = np.arange(7)
    ts = np.array([0.0, 0.5, 1.2, 2.0, 3.3, 6.0])
    got = renewal.integrated_sum_cdf(law, js, ts[:, None])
    for a, t in enumerate(ts):
        for b, j in enumerate(js):
            ref = 0.0
            for slow in itertools.product([0, 1], repeat=int(j)):
                i = sum(slow)
                ref += p**i * (1 - p) ** (j - i) * max(t - (j - i) * c1 - i * c1 * slowdown,
                                                       0.0)
            assert got[a, b] == pytest.approx(ref, abs=1e-13), (t, j)


@pytest.mark.parametrize("n", [1, 2, 7, 64])
def test_exact_law_exponential_workers_is_geometric(n):
    # The other n-1 workers form a Poisson process of rate (n-1)/μ and X ~ Exp(1/μ):
    # S ~ geometric with success probability 1/n. Measured 1e-16; 1e-10.
    s = Cluster(workers=n, delay=delays.Exponential(scale=1.7)).staleness("exact")
    assert s.method == "renewal"
    k = np.arange(s.k_max + 1)
    np.testing.assert_allclose(s.probabilities, stats.geom(1.0 / n).pmf(k + 1),
                               rtol=0, atol=1e-10)


def test_exact_law_heterogeneous_exponential_groups():
    # A gradient of group g has X ~ Exp(r_g) and sees a Poisson(Λ - r_g) stream: S is
    # geometric with success r_g / Λ; groups are weighted by arrival share n_g r_g / Λ.
    groups = [(5, 1.0), (3, 4.0), (2, 0.5)]
    cluster = Cluster(workers=[(n, delays.Exponential(scale=m)) for n, m in groups])
    s = cluster.staleness("exact")
    assert s.method == "renewal"
    rates = np.array([1.0 / m for _, m in groups])
    counts = np.array([n for n, _ in groups])
    lam = counts @ rates
    k = np.arange(s.k_max + 1)
    ref = sum(n * r / lam * stats.geom(r / lam).pmf(k + 1)
              for n, r in zip(counts, rates, strict=True))
    np.testing.assert_allclose(s.probabilities, ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 5, 64])
def test_exact_law_deterministic_workers_is_point_mass(n):
    # Deterministic rounds of length c with independent uniform phases: every other worker
    # pushes exactly once in any window of length c. Rounding of the FFT convolution
    # (measured 6e-16 · n); 1e-12.
    s = Cluster(workers=n, delay=delays.Deterministic(value=0.9)).staleness("exact")
    ref = np.zeros(s.k_max + 1)
    ref[n - 1] = 1.0
    np.testing.assert_allclose(s.probabilities, ref, rtol=0, atol=1e-12)
    assert s.mean == n - 1


def test_exact_law_deterministic_workers_has_zero_std():
    s = Cluster(workers=2, delay=delays.Deterministic(value=0.9)).staleness("exact")
    assert s.std == pytest.approx(0.0, abs=1e-6)


EXACT_MEAN_LAWS = {
    "shifted-exp": delays.shifted_exponential(shift=0.5, mean=1.0),
    "gamma(0.5)": delays.Gamma.from_mean(shape=0.5, mean=1.0),
    "gamma(2)": delays.Gamma.from_mean(shape=2.0, mean=1.0),
    "two-point 0.1x5": delays.two_point(time=1.0, p=0.1, slowdown=5.0),
    "two-point 0.5x1.5": delays.two_point(time=1.0, p=0.5, slowdown=1.5),
}


@pytest.mark.parametrize("law", EXACT_MEAN_LAWS.values(), ids=EXACT_MEAN_LAWS.keys())
@pytest.mark.parametrize("n", [2, 7, 64])
def test_exact_law_mean_is_n_minus_1(law, n):
    # The record's mean is set to n - 1 by construction, so the pmf is what is tested.
    # Measured |Σ k p_k - (n-1)| ≤ 1.7e-11 (n = 64, gamma(0.5)); relative 1e-10.
    s = Cluster(workers=n, delay=law).staleness("exact")
    assert s.method == "renewal"
    k = np.arange(s.k_max + 1)
    assert s.probabilities @ k == pytest.approx(n - 1, rel=1e-10)
    assert s.tail_mass < 2e-11  # gamma(0.5): quadrature deficit 1.2e-11, see above
    assert s.var == pytest.approx(s.probabilities @ (k - (n - 1)) ** 2, rel=1e-9)


def test_exact_law_mixed_tractable_groups_mean():
    # Mixed families in one cluster (renewal for every group); mean n - 1 from the pmf.
    cluster = Cluster(workers=[(24, delays.Gamma.from_mean(shape=4.0, mean=1.0)),
                               (8, delays.Exponential(scale=3.0)),
                               (3, delays.two_point(time=0.5, p=0.2, slowdown=3.0))])
    s = cluster.staleness("exact")
    assert s.method == "renewal"
    assert s.probabilities @ np.arange(s.k_max + 1) == pytest.approx(34.0, rel=1e-10)


@pytest.mark.parametrize("n, law", [
    (2, delays.Gamma.from_mean(shape=0.4, mean=1.0)),
    (2, delays.two_point(time=1.0, p=0.1, slowdown=10.0)),
    (16, delays.two_point(time=1.0, p=0.05, slowdown=20.0)),
], ids=["gamma(0.4) n=2", "two-point 0.1x10 n=2", "two-point 0.05x20 n=16"])
def test_exact_law_high_cv_small_n(n, law):
    # Regression: before 227e625 the x_cut bracket of _tagged_group_pmf did not change
    # sign for cv >~ 1.1 and few workers, and brentq raised. Mean from the pmf; the
    # gamma(0.4) table misses ~1e-9 of quadrature mass at the singularity (see above).
    s = Cluster(workers=n, delay=law).staleness("exact")
    assert s.method == "renewal"
    assert s.probabilities.sum() == pytest.approx(1.0, abs=1e-8)
    assert s.probabilities @ np.arange(s.k_max + 1) == pytest.approx(n - 1, rel=1e-9)


def test_exact_law_high_cv_matches_simulation(rng):
    # Same high-cv case, law against a simulation (400k gradients, 6 batch-means SE per
    # cell, see assert_pmf_matches_sample).
    law = delays.two_point(time=1.0, p=0.1, slowdown=10.0)
    exact = Cluster(workers=2, delay=law).staleness("exact")
    stale, _ = simulate_staleness([(2, law)], rng=rng, n_gradients=400_000)
    assert_pmf_matches_sample(stale, exact.probabilities)


def test_exact_law_gamma_tiny_shape_sums_to_one():
    s = Cluster(workers=2, delay=delays.Gamma.from_mean(shape=0.1, mean=1.0)).staleness("exact")
    assert s.method == "renewal"
    assert s.probabilities.sum() == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("n", [16, 64])
def test_exact_law_high_cv_tail_is_tabulated(n):
    law = delays.two_point(time=1.0, p=0.02, slowdown=50.0)
    s = Cluster(workers=n, delay=law).staleness("exact")
    assert s.method == "renewal"
    assert s.tail_mass < 1e-9


def stationary_count_variance_two_point(t: float, c1: float, c2: float, p: float) -> float:
    """Var N(t) of a stationary renewal process with two-point rounds (independent of sdde).

    E[N(t)] = t/μ and E[N(t)(N(t) - 1)] = (2/μ) Σ_{j>=1} E[(t - T_j)^+], with the sums
    T_j of j rounds enumerated by their number i of slow rounds (binomial weights).
    """
    mu = (1 - p) * c1 + p * c2
    second = 0.0
    j = 1
    while j * c1 < t:
        i = np.arange(j + 1)
        weights = special.comb(j, i) * p**i * (1 - p) ** (j - i)
        second += float(np.sum(weights * np.maximum(t - (j - i) * c1 - i * c2, 0.0)))
        j += 1
    return t / mu + 2.0 / mu * second - (t / mu) ** 2


@pytest.mark.parametrize("p, slowdown", [(0.3, 5.0), (0.1, 3.0), (0.4, 10.0),
                                         (0.4375, 13.0)])
def test_renewal_variance_two_workers_matches_formula(p, slowdown):
    # n = 2: S = N(X) with X independent of the other worker's stationary count N, so
    # Var S = E[Var N(X)] + Var X / μ². Exact arithmetic up to rounding; 1e-10.
    law = delays.two_point(time=1.0, p=p, slowdown=slowdown)
    mu, c2 = law.mean, slowdown
    ref = (1 - p) * stationary_count_variance_two_point(1.0, 1.0, c2, p) \
        + p * stationary_count_variance_two_point(c2, 1.0, c2, p) + law.var / mu**2
    cluster = Cluster(workers=2, delay=law)
    exact = cluster.staleness("exact")
    assert exact.var == pytest.approx(ref, rel=1e-10)
    # Counterexamples to "exact Var S <= Poisson Var S whenever cv <= 1": the two laws
    # below have cv 0.958 and 0.97 and an exact variance 2.2 % and 1.1 % above the
    # Poisson one (a simulation with n = 30, p = 0.415, slowdown 13.14 agreed: 857.1 ± 0.5
    # against renewal 857.2 and Poisson 854.4).
    if slowdown >= 10.0:
        assert law.cv < 1.0
        assert exact.var > cluster.staleness("poisson").var * 1.01


RENEWAL_VS_SIM = {
    "shifted-exp": delays.shifted_exponential(shift=0.5, mean=1.0),
    "gamma(2)": delays.Gamma.from_mean(shape=2.0, mean=1.0),
    "two-point": delays.two_point(time=1.0, p=0.1, slowdown=5.0),
}


@pytest.mark.parametrize("law", RENEWAL_VS_SIM.values(), ids=RENEWAL_VS_SIM.keys())
@pytest.mark.parametrize("n", [3, 16])
def test_renewal_law_matches_simulation(law, n, rng):
    # Two independent routes to the exact law: renewal counts (FFT + quadrature) and a
    # direct simulation of stationary workers (~400k gradients, fixed seed). Cell by cell
    # within 6 batch-means SE (see assert_pmf_matches_sample): with ~50 cells and
    # t(49)-distributed z, a false failure has probability ~1e-5.
    exact = Cluster(workers=n, delay=law).staleness("exact")
    assert exact.method == "renewal"
    stale, _ = simulate_staleness([(n, law)], rng=rng, n_gradients=400_000)
    assert_pmf_matches_sample(stale, exact.probabilities)


@pytest.mark.parametrize("n, law", [
    (16, delays.Gamma.from_mean(shape=0.5, mean=1.0)),
    (16, delays.two_point(time=1.0, p=0.1, slowdown=10.0)),
    (64, delays.shifted_exponential(shift=0.5, mean=1.0)),
    (7, delays.Deterministic(value=1.0).shifted(0.0)),
], ids=["gamma(0.5) n=16", "two-point 0.1x10 n=16", "shifted-exp n=64",
        "shifted deterministic n=7"])
def test_renewal_law_matches_long_simulation(n, law, rng):
    # As test_renewal_law_matches_simulation, with 2M gradients and 100 batches (cells
    # expected >= 200 times compared one by one), for laws with cv > 1, many workers and
    # a point mass (~0.8 s each: not marked slow).
    exact = Cluster(workers=n, delay=law).staleness("exact")
    assert exact.method == "renewal"
    stale, _ = simulate_staleness([(n, law)], rng=rng, n_gradients=2_000_000)
    assert_pmf_matches_sample(stale, exact.probabilities, n_batches=100, min_expected=200.0)


# ================================================================ C. simulation


SIMULATED = {
    "lognormal": delays.LogNormal.from_mean_cv(mean=1.0, cv=1.0),
    "pareto 2.5": delays.Pareto.from_mean(shape=2.5, mean=1.0),
    "uniform": delays.Uniform(low=0.5, high=1.5),
    "weibull 0.7": delays.Weibull.from_mean(shape=0.7, mean=1.0),
}


@pytest.mark.parametrize("law", SIMULATED.values(), ids=SIMULATED.keys())
@pytest.mark.parametrize("n", [2, 8, 32])
def test_simulated_mean_staleness_is_n_minus_1(law, n, rng):
    # Stationary phases ⇒ E[S] = n - 1 for any law. The sequence is autocorrelated, so the
    # SE is by batch means; 5 SE puts the false-failure rate below 1e-4 per case
    # (measured |z| ≤ 0.7).
    stale, workers = simulate_staleness([(n, law)], rng=rng, n_gradients=200_000)
    assert stale.size == pytest.approx(200_000, rel=0.02)
    assert stale.min() >= 0
    assert set(np.unique(workers)) <= set(range(n))
    assert abs(stale.mean() - (n - 1)) <= 5 * batch_means_sem(stale) + 1e-12


@pytest.mark.parametrize("law", SIMULATED.values(), ids=SIMULATED.keys())
def test_cluster_exact_simulates_when_no_closed_form(law):
    # Cluster.staleness("exact") is the histogram of simulate_staleness with the same
    # generator state.
    cluster = Cluster(workers=6, delay=law)
    assert not cluster.renewal_exact
    with pytest.raises(ValueError, match="rng"):
        cluster.staleness("exact")
    s = cluster.staleness("exact", rng=np.random.default_rng(7), n_gradients=20_000)
    stale, _ = simulate_staleness([(6, law)], rng=np.random.default_rng(7),
                                  n_gradients=20_000)
    assert s.method == "simulation"
    assert s.n_samples == stale.size
    np.testing.assert_array_equal(s.probabilities, np.bincount(stale) / stale.size)
    # The mean is the theorem's n - 1 (the window cuts off the longest rounds); the
    # histogram's own mean agrees within sampling error.
    assert s.mean == 5.0
    assert stale.mean() == pytest.approx(5.0, rel=0.02)
    assert s.var == pytest.approx(stale.var(), rel=1e-14)
    assert s.tail_mass == 0.0
    with pytest.raises(ValueError, match="at least 10 per worker"):
        cluster.staleness("exact", rng=np.random.default_rng(7), n_gradients=0)


@pytest.mark.parametrize("n", [2, 8])
def test_simulated_exponential_workers_geometric(n, rng):
    # Exponential workers: geometric(1/n) exactly; the simulator is checked cell by cell
    # within 6 batch-means SE (see assert_pmf_matches_sample).
    law = delays.Exponential(scale=1.0)
    stale, _ = simulate_staleness([(n, law)], rng=rng, n_gradients=200_000)
    k = np.arange(200)
    assert_pmf_matches_sample(stale, stats.geom(1.0 / n).pmf(k + 1))


def test_simulated_deterministic_workers_always_n_minus_1(rng):
    # Independent uniform phases, period c: every gradient sees each other worker once.
    stale, _ = simulate_staleness([(5, delays.Deterministic(value=1.0))], rng=rng,
                                  n_gradients=2000)
    assert stale.size > 1900
    assert np.all(stale == 4)


def test_simulation_same_seed_same_result_different_seed_different():
    groups = [(8, delays.LogNormal.from_mean_cv(mean=1.0, cv=0.5))]
    a, wa = simulate_staleness(groups, rng=np.random.default_rng(1), n_gradients=5000)
    b, wb = simulate_staleness(groups, rng=np.random.default_rng(1), n_gradients=5000)
    c, _ = simulate_staleness(groups, rng=np.random.default_rng(2), n_gradients=5000)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(wa, wb)
    assert a.size != c.size or not np.array_equal(a, c)
    cluster = Cluster(workers=groups[0][0], delay=groups[0][1])
    s1 = cluster.staleness("exact", rng=np.random.default_rng(3), n_gradients=5000)
    s2 = cluster.staleness("exact", rng=np.random.default_rng(3), n_gradients=5000)
    np.testing.assert_array_equal(s1.probabilities, s2.probabilities)


THRESHOLD_CASES = [
    (16, 10, delays.shifted_exponential(shift=0.5, mean=1.0)),
    (4, 1, delays.Gamma.from_mean(shape=2.0, mean=1.0)),
]


@pytest.mark.parametrize("n, threshold, law", THRESHOLD_CASES,
                         ids=["n16 K10 shifted-exp", "n4 K1 gamma(2)"])
def test_simulated_threshold_mean_is_n_minus_1_times_acceptance(n, threshold, law, rng):
    # Each accepted update lies inside one in-progress round of every other worker, so
    # Σ_i S_i = (n - 1) · #accepted: the mean of d_i = S_i - (n-1) 1{S_i <= K} is 0
    # (up to window edges). 5 batch-means SE (measured |z| ≤ 0.9).
    stale, _ = simulate_staleness([(n, law)], rng=rng, n_gradients=200_000,
                                  threshold=threshold)
    accepted = (stale <= threshold).astype(np.float64)
    assert 0.05 < accepted.mean() < 0.95  # the threshold binds
    d = stale - (n - 1) * accepted
    assert abs(d.mean()) <= 5 * batch_means_sem(d)


def test_poisson_acceptance_vs_simulation_and_self_consistency(rng):
    n, threshold = 16, 10
    law = delays.shifted_exponential(shift=0.5, mean=1.0)
    cluster = Cluster(workers=n, delay=law, threshold=threshold)
    p_poisson = cluster.acceptance("poisson")
    stale, _ = simulate_staleness([(n, law)], rng=rng, n_gradients=200_000,
                                  threshold=threshold)
    p_sim = float(np.mean(stale <= threshold))
    # Not a law: the accuracy of the Poisson fixed point, as measured here
    # (0.6513 vs 0.6613, difference 0.010; SE of p_sim ~ 1e-3). 0.03 is the budget.
    assert abs(p_poisson - p_sim) < 0.03
    # Self-consistency (exact): the fixed point p equals P(S <= K) of the law built with
    # rate (n-1) p / μ, here recomputed by independent quadrature over the shifted
    # exponential density (brentq solved to 1e-14; quad to 1e-12).
    law_p, p = poisson_staleness([(n, law)], threshold=threshold)
    assert p[0] == pytest.approx(p_poisson, abs=1e-12)
    assert law_p.cdf(threshold) == pytest.approx(p[0], abs=1e-9)
    b = (n - 1) * p[0] / law.mean
    ref = integrate.quad(lambda x: stats.poisson(b * x).cdf(threshold) * float(law.pdf(x)),
                         0.5, 60.0, points=[threshold / b], limit=500, epsabs=1e-13)[0]
    assert ref == pytest.approx(p[0], abs=1e-9)
    # Staleness counts accepted updates only: E[S] = b μ = (n - 1) p.
    assert law_p.mean == pytest.approx((n - 1) * p[0], rel=1e-12)
    assert cluster.accepted_rate == pytest.approx(p[0] * cluster.arrival_rate, rel=1e-12)
    # Without a threshold everything is accepted.
    assert Cluster(workers=n, delay=law).acceptance() == 1.0


def test_heterogeneous_threshold_fixed_point():
    # Two groups: p_g = P(Pois(b_g x) <= K) with b_g = Σ_h n_h r_h p_h - r_g p_g, each
    # checked by independent quadrature (the root is solved to 1e-13).
    fast, slow = delays.Gamma.from_mean(shape=3.0, mean=1.0), delays.Exponential(scale=2.5)
    groups = [(12, fast), (4, slow)]
    threshold = 8
    _, p = poisson_staleness(groups, threshold=threshold)
    rates = np.array([1.0, 1 / 2.5])
    counts = np.array([12, 4])
    b = counts @ (rates * p) - rates * p
    for p_g, b_g, law in zip(p, b, [fast, slow], strict=True):
        ref = integrate.quad(lambda x, b_g=b_g, law=law: stats.poisson(b_g * x).cdf(threshold)
                             * float(law.pdf(x)), 0.0, 80.0, points=[threshold / b_g],
                             limit=500, epsabs=1e-13)[0]
        assert ref == pytest.approx(p_g, abs=1e-9)


def test_previous_push_and_staleness_on_a_hand_made_sequence():
    workers = np.array([0, 1, 0, 2, 1, 0, 2])
    prev = previous_push(workers)
    np.testing.assert_array_equal(prev, [-1, -1, 0, -1, 1, 2, 3])
    # No threshold: updates strictly between pull (previous push) and push.
    no_threshold = np.arange(7) - prev - 1
    np.testing.assert_array_equal(no_threshold[prev >= 0], [1, 2, 2, 2])
    np.testing.assert_array_equal(_staleness_with_threshold(prev, 100)[prev >= 0],
                                  [1, 2, 2, 2])
    # Threshold 1, by hand: pushes 0, 1, 2, 3 accepted (staleness 0, 0, 1, 0); push 4 was
    # pulled after 2 updates and sees 4: staleness 2, dropped; push 5 pulled at 3 sees 4
    # (staleness 1); push 6 pulled at 4 sees 5 (staleness 1).
    np.testing.assert_array_equal(_staleness_with_threshold(prev, 1), [0, 0, 1, 0, 2, 1, 1])
    np.testing.assert_array_equal(previous_push(np.array([], dtype=np.int64)), [])
    np.testing.assert_array_equal(previous_push(np.array([3, 3, 3])), [-1, 0, 1])


# ============================================================ StalenessLaw record


def hand_law(tail: float = 0.0) -> StalenessLaw:
    p = np.array([0.2, 0.3, 0.5 - tail])
    k = np.arange(3)
    mean = float(p @ k)
    return StalenessLaw(probabilities=p, tail_mass=tail, mean=mean,
                        var=float(p @ (k - mean) ** 2), method="poisson")


def test_staleness_law_pmf():
    law = hand_law()
    assert law.k_max == 2
    assert law.pmf(1) == 0.3
    assert law.pmf(-1) == 0.0
    assert law.pmf(1.5) == 0.0
    assert math.isnan(law.pmf(3))
    np.testing.assert_array_equal(law.pmf([0, 2, -3, 0.5]), [0.2, 0.5, 0.0, 0.0])
    assert not law.probabilities.flags.writeable
    # Round-off negatives are clipped at construction.
    clipped = StalenessLaw(probabilities=np.array([1.0, -1e-17]), tail_mass=0.0, mean=0.0,
                           var=0.0, method="renewal")
    assert clipped.pmf(1) == 0.0


def test_staleness_law_cdf():
    law = hand_law(tail=0.1)
    np.testing.assert_allclose(law.cdf([-1, -0.5, 0, 0.9, 1, 2, 2.5, 10]),
                               [0, 0, 0.2, 0.2, 0.5, 0.9, 0.9, 0.9], atol=1e-15)


def test_staleness_law_quantile_is_generalised_inverse():
    law = hand_law()
    assert law.quantile(0.0) == 0
    assert law.quantile(1.0) == 2
    assert law.quantile(0.2) == 0  # exactly on a step: the step's value
    assert law.quantile(0.5) == 1
    np.testing.assert_array_equal(law.quantile([0.1, 0.25, 0.7]), [0, 1, 2])
    # inf{k : F(k) >= q} on a grid of levels away from the steps (the implementation
    # counts a level within 1e-12 of a step as on it).
    cdf = np.cumsum(law.probabilities)
    for q in np.linspace(0.0, 1.0, 101):
        if np.min(np.abs(cdf - q)) < 1e-9:
            continue
        k = law.quantile(q)
        assert law.cdf(k) >= q
        assert k == 0 or law.cdf(k - 1) < q
    with pytest.raises(ValueError):
        law.quantile(1.5)
    with pytest.raises(ValueError):
        law.quantile(-0.1)
    with pytest.raises(ValueError):
        law.quantile(math.nan)
    tailed = hand_law(tail=0.1)
    assert tailed.quantile(0.95) == math.inf
    assert tailed.quantile(0.85) == 2


def test_total_variation():
    a = hand_law()
    b = StalenessLaw(probabilities=np.array([0.5, 0.5]), tail_mass=0.0, mean=0.5, var=0.25,
                     method="poisson")
    assert a.total_variation(a) == 0.0
    # ½ (|0.2-0.5| + |0.3-0.5| + 0.5) = 0.5
    assert a.total_variation(b) == pytest.approx(0.5, abs=1e-15)
    assert b.total_variation(a) == a.total_variation(b)


@pytest.mark.parametrize("n", [2, 5, 31])
def test_total_variation_poisson_vs_point_mass(n):
    # Deterministic rounds: Poisson approximation is Poisson(n-1), exact law is the point
    # mass at n-1, so TV = 1 - P(Pois(n-1) = n-1). Both tables carry < 1e-13 of tail and
    # rounding; 1e-12.
    cluster = Cluster(workers=n, delay=delays.Deterministic(value=1.3))
    poisson, exact = cluster.staleness("poisson"), cluster.staleness("exact")
    ref = 1.0 - stats.poisson(n - 1).pmf(n - 1)
    assert poisson.total_variation(exact) == pytest.approx(ref, abs=1e-12)
    assert exact.total_variation(poisson) == pytest.approx(ref, abs=1e-12)
    # Identical laws: zero up to their (tiny) tail masses, which TV counts as disjoint.
    assert poisson.total_variation(poisson) <= poisson.tail_mass + 1e-15


@pytest.mark.parametrize("cluster", [
    Cluster(workers=8, delay=delays.Gamma.from_mean(shape=2.0, mean=1.0)),
    Cluster(workers=4, delay=delays.Pareto.from_mean(shape=1.5, mean=1.0)),
    Cluster(workers=[(24, delays.Gamma.from_mean(shape=4.0, mean=1.0)),
                     (8, delays.Exponential(scale=3.0))]),
], ids=["gamma", "pareto 1.5 (infinite variance)", "groups"])
def test_staleness_law_to_dict_is_json(cluster):
    for s in (cluster.staleness("poisson"),
              cluster.staleness("exact", rng=np.random.default_rng(0), n_gradients=5000)):
        d = s.to_dict()
        text = json.dumps(d, allow_nan=False)
        back = json.loads(text)
        assert back["method"] == s.method
        assert back["mean"] == pytest.approx(s.mean)
        assert back["var"] is None if not math.isfinite(s.var) else back["var"] == s.var
        assert back["pmf"] == pytest.approx(list(s.probabilities[: len(back["pmf"])]))
        # The cut keeps all but 1e-9 of the mass, or the whole table, or the first
        # max_points = 4096 entries (Pareto 1.5: cut at 4096 loses 3.8e-6, as documented).
        kept = min(1.0 - 1e-9, float(s.probabilities.sum()), float(s.cdf(4095)))
        assert sum(back["pmf"]) >= kept - 1e-12
