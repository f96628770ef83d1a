"""A staleness threshold past every staleness a run can see is no threshold (Cluster)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde import Cluster, delays
from sdde.cluster.cluster import INERT_THRESHOLD_MASS
from sdde.cluster.staleness import mixed_poisson_pmf

LAWS = ["exponential:mean=1", "shifted-exp:shift=0.5,mean=1", "gamma:shape=0.5,mean=1",
        "lognormal:mean=1,cv=2", "pareto:shape=2.5,mean=1", "two-point:p=0.05,slowdown=10"]


def test_a_huge_threshold_is_inert_and_reported() -> None:
    c = Cluster(workers=32, threshold=10**9)
    assert c.threshold is None and c.inert_threshold == 10**9
    assert c.to_dict()["inert_threshold"] == 10**9
    assert c.staleness("poisson").mean == Cluster(workers=32).staleness("poisson").mean


def test_a_threshold_that_drops_gradients_is_kept() -> None:
    c = Cluster(workers=32, threshold=40)
    assert c.threshold == 40 and c.inert_threshold is None
    assert c.acceptance() < 1


@settings(max_examples=40, deadline=None)
@given(spec=st.sampled_from(LAWS), n=st.integers(1, 300),
       k=st.integers(0, 5000))
def test_an_inert_threshold_drops_less_than_the_inert_mass(spec: str, n: int, k: int) -> None:
    """Whenever the cluster calls K inert, the Poisson staleness beyond K, computed
    directly, is below the inert mass (the bound is conservative: factor 2 on the
    quantile's Poisson count)."""
    law = delays.parse(spec)
    c = Cluster(workers=n, delay=law, threshold=k)
    if c.inert_threshold is None:
        return
    other_rate = (n - 1) / law.mean
    beyond = 1.0 - float(mixed_poisson_pmf(law, other_rate, k).sum())
    assert beyond < INERT_THRESHOLD_MASS


@pytest.mark.parametrize("spec", LAWS)
def test_thresholds_just_past_the_tail_are_inert(spec: str) -> None:
    """Far enough out every law's threshold becomes inert (the check is not vacuous)."""
    c = Cluster(workers=8, delay=delays.parse(spec), threshold=10**7)
    assert c.inert_threshold == 10**7
