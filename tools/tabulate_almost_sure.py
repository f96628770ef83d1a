"""Tabulate the almost-sure divergence threshold κ_as of the built-in example laws.

Writes ``sdde/stability/data/almost_sure.json``, which :func:`sdde.stability.almost_sure.
tabulated_threshold` reads so that ``sdde-analyze`` answers without simulating. Every entry
is a Monte Carlo estimate of the package's own estimator (relative 95 % half-width
``--rel-tol``, seed ``--seed`` and the worker count), so the table is reproducible; the
tests compare a sample of entries with fresh estimates from other seeds.

    python tools/tabulate_almost_sure.py [--rel-tol 0.004] [--seed 0]

About 5-10 minutes on one core.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from sdde import Cluster, delays
from sdde.delays._spec_examples import DELAY_SPEC_EXAMPLES
from sdde.model.kernels import DelayKernel
from sdde.stability import almost_sure
from sdde.stability.mean_field import critical_kappa

#: Worker counts: every n up to 16, then about √2 apart.
GRID = (*range(2, 17), 20, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024)
#: Worker counts from which the √n law of exponential-like rounds is fitted.
FIT_FROM = 64


def tabulate(rel_tol: float, seed: int) -> dict:
    laws = {}
    for spec in DELAY_SPEC_EXAMPLES:
        if spec.startswith(("trace:", "deterministic:")):
            continue  # no fixed law; a closed form
        law = delays.parse(spec)
        star = critical_kappa(DelayKernel(law.normalized()))
        entry: dict = {"spec": spec, "kappa_star": star if math.isfinite(star) else None,
                       "scaling": "inverse" if math.isfinite(star) else "sqrt",
                       "n": [], "kappa": [], "half_width": []}
        for n in GRID:
            t0 = time.perf_counter()
            est = almost_sure.almost_sure_threshold(
                Cluster(workers=n, delay=law), rng=np.random.default_rng([seed, n]),
                rel_tol=rel_tol, use_table=False)
            entry["n"].append(n)
            entry["kappa"].append(est.kappa)
            entry["half_width"].append(est.half_width)
            print(f"{spec:40s} n={n:5d}  κ_as = {est.kappa:.4f} ± {est.half_width:.4f}"
                  f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
        if entry["scaling"] == "sqrt":
            ns = np.array(entry["n"], dtype=float)
            use = ns >= FIT_FROM
            hw = np.array(entry["half_width"])[use]
            design = np.column_stack([np.sqrt(ns[use]), np.ones(use.sum())])
            coef, *_ = np.linalg.lstsq(design / hw[:, None],
                                       np.array(entry["kappa"])[use] / hw, rcond=None)
            entry["sqrt_fit"] = [float(coef[0]), float(coef[1])]
        laws[str(law.normalized())] = entry
    return {"generated_by": "tools/tabulate_almost_sure.py", "rel_tol": rel_tol,
            "seed": seed, "laws": laws}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rel-tol", type=float, default=0.004)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    table = tabulate(args.rel_tol, args.seed)
    almost_sure.TABLE_PATH.parent.mkdir(exist_ok=True)
    almost_sure.TABLE_PATH.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {almost_sure.TABLE_PATH}")


if __name__ == "__main__":
    main()
