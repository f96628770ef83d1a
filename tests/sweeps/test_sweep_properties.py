"""Invariants of stability sweeps over random small grids (derandomised).

The law κ = η n h_max ties the outputs together at every point: ``stable`` is ``κ < κ_as``
(the server's almost-sure threshold), ``max_stable_lr · n · h_max = κ_as`` and
``margin · κ = κ_as``; ``κ_as`` and ``κ*`` are one number per cluster, the same for every
learning rate; and the dataset does not depend on how the grid is cut into chunks.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import sdde
from sdde.sweeps.analyses import StabilityAnalysis
from sdde.sweeps.engine import sweep

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)
LAWS = ["deterministic:value=1", "gamma:shape=2,mean=1", "uniform:low=0.5,high=1.5",
        "shifted-exp:shift=0.5,mean=1", "exponential:mean=1"]
HESSIANS = ["1", "2.5", "0.1,1,4"]

workers = st.lists(st.integers(1, 64), min_size=1, max_size=4, unique=True)
lrs = st.lists(st.floats(1e-4, 10.0, allow_nan=False, allow_infinity=False),
               min_size=1, max_size=6, unique=True)
laws = st.lists(st.sampled_from(LAWS), min_size=1, max_size=2, unique=True)
thresholds = st.lists(st.sampled_from([None, 0, 3, 16]), min_size=1, max_size=2, unique=True)


def _assert_close(actual: xr.DataArray, desired: xr.DataArray, rtol: float) -> None:
    """Equal within ``rtol`` after broadcasting by dimension name (inf equals inf)."""
    actual, desired = xr.broadcast(actual, desired)
    np.testing.assert_allclose(actual.values, desired.transpose(*actual.dims).values,
                               rtol=rtol)


@SETTINGS
@given(law=laws, n=workers, lr=lrs, threshold=thresholds, hessian=st.sampled_from(HESSIANS))
def test_outputs_obey_kappa_equals_lr_workers_hmax(law: list[str], n: list[int],
                                                    lr: list[float],
                                                    threshold: list[int | None],
                                                    hessian: str) -> None:
    grid = {"law": law, "workers": n, "lr": lr, "threshold": threshold}
    ds = sweep(StabilityAnalysis(hessian=hessian), grid, executor="serial")
    h_max = float(np.max(sdde.HessianSpectrum.parse(hessian).eigenvalues))
    workers_, lr_ = ds["workers"], ds["lr"]
    kappa, kappa_star, kappa_as = ds["kappa"], ds["kappa_star"], ds["kappa_as"]
    assert ds["stable"].dims == ("law", "workers", "lr", "threshold")
    _assert_close(kappa, lr_ * workers_ * h_max, rtol=1e-15)
    assert (ds["stable"] == (kappa < kappa_as)).all()
    _assert_close(ds["max_stable_lr"] * workers_ * h_max, kappa_as, rtol=1e-14)
    _assert_close(ds["margin"] * kappa, kappa_as, rtol=1e-14)
    # the thresholds are properties of the cluster: constant along the learning rate
    assert (kappa_star == kappa_star.isel(lr=0)).all()
    assert (kappa_as == kappa_as.isel(lr=0)).all()
    assert (kappa_star > 0).all() and (kappa_as > 0).all()
    if "exponential:mean=1" in law and None in threshold:  # exponential rounds: no κ*
        assert np.isinf(kappa_star.sel(law="exponential:mean=1", threshold=-1)).all()


@SETTINGS
@given(n=workers, lr=lrs, chunk_size=st.integers(1, 5),
       threshold=thresholds, law=laws)
def test_chunking_does_not_change_the_dataset(n: list[int], lr: list[float], chunk_size: int,
                                              threshold: list[int | None],
                                              law: list[str]) -> None:
    grid = {"law": law, "threshold": threshold, "workers": n, "lr": lr}
    one = sweep(StabilityAnalysis(), grid, executor="serial", chunk_size=1)
    chunked = sweep(StabilityAnalysis(), grid, executor="serial", chunk_size=chunk_size)
    default = sweep(StabilityAnalysis(), grid, executor="serial")
    assert chunked.identical(one) and default.identical(one)


@pytest.mark.parametrize("law", LAWS)
def test_max_stable_lr_is_the_stability_boundary(law: str) -> None:
    """Just below ``max_stable_lr`` the sweep says stable, just above it unstable."""
    ds = sweep(StabilityAnalysis(), {"law": [law], "workers": [8], "lr": [0.01]},
               executor="serial")
    edge = float(ds["max_stable_lr"].squeeze())
    if not np.isfinite(edge):
        return
    near = sweep(StabilityAnalysis(), {"law": [law], "workers": [8],
                                       "lr": [edge * (1 - 1e-9), edge * (1 + 1e-9)]},
                 executor="serial")
    assert near["stable"].squeeze().values.tolist() == [True, False]
