"""The reference async-SGD simulator (sdde.simulator.server): checked against independent answers.

Every expected value here comes from outside the SDDE: renewal-process facts (stationary
staleness mean ``n − 1``, the geometric law of exponential rounds, arrival rate
``Σ n_g / E[X_g]``), hand-derived event sequences of lock-step deterministic workers,
plain gradient descent, hand-written recursions, and the plain-Python event loop
(``engine="python"``) as the specification of the compiled one. Seeds are fixed;
statistical checks use 5 standard errors, with batch means for autocorrelated staleness.
Only the smoke test of section 5 uses the SDDE (``sdde.stationary_variance``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import sdde
from sdde import Cluster, HessianSpectrum, SharedLink, delays
from sdde.cluster._staleness_sim import push_schedule
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.kernels import StepPolicy
from sdde.simulator.objectives import QuadraticObjective
from sdde.simulator.server import SimulationResult, run, simulate

EXP = delays.Exponential(scale=1.0)
SHIFTED = delays.parse("shifted-exp:shift=0.5,mean=1")
POINT = delays.Deterministic(value=1.0)
GAMMA4 = delays.Gamma.from_mean(shape=4.0, mean=1.0)
SLOW_EXP = delays.Exponential(scale=3.0)
EPS = np.finfo(np.float64).eps


# ------------------------------------------------------------------------ helpers


def one_mode(h: float = 1.0, c: float = 0.0) -> QuadraticObjective:
    return QuadraticObjective(curvatures=[h], noise=c)


def go(cluster: Cluster, objective: QuadraticObjective | None = None, *, lr: float = 0.01,
       n_updates: int = 2000, seed: int = 0, **kw: object) -> SimulationResult:
    return run(cluster, objective or one_mode(), lr=lr, n_updates=n_updates,
               rng=np.random.default_rng(seed), **kw)  # type: ignore[arg-type]


def row(res: SimulationResult, r: int = 0) -> dict[str, np.ndarray]:
    """The real (unpadded) events of replica ``r``."""
    n = int(res.n_events[r])
    return {"times": res.times[r, :n], "staleness": res.staleness[r, :n],
            "delay": res.delay[r, :n], "accepted": res.accepted[r, :n]}


def first_push(ev: dict[str, np.ndarray]) -> np.ndarray:
    """Each worker's first gradient: pulled at t = 0 (delay = time − 0.0, so exactly 0)."""
    return (ev["times"] - ev["delay"]) == 0.0


