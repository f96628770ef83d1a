"""Outside-in fuzzing of ``sdde-analyze``: strange but honest command lines, run in isolation.

Three parts, used by tests/fuzz/test_fuzz_cli.py (a few examples per run, default tier),
by the nightly-style ``-m fuzz`` tier and by ``python tests/fuzz/campaign.py`` (thousands):

* :func:`command_lines`, a hypothesis strategy over the whole option space: ordinary values,
  the edges of the input contract (docs/cli.md, "Input contract") and values past them;
* :func:`run_isolated`, one command line in a forked child of the (already warm) test
  process, with a wall-clock budget, an address-space limit, stderr posing as a terminal so
  progress bars draw, and optionally an ASCII-only stdout;
* :func:`classify`, which sorts the outcome into the classes of the robustness issue:
  ``ok``, ``refused`` (exit 2, one line), ``refusal-not-one-line``, ``internal-error``
  (exit 1, a traceback or a crash), ``over-budget`` (no answer in the budget and no progress
  bar with an estimate), ``leaked-warning`` (anything on stderr on success that is not a
  progress bar or a ``note:`` line) and ``nonsense`` (exit 0, but the output breaks an
  invariant: NaN, a negative time, an empty or unnormalised law, a rightmost root that
  contradicts the certified count of unstable roots, ...).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import random
import re
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

#: Wall-clock budget of one command line (the issue's "no answer in 30 s" class).
BUDGET_SECONDS = 30.0
#: Address-space limit of a child: past it numpy raises MemoryError instead of swapping.
MEMORY_LIMIT_BYTES = 6 * 2**30

CLASSES = ("ok", "refused", "refusal-not-one-line", "internal-error", "over-budget",
           "leaked-warning", "nonsense")


# --------------------------------------------------------------------------- the space
def trace_files(directory: Path) -> dict[str, Path]:
    """Trace files of every kind a user might hand over, written once into ``directory``."""
    import numpy as np

    rng = np.random.default_rng(0)
    files = {
        "small": "\n".join(f"{x:.6g}" for x in rng.gamma(2.0, 0.5, 200)),
        "huge-value": "0.5\n1.0\n1e300\n0.7\n",
        "one-value": "1.0\n",
        "zeros": "0\n0\n1\n",
        "negative": "1\n-1\n2\n",
        "empty": "",
        "words": "fast\nslow\n",
        "csv-commas": "0.5,1.0,1.5\n2.0,0.25\n",
        "comments": "# round times in s\n0.5\n\n1.5\n",
    }
    paths = {}
    for name, text in files.items():
        path = directory / f"{name}.txt"
        path.write_text(text)
        paths[name] = path
    binary = directory / "binary.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    paths["binary"] = binary
    large = directory / "large.txt"
    np.savetxt(large, rng.lognormal(0.0, 0.5, 1_000_000), fmt="%.6g")
    paths["large"] = large
    return paths


def _delays(traces: dict[str, Path]) -> tuple[list[str], list[str]]:
    return ([
        "shifted-exp:shift=0.5,mean=1", "exponential:mean=1", "gamma:shape=2,mean=1",
        "erlang:k=3,mean=1", "deterministic:value=1", "uniform:low=0.5,high=1.5",
        "lognormal:mean=1,cv=0.5", "weibull:shape=1.5,mean=1", "pareto:shape=2.5,mean=1",
        "two-point:p=0.05,slowdown=10,mean=1",
        # the edges of the contract: scales, shapes near their limits
        "exponential:mean=1e9", "exponential:mean=1e-9", "exponential:mean=2e-9",
        "uniform:low=0.999999,high=1", "uniform:low=1e-9,high=2e-9", "pareto:shape=1.2",
        "pareto:shape=1.5", "pareto:shape=1e6", "weibull:shape=0.12", "weibull:shape=50",
        "gamma:shape=1e-4", "gamma:shape=2000", "erlang:k=5000", "lognormal:mean=1,cv=400",
        "lognormal:mean=1,cv=1e-3", "shifted-exp:shift=0.999999,mean=1",
        "shifted-exp:shift=0,mean=1", "two-point:p=1e-6,slowdown=1e5,mean=1",
        "two-point:p=0.999,slowdown=2,mean=1", "exponential:mean=+1",
        "deterministic:value=1e-9",
        *(f"trace:{p}" for p in traces.values()),
    ], [  # past the edges, or malformed
        "exponential:mean=1e150", "exponential:mean=1e-150", "exponential:mean=1e-20",
        "uniform:low=1e-300,high=2e-300", "pareto:shape=1.0000001", "pareto:shape=1.001",
        "weibull:shape=0.01", "gamma:shape=1e-8", "lognormal:mean=1,cv=1e4",
        "two-point:p=1e-9,slowdown=1e6,mean=1", "exponential:mean=1_0",
        "deterministic:value=1e-300", "nosuch:x=1", "gamma:shape=-1", "gamma:shap=2",
        "pareto:shape=1", "pareto:shape=0.5",
        "trace:/no/such/file", "", "exponential:mean=0", "uniform:low=2,high=1",
        "exponential:mean=nan", "exponential:mean=inf", "gamma:shape=2,shape=3",
        "exponential:mean=5e-324", "exponential:mean=1e308", "mixture:",
    ])


#: Each option's values: (ordinary or at the edge of the contract, past it or malformed).
VALUES: dict[str, tuple[list[str], list[str]]] = {
    "--workers": (["1", "2", "7", "32", "100", "1000", "10000", "1000000", "+8"],
                  ["0", "-3", "x", "1e3", "", "2.5", "1_000", "\u0663\u0662"]),
    "--lr": (["0.01", "1e-6", "0.05", "5", "1e-12", "1e-30", "1e30", "+0.05", "0.3",
              "3e-10", "1e4"],
             ["0.0", "-0", "nan", "inf", "abc", "1e400", "0x10", "1_000", "1e200", "5e-324",
              "1e-300"]),
    "--threshold": (["0", "1", "5", "40", "1000", "1000000000", "100000000"],
                    ["-1", "x", "1.5"]),
    "--bandwidth": (["size=1,capacity=200", "size=1e-6,capacity=1e6", "size=100,capacity=1"],
                    ["size=1", "size=0,capacity=1", "x", "size=1e300,capacity=1e-300"]),
    "--updates": (["1", "2", "100", "500", "10000", "1000000000"], ["0"]),
    "--gradients": (["1", "2", "100", "3000"], ["0"]),
    "--seed": (["0", "7", str(2**70)], ["-1"]),
    "--hessian": (["1", "0.1,1,10", "0.1:10:5:log", "1e-30", "1e30", "1e-3:1e3:10:log",
                   "0.001:1:1000:log", "1e-12", "1e12", "1,1,1", "1:2:1000000"],
                  ["0", "-1", "1:0:3", "nan", "1:2:0", "5e-324", "1e300", "1:2:1000000000"]),
    "--noise": (["0", "0.5", "1e-30", "1e30", "1e-12"], ["-1", "nan", "1e300", "5e-324"]),
    "--step-policy": (["constant", "inverse", "geometric:0.9", "exponential:0.05", "tail:0.5",
                       "mindthestep:0.1", "geometric:1e-300", "exponential:1e300"],
                      ["geometric:2", "bad", "tail:5"]),
    "--target-loss": (["0.01", "1e-9", "1e-300", "1e300", "0.5"], ["0", "nan", "1e-320"]),
    "--initial-error": (["0", "1", "1e-30", "1e30", "1e-10"], ["-1", "1e200"]),
    "--replicas": (["1", "2", "8", "100000"], ["0"]),
    "--inject": (["0", "1", "16", "2000"], ["2001"]),
    "--sparsify": (["random:0.1", "top:0.01:ef", "random:1"], ["random:0", "top:2", "x"]),
    "--dim": (["1", "10", "1000000"], ["0"]),
    "--margin": (["0", "0.2", "0.99"], ["1", "-0.1"]),
    "--cutoffs": (["none", "auto", "none,10,40", "0"], ["x"]),
    "--policies": (["constant", "constant,tail:0.5", "inverse,geometric:0.9"], ["bad", ""]),
}
#: How likely each optional option is to appear.
PROBABILITY = {"--threshold": 0.25, "--bandwidth": 0.08, "--updates": 0.25,
               "--gradients": 0.3, "--seed": 0.1, "--hessian": 0.4, "--noise": 0.3,
               "--step-policy": 0.25, "--target-loss": 0.3, "--initial-error": 0.2}
#: The mode of a command line: the plain report most often, or one of the heavier jobs.
MODES = ("report",) * 12 + ("simulate",) * 3 + ("sweep", "optimize", "plot", "inject",
                                                 "sparsify")
#: Chance that a value is drawn from the malformed side.
P_INVALID = 0.04


def command_line(rng: random.Random, traces: dict[str, Path], plot_dir: Path) -> list[str]:
    """A command line over the whole option space, options in any order."""
    laws = _delays(traces)

    def value(option: str) -> str:
        ok, bad = VALUES[option]
        return rng.choice(bad if rng.random() < P_INVALID else ok)

    def law() -> str:
        ok, bad = laws
        return rng.choice(bad if rng.random() < P_INVALID else ok)

    groups: list[list[str]] = []
    workers = value("--workers")
    if rng.random() < 0.1:  # a mixed cluster
        groups.append(["--workers", f"{workers}:{law()}", f"{rng.choice('138')}:{law()}"])
    else:
        groups.append(["--workers", workers])
    groups.append(["--lr", value("--lr")])
    if rng.random() < 0.7:
        groups.append(["--delay", law()])
    for option, p in PROBABILITY.items():
        if rng.random() < p:
            groups.append([option, value(option)])
    mode = rng.choice(MODES)
    if mode == "simulate":
        groups.append(["--simulate"])
        if rng.random() < 0.5:
            groups.append(["--replicas", value("--replicas")])
    elif mode == "sweep":
        groups.append(["--sweep"])
    elif mode == "optimize":
        groups.append(["--optimize"])
        for option in ("--margin", "--cutoffs", "--policies"):
            if rng.random() < 0.3:
                groups.append([option, value(option)])
    elif mode == "plot":
        groups.append(["--plot", str(plot_dir)])
    elif mode == "inject":
        groups.append(["--inject", value("--inject")])
    elif mode == "sparsify":
        groups.append(["--sparsify", value("--sparsify")])
        if rng.random() < 0.3:
            groups.append(["--dim", value("--dim")])
    for flag, p in (("--json", 0.5), ("--no-exact", 0.2)):
        if rng.random() < p:
            groups.append([flag])
    rng.shuffle(groups)
    return [token for group in groups for token in group]


@st.composite
def command_lines(draw: st.DrawFn, traces: dict[str, Path], plot_dir: Path) -> list[str]:
    """:func:`command_line` as a hypothesis strategy."""
    return command_line(draw(st.randoms(use_true_random=False)), traces, plot_dir)


# --------------------------------------------------------------------------- the runner
@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one command line did."""

    argv: tuple[str, ...]
    code: int | None  # None: killed at the budget
    out: str
    err: str
    seconds: float
    ascii_stdout: bool = False
    signal: int | None = None


