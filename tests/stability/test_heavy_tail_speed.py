"""The fast root path of the worker-count search against the method it replaced.

Issue "Robustness: no answer in 30 s": heavy-tailed round-time laws spent a minute in
the generator's eigenvalues. The fast path builds the generator's gain-independent part
once per kernel (:func:`sdde.stability.roots._kernel_generator`), bounds the eigenvalues
with a real exponential table of the law's body, and runs on one BLAS thread. The
reference is the method as it was: ``_characteristic_roots(..., fast=False)``, outside
:func:`single_blas_thread`. Both must give the rightmost root to 1e-8 (relative) and the
same fastest worker count, at the edges of the input contract included.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sdde import Cluster, delays
from sdde.model.async_sgd import AsyncSGDModel
from sdde.model.kernels import DelayKernel, as_kernel
from sdde.model.spectrum import HessianSpectrum
from sdde.stability import report, roots
from sdde.stability.roots import characteristic_roots, single_blas_thread

LAWS = [
    "pareto:shape=1.2", "pareto:shape=1.5", "pareto:shape=2.5",
    "weibull:shape=0.12", "weibull:shape=0.5",
    "gamma:shape=1e-4", "gamma:shape=0.1",
    "lognormal:mean=1,cv=1", "lognormal:mean=1,cv=10", "lognormal:mean=1,cv=400",
    "two-point:time=1,p=0.05,slowdown=10",
]
WORKERS = [1, 2, 8, 32, 1000]
LR = 0.01  # the CLI's default learning rate; h = 1, so κ = η n


def reference_roots(kappa: float, law: Any, n: int = 6, *,
                    unstable_count: int | None = None) -> np.ndarray:
    """:func:`characteristic_roots` as it was: the generator rebuilt on every call.

    Run on one BLAS thread as well: the thread count changes nothing but the time (a
    busy machine made the threaded eigenvalue problems 20–100 times slower; see
    ``benchmarks/bench_heavy_tails.py``)."""
    kernel = as_kernel(law)
    if kernel.point_delay:
        return characteristic_roots(kappa, kernel, n)
    with single_blas_thread():
        return roots._characteristic_roots(kappa, kernel, n, unstable_count, fast=False)


def model_with(law: str, workers: int) -> AsyncSGDModel:
    return AsyncSGDModel(lr=LR, spectrum=HessianSpectrum.parse("1"),
                         cluster=Cluster(workers=workers, delay=delays.parse(law)))


def assert_same_rightmost(new: np.ndarray, old: np.ndarray) -> None:
    assert new.size == old.size
    if old.size:
        assert abs(new[0] - old[0]) <= 1e-8 * abs(old[0]), (new[0], old[0])


@pytest.mark.parametrize("law", LAWS)
def test_rightmost_root_matches_reference(law: str) -> None:
    """Rightmost root of the fast path equals the reference's, at every worker count."""
    for workers in WORKERS:
        model = model_with(law, workers)
        kappa = float(model.kappas[-1])
        new = characteristic_roots(kappa, model.kernel, n=1)
        old = reference_roots(kappa, model.kernel, n=1)
        assert_same_rightmost(new, old)


@pytest.mark.parametrize("law", ["pareto:shape=1.5", "lognormal:mean=1,cv=400"])
def test_cached_generator_is_the_reference_matrix(law: str) -> None:
    """The cached gain-independent part and the per-call rebuild are the same matrix."""
    kernel = as_kernel(delays.parse(law))
    nodes, weights = roots._generator_kernel(kernel)
    tau = float(nodes.max())
    base, row = roots._kernel_generator(kernel, 64)
    fresh, fresh_row = roots._generator_parts(nodes, weights, tau, 64)
    np.testing.assert_array_equal(base, fresh)
    np.testing.assert_array_equal(row, fresh_row)
    assert roots._kernel_generator(kernel, 64)[0] is base  # built once
    with pytest.raises(ValueError):
        base[1, 1] = 0.0  # shared between calls: read-only
    np.testing.assert_array_equal(
        np.sort_complex(roots._generator_eigenvalues(0.3, nodes, weights, tau, 64,
                                                     kernel=kernel)),
        np.sort_complex(roots._generator_eigenvalues(0.3, nodes, weights, tau, 64)))


