"""analyze_stability against closed forms for a point delay (THEORY.md §3).

For ``X ≡ 1`` the characteristic equation is ``z + κ e^{−z} = 0``: roots ``W_k(−κ)``,
threshold ``κ* = π/2``, fastest decay at ``κ = 1/e``, and the stationary variance is
Küchler–Mensch ``σ² (1 + sin κ) / (2 κ cos κ)``. Root-finding is Newton-polished
(|Δz| ~ 1e-12), so roots and rates are compared at 1e-8; the variance integral is accurate
to ~1e-10 relative (quad epsrel 1e-11, tail ~κ/W³), compared at 1e-8.
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from sdde import Cluster, HessianSpectrum, delays, discrete
from sdde.model.async_sgd import AsyncSGDModel
from sdde.stability.report import ModeResult, StabilityReport, analyze_stability
from sdde.stability.roots import point_delay_roots

POINT = delays.Deterministic(value=1.0)
ONE = HessianSpectrum.parse("1")


def point_model(lr: float, n: int, spectrum: HessianSpectrum = ONE, noise: object = 0.0,
                delay: delays.DelayLaw = POINT) -> AsyncSGDModel:
    return AsyncSGDModel(lr=lr, cluster=Cluster(workers=n, delay=delay), spectrum=spectrum,
                         noise=noise)  # type: ignore[arg-type]


# --------------------------------------------------------------- point delay


@pytest.mark.parametrize(("lr", "stable"), [(0.05, True), (0.055, False)])
def test_point_delay_verdict_and_limits(lr: float, stable: bool) -> None:
    n = 30  # lr·n = 1.5 < π/2 and 1.65 > π/2
    r = analyze_stability(point_model(lr, n), optimise_workers=False)
    assert isinstance(r, StabilityReport)
    assert r.stable is stable
    (mode,) = r.modes
    assert isinstance(mode, ModeResult)
    assert mode.stable is stable and mode.unstable_roots == (0 if stable else 2)
    assert r.kappa_star == pytest.approx(math.pi / 2, rel=1e-9)  # the mean field's
    # the server's own (constant staleness n − 1): a root of z^n − z^{n−1} + a on the
    # unit circle, by numpy, for the verdict and the limits
    def server_kappa(k: int) -> float:  # |e^{iω} − 1| = a, (k − ½) ω = π/2
        return 2 * k * math.sin(math.pi / (4 * k - 2))

    kappa_as = server_kappa(n)
    assert _radius(n, kappa_as / n) == pytest.approx(1.0, abs=1e-9)
    assert r.thresholds.almost_sure.kappa == pytest.approx(kappa_as, rel=1e-9)
    assert mode.headroom == pytest.approx(kappa_as / (lr * n), rel=1e-9)
    assert r.max_stable_lr == pytest.approx(kappa_as / n, rel=1e-9)
    largest = max(k for k in range(1, 200) if lr * k < server_kappa(k))
    assert r.max_stable_workers == largest


def _radius(n: int, a: float) -> float:
    coefficients = np.zeros(n + 1)
    coefficients[0], coefficients[1], coefficients[-1] = 1.0, -1.0, a
    return float(np.max(np.abs(np.roots(coefficients))))


@pytest.mark.parametrize(("lr", "n", "mean"), [(0.05, 30, 1.0), (0.01, 20, 2.5),
                                               (0.005, 40, 0.3)])
def test_point_delay_root_is_lambert_w(lr: float, n: int, mean: float) -> None:
    # κ = 1.5 (complex root), 0.2 (real root, κ < 1/e), 0.2 at other time scales.
    m = point_model(lr, n, delay=delays.Deterministic(value=mean))
    (mode,) = analyze_stability(m, optimise_workers=False).modes
    z0 = complex(point_delay_roots(lr * n, 1)[0])
    assert mode.root is not None
    assert abs(mode.root - z0) <= 1e-8 * (1 + abs(z0))
    assert mode.decay_rate == pytest.approx(-z0.real / mean, rel=1e-8)
    if abs(z0.imag) > 1e-9:
        assert mode.period == pytest.approx(2 * math.pi * mean / abs(z0.imag), rel=1e-8)
    else:
        assert mode.period == math.inf


def test_point_delay_stationary_variance_and_floor() -> None:
    lr, n = 0.02, 30
    h = np.array([2.0, 0.5, 1.0])
    c = np.array([3.0, 0.5, 1.0])
    m = point_model(lr, n, HessianSpectrum(eigenvalues=h, weights=[1.0, 2.0, 0.5]), noise=c)
    r = analyze_stability(m, optimise_workers=False)
    order = np.argsort(h)
    weights = np.array([1.0, 2.0, 0.5])[order]
    expected = []
    for hi, ci, mode in zip(h[order], c[order], r.modes, strict=True):
        kappa = lr * n * hi
        v = lr**2 * n * ci * (1 + math.sin(kappa)) / (2 * kappa * math.cos(kappa))
        assert mode.curvature == hi
        assert mode.variance == pytest.approx(v, rel=1e-8)
        expected.append(v)
    assert r.loss_floor == pytest.approx(0.5 * float(np.sum(weights * h[order] * expected)),
                                         rel=1e-8)


def test_unstable_mode_has_infinite_variance() -> None:
    r = analyze_stability(point_model(0.055, 30, noise=1.0), optimise_workers=False)
    assert r.modes[0].variance == math.inf and r.loss_floor == math.inf


def _point_delay_mean(kappa: float, t: float) -> float:
    """x' = −κ x(t − 1), x = 1 for t <= 0, by the method of steps:
    x(t) = Σ_{k=0}^{⌊t⌋+1} (−κ)^k (t − k + 1)^k / k!  (exact, a finite sum)."""
    return math.fsum((-kappa) ** k * (t - k + 1) ** k / math.factorial(k)
                     for k in range(math.floor(t) + 2) if t - k + 1 >= 0)


@pytest.mark.parametrize(("h", "x0", "eps"), [(1.0, 1.0, 0.01), (2.0, 3.0, 1e-4)])
def test_time_to_target_noiseless_against_the_method_of_steps(h: float, x0: float,
                                                              eps: float) -> None:
    # Without noise the loss is ½ h x0² x(t)² with x the point-delay mean in closed form
    # (κ = 0.2 or 0.4 < π/2: it decays, monotonically for κ < 1/e). The report takes it
    # from the exact moments of the Euler–Maruyama scheme, Richardson-extrapolated
    # (dt = 0.01: error O(dt²) ≈ 1e-4), so 1e-3 relative is a safe bound.
    m = point_model(0.01, 20, HessianSpectrum(eigenvalues=[h]))
    r = analyze_stability(m, target_loss=eps, initial_error=x0, optimise_workers=False)
    kappa = 0.01 * 20 * h
    # crossings near t = 7.5 and 11; the alternating sum loses about log10(e^{κt}) digits
    # to cancellation, 2 of 16 at t = 30, so it is evaluated only up to there
    expected = optimize.brentq(
        lambda t: 0.5 * h * x0**2 * _point_delay_mean(kappa, t) ** 2 - eps, 0.0, 30.0)
    assert r.target_loss == eps
    assert r.time_to_target == pytest.approx(expected, rel=1e-3)
    # the rightmost-root approximation it replaced, ln(h x0²/2ε)/(2 rate), is off by more
    rate = r.modes[0].decay_rate
    approximation = math.log(h * x0**2 / (2 * eps)) / (2 * rate)
    assert abs(approximation - expected) > 1e-2 * expected


def test_time_to_target_already_met_and_below_floor() -> None:
    m = point_model(0.01, 20)
    assert analyze_stability(m, target_loss=1.0, optimise_workers=False).time_to_target == 0.0
    noisy = point_model(0.05, 30, noise=1.0)
    r = analyze_stability(noisy, target_loss=0.01, optimise_workers=False)
    assert r.loss_floor > 0.01
    assert r.time_to_target == math.inf
    unstable = analyze_stability(point_model(0.055, 30), target_loss=0.01,
                                 optimise_workers=False)
    assert unstable.time_to_target == math.inf


@pytest.mark.parametrize("lr", [0.003, 0.02, 0.05, 0.1])
def test_optimal_workers_near_one_over_e_lr(lr: float) -> None:
    r = analyze_stability(point_model(lr, 10))
    best = r.optimal_workers
    assert best is not None
    assert abs(best - round(1 / (math.e * lr))) <= 1

    def rate(n: int) -> float:  # mean delay 1: rate = −Re W_0(−κ)
        return -float(point_delay_roots(lr * n, 1)[0].real)

    assert r.optimal_decay_rate == pytest.approx(rate(best), rel=1e-8)
    # 1e-9 slack: the report's rates come from Newton-polished roots.
    for k in (best - 1, best + 1):
        if k >= 1:
            assert rate(best) >= rate(k) - 1e-9


# --------------------------------------------------------- warnings and checks


def test_heavy_tailed_warning() -> None:
    # Two workers keep the staleness support (and the discrete check) small; see
    # test_discrete_check_memory_heavy_tailed for what happens with 32.
    m = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=2,
                                               delay=delays.parse("lognormal:cv=1,mean=1")),
                      spectrum=ONE)
    r = analyze_stability(m, optimise_workers=False)
    assert r.heavy_tailed is True
    assert any("heavy-tailed" in w for w in r.warnings)
    json.dumps(r.to_dict(), allow_nan=False)
    assert "heavy-tailed" in r.summary()


def test_few_workers_discrete_check() -> None:
    m = AsyncSGDModel(lr=0.1, cluster=Cluster(workers=2,
                                              delay=delays.parse("gamma:shape=2,mean=1")),
                      spectrum=HessianSpectrum.parse("0.5,2"))
    r = analyze_stability(m, optimise_workers=False)
    assert any("continuous model's decay rate is coarse" in w for w in r.warnings)
    assert r.discrete is not None
    # two gamma workers: the exact renewal staleness law is used (closed form, n <= 64)
    assert r.discrete.staleness == "exact"
    expected = discrete.discrete_critical_alpha(m.staleness_weights("exact")) / 2.0
    assert r.discrete.critical_lr == pytest.approx(expected, rel=1e-12)
    assert r.discrete.stable is True
    json.dumps(r.discrete.to_dict(), allow_nan=False)


def test_discrete_check_is_exact_for_deterministic_rounds() -> None:
    # Deterministic rounds from stationary phases: every staleness is n − 1, so the
    # discrete recursion is the real server and its threshold is Levin–May's
    # 2 sin(π/(2(2S + 1))) (theory/derivations/discrete_constant_staleness.py).
    n = 4
    m = AsyncSGDModel(lr=0.1, cluster=Cluster(workers=n, delay=delays.parse(
        "deterministic:value=1")), spectrum=HessianSpectrum.parse("1"))
    r = analyze_stability(m, optimise_workers=False)
    assert r.discrete is not None and r.discrete.staleness == "exact"
    levin_may = 2.0 * math.sin(math.pi / (2 * (2 * (n - 1) + 1)))
    assert r.discrete.critical_lr == pytest.approx(levin_may, rel=1e-9)


def test_exact_staleness_weights_need_a_closed_form() -> None:
    m = AsyncSGDModel(lr=0.1, cluster=Cluster(workers=4, delay=delays.parse(
        "uniform:low=0,high=2")), spectrum=HessianSpectrum.parse("1"))
    with pytest.raises(ValueError, match="no closed form"):
        m.staleness_weights("exact")


def test_never_crossing_law_warns_that_the_server_still_diverges() -> None:
    m = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=8, delay=delays.parse(
        "exponential:mean=1")), spectrum=HessianSpectrum.parse("1"))
    r = analyze_stability(m, optimise_workers=False)
    assert math.isinf(r.kappa_star)
    assert any("a run of the server does" in w for w in r.warnings)
    assert math.isfinite(r.max_stable_lr) and r.max_stable_lr == pytest.approx(
        r.thresholds.almost_sure.kappa / 8, rel=1e-12)


def test_no_coarse_warning_for_many_workers_small_step() -> None:
    r = analyze_stability(point_model(0.001, 32), optimise_workers=False)
    assert not any("coarse" in w for w in r.warnings)


@pytest.mark.parametrize("lr", [0.05, 0.055])
def test_to_dict_strict_json_and_summary(lr: float) -> None:
    r = analyze_stability(point_model(lr, 30, noise=0.5), target_loss=0.01)
    data = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert data["converges"] is (lr == 0.05)
    assert data["critical_kappa"] == pytest.approx(math.pi / 2, rel=1e-9)
    assert data["kappa_max"] == pytest.approx(lr * 30, rel=1e-12)
    assert data["time_to_target"] is None  # inf either way (floor / divergence)
    assert len(data["modes"]) == 1
    text = r.summary()
    assert isinstance(text, str) and "verdict" in text
    assert ("DIVERGES" in text) is (lr != 0.05)


@pytest.mark.parametrize(("kw", "match"), [({"target_loss": 0}, "target loss"),
                                           ({"target_loss": -1.0}, "target loss"),
                                           ({"target_loss": math.inf}, "target loss"),
                                           ({"initial_error": -1.0}, "initial error"),
                                           ({"initial_error": math.nan}, "initial error")])
def test_bad_arguments(kw: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        analyze_stability(point_model(0.01, 10), optimise_workers=False, **kw)


# ---------------------------------------------------------- scale invariance


@settings(max_examples=6, deadline=None)
@given(c=st.floats(min_value=0.05, max_value=50.0),
       lr=st.sampled_from([0.01, 0.05, 0.055]),
       law=st.sampled_from(["point", "gamma:shape=2,mean=1"]))
def test_scale_invariance(c: float, lr: float, law: str) -> None:
    base_law = POINT if law == "point" else delays.parse(law)
    scaled_law = delays.Deterministic(value=c) if law == "point" else base_law.scaled(c)
    a = analyze_stability(point_model(lr, 30, delay=base_law), optimise_workers=False)
    b = analyze_stability(point_model(lr, 30, delay=scaled_law), optimise_workers=False)
    assert b.stable is a.stable
    # κ* comes from a scan + refinement on the normalised law: same law, ~1e-9 agreement.
    assert b.kappa_star == pytest.approx(a.kappa_star, rel=1e-9)
    for ma, mb in zip(a.modes, b.modes, strict=True):
        assert mb.kappa == ma.kappa
        assert mb.headroom == pytest.approx(ma.headroom, rel=1e-9)
        assert mb.decay_rate == pytest.approx(ma.decay_rate / c, rel=1e-7)
    assert b.decay_rate == pytest.approx(a.decay_rate / c, rel=1e-7)


# ------------------------------------------------------------------------ bugs


def test_discrete_check_memory_heavy_tailed() -> None:
    """A long staleness support (K = 8744 here) is refused with a clear error, in bounded
    memory, and the report then omits the discrete-time check (the continuous model is
    the accurate one for many workers)."""
    # Run in a child process with a 2 GiB address-space limit, so the failure is a clean
    # MemoryError instead of the OOM killer taking the test session down.
    code = textwrap.dedent("""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        from sdde import Cluster, HessianSpectrum, delays, discrete
        from sdde.model.async_sgd import AsyncSGDModel
        m = AsyncSGDModel(lr=0.01, spectrum=HessianSpectrum.parse("1"), cluster=Cluster(
            workers=32, delay=delays.parse("lognormal:cv=1,mean=1")))
        import pytest
        with pytest.raises(ValueError, match="staleness up to"):
            discrete.discrete_critical_alpha(m.staleness_weights())
        from sdde.stability.report import analyze_stability
        assert analyze_stability(m, optimise_workers=False).discrete is None
    """)
    assert resource.RLIMIT_AS  # POSIX only
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-400:]


def test_group_limits_sit_on_the_servers_threshold():
    """Each group's largest stable count is stable and one more is not, by the same
    almost-sure threshold the verdict uses; the fastest count is stable and at least as
    fast as the counts beside it."""
    from sdde.cluster.cluster import WorkerGroup
    from sdde.stability.almost_sure import almost_sure_threshold
    from sdde.stability.report import SEARCH_REL_TOL, _fast_slowest_rate, group_limits

    fast, slow = delays.parse("gamma:shape=4,mean=1"), delays.parse("exponential:mean=3")
    model = AsyncSGDModel(lr=0.1, spectrum=HessianSpectrum.parse("0.5:2:3:log"),
                          cluster=Cluster(workers=[WorkerGroup(workers=6, delay=fast),
                                                   WorkerGroup(workers=2, delay=slow)]))

    def stable(v):
        kappa_as = almost_sure_threshold(v.cluster, rel_tol=SEARCH_REL_TOL).kappa
        return model.lr * v.n_workers * model.spectrum.h_max < kappa_as

    limits = group_limits(model)
    assert [g.workers for g in limits] == [6, 2]
    for gi, g in enumerate(limits):
        assert g.max_stable is not None and g.fastest is not None
        assert stable(model.with_group_workers(gi, g.max_stable))
        assert not stable(model.with_group_workers(gi, g.max_stable + 1))
        assert g.fastest <= g.max_stable
        for m in (g.fastest - 1, g.fastest + 1):
            if 0 <= m <= g.max_stable and m + model.n_workers - g.workers > 0:
                assert _fast_slowest_rate(model.with_group_workers(gi, m)) <= \
                    g.fastest_rate * (1 + 1e-12)


def test_with_group_workers_changes_one_group():
    from sdde.cluster.cluster import WorkerGroup

    fast, slow = delays.parse("gamma:shape=4,mean=1"), delays.parse("exponential:mean=3")
    model = AsyncSGDModel(lr=0.1, spectrum=HessianSpectrum.parse("1"),
                          cluster=Cluster(workers=[WorkerGroup(workers=6, delay=fast),
                                                   WorkerGroup(workers=2, delay=slow)]))
    assert [g.workers for g in model.with_group_workers(1, 5).cluster.groups] == [6, 5]
    assert [str(g.delay) for g in model.with_group_workers(0, 0).cluster.groups] == [
        str(slow)]
    for args in ((2, 1), (0, -1)):
        with pytest.raises(ValueError):
            model.with_group_workers(*args)
    with pytest.raises(ValueError, match="at least one worker"):
        model.with_group_workers(0, 0).with_group_workers(0, 0)