class _FakeTerminal(io.TextIOWrapper):
    """stderr that says it is a terminal, so progress bars draw into the captured text."""

    def isatty(self) -> bool:
        return True


def run_isolated(argv: list[str], *, budget: float = BUDGET_SECONDS,
                 ascii_stdout: bool = False) -> Outcome:
    """Run ``sdde-analyze argv`` in a forked child; kill it at ``budget`` seconds."""
    def command() -> int:
        from sdde.cli.command import main

        return main(argv)

    outcome = run_function(command, budget=budget, ascii_stdout=ascii_stdout)
    return dataclasses.replace(outcome, argv=tuple(argv))


def run_function(fn: Callable[[], int], *, budget: float = BUDGET_SECONDS,
                 ascii_stdout: bool = False) -> Outcome:
    """Run ``fn`` (returning an exit code) in a forked child; kill it at ``budget`` s."""
    with tempfile.TemporaryDirectory(prefix="sdde-fuzz-") as tmp:
        out_path, err_path = Path(tmp) / "out", Path(tmp) / "err"
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            _child(fn, out_path, err_path, ascii_stdout)
        code: int | None = None
        sig: int | None = None
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                if os.WIFEXITED(status):
                    code = os.WEXITSTATUS(status)
                else:
                    sig = os.WTERMSIG(status)
                break
            if time.monotonic() - start > budget:
                _kill_group(pid)
                os.waitpid(pid, 0)
                break
            time.sleep(0.02)
        seconds = time.monotonic() - start
        out, err = _read(out_path), _read(err_path)
    return Outcome((), code, out, err, seconds, ascii_stdout, sig)


