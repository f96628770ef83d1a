"""Outside-in fuzzing of the Python entry points (the library behind ``sdde-analyze``).

:func:`api_call` draws one call of a public function with values from the same space as
the command-line fuzz (tests/fuzz/fuzz_harness.py): ``sdde.delays.parse`` and the law's
moments, quantiles and transform; ``Cluster`` and its arrival rate, run time, synchronous
round and staleness laws; ``analyze_stability``; ``critical_kappa``; ``simulate``.
:func:`run_call` runs it in a forked child with a budget. The classes are the command
line's: a ``ValueError`` of one line is a refusal (the library's way of exit 2), any other
exception an internal error, a warning a leaked warning, and a result that breaks an
invariant (a probability outside [0, 1], a negative time, a mean below the smallest round,
a report that contradicts itself) nonsense.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fuzz_harness import BUDGET_SECONDS, _check_json, _delays, run_function

#: One call: a label for the report and the function the child runs (it returns a list
#: of invariant violations, empty if none).
Call = tuple[str, Callable[[], list[str]]]


def api_call(rng: random.Random, traces: dict[str, Path]) -> Call:
    """A random call of a public entry point."""
    def pick(ok: list[Any], bad: list[Any]) -> Any:
        return rng.choice(bad if rng.random() < 0.1 else ok)

    spec = pick(*_delays(traces))
    workers = pick([1, 2, 7, 32, 100, 1000, 10000], [0, -1])
    lr = pick([0.01, 1e-6, 0.05, 0.3, 5.0, 1e-12, 1e-30, 1e30],
              [1e200, 5e-324, 0.0, -1.0, math.nan, math.inf])
    hessian = pick([[1.0], [0.1, 1.0, 10.0], [1e-12], [1e12], [1e-30, 1e30]],
                   [[5e-324], [1e300], [0.0], [-1.0]])
    threshold = pick([None, None, None, 0, 1, 5, 40, 10**9], [-1])
    noise = pick([0.0, 0.0, 0.5, 1e-30, 1e30], [1e300, 5e-324, -1.0, math.nan])
    target = pick([None, None, 0.01, 1e-300, 1e300], [0.0, math.nan])
    x0 = pick([1.0, 1.0, 0.0, 1e-30, 1e30], [1e200, -1.0])
    kind = rng.choice(["law"] * 3 + ["cluster"] * 3 + ["stability"] * 3
                      + ["critical", "simulate"])
    label = (f"{kind}: spec={spec!r} workers={workers} lr={lr!r} hessian={hessian} "
             f"threshold={threshold} noise={noise!r} target={target!r} x0={x0!r}")

    def law_call() -> list[str]:
        from sdde import delays

        law = delays.parse(spec)
        problems: list[str] = []
        mean, var = law.mean, law.var
        _need(problems, math.isfinite(mean) and mean > 0, f"mean {mean}")
        _need(problems, var >= 0, f"variance {var}")
        for p in (1e-9, 0.5, 0.99, 1 - 1e-9):
            q = float(law.quantile(p))
            _need(problems, q >= 0 and not math.isnan(q), f"quantile({p}) = {q}")
            c = float(law.cdf(q))
            _need(problems, 0 <= c <= 1, f"cdf = {c}")
        for s in (1e-3 / mean, 1.0 / mean, 30.0 / mean):
            phi = complex(law.laplace(s))
            _need(problems, 0 <= phi.real <= 1 + 1e-12, f"laplace({s:g}) = {phi}")
        return problems

    def cluster_call() -> list[str]:
        import numpy as np

        from sdde import Cluster, delays

        cluster = Cluster(workers=workers, delay=delays.parse(spec), threshold=threshold)
        problems: list[str] = []
        _need(problems, cluster.arrival_rate > 0, f"arrival rate {cluster.arrival_rate}")
        run = cluster.run_time(10_000)
        _need(problems, run.mean >= 0 and run.std >= 0, f"run time {run}")
        sync = cluster.sync_round_time
        largest = max(g.delay.mean for g in cluster.groups)
        _need(problems, sync >= largest * (1 - 1e-9), f"sync round {sync} < mean {largest}")
        for method in ("poisson", "exact"):
            law = cluster.staleness(method, rng=np.random.default_rng(0),
                                    n_gradients=max(3000, 10 * cluster.n_workers))
            p = law.probabilities
            _need(problems, p.size > 0 and bool(np.all(p >= 0)), f"{method}: pmf {p[:5]}")
            total = float(p.sum()) + law.tail_mass
            _need(problems, abs(total - 1) < 1e-6, f"{method}: mass {total}")
            _need(problems, law.mean >= 0, f"{method}: mean {law.mean}")
        return problems

    def stability_call() -> list[str]:
        from sdde import AsyncSGDModel, Cluster, HessianSpectrum, analyze_stability, delays

        model = AsyncSGDModel(lr=lr, cluster=Cluster(workers=workers, delay=delays.parse(spec),
                                                     threshold=threshold),
                              spectrum=HessianSpectrum(eigenvalues=hessian), noise=noise)
        report = analyze_stability(model, target_loss=target, initial_error=x0)
        data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
        problems: list[str] = []
        _check_json({"stability": data, "inputs": {"lr": lr}}, problems)
        return problems

    def critical_call() -> list[str]:
        from sdde import critical_kappa, delays

        kappa = critical_kappa(delays.parse(spec))
        return [] if kappa > 0 else [f"critical kappa {kappa}"]

    def simulate_call() -> list[str]:
        import numpy as np

        from sdde import AsyncSGDModel, Cluster, HessianSpectrum, delays, simulate

        model = AsyncSGDModel(lr=lr, cluster=Cluster(workers=workers, delay=delays.parse(spec),
                                                     threshold=threshold),
                              spectrum=HessianSpectrum(eigenvalues=hessian), noise=noise)
        result = simulate(model, n_updates=rng_updates, rng=np.random.default_rng(0),
                          replicas=2, theta0=x0)
        problems: list[str] = []
        _need(problems, bool(np.all(result.staleness[result.accepted] >= 0)), "staleness < 0")
        return problems

    rng_updates = rng.choice([1, 2, 100, 10_000])
    calls = {"law": law_call, "cluster": cluster_call, "stability": stability_call,
             "critical": critical_call, "simulate": simulate_call}
    return label, calls[kind]


def _need(problems: list[str], condition: bool, message: str) -> None:
    if not condition:
        problems.append(message)


def run_call(call: Call, *, budget: float = BUDGET_SECONDS) -> tuple[str, str, float]:
    """Run one call in isolation: its class, a one-line reason and the seconds it took."""
    _label, fn = call
    start = time.monotonic()
    outcome = run_function(_as_exit_code(fn), budget=budget)
    seconds = time.monotonic() - start
    err = outcome.err.strip()
    if outcome.signal is not None or outcome.code not in (None, 0, 2, 3):
        return "internal-error", (err.splitlines() or [f"signal {outcome.signal}"])[-1], seconds
    if outcome.code is None:
        return "over-budget", f"no answer in {seconds:.0f} s", seconds
    if outcome.code == 2:
        lines = err.splitlines()
        return ("refused" if len(lines) == 1 else "refusal-not-one-line"), err[:300], seconds
    if outcome.code == 3:
        return "nonsense", outcome.out.strip()[:300], seconds
    if err:
        return "leaked-warning", err[:300], seconds
    return "ok", "", seconds


def _as_exit_code(fn: Callable[[], list[str]]) -> Callable[[], int]:
    def run() -> int:
        import sys
        import warnings

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                problems = fn()
            except ValueError as exc:
                print(str(exc), file=sys.stderr)
                return 2
            except Exception as exc:  # an internal error: the report names it
                print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
                return 1
        for w in caught:
            print(f"{w.category.__name__}: {w.message} ({os.path.basename(w.filename)}:"
                  f"{w.lineno})", file=sys.stderr)
        if problems:
            print("; ".join(problems[:3]))
            return 3
        return 0

    return run


def describe(result: tuple[str, str, float]) -> dict[str, Any]:
    """A JSON-ready row of a campaign log."""
    kind, reason, seconds = result
    return {"class": kind, "reason": reason, "seconds": round(seconds, 2)}
