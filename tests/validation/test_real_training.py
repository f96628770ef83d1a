"""The real asynchronous server (threads, JAX gradients) and the predicted-vs-measured tools.

Wall-clock runs are not bit-reproducible (thread scheduling), so the tests check what
holds for every interleaving: each push applied once, staleness equal to the recorder's
count, a stable learning rate lowering the loss, a huge one detected as diverging.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("jax")
pytest.importorskip("sklearn")

from sdde.cluster.recorder import RoundRecorder
from sdde.simulator.logistic import LogisticRegressionObjective
from sdde.validation import real_compare as rc
from sdde.validation._jax_task import make_task, top_curvatures
from sdde.validation.real_training import run_async_training

FAST = "deterministic:value=1"


@pytest.fixture(scope="module")
def task():
    return make_task("logistic", batch_size=16)


def test_jax_logistic_is_the_numpy_logistic_regression(task) -> None:
    """Loss, gradients and Hessian against the project's numpy implementation (an
    independent formula), in the same layout ((p + 1) × K, biases last)."""
    ref = LogisticRegressionObjective.digits(batch_size=16, l2=1e-3)
    theta = np.random.default_rng(0).normal(scale=0.1, size=task.dim)
    assert task.loss(theta) == pytest.approx(ref.loss(theta), rel=1e-12)
    np.testing.assert_allclose(task.gradient(theta), ref.gradient(theta), atol=1e-12)
    np.testing.assert_allclose(task.hessian(theta), ref.hessian(theta), atol=1e-12)
    rows = np.arange(16)
    g = task.gradient(theta, rows)
    per_example = task.per_example_gradients(theta)
    np.testing.assert_allclose(g, per_example[rows].mean(axis=0), atol=1e-12)


@pytest.mark.slow
def test_lanczos_top_curvatures_match_the_dense_hessian(task) -> None:
    theta = np.random.default_rng(1).normal(scale=0.1, size=task.dim)
    dense = np.linalg.eigvalsh(task.hessian(theta))[::-1][:3]
    np.testing.assert_allclose(top_curvatures(task, theta, 3), dense, rtol=1e-8)


def test_server_applies_every_push_once_and_staleness_is_the_recorders(task) -> None:
    rec = RoundRecorder()
    run = run_async_training(task, n_workers=3, lr=0.05, delay=FAST, time_unit=0.001,
                             n_updates=150, recorder=rec, seed=3)
    assert run.n_applied == 150 == rec.n_updates
    assert run.staleness.size == run.durations.size == rec.n_rounds == 150
    np.testing.assert_array_equal(run.staleness, rec.staleness)
    # Push k (counting from 0) was applied when k updates had been; with staleness s its
    # worker pulled when k − s had been. A worker pulls again only after its own push was
    # applied, so its next pull index is > its previous push index: the recorded
    # staleness is consistent with one server applying the pushes in sequence.
    last_push: dict = {}
    for k, (worker, s) in enumerate(zip(rec.workers, run.staleness, strict=True)):
        pulled_at = k - int(s)
        assert pulled_at >= 0 and pulled_at > last_push.get(worker, -1)
        last_push[worker] = k
    assert run.updates[-1] == 150 and not run.diverged


def test_applied_updates_reproduce_the_final_parameters() -> None:
    """θ_final = θ₀ − η Σ (pushed gradients): checked with a linear-gradient task whose
    gradients do not depend on θ (ridge off), so their sum is known in advance."""
    lin = make_task("logistic", batch_size=1797, l2=0.0)
    g0 = lin.gradient(lin.theta0)
    run = run_async_training(lin, n_workers=2, lr=1e-9, delay=FAST, time_unit=0.001,
                             n_updates=40, seed=0)
    # with lr = 1e-9 every gradient equals g0 to ~1e-9 relative: θ moves by 40 η g0
    np.testing.assert_allclose(run.theta_final, lin.theta0 - 40 * 1e-9 * g0, atol=1e-15)


def test_stable_lr_lowers_the_loss(task) -> None:
    run = run_async_training(task, n_workers=2, lr=0.1, delay=FAST, time_unit=0.001,
                             n_updates=200, seed=1)
    assert not run.diverged and not rc.run_failed(run)
    assert run.losses[-1] < 0.5 * run.losses[0]  # log 10 = 2.30 → below 1.15 in 100 rounds
    assert math.isfinite(run.time_to_loss(1.5))


def test_huge_lr_diverges_and_is_detected() -> None:
    mlp = make_task("mlp", batch_size=16)
    run = run_async_training(mlp, n_workers=2, lr=1e4, delay=FAST, time_unit=0.001,
                             n_updates=400, seed=0, divergence_factor=10.0)
    assert run.diverged and rc.run_failed(run)
    assert run.n_applied < 400  # stopped early


def test_bad_arguments_are_one_line_errors(task) -> None:
    for kwargs, message in [({"n_workers": 0, "lr": 0.1}, "n_workers"),
                            ({"n_workers": 2, "lr": -1.0}, "lr must"),
                            ({"n_workers": 2, "lr": 0.1, "time_unit": 0.0}, "time_unit"),
                            ({"n_workers": 2, "lr": 0.1, "theta0": np.zeros(3)}, "theta0")]:
        with pytest.raises(ValueError, match=message) as info:
            run_async_training(task, **kwargs)  # type: ignore[arg-type]
        assert "\n" not in str(info.value)


def test_staleness_comparison_on_a_tiny_run(task) -> None:
    run = run_async_training(task, n_workers=3, lr=0.05, delay="exponential:mean=1",
                             time_unit=0.002, n_updates=300, seed=2)
    cmp = rc.compare_staleness(run, rng=np.random.default_rng(0), n_gradients=20_000)
    # the measured law is a histogram of ~300 values: TV to the truth is ~0.1 from
    # sampling alone; far from 1 if the recorder and the model count the same thing
    assert cmp.tv_exact < 0.3 and cmp.tv_poisson < 0.4
    assert cmp.measured_mean == pytest.approx(2.0, abs=0.5)  # E S = n − 1 exactly


def test_measured_staleness_law_is_the_histogram() -> None:
    law = rc.measured_staleness_law(np.array([0, 1, 1, 3]))
    assert law.probabilities.tolist() == [0.25, 0.5, 0.0, 0.25] and law.mean == 1.25


def test_scan_brackets_a_known_boundary() -> None:
    """A fake run that fails above lr = 0.3: the scan's bracket holds 0.3 and shrinks
    by the factor's 2^-bisections power."""
    from types import SimpleNamespace

    def run(lr: float, seed: int):
        return SimpleNamespace(diverged=lr > 0.3, losses=np.array([1.0, 0.5]))

    scan = rc.scan_stable_lr(run, start=0.01, factor=2.0, bisections=4)  # type: ignore[arg-type]
    assert scan.stable_lr <= 0.3 < scan.failed_lr
    assert scan.failed_lr / scan.stable_lr == pytest.approx(2.0 ** (1 / 16))