def _read(path: Path) -> str:
    """A captured stream as written (carriage returns kept: they delimit progress bars)."""
    if not path.exists():
        return ""
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        return f.read()


def _kill_group(pid: int) -> None:
    """Kill the child and any process it started (sweep pools)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _child(fn: Callable[[], int], out_path: Path, err_path: Path, ascii_stdout: bool) -> None:
    code = 1
    try:
        os.setpgid(0, 0)
        os.environ["SDDE_DEBUG"] = "1"  # warnings recorded by the command are printed
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
        out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False),
                                      encoding="ascii" if ascii_stdout else "utf-8",
                                      line_buffering=True)
        sys.stderr = _FakeTerminal(os.fdopen(2, "wb", closefd=False), encoding="utf-8",
                                   line_buffering=True, errors="backslashreplace")
        import warnings

        warnings.resetwarnings()  # a user's interpreter: default filters, nothing captured
        warnings.simplefilter("default")
        code = fn()
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# --------------------------------------------------------------------------- the verdict
_BAR = re.compile(r"\r[^\r\n]*?(?:\x1b\[K)")
_NAN = re.compile(r"(?<![\w.])(?:nan|NaN|-?inf)(?![\w])")


def strip_progress(err: str) -> tuple[str, bool]:
    """stderr without progress-bar redraws; and whether a bar showed an estimate."""
    estimate = "s left" in err
    return _BAR.sub("", err), estimate


def classify(o: Outcome) -> tuple[str, str]:
    """The outcome's class and a one-line reason."""
    err, estimate = strip_progress(o.err)
    if o.signal is not None or (
            o.code is not None and o.code not in (0, 2)) or "Traceback" in o.out + err:
        last = err.strip().splitlines()[-1:] or [f"killed by signal {o.signal}"]
        return "internal-error", last[0][:300]
    if o.code is None:
        if estimate:
            return "ok", f"long ({o.seconds:.0f} s) with a progress bar and an estimate"
        return "over-budget", f"no answer in {o.seconds:.0f} s and no progress estimate"
    lines = [line for line in err.splitlines() if line.strip()]
    if o.code == 2:
        if len(lines) != 1 or o.out:
            return "refusal-not-one-line", " | ".join(lines)[:300]
        return "refused", lines[0][:300]
    notes = [line for line in lines if not line.startswith("sdde-analyze: note:")]
    if notes:
        return "leaked-warning", " | ".join(notes)[:300]
    problem = nonsense(o)
    if problem:
        return "nonsense", problem
    return "ok", ""