def batch_se(x: np.ndarray, batches: int = 40) -> float:
    """Standard error of the mean of an autocorrelated sequence, by batch means.

    Batches are hundreds of events long, far beyond the staleness correlation length
    (about one round, i.e. ``n`` events).
    """
    m = x[: x.size // batches * batches].reshape(batches, -1).mean(axis=1)
    return float(m.std(ddof=1) / math.sqrt(batches))


def assert_same(a: SimulationResult, b: SimulationResult) -> None:
    """Bit-for-bit equality of two results (NaN padding compares equal)."""
    for name in ("times", "delay", "loss", "loss_times", "diverged_at"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    for name in ("staleness", "accepted", "n_events"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.status == b.status


def reconstructed_staleness(ev: dict[str, np.ndarray]) -> np.ndarray:
    """Staleness recomputed from the event record alone: applied updates since the pull.

    A gradient's pull is its worker's previous push (at time ``time − delay``) or t = 0.
    ``time − delay`` is the previous push time up to rounding, so it is matched to the
    nearest event time (continuous laws: events are ~1/Λ apart, far above rounding).
    """
    times, acc = ev["times"], ev["accepted"]
    pull = times - ev["delay"]
    first = pull == 0.0
    applied_before = np.concatenate([[0], np.cumsum(acc)])  # [i]: applied among events < i
    idx = np.clip(np.searchsorted(times, pull), 1, times.size - 1)
    prev = np.where(np.abs(times[idx - 1] - pull) <= np.abs(times[idx] - pull), idx - 1, idx)
    assert np.all(np.abs(times[prev] - pull)[~first] < 1e-9)
    assert np.all(prev[~first] < np.arange(times.size)[~first])
    # the worker pulled right after its previous push (its own update included)
    version = np.where(first, 0, applied_before[prev + 1])
    return applied_before[:-1] - version


# ================================================ 1. facts independent of the SDDE


@pytest.mark.parametrize("n", [4, 16])
@pytest.mark.parametrize("law", [EXP, SHIFTED], ids=["exponential", "shifted-exp"])
def test_mean_staleness_is_n_minus_1_stationary(law, n):
    """Independent answer: E[S] = n − 1 for a non-first gradient, for any round law.

    Its staleness counts the other workers' pushes during its round X; those are n − 1
    stationary renewal processes of rate 1/E[X], independent of X, so E[S | X] =
    (n − 1) X / E[X]. First gradients (pulled at t = 0) are a different, transient
    population and are left out. Tolerance: 5 batch-means standard errors (30 000 events).
    """
    ev = row(go(Cluster(workers=n, delay=law), n_updates=30_000, seed=n))
    s = ev["staleness"][~first_push(ev)].astype(float)
    assert abs(s.mean() - (n - 1)) < 5 * batch_se(s)


@pytest.mark.parametrize("n", [4, 16])
def test_staleness_is_exactly_n_minus_1_for_deterministic_stationary_workers(n):
    """Independent answer: with point rounds c and distinct (continuous) phases, every other
    worker pushes exactly once in any window of length c, so every non-first gradient has
    staleness n − 1 exactly (mean n − 1 with zero spread)."""
    ev = row(go(Cluster(workers=n, delay=delays.Deterministic(value=0.7)), n_updates=5000,
                seed=1))
    first = first_push(ev)
    assert first.sum() == n
    assert np.all(ev["staleness"][~first] == n - 1)


def test_exponential_rounds_give_geometric_staleness():
    """Independent answer: P(S = s) = (1/n) ((n−1)/n)^s for exponential rounds.

    By memorylessness the n − 1 other workers form a Poisson stream of rate (n − 1)/μ that
    races the pushing worker's rate 1/μ: each next event is the pushing worker's with
    probability 1/n. The equilibrium law of an exponential is itself, so first gradients
    follow the same law. Each pmf value (s = 0..35, expected mass >= 1e-3) is compared
    within 5 batch-means standard errors of the indicator's mean (60 000 events);
    also the mean n − 1 and variance n (n − 1) of the geometric law.
    """
    n = 8
    ev = row(go(Cluster(workers=n, delay=EXP), n_updates=60_000, seed=3))
    s = ev["staleness"]
    q = (n - 1) / n
    for k in range(36):
        hit = (s == k).astype(float)
        expected = (1 / n) * q**k
        assert abs(hit.mean() - expected) < 5 * batch_se(hit), k
    assert abs(s.mean() - (n - 1)) < 5 * batch_se(s.astype(float))
    sq = (s - (n - 1.0)) ** 2
    assert abs(sq.mean() - n * (n - 1)) < 5 * batch_se(sq)


@pytest.mark.parametrize("groups", [
    [(8, EXP)],
    [(24, GAMMA4), (8, SLOW_EXP)],
], ids=["exponential", "heterogeneous"])
def test_arrival_rate_is_sum_of_n_over_mean(groups):
    """Independent answer: Λ = Σ n_g / E[X_g] (stationary superposed renewal processes).

    Standard error from the renewal CLT: Var N(t) ≈ v t with v = Σ n_g Var X_g / E[X_g]³,
    so the pooled rate N/T over a total time T has SE ≈ sqrt(v / T). Tolerance 5 SE.
    """
    res = go(Cluster(workers=groups), n_updates=20_000, seed=11, replicas=4)
    expected = sum(n / law.mean for n, law in groups)
    v = sum(n * law.var / law.mean**3 for n, law in groups)
    total_time = sum(float(res.times[r, res.n_events[r] - 1]) for r in range(4))
    assert abs(res.arrival_rate - expected) < 5 * math.sqrt(v / total_time)


def test_first_gradient_delay_is_its_push_time():
    """Independent answer: every worker pulls θ0 at t = 0, so a first gradient's delay is its
    push time exactly; there are n first gradients, and each is the first event of its
    worker (later pulls are later pushes, all > 0)."""
    ev = row(go(Cluster(workers=16, delay=SHIFTED), n_updates=3000, seed=2))
    first = first_push(ev)
    assert first.sum() == 16
    assert np.array_equal(ev["delay"][first], ev["times"][first])
    assert np.all(ev["times"] - ev["delay"] >= 0.0)


def test_deterministic_non_first_delays_equal_the_round_time():
    """Independent answer: a non-first gradient's delay is its own round time, here c = 0.7.

    Push times are phase + cumulative sums of c, so a delay (a difference of consecutive
    push times) carries only their rounding: a few ulp of the largest time, bounded by
    8 eps t_max.
    """
    c = 0.7
    ev = row(go(Cluster(workers=8, delay=delays.Deterministic(value=c)), n_updates=20_000,
                seed=4))
    later = ~first_push(ev)
    np.testing.assert_allclose(ev["delay"][later], c, rtol=0,
                               atol=8 * EPS * float(ev["times"].max()))


def test_lockstep_unit_rounds_delay_is_exactly_one():
    """Independent answer: lock-step unit rounds push at the integers (exactly
    representable), so every delay, first included (a full round from t = 0), is 1.0."""
    ev = row(go(Cluster(workers=5, delay=POINT), n_updates=500, start="lockstep"))
    assert np.all(ev["delay"] == 1.0)
    assert np.array_equal(ev["times"], np.repeat(np.arange(1.0, 101.0), 5))


@pytest.mark.parametrize("groups", [
    [(32, SHIFTED)],
    [(32, GAMMA4)],
    [(24, GAMMA4), (8, SLOW_EXP)],
], ids=["shifted-exp", "gamma", "heterogeneous"])
def test_mean_non_first_delay_is_mean_round_time(groups):
    """Independent answer: non-first delays are i.i.d. round times; for groups a gradient
    comes from group g with probability (n_g/μ_g)/Λ, so the mean delay is
    Σ (n_g/μ_g) μ_g / Λ = n / Λ (= E[X] for one group). Rounds are independent, so the
    i.i.d. SE sd/sqrt(N) applies; tolerance 5 SE (40 000 events)."""
    cluster = Cluster(workers=groups)
    ev = row(go(cluster, n_updates=40_000, seed=6))
    d = ev["delay"][~first_push(ev)]
    expected = cluster.n_workers / cluster.arrival_rate
    assert abs(d.mean() - expected) < 5 * d.std() / math.sqrt(d.size)


@pytest.mark.parametrize("groups", [[(5, POINT)], [(3, POINT), (2, delays.Deterministic(
    value=1.0))]], ids=["one-group", "two-groups"])
def test_push_schedule_lockstep_ties_are_in_worker_order(groups):
    """Independent answer: lock-step point rounds put all n pushes at t = c, 2c, …; the
    stable sort keeps workers (numbered group by group) in index order within a tie."""
    times, workers = push_schedule(groups, 20.0, np.random.default_rng(0), stationary=False)
    assert np.array_equal(times, np.repeat(np.arange(1.0, 21.0), 5))
    assert np.array_equal(workers, np.tile(np.arange(5), 20))


@pytest.mark.parametrize("n", [2, 5, 8])
def test_lockstep_deterministic_staleness_pattern(n):
    """Independent answer (hand-derived event sequence): lock-step point rounds push all n
    gradients at each t = c, 2c, … (ties in worker order). At the first instant all pulled
    version 0, so worker j sees j updates: staleness 0, 1, …, n − 1. After that, worker j
    pulled right after its own push and, by its next push, the n − 1 others have each
    pushed once: staleness n − 1 for every later gradient. So the mean staleness over R
    instants is (n − 1)(1 − 1/(2R)) → n − 1; only the first instant has mean (n − 1)/2.
    """
    c = 0.3
    rounds = 40
    ev = row(go(Cluster(workers=n, delay=delays.Deterministic(value=c)), n_updates=n * rounds,
                start="lockstep"))
    t = ev["times"].reshape(rounds, n)
    assert np.all(t == t[:, :1])  # all n push at the same instant
    np.testing.assert_allclose(t[:, 0], c * np.arange(1, rounds + 1), rtol=1e-13)
    s = ev["staleness"].reshape(rounds, n)
    assert np.array_equal(s[0], np.arange(n))
    assert np.all(s[1:] == n - 1)
    assert ev["staleness"].mean() == pytest.approx((n - 1) * (1 - 1 / (2 * rounds)), rel=1e-12)


@pytest.mark.parametrize("k", [0, 2, 4])
def test_lockstep_deterministic_threshold_pattern(k):
    """Independent answer (hand-derived): n = 6 lock-step point workers, threshold K < n.
    Instant 1: workers 0..K see 0..K updates (accepted), the rest see K + 1 (dropped) and
    pull version K + 1. Later instants: workers 0..K see K updates (accepted), the rest
    K + 1 (dropped): exactly K + 1 updates per instant."""
    n, rounds = 6, 30
    ev = row(go(Cluster(workers=n, delay=POINT, threshold=k), n_updates=(k + 1) * rounds,
                start="lockstep"))
    assert ev["times"].size == n * (rounds - 1) + k + 1  # stops at the last update
    s = np.concatenate([ev["staleness"], np.full(n - k - 1, -1)]).reshape(rounds, n)
    first = np.minimum(np.arange(n), k + 1)
    later = np.where(np.arange(n) <= k, k, k + 1)
    assert np.array_equal(s[0], first)
    assert np.all(s[1:-1] == later)
    assert np.array_equal(s[-1, : k + 1], later[: k + 1])
    assert np.array_equal(ev["accepted"], ev["staleness"] <= k)


@pytest.mark.parametrize("k", [0, 3, 10])
def test_threshold_drops_exactly_stale_gradients(k):
    """Independent answers: a gradient is applied iff its staleness is <= K; a finished run
    applied exactly n_updates; and staleness counts applied updates only, recomputed here
    from the event record (pull = previous push of the same worker, matched by time)."""
    res = go(Cluster(workers=16, delay=SHIFTED, threshold=k), n_updates=5000, seed=k)
    ev = row(res)
    assert res.status == ("finished",)
    assert np.array_equal(ev["accepted"], ev["staleness"] <= k)
    assert int(ev["accepted"].sum()) == 5000
    assert not ev["accepted"].all()  # the threshold bites in all three cases
    assert np.array_equal(ev["staleness"], reconstructed_staleness(ev))


def test_no_threshold_accepts_everything_and_staleness_counts_pushes():
    """Independent answer: without a threshold every gradient is applied and the staleness
    is the number of pushes between the worker's pull and its push (reconstructed)."""
    ev = row(go(Cluster(workers=8, delay=GAMMA4), n_updates=3000, seed=9))
    assert ev["accepted"].all() and ev["times"].size == 3000
    assert np.array_equal(ev["staleness"], reconstructed_staleness(ev))


def test_loss_is_recorded_every_record_every_updates():
    """Independent answer: loss column k is written at the (k · record_every)-th applied
    update (column 0: the start, time 0), so there are n_updates // record_every + 1."""
    res = go(Cluster(workers=8, delay=SHIFTED, threshold=4), one_mode(c=1.0),
             n_updates=1003, record_every=10, seed=5)
    ev = row(res)
    assert res.loss.shape == (1, 1003 // 10 + 1)
    applied_times = ev["times"][ev["accepted"]]
    assert res.loss_times[0, 0] == 0.0 and res.loss[0, 0] == 0.5
    assert np.array_equal(res.loss_times[0, 1:], applied_times[9::10][:100])
    assert np.all(np.isfinite(res.loss)) and np.all(res.loss >= 0)


@pytest.mark.parametrize("start", ["stationary", "lockstep"])
def test_single_worker_noise_free_is_gradient_descent(start):
    """Independent answer: one worker always has staleness 0, so with a constant policy the
    run is plain gradient descent θ_k = (1 − lr h)^k θ0 and loss_k = ½ h θ_k².
    The closed form differs from the iterated product only by rounding (rtol 1e-12 over
    60 steps); the hand loop θ ← θ − lr (h θ) does the simulator's operations, so it is
    compared exactly."""
    h, lr, theta0, steps = 0.5, 0.3, 2.0, 60
    res = go(Cluster(workers=1, delay=POINT), one_mode(h), lr=lr, n_updates=steps,
             theta0=theta0, start=start)
    assert np.all(res.staleness[0] == 0) and res.status == ("finished",)
    k = np.arange(steps + 1)
    np.testing.assert_allclose(res.loss[0], 0.5 * h * ((1 - lr * h) ** k * theta0) ** 2,
                               rtol=1e-12)
    theta, hand = theta0, [0.5 * h * theta0 * theta0]
    for _ in range(steps):
        theta = theta - lr * (h * theta)
        hand.append(0.5 * h * theta * theta)
    assert np.array_equal(res.loss[0], hand)


@pytest.mark.parametrize(("n", "policy"), [(2, StepPolicy()), (3, StepPolicy("inverse")),
                                           (4, StepPolicy("geometric", 0.8))])
def test_lockstep_noise_free_matches_hand_recursion(n, policy):
    """Independent answer (hand-derived from the event order of lock-step point rounds):
    the first instant applies θ_{j+1} = θ_j − lr g(j) h θ0 (j = 0..n−1, all pulled θ0);
    then every gradient has staleness n − 1 and was computed at the parameters n − 1
    updates back: θ_{k+1} = θ_k − lr g(n−1) h θ_{k−n+1}. Compared on the loss ½ h θ_k² of
    every update, rtol 1e-12 (rounding only; a wrong pull would change it at O(lr h))."""
    h, lr, steps = 1.0, 0.15, 20 * n
    res = go(Cluster(workers=n, delay=POINT), one_mode(h), lr=lr, n_updates=steps,
             start="lockstep", policy=policy)
    g = policy.factor(np.arange(n))
    theta = [1.0]
    for j in range(n):
        theta.append(theta[-1] - lr * g[j] * h * theta[0])
    while len(theta) < steps + 1:
        theta.append(theta[-1] - lr * g[n - 1] * h * theta[-n])
    np.testing.assert_allclose(res.loss[0], 0.5 * h * np.array(theta) ** 2, rtol=1e-12)


def test_simulate_maps_modes_theta0_and_noise_in_spectrum_order():
    """Independent answer: ``simulate`` is ``run`` on the objective in ascending-curvature
    order, with theta0 and noise given in the spectrum's order. Spectrum (4, 1),
    theta0 (0, 1): the start loss is ½ · 1 · 1 = 0.5 (not ½ · 4 = 2); and the result equals
    a hand-built ``run`` with curvatures (1, 4), noise (0.5, 0), theta0 (1, 0)."""
    cluster = Cluster(workers=4, delay=SHIFTED)
    m = AsyncSGDModel(lr=0.02, cluster=cluster,
                      spectrum=HessianSpectrum(eigenvalues=[4.0, 1.0]), noise=(0.0, 0.5))
    a = simulate(m, n_updates=500, rng=np.random.default_rng(8), theta0=[0.0, 1.0])
    assert a.loss[0, 0] == 0.5
    b = run(cluster, QuadraticObjective(curvatures=[1.0, 4.0], noise=[0.5, 0.0]), lr=0.02,
            n_updates=500, rng=np.random.default_rng(8), theta0=[1.0, 0.0])
    assert_same(a, b)


def test_observed_staleness_concatenates_replicas():
    """Independent answer: the definition (real events of each replica, in order)."""
    res = go(Cluster(workers=4, delay=EXP), n_updates=300, replicas=3)
    expected = np.concatenate([row(res, r)["staleness"] for r in range(3)])
    assert np.array_equal(res.observed_staleness(), expected)
    assert np.all(res.staleness[res.staleness < 0] == -1)  # padding only


# ============================================== 2. compiled engine == python engine


def both(cluster: Cluster, objective: QuadraticObjective, **kw: object) -> None:
    a = go(cluster, objective, engine="compiled", **kw)  # type: ignore[arg-type]
    b = go(cluster, objective, engine="python", **kw)  # type: ignore[arg-type]
    assert_same(a, b)


THREE_MODES = QuadraticObjective(curvatures=[0.5, 2.0, 8.0], noise=[1.0, 0.3, 0.0])


@pytest.mark.parametrize(("cluster", "kw"), [
    (Cluster(workers=16, delay=SHIFTED, threshold=3), {}),
    (Cluster(workers=8, delay=EXP, threshold=0), {}),
    (Cluster(workers=8, delay=EXP), {"policy": StepPolicy()}),
    (Cluster(workers=8, delay=EXP), {"policy": StepPolicy("inverse")}),
    (Cluster(workers=8, delay=EXP, threshold=6), {"policy": StepPolicy("geometric", 0.8)}),
    (Cluster(workers=8, delay=GAMMA4), {"policy": lambda s: np.exp(-0.1 * s)}),
    (Cluster(workers=[(6, GAMMA4), (3, SLOW_EXP)], threshold=5), {}),
    (Cluster(workers=6, delay=POINT), {"start": "lockstep"}),
    (Cluster(workers=[(4, GAMMA4), (2, POINT)], threshold=2), {"start": "lockstep"}),
    (Cluster(workers=5, delay=SHIFTED, link=SharedLink(message_size=1.0, capacity=10.0)), {}),
    (Cluster(workers=8, delay=SHIFTED), {"replicas": 3, "record_every": 7}),
    (Cluster(workers=8, delay=POINT), {"lr": 0.6, "bound": 1e6}),  # diverges
], ids=["K3", "K0", "constant", "inverse", "geometric", "callable", "groups", "lockstep",
        "lockstep-groups-K2", "link", "replicas", "diverging"])
def test_compiled_equals_python(cluster, kw):
    """Independent answer: the plain-Python loop (the specification). Both consume the same
    push schedule and normals and do the same float operations, so every recorded array
    must be bit-identical (np.array_equal), with three noisy modes."""
    kw = {"lr": 0.01, **kw}
    both(cluster, THREE_MODES, n_updates=1500, seed=21, **kw)


def test_compiled_equals_python_diverging_case_diverges():
    """The 'diverging' configuration above does diverge (so that path is compared)."""
    res = go(Cluster(workers=8, delay=POINT), THREE_MODES, lr=0.6, bound=1e6, n_updates=1500,
             seed=21)
    assert res.status == ("diverged",)


@pytest.mark.parametrize("d", [8, 20])
def test_compiled_equals_python_many_modes(d):
    """Regression: with >= 8 modes the Python engine summed the loss pairwise (np.sum) and
    differed from the compiled sequential sum by ~1e-15."""
    objective = QuadraticObjective(curvatures=np.linspace(0.5, 3.0, d), noise=0.3)
    both(Cluster(workers=8, delay=SHIFTED), objective, n_updates=3000, seed=1)


# ==================================================================== 3. reproducibility


def test_same_seed_same_result():
    """Independent answer: determinism — the same seed reproduces every array."""
    cluster = Cluster(workers=8, delay=SHIFTED, threshold=5)
    a = go(cluster, THREE_MODES, n_updates=2000, seed=42, replicas=2)
    b = go(cluster, THREE_MODES, n_updates=2000, seed=42, replicas=2)
    assert_same(a, b)
    c = go(cluster, THREE_MODES, n_updates=2000, seed=43, replicas=2)
    assert not np.array_equal(a.loss, c.loss)


def test_replica_prefix_property():
    """Independent answer: replica r draws from the r-th spawned stream, so it is the same
    whatever the number of replicas (>= r + 1); different replicas differ."""
    cluster = Cluster(workers=8, delay=EXP, threshold=6)
    res = {k: go(cluster, THREE_MODES, n_updates=1000, seed=7, replicas=k) for k in (1, 2, 3)}
    for k, r in ((1, 0), (2, 0), (2, 1)):
        a, b = row(res[k], r), row(res[3], r)
        for name in a:
            assert np.array_equal(a[name], b[name]), (k, r, name)
        assert np.array_equal(res[k].loss[r], res[3].loss[r])
        assert np.array_equal(res[k].loss_times[r], res[3].loss_times[r])
    assert not np.array_equal(res[3].loss[0], res[3].loss[1])


# ========================================================================= 4. divergence


@pytest.mark.parametrize("engine", ["compiled", "python"])
def test_large_lr_diverges_cleanly(engine):
    """Independent answer: a point delay is stable only for κ = lr n h < π/2; κ = 5 grows
    without bound. Expected: status "diverged", finite diverged_at (the time of the last
    event, the update that left the bound), no floating-point warning, the loss recorded
    up to the update before and NaN (with NaN times) after."""
    n, h = 8, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = go(Cluster(workers=n, delay=POINT), one_mode(h), lr=5.0 / (n * h),
                 n_updates=20_000, engine=engine, replicas=2)
    assert res.status == ("diverged", "diverged")
    for r in range(2):
        ev = row(res, r)
        assert math.isfinite(res.diverged_at[r])
        assert res.diverged_at[r] == ev["times"][-1]
        applied = int(ev["accepted"].sum())  # includes the diverging update
        assert applied < 20_000
        loss = res.loss[r]
        assert np.all(np.isfinite(loss[:applied])) and np.all(np.isnan(loss[applied:]))
        assert np.all(np.isnan(res.loss_times[r, applied:]))
        assert loss[applied - 1] > 1e150  # close to the bound 1e100 (loss ~ θ²)


def test_stable_lr_finishes():
    """Independent answer: κ = 0.5 < π/2 (point delay) is stable: the run finishes, never
    diverges, and the noise-free loss decays by orders of magnitude."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = go(Cluster(workers=8, delay=POINT), lr=0.5 / 8, n_updates=4000)
    assert res.status == ("finished",) and res.diverged_at[0] == math.inf
    assert np.all(np.isfinite(res.loss)) and res.loss[0, -1] < 1e-10 * res.loss[0, 0]


def test_small_bound_stops_early():
    """Independent answer: the bound is the divergence criterion: with bound 10 a run at
    κ = 5 stops the first time |θ| > 10, so the last recorded loss is <= ½ h 10²."""
    res = go(Cluster(workers=8, delay=POINT), lr=5.0 / 8, n_updates=20_000, bound=10.0)
    assert res.status == ("diverged",)
    finite = res.loss[0][np.isfinite(res.loss[0])]
    assert finite.max() <= 0.5 * 100.0 and finite.size < 200


# ==================================================================== 5. SDDE connection


def test_time_averaged_loss_matches_sdde_stationary_variance():
    """Smoke test of units: n = 32 shifted-exp workers, one mode κ = lr n h = 0.32 with
    noise c = 1 (σ² = lr² n c); 8 replicas × 40 000 updates from θ0 = 0 (≈ 1250 mean
    delays, ~400 relaxation times 1/κ; the first half is discarded as warm-up).

    Reference: ½ h · sdde.stationary_variance(κ, model.kernel, σ). The SDDE is only an
    approximation of the discrete-update process (about 10 % has been seen) and the
    replica average has a ~3 % standard error, so the band is a factor 1.5 either way:
    loose for the approximation, yet a units mistake (n = 32, lr, σ vs σ², the ½) would
    be off by a factor of 2 or more.
    """
    m = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=32, delay=SHIFTED),
                      spectrum=HessianSpectrum(eigenvalues=[1.0]), noise=1.0)
    assert float(m.kappas[0]) == pytest.approx(0.32, rel=1e-12)
    res = simulate(m, n_updates=40_000, rng=np.random.default_rng(3), replicas=8, theta0=0.0)
    sigma = math.sqrt(float(m.noise_intensities[0]))
    reference = 0.5 * 1.0 * sdde.stationary_variance(float(m.kappas[0]), m.kernel, sigma)
    half = res.loss.shape[1] // 2
    averages = []
    for r in range(8):
        loss, t = res.loss[r, half:], res.loss_times[r, half:]
        averages.append(float(np.sum(loss[:-1] * np.diff(t)) / (t[-1] - t[0])))  # step fn
    ratio = float(np.mean(averages)) / reference
    assert 1 / 1.5 < ratio < 1.5


# ======================================================================== 6. bad input


GOOD = {"lr": 0.01, "n_updates": 10}


@pytest.mark.parametrize(("override", "fragment"), [
    ({"n_updates": 0}, "n_updates"),
    ({"n_updates": 2.5}, "n_updates"),
    ({"n_updates": True}, "n_updates"),
    ({"replicas": 0}, "replicas"),
    ({"record_every": 0}, "record_every"),
    ({"lr": 0.0}, "lr"),
    ({"lr": -0.1}, "lr"),
    ({"lr": math.inf}, "lr"),
    ({"lr": math.nan}, "lr"),
    ({"bound": 0.0}, "bound"),
    ({"start": "sync"}, "start"),
    ({"engine": "cuda"}, "engine"),
    ({"policy": lambda s: np.ones(3)}, "step policy"),
    ({"policy": lambda s: np.full(s.shape, np.nan)}, "step policy"),
    ({"policy": lambda s: 1.0 / s}, "step policy"),  # inf at s = 0
], ids=["n_updates-0", "n_updates-float", "n_updates-bool", "replicas-0", "record_every-0",
        "lr-0", "lr-neg", "lr-inf", "lr-nan", "bound-0", "start", "engine",
        "policy-shape", "policy-nan", "policy-inf"])
def test_bad_run_input(override, fragment):
    """Independent answer: the documented domains (whole numbers >= 1, 0 < lr < inf, the
    listed choices, one finite factor per staleness)."""
    kw = {**GOOD, **override}
    with np.errstate(divide="ignore"), pytest.raises(ValueError, match=fragment):
        run(Cluster(workers=2, delay=EXP), one_mode(), rng=np.random.default_rng(0), **kw)


def test_bad_simulate_input():
    """Independent answer: simulate validates like run."""
    m = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=2),
                      spectrum=HessianSpectrum(eigenvalues=[1.0]))
    with pytest.raises(ValueError, match="replicas"):
        simulate(m, n_updates=10, rng=np.random.default_rng(0), replicas=0)
    with pytest.raises(ValueError, match="start"):
        simulate(m, n_updates=10, rng=np.random.default_rng(0), start="warm")


def test_bool_lr_is_rejected():
    """Regression: run(lr=True) ran with lr = 1."""
    with pytest.raises(ValueError, match="lr"):
        run(Cluster(workers=2, delay=EXP), one_mode(), lr=True, n_updates=10,
            rng=np.random.default_rng(0))


@pytest.mark.parametrize(("kw", "fragment"), [
    ({"curvatures": [1.0, 0.0]}, "curvatures"),
    ({"curvatures": [-1.0]}, "curvatures"),
    ({"curvatures": []}, "curvatures"),
    ({"curvatures": [1.0, math.inf]}, "curvatures"),
    ({"curvatures": [1.0], "noise": -0.1}, "noise"),
    ({"curvatures": [1.0, 2.0], "noise": [0.1, math.nan]}, "noise"),
])
def test_bad_objective(kw, fragment):
    """Independent answer: the documented domains h > 0 finite, c >= 0 finite."""
    with pytest.raises(ValueError, match=fragment):
        QuadraticObjective(**kw)


def test_objective_noise_of_wrong_length_names_noise():
    """Regression: a wrong-length noise raised numpy's broadcast error."""
    with pytest.raises(ValueError, match="noise"):
        QuadraticObjective(curvatures=[1.0, 2.0], noise=[1.0, 2.0, 3.0])


def test_objective_gradient_and_loss():
    """Independent answer: the definitions f = ½ Σ h θ², g = h θ + sqrt(c) z."""
    f = QuadraticObjective(curvatures=[1.0, 4.0], noise=[0.0, 0.25])
    assert f.dim == 2 and f.loss(np.array([1.0, 1.0])) == 2.5
    np.testing.assert_array_equal(f.gradient(np.array([1.0, 2.0]), np.array([3.0, 2.0])),
                                  [1.0, 9.0])


# ------------------------------------------------------------------ any gradient oracle
class _LogCosh:
    """f(θ) = Σ log cosh θ, gradient tanh θ (non-quadratic, deterministic)."""

    dim = 2

    def loss(self, theta: np.ndarray) -> float:
        return float(np.sum(np.log(np.cosh(theta))))

    def stochastic_gradient(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.tanh(theta)


class _NoisyQuadratic:
    """The quadratic oracle written as a plain class (draws its own noise)."""

    def __init__(self, h: np.ndarray, c: float) -> None:
        self.h, self.c, self.dim = h, c, h.size

    def loss(self, theta: np.ndarray) -> float:
        return 0.5 * float(np.sum(self.h * theta * theta))

    def stochastic_gradient(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.h * theta + math.sqrt(self.c) * rng.standard_normal(self.dim)


def test_general_oracle_one_worker_is_gradient_descent() -> None:
    """One worker, deterministic rounds: every update is fresh, so the run is plain
    gradient descent θ ← θ − η tanh θ, repeated by hand in the same floating-point order."""
    res = run(Cluster(workers=1, delay=POINT), _LogCosh(), lr=0.3, n_updates=50,
              rng=np.random.default_rng(0), theta0=np.array([2.0, -1.0]))
    theta = np.array([2.0, -1.0])
    for _ in range(50):
        theta = theta - 0.3 * np.tanh(theta)
    assert res.status == ("finished",)
    assert np.all(res.staleness[0, :res.n_events[0]] == 0)
    assert res.loss[0, -1] == float(np.sum(np.log(np.cosh(theta))))


def test_general_oracle_noise_free_matches_the_quadratic_path() -> None:
    """A noise-free quadratic as a plain oracle: same schedule (drawn first from the same
    stream), so the same staleness and events; losses equal to rounding (np.sum vs the
    sequential sum: a few ulp)."""
    cluster = Cluster(workers=6, delay=SHIFTED, threshold=4)
    h = np.array([0.5, 2.0, 3.0])
    kw = {"lr": 0.05, "n_updates": 3000, "record_every": 100}
    quad = run(cluster, QuadraticObjective(curvatures=h, noise=0.0),
               rng=np.random.default_rng(3), engine="python", **kw)
    plain = run(cluster, _NoisyQuadratic(h, 0.0), rng=np.random.default_rng(3), **kw)
    np.testing.assert_array_equal(quad.staleness, plain.staleness)
    np.testing.assert_array_equal(quad.accepted, plain.accepted)
    np.testing.assert_allclose(plain.loss, quad.loss, rtol=1e-13)


def test_general_oracle_is_reproducible_and_uses_its_rng() -> None:
    cluster = Cluster(workers=4, delay=EXP)
    oracle = _NoisyQuadratic(np.array([1.0]), 0.5)
    a, b, c = (run(cluster, oracle, lr=0.05, n_updates=500, rng=np.random.default_rng(s))
               for s in (1, 1, 2))
    np.testing.assert_array_equal(a.loss, b.loss)
    assert not np.array_equal(a.loss, c.loss)


def test_object_without_the_oracle_methods_is_refused() -> None:
    with pytest.raises(ValueError, match="stochastic_gradient"):
        run(Cluster(workers=2, delay=EXP), object(), lr=0.1, n_updates=10,  # type: ignore[arg-type]
            rng=np.random.default_rng(0))


# =========================================================== recording the parameters


def test_recorded_theta_gives_the_recorded_loss():
    """Independent answer: the loss definition ½ Σ h θ². Three noisy modes given in
    descending order (simulate records them ascending, the curvatures' order), 3 replicas,
    a record every 7 updates. The terms are non-negative, so summing them in another order
    changes the sum by at most d eps relative, and each term ((½h)θ)θ rounds 3 times:
    rtol (d + 3) eps."""
    h_desc = np.array([8.0, 2.0, 0.5])
    model = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=8, delay=SHIFTED),
                          spectrum=HessianSpectrum(eigenvalues=h_desc), noise=(0.0, 0.3, 1.0))
    res = simulate(model, n_updates=1400, rng=np.random.default_rng(4), replicas=3,
                   theta0=[3.0, -2.0, 1.0], record_every=7, record_theta=True)
    assert res.theta is not None
    assert res.theta.shape == (3, 1400 // 7 + 1, 3)
    np.testing.assert_array_equal(res.theta[:, 0], np.tile([1.0, -2.0, 3.0], (3, 1)))
    h = np.sort(h_desc)
    np.testing.assert_allclose(0.5 * (res.theta**2) @ h, res.loss, rtol=6 * EPS, atol=0)
    assert np.all(np.isfinite(res.theta))


def test_recorded_theta_one_worker_is_gradient_descent():
    """Independent answer: one worker, deterministic rounds, no noise: every update is fresh,
    θ_k = θ_0 (1 − η h)^k. Each step rounds twice (relative), so after k <= 60 steps the
    relative error is below 2 k eps < 3e-14."""
    res = run(Cluster(workers=1, delay=POINT), one_mode(h=2.0), lr=0.1, n_updates=60,
              rng=np.random.default_rng(0), theta0=1.5, record_theta=True)
    assert res.theta is not None
    k = np.arange(61)
    np.testing.assert_allclose(res.theta[0, :, 0], 1.5 * 0.8**k, rtol=3e-14, atol=0)


@pytest.mark.parametrize(("cluster", "kw"), [
    (Cluster(workers=8, delay=EXP, threshold=5), {"replicas": 2, "record_every": 3}),
    (Cluster(workers=6, delay=GAMMA4), {"policy": StepPolicy("inverse")}),
    (Cluster(workers=8, delay=POINT), {"lr": 0.6, "bound": 1e6}),  # diverges
], ids=["threshold-replicas", "inverse", "diverging"])
def test_recorded_theta_compiled_equals_python(cluster, kw):
    """Independent answer: the plain-Python loop; same schedule, normals and float
    operations, so θ is bit-identical (NaN rows after a divergence included)."""
    kw = {"lr": 0.01, **kw}
    a = go(cluster, THREE_MODES, n_updates=1500, seed=5, engine="compiled",
           record_theta=True, **kw)
    b = go(cluster, THREE_MODES, n_updates=1500, seed=5, engine="python",
           record_theta=True, **kw)
    assert_same(a, b)
    assert a.theta is not None and b.theta is not None
    np.testing.assert_array_equal(a.theta, b.theta)


def test_recorded_theta_is_nan_exactly_where_the_loss_is():
    """After a divergence nothing is recorded: θ rows are NaN where the loss is NaN, and
    finite where it is finite."""
    res = go(Cluster(workers=8, delay=POINT), THREE_MODES, lr=0.6, bound=1e6,
             n_updates=1500, seed=21, record_theta=True)
    assert res.status == ("diverged",) and res.theta is not None
    missing = np.isnan(res.loss[0])
    assert missing.any() and not missing.all()
    assert np.all(np.isnan(res.theta[0][missing]))
    assert np.all(np.isfinite(res.theta[0][~missing]))


def test_theta_is_none_without_the_flag_and_does_not_change_the_run():
    """record_theta only adds a record: every other array is bit-identical."""
    cluster = Cluster(workers=4, delay=EXP)
    plain = go(cluster, THREE_MODES, n_updates=500, seed=9)
    recorded = go(cluster, THREE_MODES, n_updates=500, seed=9, record_theta=True)
    assert plain.theta is None
    assert recorded.theta is not None
    assert_same(plain, recorded)
