"""``sdde.cli.cluster_report``: the report gathers the Cluster's own figures and renders them.

The oracle is the :class:`~sdde.cluster.cluster.Cluster` itself (the report computes nothing of
its own) plus closed forms: ``Λ = n / E[X]`` and a mean staleness of ``n − 1`` without a
threshold. Simulated laws use a fixed seed and few gradients.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from sdde.cli.cluster_report import DEFAULT_UPDATES, ClusterReport, analyze_cluster
from sdde.cluster.cluster import Cluster, RunTime, SharedLink, WorkerGroup
from sdde.cluster.staleness import StalenessLaw
from sdde.delays import parse

SEED = 12345


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


@pytest.fixture
def renewal_cluster() -> Cluster:
    """Exact law in closed form (gamma rounds, no threshold)."""
    return Cluster(workers=16, delay=parse("gamma:shape=2,mean=1"))


@pytest.fixture
def simulated_cluster() -> Cluster:
    """Exact law only by simulation (lognormal rounds)."""
    return Cluster(workers=8, delay=parse("lognormal:mean=1,cv=1"))


@pytest.fixture
def threshold_cluster() -> Cluster:
    return Cluster(workers=16, delay=parse("shifted-exp:shift=0.5,mean=1"), threshold=10)


def assert_same_law(a: StalenessLaw, b: StalenessLaw) -> None:
    assert a.method == b.method
    assert a.mean == b.mean
    assert a.var == b.var or (math.isnan(a.var) and math.isnan(b.var))
    assert a.tail_mass == b.tail_mass
    assert a.n_samples == b.n_samples
    np.testing.assert_array_equal(a.probabilities, b.probabilities)


def strict_roundtrip(d: dict) -> dict:
    """JSON without NaN/Infinity, parsed back strictly."""
    text = json.dumps(d, allow_nan=False)

    def reject(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=reject)


# ------------------------------------------------------------------ fields


def test_fields_equal_the_clusters_own(renewal_cluster: Cluster) -> None:
    report = analyze_cluster(renewal_cluster, updates=2_500, exact=True)
    assert isinstance(report, ClusterReport)
    assert report.cluster is renewal_cluster
    assert report.arrival_rate == renewal_cluster.arrival_rate == pytest.approx(16.0)
    assert report.accepted_rate == renewal_cluster.accepted_rate
    assert report.run_time == renewal_cluster.run_time(2_500)
    assert report.run_time.updates == 2_500
    assert report.sync_round_time == renewal_cluster.sync_round_time
    assert_same_law(report.staleness, renewal_cluster.staleness("poisson"))
    assert report.staleness_exact is not None
    assert_same_law(report.staleness_exact, renewal_cluster.staleness("exact"))
    assert report.staleness.mean == pytest.approx(15.0, rel=1e-9)
    assert report.staleness_exact.mean == 15.0
    assert report.staleness_exact.method == "renewal"


def test_default_updates(renewal_cluster: Cluster) -> None:
    report = analyze_cluster(renewal_cluster, exact=False)
    assert report.run_time.updates == DEFAULT_UPDATES
    assert report.run_time.mean == pytest.approx(DEFAULT_UPDATES / 16, rel=1e-12)


def test_heterogeneous_groups_and_link() -> None:
    link = SharedLink(message_size=1.0, capacity=100.0)
    cluster = Cluster(workers=[WorkerGroup(workers=24, delay=parse("gamma:shape=4,mean=1")),
                               (8, parse("exponential:mean=3"))], link=link)
    report = analyze_cluster(cluster, exact=False)
    comm = 32 / 100
    assert report.arrival_rate == pytest.approx(24 / (1 + comm) + 8 / (3 + comm), rel=1e-12)
    assert report.arrival_rate == cluster.arrival_rate
    assert report.staleness.mean == pytest.approx(31.0, rel=1e-9)
    assert f"shared link adds {comm:.4g} per round" in report.summary()


def test_simulated_exact_law_uses_rng_and_n_gradients(simulated_cluster: Cluster) -> None:
    a = analyze_cluster(simulated_cluster, rng=np.random.default_rng(SEED), n_gradients=5_000)
    b = analyze_cluster(simulated_cluster, rng=np.random.default_rng(SEED), n_gradients=5_000)
    c = analyze_cluster(simulated_cluster, rng=np.random.default_rng(SEED + 1),
                        n_gradients=5_000)
    assert a.staleness_exact is not None and b.staleness_exact is not None
    assert c.staleness_exact is not None
    assert a.staleness_exact.method == "simulation"
    assert_same_law(a.staleness_exact, b.staleness_exact)
    assert not np.array_equal(a.staleness_exact.probabilities, c.staleness_exact.probabilities)
    # "Approximately n_gradients" gradients are observed.
    assert a.staleness_exact.n_samples is not None
    assert 4_000 <= a.staleness_exact.n_samples <= 6_000
    # Equals the Cluster's own simulated law from the same stream.
    direct = simulated_cluster.staleness("exact", rng=np.random.default_rng(SEED),
                                         n_gradients=5_000)
    assert_same_law(a.staleness_exact, direct)


def test_simulated_exact_law_without_rng_raises(simulated_cluster: Cluster) -> None:
    with pytest.raises(ValueError, match=r"pass rng="):
        analyze_cluster(simulated_cluster, exact=True)


def test_threshold_exact_law_without_rng_raises(threshold_cluster: Cluster) -> None:
    with pytest.raises(ValueError, match=r"rng"):
        analyze_cluster(threshold_cluster)


def test_no_rng_needed_without_exact_or_with_closed_form(simulated_cluster: Cluster,
                                                         renewal_cluster: Cluster) -> None:
    assert analyze_cluster(simulated_cluster, exact=False).staleness_exact is None
    assert analyze_cluster(renewal_cluster, exact=True).staleness_exact is not None


def test_invalid_updates_raises(renewal_cluster: Cluster) -> None:
    with pytest.raises(ValueError, match="updates"):
        analyze_cluster(renewal_cluster, updates=0, exact=False)


def test_report_is_frozen(renewal_cluster: Cluster) -> None:
    report = analyze_cluster(renewal_cluster, exact=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.arrival_rate = 1.0  # type: ignore[misc]


# ------------------------------------------------------- total variation, acceptance


def test_total_variation_none_without_exact(renewal_cluster: Cluster) -> None:
    report = analyze_cluster(renewal_cluster, exact=False)
    assert report.staleness_exact is None
    assert report.total_variation is None


def test_total_variation_with_exact(renewal_cluster: Cluster) -> None:
    report = analyze_cluster(renewal_cluster)
    assert report.staleness_exact is not None
    expected = report.staleness.total_variation(report.staleness_exact)
    assert report.total_variation == expected
    assert 0 < expected < 1
    # Symmetric, and a law is at distance (about) zero from itself.
    assert report.staleness_exact.total_variation(report.staleness) == pytest.approx(expected)
    assert report.staleness.total_variation(report.staleness) < 1e-9


def test_acceptance_is_one_without_threshold(renewal_cluster: Cluster) -> None:
    report = analyze_cluster(renewal_cluster)
    assert report.acceptance(report.staleness) == 1.0
    assert report.staleness_exact is not None
    assert report.acceptance(report.staleness_exact) == 1.0


def test_acceptance_under_threshold(threshold_cluster: Cluster, rng: np.random.Generator) -> None:
    report = analyze_cluster(threshold_cluster, rng=rng, n_gradients=4_000)
    assert report.staleness_exact is not None
    for law in (report.staleness, report.staleness_exact):
        accepted = report.acceptance(law)
        assert accepted == float(law.cdf(10))
        assert 0 < accepted < 1
    assert report.acceptance(report.staleness) == pytest.approx(
        threshold_cluster.acceptance("poisson"), rel=1e-12)
    assert 0 < report.accepted_rate < report.arrival_rate


# ------------------------------------------------------------------- summary


def test_summary_formats_the_numbers(renewal_cluster: Cluster) -> None:
    report = analyze_cluster(renewal_cluster, updates=3_000)
    text = report.summary()
    assert isinstance(text, str)
    assert "cluster: 16 workers" in text
    assert f"arrival rate        {report.arrival_rate:.4g} gradients per time unit" in text
    assert (f"{report.run_time.mean:.4g} ± {report.run_time.std:.2g} time units "
            f"for 3000 updates") in text
    assert f"synchronous round   {report.sync_round_time:.4g} time units" in text
    lines = text.splitlines()
    exact = report.staleness_exact
    assert exact is not None
    for label, law in (("Poisson approximation", report.staleness),
                       ("exact (renewal theory)", exact)):
        row = next(line for line in lines if line.strip().startswith(label))
        cells = row.split()
        assert f"{law.mean:.4g}" in cells
        assert f"{law.std:.4g}" in cells
        assert str(int(law.quantile(0.5))) in cells
        assert str(int(law.quantile(0.99))) in cells
    assert report.total_variation is not None
    assert f"total variation between them: {report.total_variation:.4f}" in text
    assert "threshold" not in text


def test_summary_without_exact_has_one_row(renewal_cluster: Cluster) -> None:
    text = analyze_cluster(renewal_cluster, exact=False).summary()
    assert "Poisson approximation" in text
    assert "exact" not in text
    assert "total variation" not in text


def test_summary_threshold_and_simulation(threshold_cluster: Cluster,
                                          rng: np.random.Generator) -> None:
    report = analyze_cluster(threshold_cluster, rng=rng, n_gradients=3_000)
    exact = report.staleness_exact
    assert exact is not None
    text = report.summary()
    assert (f"staleness cut-off K=10: accepted fraction {report.acceptance(report.staleness):.4f} "
            f"(Poisson), {report.acceptance(exact):.4f} (exact)") in text
    assert "exact (simulated)" in text
    assert f"(from {exact.n_samples} simulated gradients)" in text


# ------------------------------------------------------------------- to_dict


def test_to_dict_is_strict_json(renewal_cluster: Cluster) -> None:
    report = analyze_cluster(renewal_cluster)
    data = strict_roundtrip(report.to_dict())
    cluster = data["cluster"]
    assert cluster["arrival_rate"] == report.arrival_rate
    assert cluster["accepted_rate"] == report.accepted_rate
    assert cluster["acceptance"] == 1.0
    assert cluster["run_time"] == report.run_time.to_dict()
    assert cluster["sync_round_time"] == report.sync_round_time
    assert cluster["staleness"]["mean"] == report.staleness.mean
    assert cluster["staleness"]["var"] == report.staleness.var
    assert cluster["staleness_exact"]["method"] == "renewal"
    assert cluster["staleness_exact"]["acceptance"] == 1.0
    assert cluster["staleness_total_variation"] == report.total_variation
    assert sum(cluster["staleness"]["pmf"]) >= 1 - 1e-9
    assert cluster["workers"] == 16
    assert cluster["threshold"] is None and cluster["link"] is None


def test_to_dict_without_exact(renewal_cluster: Cluster) -> None:
    data = strict_roundtrip(analyze_cluster(renewal_cluster, exact=False).to_dict())
    assert data["cluster"]["staleness_exact"] is None
    assert data["cluster"]["staleness_total_variation"] is None


def test_to_dict_threshold(threshold_cluster: Cluster, rng: np.random.Generator) -> None:
    report = analyze_cluster(threshold_cluster, rng=rng, n_gradients=3_000)
    data = strict_roundtrip(report.to_dict())
    assert data["cluster"]["threshold"] == 10
    assert data["cluster"]["acceptance"] == report.acceptance(report.staleness)
    assert report.staleness_exact is not None
    assert (data["cluster"]["staleness_exact"]["acceptance"]
            == report.acceptance(report.staleness_exact))
    assert data["cluster"]["staleness_exact"]["n_samples"] == report.staleness_exact.n_samples


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_to_dict_heavy_tail_uses_null() -> None:
    cluster = Cluster(workers=8, delay=parse("pareto:shape=1.5"))
    report = analyze_cluster(cluster, exact=False)
    assert math.isinf(report.staleness.var)
    assert math.isinf(report.run_time.std)
    data = strict_roundtrip(report.to_dict())
    assert data["cluster"]["staleness"]["var"] is None
    assert data["cluster"]["run_time"]["std"] is None
    assert data["cluster"]["run_time"]["mean"] == pytest.approx(DEFAULT_UPDATES / 8)
    assert "inf" in report.summary()  # the terminal table may show infinity


def test_run_time_record(renewal_cluster: Cluster) -> None:
    report = analyze_cluster(renewal_cluster, updates=100, exact=False)
    assert isinstance(report.run_time, RunTime)
    assert report.run_time.to_dict() == {"updates": 100, "mean": report.run_time.mean,
                                         "std": report.run_time.std}


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_single_worker_heavy_tail_staleness_is_zero() -> None:
    with np.errstate(all="raise"):
        report = analyze_cluster(Cluster(workers=1, delay=parse("pareto:shape=1.5")),
                                 exact=False)
    assert report.staleness.mean == 0.0
    assert report.staleness.var == 0.0


def test_analysis_runs_with_floating_point_errors_raised(renewal_cluster: Cluster) -> None:
    with np.errstate(all="raise"):
        report = analyze_cluster(renewal_cluster)
    assert report.staleness.mean == pytest.approx(15.0, rel=1e-9)