def nonsense(o: Outcome) -> str:
    """An invariant the printed answer breaks, or ``""``."""
    if "--json" not in o.argv:
        text = o.out
        if not text.startswith("sdde "):
            return "the report does not start with 'sdde '"
        match = _NAN.search(text)
        if match:
            line = next(ln for ln in text.splitlines() if match.group(0) in ln)
            return f"'{match.group(0)}' printed: {line.strip()[:200]}"
        return ""
    try:
        data = json.loads(o.out, parse_constant=_refuse_constant)
    except ValueError as exc:
        return f"invalid JSON: {exc}"
    problems: list[str] = []
    _check_json(data, problems)
    return "; ".join(problems[:3])


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-standard constant {name}")


def _check_json(data: dict[str, Any], problems: list[str]) -> None:
    def need(condition: bool, message: str) -> None:
        if not condition:
            problems.append(message)

    cluster = data.get("cluster")
    if cluster:
        need(cluster["arrival_rate"] > 0, "arrival rate <= 0")
        run = cluster["run_time"]
        need(run["mean"] is None or run["mean"] >= 0, "negative run time")
        need(run["std"] is None or run["std"] >= 0, "negative run-time spread")
        sync = cluster.get("sync_round_time")
        need(sync is None or sync > 0, f"synchronous round {sync} <= 0")
        model = (data.get("stability") or {}).get("model", {})
        mean_round = model.get("mean_delay")
        if sync is not None and mean_round and len(cluster["groups"]) == 1 \
                and cluster.get("link") is None:
            need(sync >= mean_round * (1 - 1e-9),
                 f"synchronous round {sync} below the mean round {mean_round}")
        for key in ("staleness", "staleness_exact"):
            law = cluster.get(key)
            if not law:
                continue
            pmf = law["pmf"]
            need(len(pmf) > 0, f"{key}: empty pmf")
            need(all(p >= 0 for p in pmf), f"{key}: negative probability")
            total = sum(pmf) + law.get("pmf_mass_outside", 0.0)
            need(abs(total - 1) < 1e-6, f"{key}: listed pmf and mass outside sum to {total}")
            need(law["mean"] is not None and law["mean"] >= 0, f"{key}: mean {law['mean']}")
    stability = data.get("stability")
    if stability:
        for mode in stability["modes"]:
            root = mode.get("rightmost_root")
            if root is None or root.get("re") is None:
                continue
            unstable = mode.get("unstable_roots")
            if unstable:
                need(root["re"] >= -1e-9,
                     f"h={mode['h']}: {unstable} unstable roots but rightmost re {root['re']}")
            elif unstable == 0:
                need(root["re"] <= 1e-9, f"h={mode['h']}: no unstable root but re {root['re']}")
        # the decay rate is the mean's (mean field): positive iff κ_max < κ*; whether a
        # run converges (the verdict) is the almost-sure question, which can differ
        rate, k_star = stability.get("decay_rate"), stability.get("critical_kappa")
        k_max = stability.get("kappa_max")
        if rate is not None and k_star is not None and k_max is not None \
                and abs(k_max - k_star) > 1e-6 * k_star and not stability.get("heavy_tailed"):
            need((rate > 0) == (k_max < k_star),
                 f"decay rate {rate} but κ_max {k_max} vs κ* {k_star}")
        lr, max_lr = data.get("inputs", {}).get("lr"), stability.get("max_stable_lr")
        if lr is not None and max_lr is not None and stability.get("converges") is not None:
            need((max_lr >= lr * (1 - 1e-9)) == bool(stability["converges"]) or
                 stability.get("regime") not in ("converges", "diverges"),
                 f"max stable lr {max_lr} vs lr {lr} and converges={stability['converges']}")
        ttt = stability.get("time_to_target")
        need(ttt is None or ttt >= 0, f"time to target {ttt}")
        floor = stability.get("loss_floor")
        need(floor is None or floor >= 0, f"loss floor {floor}")


def warm_up() -> None:
    """Import and compile what the children would otherwise each rebuild (numba kernels)."""
    import contextlib

    from sdde.cli.command import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["--workers", "4", "--lr", "0.01", "--simulate", "--updates", "200",
              "--replicas", "1", "--json"])
