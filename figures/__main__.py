"""Regenerate every figure and table into figures/out/.

``python -m figures`` makes all of them at full quality; ``--fast`` makes the quick
versions (coarse grids, few replicas; the validation table's five-minute run is skipped,
the staleness table is exact and fast anyway); ``python -m figures NAME ...`` makes
some (names as listed by ``--help``). Each output path is printed with its time.
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from figures import OUT_DIR

#: Figure modules: ``main(out_dir, *, fast) -> list[Path]``.
FIGURES = (
    "stability_region",
    "convergence_speed",
    "policies",
    "kappa_vs_cv",
    "staleness_pmfs",
    "staleness_models",
    "momentum_synchrony",
    "trajectories",
    "validation_figure",
    "injection",
    "sparsification",
    "divergence_table",
    "schedule_validation",
)
#: Table modules: ``main() -> None``, writing to their module's ``OUT`` (and, for the
#: validation table, into docs/validation.md).
TABLES = ("staleness_tv_table", "policy_table", "validation_table")
#: Tables skipped by ``--fast``.
SLOW_TABLES = ("validation_table",)
ALL = TABLES + FIGURES


def run(name: str, *, fast: bool, out_dir: Path = OUT_DIR,
        made: dict[str, Any] | None = None) -> list[Path]:
    """Make one artefact; return its output paths.

    ``made`` collects what the tables return, so that the validation figure draws the
    validation table just computed instead of running the five-minute validation again.
    """
    made = {} if made is None else made
    module = importlib.import_module(f"figures.{name}")
    if name in TABLES:
        made[name] = module.main()
        return [Path(module.OUT)]
    if name == "validation_figure" and not fast and made.get("validation_table") is not None:
        return list(module.main(out_dir, fast=fast, table=made["validation_table"]))
    return list(module.main(out_dir, fast=fast))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and make the requested artefacts."""
    parser = argparse.ArgumentParser(prog="python -m figures", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"artefacts to make (default: all): {', '.join(ALL)}")
    parser.add_argument("--fast", action="store_true",
                        help="quick versions (all figures in well under a minute)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in ALL]
    if unknown:
        parser.error(f"unknown {', '.join(unknown)}; choose from {', '.join(ALL)}")
    names = args.names or [n for n in ALL if not (args.fast and n in SLOW_TABLES)]
    start = time.monotonic()
    made: dict[str, Any] = {}
    for name in names:
        began = time.monotonic()
        paths = run(name, fast=args.fast, made=made)
        seconds = time.monotonic() - began
        for path in paths:
            print(f"{seconds:7.1f} s  {name:<20} {path}", flush=True)
    print(f"{time.monotonic() - start:7.1f} s  total", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