def test_single_blas_thread_restores_limits() -> None:
    """The thread limit holds inside the block only."""
    controller = roots._blas_controller()
    if controller is None:
        pytest.skip("threadpoolctl is not installed")
    before = [lib.num_threads for lib in controller.select(user_api="blas").lib_controllers]
    with single_blas_thread():
        inside = [lib.num_threads for lib in controller.select(user_api="blas")
                  .lib_controllers]
        assert set(inside) <= {1}
    after = [lib.num_threads for lib in controller.select(user_api="blas").lib_controllers]
    assert after == before


def optimal_both_ways(monkeypatch: pytest.MonkeyPatch, law: str,
                      workers: int) -> tuple[tuple[int | None, float], tuple[int | None, float]]:
    """``_optimal_workers`` over 1..MAX_WORKERS with the fast path, then the reference."""
    model = model_with(law, workers)
    new = report._optimal_workers(model, report.MAX_WORKERS)
    with monkeypatch.context() as patch:
        patch.setattr(report, "characteristic_roots", reference_roots)
        old = report._optimal_workers(model, report.MAX_WORKERS)
    return new, old


def assert_same_optimum(new: tuple[int | None, float], old: tuple[int | None, float]) -> None:
    """Same fastest count and rate, where the reference knows them.

    Where the reference's rate is unknown (``None``: a rate beside its best had no root),
    the fast path may know it: since issue 21 its Newton gives wandering guesses fewer
    steps and polishes from more starts, and finds roots of the transient rule that the
    reference misses. Pareto 1.2 at 783 workers (κ = 7.83): fast −0.16708 + 0.0716i,
    reference −0.16718 + 5.088i, both with residual below 3e-6 on the same rule, so the
    reference's "rightmost" root was not the rightmost; at 300–700 workers the reference
    found no root at all."""
    if old[0] is None:
        return
    assert new[0] == old[0]
    if math.isnan(old[1]):
        assert math.isnan(new[1])
    else:
        assert abs(new[1] - old[1]) <= 1e-8 * abs(old[1])


@pytest.mark.parametrize("law", ["pareto:shape=1.5", "lognormal:mean=1,cv=10",
                                 "two-point:time=1,p=0.05,slowdown=10"])
def test_fastest_worker_count_matches_reference(monkeypatch: pytest.MonkeyPatch,
                                                law: str) -> None:
    """The worker-count search picks the same count at the same rate either way."""
    new, old = optimal_both_ways(monkeypatch, law, 2)
    assert_same_optimum(new, old)


@pytest.mark.slow
@pytest.mark.parametrize("law", LAWS)
def test_fastest_worker_count_matches_reference_everywhere(
        monkeypatch: pytest.MonkeyPatch, law: str) -> None:
    """Every law and worker count of the issue: same fastest count, same rate. (The
    search scales κ with the count, so the model's own count matters only where the
    kernel depends on it.)"""
    counts = WORKERS if model_with(law, 2).kernel_depends_on_workers else [2]
    for workers in counts:
        new, old = optimal_both_ways(monkeypatch, law, workers)
        assert_same_optimum(new, old)


def test_heavy_tailed_body_bound_matches_complex_transform() -> None:
    """The real exponential table of the law's body gives ``φ`` on the real line as the
    complex transform does."""
    kernel: DelayKernel = as_kernel(delays.parse("pareto:shape=1.5"))
    search = roots._RootSearch(1.0, kernel)
    x = np.array([-0.3, -0.3, -0.01, 0.0, 0.7])
    expected = np.abs(search.transform(x.astype(np.complex128))[0])
    np.testing.assert_allclose(search.real_transform(x), expected, rtol=1e-13, atol=0)
