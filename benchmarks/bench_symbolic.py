"""Symbolic theory benchmark (issue 4): the time to derive every result from scratch.

Run: ``.venv/bin/python benchmarks/bench_symbolic.py``. Each row is timed in a fresh
interpreter, so sympy's caches start empty; "import" is the cost of loading
``sdde.symbolic`` (sympy included) alone. The last lines compare a cold ``sdde-analyze``
run with the same run after ``sdde.symbolic`` is imported, to show the command line never
pays for sympy, and time the numerical ``critical_kappa`` for the same kernels as the
baseline.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

RESULTS = {
    "kappa* point delay": "s.critical_kappa(s.point_delay())",
    "kappa* exponential": "s.critical_kappa(s.exponential())",
    "kappa* Erlang, symbolic k": "s.critical_kappa(s.erlang())",
    "kappa* Erlang-3 (phase)": "s.critical_kappa(s.erlang(3))",
    "kappa* Erlang-3 (Routh-Hurwitz)": "s.routh_hurwitz_threshold(s.erlang(3))",
    "kappa* uniform, symbolic a": "s.critical_kappa(s.uniform())",
    "kappa* shifted exp 1/2 (30 digits)":
        "s.critical_kappa(s.shifted_exponential(sp.Rational(1, 2)))",
    "kappa* two-point p=1/20 r=10 (30 digits)":
        "s.critical_kappa(s.two_point(sp.Rational(1, 20), 10))",
    "kappa* thinned Erlang-2 K=3 rho=5": "s.critical_kappa(s.thinned_erlang(2, 3, 5))",
    "kappa* thinned exponential K=5 rho=10": "s.critical_kappa(s.thinned_erlang(1, 5, 10))",
    "damping point delay": "s.critical_damping(s.point_delay())",
    "damping Erlang, symbolic k": "s.critical_damping(s.erlang())",
    "damping Erlang-3": "s.critical_damping(s.erlang(3))",
    "damping uniform a=1": "s.critical_damping(s.uniform(1))",
    "damping thinned Erlang-2 K=3 rho=5": "s.critical_damping(s.thinned_erlang(2, 3, 5))",
    "variance point delay": "s.stationary_variance(s.point_delay())",
    "variance exponential": "s.stationary_variance(s.exponential())",
    "variance Erlang-3": "s.stationary_variance(s.erlang(3))",
    "variance thinned exponential K=1 rho=2":
        "s.stationary_variance(s.thinned_erlang(1, 1, 2))",
    "discrete threshold, symbolic S": "s.discrete_threshold()",
}

SNIPPET = textwrap.dedent("""
    import json, time
    t0 = time.perf_counter()
    import sympy as sp
    import sdde.symbolic as s
    t1 = time.perf_counter()
    {code}
    t2 = time.perf_counter()
    print(json.dumps([t1 - t0, t2 - t1]))
""")


def _cold(code: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", SNIPPET.format(code=code)], check=True,
                         capture_output=True, text=True).stdout
    load, work = json.loads(out.strip().splitlines()[-1])
    return load, work


def _cli(preload: bool) -> float:
    code = textwrap.dedent(f"""
        import contextlib, io, sys, time
        {"import sdde.symbolic" if preload else ""}
        from sdde.cli.command import main
        t = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            main(["--workers", "32", "--lr", "0.01"])
        print(time.perf_counter() - t, "sympy" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout.split()
    return float(out[0])


def _numeric_baseline() -> float:
    code = textwrap.dedent("""
        import time
        from sdde import delays
        from sdde.model.kernels import DelayKernel
        from sdde.stability.mean_field import critical_kappa
        laws = [delays.Deterministic(value=1.0), delays.erlang(3, 1.0),
                delays.parse("uniform:low=0,high=2"),
                delays.parse("shifted-exp:shift=0.5,mean=1"),
                delays.parse("two-point:time=1,p=0.05,slowdown=10")]
        t = time.perf_counter()
        for law in laws:
            critical_kappa(law)
        critical_kappa(DelayKernel(delays.erlang(2, 1.0), threshold=3, updates_per_delay=5))
        print(time.perf_counter() - t)
    """)
    return float(subprocess.run([sys.executable, "-c", code], check=True,
                                capture_output=True, text=True).stdout.split()[0])


def main() -> None:
    print(f"{'result':44s} {'derive s':>9s}")
    total, loads = 0.0, []
    for name, code in RESULTS.items():
        load, work = _cold(code)
        loads.append(load)
        total += work
        print(f"{name:44s} {work:9.3f}")
    load = sorted(loads)[len(loads) // 2]
    print(f"{'import sdde.symbolic (median)':44s} {load:9.3f}")
    print(f"{'all results, each from a cold cache':44s} {total:9.3f}")
    numeric = _numeric_baseline()
    print(f"\nnumerical critical_kappa for the six kappa* kernels above: {numeric * 1e3:.1f} ms")
    cold, warm = _cli(False), _cli(True)
    print(f"sdde-analyze --workers 32 --lr 0.01 (in-process): {cold:.2f} s without sympy loaded,"
          f" {warm:.2f} s with sdde.symbolic imported first (ratio {warm / cold:.2f})")


if __name__ == "__main__":
    main()
