"""Random-k and top-k gradient sparsification, with and without error feedback.

Independent answers: the definition of the selection (hypothesis over arrays and ``k``),
the binomial law of random-k's coordinates, exact bookkeeping identities on integer-valued
gradients, hand-written recursions of one worker, the plain simulator (a sparsifier that
keeps every coordinate must reproduce it bit for bit; random-k without error feedback
must have the mean of plain SGD at ``lr · k / d``), and the plain-Python event loop as
the specification of the compiled one. Seeds are fixed; statistical tolerances are stated
in standard deviations where they are used.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sdde
from sdde import Cluster, delays
from sdde.model.kernels import StepPolicy
from sdde.simulator._kernel import sparsify_into
from sdde.simulator.logistic import LogisticRegressionObjective
from sdde.simulator.objectives import QuadraticObjective
from sdde.simulator.server import SimulationResult, run, simulate
from sdde.simulator.sparsification import Sparsifier, sparsify

EXP = delays.Exponential(scale=1.0)
SHIFTED = delays.parse("shifted-exp:shift=0.5,mean=1")
POINT = delays.Deterministic(value=1.0)
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)

FIVE_MODES = QuadraticObjective(curvatures=[0.3, 0.8, 1.5, 2.5, 4.0],
                                noise=[1.0, 0.5, 0.0, 0.3, 0.2])


def tiny_logistic() -> LogisticRegressionObjective:
    """A non-quadratic oracle with its own randomness (minibatches), no data download."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3))
    return LogisticRegressionObjective(features=x, labels=(x[:, 0] > 0).astype(int)
                                       + (x[:, 1] > 0.5).astype(int), n_classes=3,
                                       batch_size=8, l2=1e-2)


