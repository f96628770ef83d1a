"""Hypothesis invariants of the reference async-SGD simulator (sdde.simulator.server).

Anchored by tests/simulator/test_simulator.py: here small random clusters, thresholds, step
policies, starts and seeds are checked for the engine equality and the event-record
invariants. Examples are derandomised so a run is reproducible. Objectives have up to
12 modes (from 8 on, a pairwise numpy sum once made the engines' losses differ in the last
bits).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde import Cluster, delays
from sdde.model.kernels import StepPolicy
from sdde.simulator.objectives import QuadraticObjective
from sdde.simulator.server import SimulationResult, run

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)
STAT_SETTINGS = settings(max_examples=8, deadline=None, derandomize=True)

means = st.floats(0.1, 5.0)


@st.composite
def laws(draw):
    kind = draw(st.sampled_from(["deterministic", "exponential", "shifted-exp", "gamma"]))
    mean = draw(means)
    if kind == "deterministic":
        return delays.Deterministic(value=mean)
    if kind == "exponential":
        return delays.Exponential(scale=mean)
    if kind == "shifted-exp":
        return delays.shifted_exponential(shift=draw(st.floats(0.0, 0.9)) * mean, mean=mean)
    return delays.Gamma.from_mean(shape=draw(st.floats(0.5, 6.0)), mean=mean)


@st.composite
def clusters(draw):
    groups = draw(st.lists(st.tuples(st.integers(1, 4), laws()), min_size=1, max_size=2))
    threshold = draw(st.one_of(st.none(), st.integers(0, 5)))
    return Cluster(workers=groups, threshold=threshold)


policies = st.one_of(st.just(StepPolicy()), st.just(StepPolicy("inverse")),
                     st.floats(0.3, 1.0).map(lambda g: StepPolicy("geometric", g)))


@st.composite
def objectives(draw):
    d = draw(st.integers(1, 12))
    h = draw(st.lists(st.floats(0.1, 10.0), min_size=d, max_size=d))
    c = draw(st.lists(st.floats(0.0, 2.0), min_size=d, max_size=d))
    return QuadraticObjective(curvatures=h, noise=c)


@st.composite
def configs(draw):
    cluster = draw(clusters())
    objective = draw(objectives())
    # κ = lr n h_max in [0.05, 10]: stable or diverging (a bound of 10 stops those early)
    kappa = draw(st.floats(0.05, 10.0))
    lr = kappa / (cluster.n_workers * float(objective.curvatures.max()))
    return {"cluster": cluster, "objective": objective, "lr": lr,
            "policy": draw(policies), "n_updates": draw(st.integers(1, 300)),
            "record_every": draw(st.integers(1, 5)),
            "start": draw(st.sampled_from(["stationary", "lockstep"])),
            "replicas": draw(st.integers(1, 2)),
            "bound": draw(st.sampled_from([10.0, 1e8])),
            "seed": draw(st.integers(0, 2**32 - 1))}


def simulate_config(cfg: dict, engine: str) -> SimulationResult:
    kw = dict(cfg)
    seed = kw.pop("seed")
    cluster, objective = kw.pop("cluster"), kw.pop("objective")
    return run(cluster, objective, rng=np.random.default_rng(seed), engine=engine, **kw)


@SETTINGS
@given(cfg=configs())
def test_compiled_equals_python_and_event_invariants(cfg):
    """compiled == python bit for bit; staleness >= 0; accepted ⇔ staleness <= K; a finished
    run applied exactly n_updates; event times are non-decreasing and delays >= 0; the
    loss is recorded exactly while the run lasts."""
    a = simulate_config(cfg, "compiled")
    b = simulate_config(cfg, "python")
    for name in ("times", "delay", "loss", "loss_times", "diverged_at"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    for name in ("staleness", "accepted", "n_events"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.status == b.status

    k = cfg["cluster"].threshold
    for r in range(cfg["replicas"]):
        n = int(a.n_events[r])
        s, acc = a.staleness[r, :n], a.accepted[r, :n]
        t, d = a.times[r, :n], a.delay[r, :n]
        assert np.all(s >= 0)
        assert np.array_equal(acc, np.ones(n, bool) if k is None else s <= k)
        assert np.all(np.diff(t) >= 0) and np.all(d >= 0) and np.all(d <= t)
        applied = int(acc.sum())
        if a.status[r] == "finished":
            assert applied == cfg["n_updates"]
            assert math.isinf(a.diverged_at[r])
            assert np.all(np.isfinite(a.loss[r]))
        else:
            assert a.status[r] == "diverged"
            assert applied <= cfg["n_updates"] and a.diverged_at[r] == t[-1]
            written = 1 + (applied - 1) // cfg["record_every"]
            assert np.all(np.isfinite(a.loss[r, :written]))
            assert np.all(np.isnan(a.loss[r, written:]))


@STAT_SETTINGS
@given(n=st.integers(2, 10), scale=means, seed=st.integers(0, 2**32 - 1))
def test_exponential_rounds_staleness_mean_is_n_minus_1(n, scale, seed):
    """Exponential rounds: staleness is geometric, P(S = s) = (1/n)((n−1)/n)^s, so its mean is
    n − 1 and P(S = 0) = 1/n. 20 000 events; 5 standard errors from 40 batch means
    (batches of 500 events, far longer than the ~n-event correlation of staleness)."""
    res = run(Cluster(workers=n, delay=delays.Exponential(scale=scale)),
              QuadraticObjective(curvatures=[1.0]), lr=0.01 / n, n_updates=20_000,
              rng=np.random.default_rng(seed))
    s = res.staleness[0, : res.n_events[0]].astype(float)
    zero = (s == 0).astype(float)
    for x, expected in ((s, n - 1.0), (zero, 1.0 / n)):
        m = x.reshape(40, -1).mean(axis=1)
        se = m.std(ddof=1) / math.sqrt(40)
        assert abs(x.mean() - expected) < 5 * se
