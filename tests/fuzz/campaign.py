"""A fuzz campaign: N generated command lines (or library calls), counts per class.

    python tests/fuzz/campaign.py --examples 2000 --jobs 2 --log fuzz.jsonl
    python tests/fuzz/campaign.py --api --examples 2000

Each command line (``--api``: each call of a public function) runs in a forked child of
a warm process (imports done, compiled kernels built) with a wall-clock budget; see
tests/fuzz/fuzz_harness.py for the classes. Example ``i`` is drawn from its own seed
``(--seed, i)``, so a campaign is reproducible and any one example can be rerun alone.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from api_harness import api_call, run_call
from fuzz_harness import (
    BUDGET_SECONDS,
    CLASSES,
    classify,
    command_line,
    run_isolated,
    trace_files,
    warm_up,
)

_SPACE: dict[str, object] = {}


def _run_one(job: tuple[int, bool]) -> dict:
    i, api = job
    rng = random.Random(f"{_SPACE['seed']}-{i}")
    traces, plots, budget = _SPACE["traces"], _SPACE["plots"], _SPACE["budget"]
    if api:
        label, fn = api_call(rng, traces)  # type: ignore[arg-type]
        kind, reason, seconds = run_call((label, fn), budget=budget)  # type: ignore[arg-type]
        return {"i": i, "call": label, "class": kind, "reason": reason,
                "seconds": round(seconds, 2)}
    argv = command_line(rng, traces, plots)  # type: ignore[arg-type]
    outcome = run_isolated(argv, budget=budget, ascii_stdout=i % 7 == 3)  # type: ignore
    kind, reason = classify(outcome)
    return {"i": i, "call": " ".join(argv), "ascii": i % 7 == 3, "class": kind,
            "reason": reason, "code": outcome.code, "seconds": round(outcome.seconds, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--budget", type=float, default=BUDGET_SECONDS)
    parser.add_argument("--api", action="store_true", help="fuzz the Python entry points")
    parser.add_argument("--log", type=Path, default=None, help="one JSON line per example")
    parser.add_argument("--only", type=Path, default=None,
                        help="rerun the examples of this log whose class was not ok/refused")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sdde-fuzz-") as tmp:
        _SPACE.update(traces=trace_files(Path(tmp)), plots=Path(tmp) / "plots",
                      budget=args.budget, seed=args.seed)
        warm_up()
        counts: collections.Counter[str] = collections.Counter()
        examples: dict[str, list[dict]] = collections.defaultdict(list)
        start = time.monotonic()
        log = args.log.open("w") if args.log else None
        indices = range(args.examples) if args.only is None else [
            row["i"] for row in map(json.loads, args.only.read_text().splitlines())
            if row["class"] not in ("ok", "refused")]
        jobs = [(i, args.api) for i in indices]
        with multiprocessing.get_context("fork").Pool(args.jobs, maxtasksperchild=50) as pool:
            for n, row in enumerate(pool.imap_unordered(_run_one, jobs), 1):
                counts[row["class"]] += 1
                examples[row["class"]].append(row)
                if log:
                    log.write(json.dumps(row) + "\n")
                    log.flush()
                if n % 50 == 0:
                    print(f"{n}/{len(jobs)} in {time.monotonic() - start:.0f} s: "
                          f"{dict(counts)}", file=sys.stderr, flush=True)
        if log:
            log.close()
    what = "library calls" if args.api else "command lines"
    print(f"{len(jobs)} {what} in {time.monotonic() - start:.0f} s")
    for kind in CLASSES:
        print(f"  {kind:22s} {counts[kind]}")
    for kind in CLASSES[2:]:
        for row in examples[kind][:15]:
            print(f"[{kind}] #{row['i']} {row['call']}  ->  {row['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