class ConstantGradient:
    """``f(θ) = Σ θ``: every stochastic gradient is the vector of ones (uses no rng)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def loss(self, theta: np.ndarray) -> float:
        return float(np.sum(theta))

    def stochastic_gradient(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.ones(self.dim)


class PlainQuadratic:
    """A noise-free ``½ Σ h θ²`` as a generic oracle (the Python loop of any objective)."""

    def __init__(self, h: np.ndarray) -> None:
        self.h, self.dim = h, h.size

    def loss(self, theta: np.ndarray) -> float:
        return 0.5 * float(np.sum(self.h * theta * theta))

    def stochastic_gradient(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.h * theta


def assert_identical(a: SimulationResult, b: SimulationResult) -> None:
    """Every array of two results is equal (NaN padding included), and so is the status."""
    for name in ("times", "staleness", "delay", "accepted", "n_events", "loss_times", "loss",
                 "diverged_at", "theta"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.status == b.status


# ================================================================ 1. the Sparsifier record


@pytest.mark.parametrize(("fraction", "dim", "k"), [
    (0.1, 100, 10), (0.01, 100, 1), (0.001, 100, 1), (1.0, 7, 7), (0.5, 5, 2),  # 2.5 → 2
    (0.7, 5, 4), (0.99, 3, 3), (0.3, 1, 1), (1e-9, 10**6, 1),
])
def test_keep_is_rounded_fraction_at_least_one_at_most_dim(fraction, dim, k):
    """Independent answer: k = max(1, round(fraction · d)) ≤ d, Python's round (half to
    even)."""
    s = Sparsifier("top", fraction)
    assert s.keep(dim) == k
    assert s.is_identity(dim) == (k == dim)


@pytest.mark.parametrize("spec", ["random:0.1", "top:0.01", "random:0.1:ef", "top:0.5:ef",
                                  "top:1", "random:1e-3"])
def test_parse_reads_the_documented_forms_and_round_trips(spec):
    s = Sparsifier.parse(spec)
    kind, fraction, *ef = spec.split(":")
    assert (s.kind, s.fraction, s.error_feedback) == (kind, float(fraction), bool(ef))
    assert Sparsifier.parse(str(s)) == s


@SETTINGS
@given(kind=st.sampled_from(["random", "top"]),
       fraction=st.floats(min_value=0.0, max_value=1.0, exclude_min=True), ef=st.booleans())
def test_str_round_trips_through_parse(kind, fraction, ef):
    s = Sparsifier(kind, fraction, error_feedback=ef)
    assert Sparsifier.parse(str(s)) == s


@pytest.mark.parametrize("spec", ["", "random", "top:", "top:0", "top:-0.1", "top:1.5",
                                  "top:nan", "top:inf", "top:x", "bottom:0.1", "top:0.1:EF",
                                  "top:0.1:ef:ef", "top:0.1:feedback", " top:0.1", "top 0.1"])
def test_parse_rejects_anything_else_in_one_line(spec):
    with pytest.raises(ValueError) as err:
        Sparsifier.parse(spec)
    message = str(err.value)
    assert "\n" not in message and repr(spec) in message and "random:F:ef" in message


@pytest.mark.parametrize(("kw", "fragment"), [
    ({"kind": "bottom", "fraction": 0.1}, "kind"),
    ({"kind": "top", "fraction": 0.0}, "fraction"),
    ({"kind": "top", "fraction": 1.01}, "fraction"),
    ({"kind": "top", "fraction": math.nan}, "fraction"),
    ({"kind": "top", "fraction": math.inf}, "fraction"),
    ({"kind": "top", "fraction": True}, "fraction"),
    ({"kind": "top", "fraction": "0.1"}, "fraction"),
    ({"kind": "top", "fraction": 0.1, "error_feedback": "yes"}, "error_feedback"),
])
def test_bad_sparsifier_is_refused_in_one_line(kw, fragment):
    with pytest.raises(ValueError, match=fragment) as err:
        Sparsifier(**kw)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("dim", [0, -1, 2.5, True])
def test_keep_needs_a_positive_whole_dimension(dim):
    with pytest.raises(ValueError, match="dim"):
        Sparsifier("top", 0.5).keep(dim)


def test_sparsifier_is_exported_and_run_refuses_other_objects():
    assert sdde.Sparsifier is Sparsifier and "Sparsifier" in sdde.__all__
    with pytest.raises(ValueError, match="sparsifier"):
        run(Cluster(workers=2, delay=EXP), FIVE_MODES, lr=0.01, n_updates=10,
            rng=np.random.default_rng(0), sparsifier="top:0.5")  # type: ignore[arg-type]


# ================================================================== 2. the pure selection

nonzero = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda x: x != 0)


@st.composite
def vector_and_keep(draw: st.DrawFn, with_ties: bool = False) -> tuple[np.ndarray, int]:
    values = st.sampled_from([-2.0, -1.0, 1.0, 2.0]) if with_ties else nonzero
    p = np.array(draw(st.lists(values, min_size=1, max_size=30)))
    return p, draw(st.integers(1, p.size))


@SETTINGS
@given(case=vector_and_keep())
def test_top_k_sends_exactly_the_k_largest_magnitudes(case):
    """Definition: k nonzeros sent, sent + residual == p exactly, every sent |p_i| at least
    every kept-back one."""
    p, k = case
    sent, residual = sparsify(p, k)
    assert np.count_nonzero(sent) == k
    np.testing.assert_array_equal(sent + residual, p)
    assert np.all((sent == 0) | (residual == 0))
    assert np.min(np.abs(sent[sent != 0])) >= np.max(np.abs(residual), initial=0.0)


@SETTINGS
@given(case=vector_and_keep(with_ties=True))
def test_top_k_ties_go_to_the_lower_index(case):
    """Definition: sort by (−|p_i|, i) and take the first k."""
    p, k = case
    sent, _ = sparsify(p, k)
    chosen = sorted(range(p.size), key=lambda i: (-abs(p[i]), i))[:k]
    assert sorted(np.flatnonzero(sent).tolist()) == sorted(chosen)


@SETTINGS
@given(case=vector_and_keep(), seed=st.integers(0, 2**32 - 1))
def test_random_k_sends_the_k_smallest_keys(case, seed):
    p, k = case
    keys = np.random.default_rng(seed).random(p.size)
    sent, residual = sparsify(p, k, keys)
    assert set(np.flatnonzero(sent).tolist()) == set(np.argsort(keys)[:k].tolist())
    np.testing.assert_array_equal(sent + residual, p)
    assert np.count_nonzero(sent) == k


@SETTINGS
@given(case=vector_and_keep(with_ties=True), top=st.booleans(),
       key_values=st.lists(st.sampled_from([0.0, 0.25, 0.5]), min_size=30, max_size=30))
def test_compiled_selection_is_sparsify(case, top, key_values):
    """The compiled loop's O(d) selection (quickselect of the cut, then ties in index
    order) makes the same choice as :func:`sparsify`'s stable sort, ties included: tied
    magnitudes for top-k, tied keys for random-k."""
    p, k = case
    keys = None if top else np.array(key_values[:p.size])
    sent, residual = np.empty_like(p), np.empty_like(p)
    sparsify_into(p, k, np.empty(0) if keys is None else keys, sent, residual)
    expected_sent, expected_residual = sparsify(p, k, keys)
    np.testing.assert_array_equal(sent, expected_sent)
    np.testing.assert_array_equal(residual, expected_residual)


@SETTINGS
@given(case=vector_and_keep(), seed=st.integers(0, 2**32 - 1))
def test_compiled_selection_is_sparsify_on_distinct_values(case, seed):
    p, k = case
    keys = np.random.default_rng(seed).random(p.size)
    for chosen_keys in (None, keys):
        sent, residual = np.empty_like(p), np.empty_like(p)
        sparsify_into(p, k, np.empty(0) if chosen_keys is None else chosen_keys, sent,
                      residual)
        expected = sparsify(p, k, chosen_keys)
        np.testing.assert_array_equal(sent, expected[0])
        np.testing.assert_array_equal(residual, expected[1])


def test_sparsify_checks_its_input():
    with pytest.raises(ValueError, match="keep"):
        sparsify(np.ones(3), 0)
    with pytest.raises(ValueError, match="keep"):
        sparsify(np.ones(3), 4)
    with pytest.raises(ValueError, match="keys"):
        sparsify(np.ones(3), 1, keys=np.ones(2))


def test_random_k_sends_each_coordinate_with_frequency_k_over_d():
    """Independent answer: a uniform k-subset contains each coordinate with probability
    k/d, so over N pushes each count is Binomial(N, k/d). Tolerance 5 binomial standard
    deviations per coordinate (10 coordinates: false-failure rate below 1e-5; seed
    fixed)."""
    rng = np.random.default_rng(3)
    d, k, pushes = 10, 3, 20_000
    counts = np.zeros(d)
    for keys in rng.random((pushes, d)):
        sent, _ = sparsify(np.arange(1.0, d + 1), k, keys)
        counts += sent != 0
    sd = math.sqrt(pushes * (k / d) * (1 - k / d))
    assert np.all(np.abs(counts - pushes * k / d) < 5 * sd)


def test_simulated_random_k_sends_each_coordinate_with_frequency_k_over_d():
    """The same law inside the simulator (any-oracle loop, keys drawn per push): with the
    all-ones gradient, lr = 1 and θ0 = 0, −θ_i counts exactly the pushes that sent
    coordinate i. Binomial(N, k/d) per coordinate, 5 standard deviations."""
    d, k, n_updates = 8, 2, 16_000
    res = run(Cluster(workers=3, delay=EXP), ConstantGradient(d), lr=1.0, n_updates=n_updates,
              rng=np.random.default_rng(4), theta0=0.0, record_every=n_updates,
              record_theta=True, sparsifier=Sparsifier("random", k / d))
    assert res.theta is not None
    counts = -res.theta[0, -1]
    np.testing.assert_array_equal(counts, np.round(counts))
    assert counts.sum() == k * n_updates
    sd = math.sqrt(n_updates * (k / d) * (1 - k / d))
    assert np.all(np.abs(counts - n_updates * k / d) < 5 * sd)


@pytest.mark.parametrize("kind", ["random", "top"])
def test_error_feedback_conserves_every_gradient(kind):
    """Independent answer: with error feedback nothing is lost. For each worker
    p_t = g_t + r_{t−1}, sent_t = p_t − r_t, so summed over its pushes
    Σ sent = Σ g − r_final (telescoping). On integer-valued gradients every sum is exact:
    total sent + residuals left == total computed, bit for bit, for 4 workers pushing in
    a random order."""
    rng = np.random.default_rng(5)
    n, d, keep = 4, 12, 3
    residuals = np.zeros((n, d))
    computed, applied = np.zeros(d), np.zeros(d)
    for _ in range(500):
        w = rng.integers(n)
        g = rng.integers(-50, 51, size=d).astype(float)
        sent, residuals[w] = sparsify(g + residuals[w], keep,
                                      rng.random(d) if kind == "random" else None)
        computed += g
        applied += sent
    np.testing.assert_array_equal(applied + residuals.sum(axis=0), computed)
    assert np.any(residuals != 0)  # something was left to account for


# ======================================================= 3. keeping every coordinate


SPARSE_IDENTITIES = [Sparsifier(kind, 1.0, ef) for kind in ("random", "top")
                     for ef in (False, True)]
IDS = [str(s) for s in SPARSE_IDENTITIES]


@pytest.mark.parametrize("engine", ["compiled", "python"])
@pytest.mark.parametrize("sparsifier", SPARSE_IDENTITIES, ids=IDS)
def test_keeping_every_coordinate_is_the_plain_run_quadratic(sparsifier, engine):
    """k = d sends every coordinate and draws nothing more: every recorded array equals
    the run without a sparsifier (threshold 3: dropped pushes too; 2 replicas)."""
    cluster = Cluster(workers=8, delay=SHIFTED, threshold=3)
    kw = {"lr": 0.02, "n_updates": 1500, "replicas": 2, "record_every": 5,
          "record_theta": True, "engine": engine, "policy": StepPolicy("inverse")}
    plain = run(cluster, FIVE_MODES, rng=np.random.default_rng(8), **kw)  # type: ignore[arg-type]
    sparse = run(cluster, FIVE_MODES, rng=np.random.default_rng(8), sparsifier=sparsifier,
                 **kw)  # type: ignore[arg-type]
    assert sparsifier.is_identity(FIVE_MODES.dim)
    assert_identical(plain, sparse)


@pytest.mark.parametrize("sparsifier", SPARSE_IDENTITIES, ids=IDS)
def test_keeping_every_coordinate_is_the_plain_run_logistic(sparsifier):
    """The same for a non-quadratic oracle with its own randomness (minibatches drawn from
    the replica's stream): no extra draw, so the same minibatches and the same run."""
    task = tiny_logistic()
    cluster = Cluster(workers=4, delay=EXP, threshold=2)
    kw = {"lr": 0.3, "n_updates": 300, "record_every": 10, "record_theta": True,
          "theta0": 0.0}
    plain = run(cluster, task, rng=np.random.default_rng(9), **kw)  # type: ignore[arg-type]
    sparse = run(cluster, task, rng=np.random.default_rng(9), sparsifier=sparsifier,
                 **kw)  # type: ignore[arg-type]
    assert_identical(plain, sparse)
    assert not np.all(plain.accepted[0, :plain.n_events[0]])  # the threshold dropped some


def test_keeping_every_coordinate_through_simulate():
    model = sdde.AsyncSGDModel(lr=0.01, cluster=Cluster(workers=8, delay=EXP),
                               spectrum=sdde.HessianSpectrum.parse("0.5,2,8"), noise=0.5)
    kw = {"n_updates": 800, "record_theta": True}
    plain = simulate(model, rng=np.random.default_rng(1), **kw)  # type: ignore[arg-type]
    sparse = simulate(model, rng=np.random.default_rng(1), sparsifier=Sparsifier.parse(
        "random:1:ef"), **kw)  # type: ignore[arg-type]
    assert_identical(plain, sparse)


# ============================================= 4. compiled engine == python engine


@pytest.mark.parametrize("spec", ["random:0.4", "top:0.4", "random:0.4:ef", "top:0.4:ef",
                                  "top:0.2:ef", "random:0.2"])
@pytest.mark.parametrize(("cluster", "kw"), [
    (Cluster(workers=8, delay=SHIFTED, threshold=3), {"policy": StepPolicy("inverse")}),
    (Cluster(workers=6, delay=EXP), {"replicas": 2, "record_every": 7}),
    (Cluster(workers=[(4, EXP), (2, POINT)], threshold=1),
     {"policy": lambda s: np.exp(-0.2 * s), "start": "lockstep"}),
], ids=["K3-inverse", "replicas", "groups-K1-callable"])
def test_compiled_equals_python(spec, cluster, kw):
    """Independent answer: the plain-Python loop with :func:`sparsify` (the
    specification). Same schedule, normals, keys and float operations: bit-identical."""
    kw = {"lr": 0.02, "n_updates": 1200, "record_theta": True, **kw}
    a, b = (run(cluster, FIVE_MODES, rng=np.random.default_rng(21), engine=engine,
                sparsifier=Sparsifier.parse(spec), **kw)  # type: ignore[arg-type]
            for engine in ("compiled", "python"))
    assert_identical(a, b)


def test_compiled_equals_python_many_modes_and_diverging():
    """d = 40 (keys chunks of 40 columns), and a run that leaves the bound."""
    objective = QuadraticObjective(curvatures=np.linspace(0.5, 3.0, 40), noise=0.3)
    for lr, status in ((0.01, "finished"), (0.8, "diverged")):
        a, b = (run(Cluster(workers=8, delay=POINT), objective, lr=lr, n_updates=1500,
                    rng=np.random.default_rng(2), engine=engine, bound=1e6,
                    record_theta=True, sparsifier=Sparsifier.parse("random:0.25:ef"))
                for engine in ("compiled", "python"))
        assert a.status == (status,)
        assert_identical(a, b)


def test_sparsified_runs_differ_from_the_plain_run_on_the_same_schedule():
    """k < d changes the parameters, never the push schedule (drawn first)."""
    cluster = Cluster(workers=6, delay=EXP, threshold=4)
    runs = [run(cluster, FIVE_MODES, lr=0.02, n_updates=600, rng=np.random.default_rng(6),
                sparsifier=None if spec is None else Sparsifier.parse(spec))
            for spec in (None, "random:0.4", "top:0.4", "top:0.4:ef")]
    for other in runs[1:]:
        np.testing.assert_array_equal(other.times, runs[0].times)
        np.testing.assert_array_equal(other.staleness, runs[0].staleness)
        assert not np.array_equal(other.loss, runs[0].loss)


# ============================================================ 5. the semantics, by hand


@pytest.mark.parametrize("ef", [False, True])
@pytest.mark.parametrize("engine", ["compiled", "python"])
def test_one_worker_top_k_is_the_hand_recursion(ef, engine):
    """Independent answer: one worker with unit rounds pushes fresh gradients, so the run is
    r ← 0; repeat: p = hθ (+ r), (sent, r) = sparsify(p, k), θ ← θ − η sent, written here
    in the same float order. With error feedback nothing is lost:
    θ0 − θ_T = η Σ sent and Σ sent + r_T = Σ g (to rounding)."""
    h = np.array([0.5, 1.0, 2.0, 3.0, 5.0])
    theta0 = np.array([1.0, -2.0, 0.5, 1.5, -1.0])
    lr, n_updates, keep = 0.05, 80, 2
    res = run(Cluster(workers=1, delay=POINT), QuadraticObjective(curvatures=h), lr=lr,
              n_updates=n_updates, rng=np.random.default_rng(0), theta0=theta0,
              record_theta=True, engine=engine, sparsifier=Sparsifier("top", 0.4, ef))
    theta, r = theta0.copy(), np.zeros(5)
    computed, applied = np.zeros(5), np.zeros(5)
    expected = [theta.copy()]
    for _ in range(n_updates):
        g = h * theta
        sent, rest = sparsify(g + r if ef else g, keep)
        r = rest if ef else r
        theta = theta - lr * 1.0 * sent
        computed, applied = computed + g, applied + sent
        expected.append(theta)
    assert res.theta is not None
    np.testing.assert_array_equal(res.theta[0], np.array(expected))
    if ef:
        np.testing.assert_allclose(applied + r, computed, rtol=0, atol=1e-12)
        np.testing.assert_allclose(theta0 - res.theta[0, -1], lr * applied, rtol=0, atol=1e-12)


@pytest.mark.parametrize("ef", [False, True])
def test_simulated_top_k_ties_go_to_the_lower_index(ef):
    """Equal curvatures, equal starting values, no noise: every |p_i| ties at first, and
    stays tied within blocks. One worker with unit rounds is the hand recursion with
    :func:`sparsify` (stable: ties to the lower index); both engines must follow it bit
    for bit (d = 40, beyond the sizes where an unstable sort behaves stably)."""
    d, keep, lr = 40, 10, 0.1
    objective = QuadraticObjective(curvatures=np.ones(d))
    theta, r = np.ones(d), np.zeros(d)
    expected = [theta.copy()]
    for _ in range(12):
        sent, rest = sparsify(theta + r if ef else theta, keep)
        r = rest if ef else r
        theta = theta - lr * 1.0 * sent
        expected.append(theta)
    np.testing.assert_array_equal(expected[1][:keep], 1 - lr)  # the first 10 went first
    for engine in ("compiled", "python"):
        res = run(Cluster(workers=1, delay=POINT), objective, lr=lr, n_updates=12,
                  rng=np.random.default_rng(0), record_theta=True, engine=engine,
                  sparsifier=Sparsifier("top", keep / d, ef))
        assert res.theta is not None
        np.testing.assert_array_equal(res.theta[0], np.array(expected), err_msg=engine)


def test_any_oracle_follows_the_quadratic_semantics_dropped_pushes_included():
    """The any-oracle loop and the quadratic loop implement the same rules: a noise-free
    quadratic as a plain oracle, top-k with error feedback and a threshold that drops
    gradients (whose residuals must still be updated), gives the same θ bit for bit."""
    h = np.array([0.4, 1.0, 2.5, 4.0])
    cluster = Cluster(workers=6, delay=SHIFTED, threshold=2)
    kw = {"lr": 0.03, "n_updates": 1500, "record_theta": True, "engine": "python",
          "sparsifier": Sparsifier.parse("top:0.5:ef")}
    quad = run(cluster, QuadraticObjective(curvatures=h), rng=np.random.default_rng(3),
               **kw)  # type: ignore[arg-type]
    plain = run(cluster, PlainQuadratic(h), rng=np.random.default_rng(3),
                **kw)  # type: ignore[arg-type]
    assert quad.theta is not None and plain.theta is not None
    assert not np.all(quad.accepted[0, :quad.n_events[0]])
    np.testing.assert_array_equal(quad.theta, plain.theta)
    np.testing.assert_array_equal(quad.staleness, plain.staleness)


# ================================================= 6. what error feedback is for


def test_random_k_mean_is_plain_sgd_at_lr_k_over_d_and_error_feedback_restores_lr():
    """Independent answer: without error feedback the mask M_t of push t (E[M_t] = (k/d) I)
    is independent of the parameters it multiplies, and lock-step unit rounds fix the
    staleness of every push, so E[θ] follows the plain noise-free recursion at η k/d
    exactly. 400 replicas, 6 modes × 4 records compared: 5 standard errors of the replica
    mean each (24 comparisons: false-failure rate below 1e-4; seed fixed).

    With error feedback nothing is discarded, so the slowest mode's mean follows plain SGD
    at the full η far more closely than at η k/d (a qualitative check, wide margin)."""
    f = QuadraticObjective(curvatures=[0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    cluster, lr, replicas = Cluster(workers=4, delay=POINT), 0.03, 400
    kw = {"n_updates": 240, "start": "lockstep", "record_every": 60, "record_theta": True}
    sparse = run(cluster, f, lr=lr, rng=np.random.default_rng(2), replicas=replicas,
                 sparsifier=Sparsifier("random", 1 / 3), **kw)  # type: ignore[arg-type]
    fed = run(cluster, f, lr=lr, rng=np.random.default_rng(2), replicas=replicas,
              sparsifier=Sparsifier("random", 1 / 3, True), **kw)  # type: ignore[arg-type]
    slow = run(cluster, f, lr=lr / 3, rng=np.random.default_rng(2), **kw)  # type: ignore[arg-type]
    full = run(cluster, f, lr=lr, rng=np.random.default_rng(2), **kw)  # type: ignore[arg-type]
    assert sparse.theta is not None and fed.theta is not None
    assert slow.theta is not None and full.theta is not None
    mean = sparse.theta.mean(axis=0)[1:]
    se = sparse.theta.std(axis=0, ddof=1)[1:] / math.sqrt(replicas)
    assert np.all(np.abs(mean - slow.theta[0, 1:]) < 5 * se)
    slow_mode = fed.theta[:, -1, 0].mean()
    assert abs(slow_mode - full.theta[0, -1, 0]) < 0.1 * abs(slow.theta[0, -1, 0]
                                                             - full.theta[0, -1, 0])
