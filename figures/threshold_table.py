"""Table: the divergence threshold measured by the reference simulator against the SDDE's κ*.

For n ∈ {4, 16, 64, 256} workers and six round-time laws of mean 1, one Hessian mode,
no gradient noise: ``sdde.validate.measured_threshold`` (bisection on the learning rate,
40 000 updates, 5 replicas, bracket 5e-3 wide, seed 1) next to ``sdde.critical_kappa`` of
the model's kernel, with the SDDE's relative error. Writes ``figures/out/thresholds.md``
and prints it (about 10 s).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from figures import write_table
from sdde import AsyncSGDModel, Cluster, HessianSpectrum, critical_kappa, delays
from sdde.validate import measured_threshold

WORKERS = (4, 16, 64, 256)
LAWS = (
    "deterministic:value=1",
    "shifted-exp:shift=0.5,mean=1",
    "gamma:shape=2,mean=1",
    "uniform:low=0,high=2",
    "lognormal:mean=1,cv=0.5",
    "exponential:mean=1",
)
OUT = Path(__file__).parent / "out" / "thresholds.md"


def cell(spec: str, n: int) -> str:
    """``simulated κ (SDDE error)`` for one law and worker count."""
    model = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=n, delay=delays.parse(spec)),
                          spectrum=HessianSpectrum.parse("1"), noise=0.0)
    measured = measured_threshold(model, rng=np.random.default_rng(1), n_updates=40_000,
                                  rel_tol=5e-3).kappa
    predicted = critical_kappa(model.kernel)
    if math.isinf(predicted):
        return f"{measured:.3g} (SDDE: ∞)"
    return f"{measured:.3g} ({(predicted - measured) / measured:+.1%})"


def table() -> str:
    """The table as Markdown."""
    head = "| round-time law (mean 1) | " + " | ".join(f"n = {n}" for n in WORKERS) + " |"
    rule = "| --- | " + " | ".join("---" for _ in WORKERS) + " |"
    rows = [f"| `{spec}` | " + " | ".join(cell(spec, n) for n in WORKERS) + " |"
            for spec in LAWS]
    return "\n".join([head, rule, *rows])


def main() -> None:
    """Write and print the table."""
    write_table(table(), OUT)


if __name__ == "__main__":
    main()
