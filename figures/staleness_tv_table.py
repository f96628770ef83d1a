"""Table: total-variation distance between the Poisson-approximated and exact staleness laws.

For n ∈ {2, 4, 16, 64, 256} workers and four round-time laws of mean 1 whose exact
staleness law sdde computes by renewal theory (no Monte Carlo noise). Writes
``figures/out/staleness_tv.md`` and prints it; docs/staleness.md quotes it, and
tests/test_docs_tables.py checks that the quoted numbers are still what the code gives.
"""

from __future__ import annotations

from pathlib import Path

from figures import write_table
from sdde import Cluster, delays

WORKERS = (2, 4, 16, 64, 256)
LAWS = (
    "deterministic:value=1",
    "shifted-exp:shift=0.5,mean=1",
    "gamma:shape=2,mean=1",
    "two-point:p=0.05,slowdown=10,mean=1",
)
OUT = Path(__file__).parent / "out" / "staleness_tv.md"


def total_variation(spec: str, n: int) -> float:
    """TV distance between ``Cluster.staleness('poisson')`` and the exact (renewal) law."""
    cluster = Cluster(workers=n, delay=delays.parse(spec))
    assert cluster.renewal_exact, spec
    return cluster.staleness("poisson").total_variation(cluster.staleness("exact"))


def table() -> str:
    """The table as Markdown."""
    head = "| round-time law (mean 1) | cv | " + " | ".join(f"n = {n}" for n in WORKERS) + " |"
    rule = "| --- | --- | " + " | ".join("---" for _ in WORKERS) + " |"
    rows = []
    for spec in LAWS:
        cv = delays.parse(spec).cv
        cells = " | ".join(f"{total_variation(spec, n):.4f}" for n in WORKERS)
        rows.append(f"| `{spec}` | {cv:.3g} | {cells} |")
    return "\n".join([head, rule, *rows])


def main() -> None:
    """Write and print the table."""
    write_table(table(), OUT)


if __name__ == "__main__":
    main()
