"""Table: step policies × round-time laws → κ*, speed-optimal workers, measured threshold.

For 16 workers: the SDDE's divergence threshold ``κ*`` of each policy's kernel, the
discrete-time model's, the exact simulator's measured threshold (per-replica bisection,
3 replicas, 20 000 updates, 1 % brackets; the mean of the replicas' brackets), and the
worker count whose slowest mode decays fastest at ``η = 0.01``, ``h = 1``. Writes
``figures/out/policy_table.md``; tests/test_step_policies.py pins the agreement the table
shows (SDDE within 10 %, discrete within 5 % of the simulator).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import write_table
from sdde import AsyncSGDModel, Cluster, HessianSpectrum, StepPolicy, analyze_stability, delays
from sdde.stability import critical_kappa
from sdde.validate import measured_threshold

WORKERS = 16
LAWS = ("shifted-exp:shift=0.5,mean=1", "gamma:shape=2,mean=1", "lognormal:mean=1,cv=0.5")
POLICIES = ("constant", "tail:0.5", "tail:1", "exponential:0.05", "geometric:0.9", "inverse")
OUT = Path(__file__).parent / "out" / "policy_table.md"


def row(law: str, spec: str) -> str:
    """One table row."""
    cluster = Cluster(workers=WORKERS, delay=delays.parse(law))
    model = AsyncSGDModel(lr=0.01, cluster=cluster, spectrum=HessianSpectrum.parse("1"),
                          policy=StepPolicy.for_cluster(spec, cluster))
    kappa_star = critical_kappa(model.kernel)
    report = analyze_stability(model)
    discrete = report.discrete
    measured = measured_threshold(model, rng=np.random.default_rng(0), replicas=3,
                                  rel_tol=0.01)
    truth = float(np.mean(measured.replica_kappas))
    disc = "–" if discrete is None else f"{discrete.critical_lr * WORKERS:.3f}"
    return (f"| `{law}` | `{spec}` | {kappa_star:.3f} | {disc} | {truth:.3f} | "
            f"{100 * (kappa_star / truth - 1):+.1f} % | {report.optimal_workers} |")


def table() -> str:
    """The table as Markdown."""
    head = ("| law | policy | κ* (SDDE) | κ* (discrete) | κ measured (simulator) | "
            "SDDE error | fastest workers (η = 0.01) |")
    rule = "| --- | --- | --- | --- | --- | --- | --- |"
    return "\n".join([head, rule, *(row(law, spec) for law in LAWS for spec in POLICIES)])


def main() -> None:
    """Write and print the table."""
    write_table(table(), OUT)


if __name__ == "__main__":
    main()