def test_predicted_max_lr_scales_like_one_over_curvature() -> None:
    from sdde.delays import Empirical

    law = Empirical(samples=np.linspace(0.5, 1.5, 101))
    a, b = rc.predicted_max_lr(law, 4, 1.0), rc.predicted_max_lr(law, 4, 2.0)
    assert a == pytest.approx(2 * b, rel=1e-9)


@pytest.mark.slow
def test_quadratic_fit_reproduces_the_quadratic_loss(task) -> None:
    """½ Σ w h = ½ (θ₀ − θ*)ᵀ H (θ₀ − θ*), and binning keeps the initial loss exactly."""
    theta_star = rc.minimise(task)
    assert np.linalg.norm(task.gradient(theta_star)) < 1e-10  # Newton-polished
    start = theta_star + 0.1 * (task.theta0 - theta_star)
    fit = rc.quadratic_fit(task, theta_star, start)
    d = start - theta_star
    direct = 0.5 * d @ task.hessian(theta_star) @ d
    assert 0.5 * fit.weights @ fit.curvatures == pytest.approx(direct, rel=1e-9)
    spectrum, noise = fit.spectrum(max_modes=6)
    assert spectrum.n_modes <= 6 and noise.size == spectrum.n_modes
    binned = 0.5 * spectrum.weights @ spectrum.eigenvalues
    assert binned == pytest.approx(direct, rel=1e-9)


@pytest.mark.slow
def test_predicted_and_measured_time_to_target_on_a_tiny_setting() -> None:
    """The whole chain runs on least squares (quadratic) and gives finite, positive times
    of the same order: half the initial excess is lost within a few rounds at lr = 0.01,
    a third of the single-worker limit (~0.034), far above the noise floor."""
    lsq = make_task("least-squares", batch_size=16)
    theta_star = rc.minimise(lsq)
    fit = rc.quadratic_fit(lsq, theta_star)
    run = run_async_training(lsq, n_workers=2, lr=0.01, delay=FAST, time_unit=0.001,
                             n_updates=600, seed=0, eval_every=1)
    initial = run.losses[0] - fit.loss_star
    assert initial == pytest.approx(0.5 * fit.weights @ fit.curvatures, rel=1e-9)  # quadratic
    measured = rc.measured_time_to_target(run, loss_star=fit.loss_star,
                                          target_excess=0.5 * initial)
    predicted = rc.predicted_time_to_target(fit, lr=0.01, law=rc.round_law(run), n_workers=2,
                                            target_excess=0.5 * initial)
    assert 0 < measured < math.inf and 0 < predicted < math.inf
    assert 0.1 < predicted / measured < 10  # same order; the benchmark reports the accuracy
