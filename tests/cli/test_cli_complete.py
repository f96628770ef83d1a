"""``sdde-analyze`` end to end, as a user runs it: the installed console script in a
subprocess, every figure checked against an independent answer.

Independent answers: the library's own API called in-process on the same inputs
(``critical_kappa``, ``characteristic_roots``, ``stationary_variance``, ``chart_around``),
closed forms for the default round law (shifted exponential, shift 0.5, mean 1:
``φ(z) = e^{−z/2} / (1 + z/2)``, so the threshold solves ``x + atan x = π/2`` with
``κ* = ω √(1 + ω²/4)``, ``ω = 2x``; the Poisson staleness law is the mixed Poisson
``S | X ~ Poisson((n − 1) X)``, theory/staleness.md §3), exact counting identities of the
simulator, and docs/cli.md itself (its JSON schema table is parsed, not copied).

Each command runs once (cached per module) and the commands of the selected tests start
together on a thread pool, so the file's wall time is about the CPU time of its
subprocesses divided by the number of cores.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import integrate, optimize, stats

import sdde
from sdde import delays
from sdde.cli.command import DEFAULT_DELAY, EXIT_USAGE, PROG, main
from sdde.stability.almost_sure import almost_sure_threshold
from sdde.stability.chart import chart_around
from sdde.stability.mean_field import critical_kappa, stationary_variance
from sdde.stability.mean_square import mean_square_threshold
from sdde.stability.roots import characteristic_roots

ERROR_PREFIX = f"{PROG}: error:"
DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIGURES = ("stability_chart.png", "roots.png", "staleness.png", "loss.png")


# ------------------------------------------------------------------ running the command


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def console_script() -> Path:
    """The ``sdde-analyze`` installed beside this interpreter (else the one on PATH)."""
    path = Path(sys.executable).parent / PROG
    if not path.exists():
        found = shutil.which(PROG)
        assert found, f"console script {PROG} not installed next to {sys.executable}"
        path = Path(found)
    return path


def _run(argv: tuple[str, ...]) -> Result:
    proc = subprocess.run([str(console_script()), *argv], capture_output=True, text=True,
                          timeout=300, check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


_POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1))
_RUNS: dict[tuple[str, ...], Future[Result]] = {}


def start(*argv: str) -> Future[Result]:
    """Start ``sdde-analyze argv`` on the pool (once per distinct command line)."""
    if argv not in _RUNS:
        _RUNS[argv] = _POOL.submit(_run, argv)
    return _RUNS[argv]


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"JSON output holds the non-standard constant {name}")


def strict_json(text: str) -> Any:
    """``json.loads`` that refuses NaN, Infinity and -Infinity."""
    return json.loads(text, parse_constant=_reject_constant)


def ok_json(result: Result) -> dict[str, Any]:
    """A successful ``--json`` run: exit 0, clean stderr, exactly one strict JSON object."""
    assert result.code == 0, result.err
    assert result.err == "", result.err
    assert result.out.endswith("\n") and result.out.count("\n") == 1
    data = strict_json(result.out)
    assert isinstance(data, dict)
    return data


def ok_text(result: Result) -> str:
    assert result.code == 0, result.err
    assert "Traceback" not in result.out + result.err
    return result.out


def assert_usage_error(result: Result, *needles: str) -> str:
    """Exit 2, nothing on stdout, exactly one ``sdde-analyze: error:`` line on stderr."""
    assert result.code == EXIT_USAGE, result
    assert "Traceback" not in result.out + result.err
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {result.err!r}"
    assert lines[0].startswith(ERROR_PREFIX), lines[0]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} missing from {lines[0]!r}"
    return lines[0]


# ------------------------------------------------------------------- the command lines

README = ("--workers", "32", "--lr", "0.01")
# two modes and gradient noise (stationary variances), and the chart
MAIN = ("--workers", "32", "--lr", "0.01", "--noise", "0.5", "--hessian", "0.5,2",
        "--sweep", "--json")
EXPONENTIAL = ("--delay", "exponential:mean=1", "--no-exact", "--json")
SIM_UPDATES, SIM_REPLICAS = 4000, 2
SIMULATE = ("--simulate", "--updates", str(SIM_UPDATES), "--replicas", str(SIM_REPLICAS),
            "--json", "--noise", "0.5")
TWO_GROUPS = ("--workers", "4", "4:exponential:mean=2", "--no-exact", "--updates", "200")
STEP_POLICY = ("--workers", "16", "--step-policy", "inverse", "--no-exact", "--json")
POLICY = ("--workers", "16", "--policy", "inverse", "--no-exact", "--json")
CHART_N, CHART_LR = 8, 0.1  # chart rows on both sides of the boundary κ*/(n η) ≈ 22.7


def plot_json(directory: Path) -> tuple[str, ...]:
    return ("--workers", "8", "--no-exact", "--updates", "200", "--plot", str(directory),
            "--json")


def plot_simulate(directory: Path) -> tuple[str, ...]:
    """Human output of the simulation, the chart and the figures, in one run."""
    return ("--workers", str(CHART_N), "--lr", str(CHART_LR), "--no-exact", "--simulate",
            "--updates", "2000", "--replicas", "2", "--sweep", "--plot", str(directory))


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cli_complete")
    regular_file = base / "not_a_directory"
    regular_file.write_text("a regular file\n")
    bad = {"no_positive": "0\n-1\n", "comments": "# nothing here\n\n", "trace": "0\n-1\n"}
    for name, text in bad.items():
        (base / f"{name}.txt").write_text(text)
    return {"plot_json": base / "plot_json", "plot_simulate": base / "nested" / "plots",
            "file": regular_file, **{name: base / f"{name}.txt" for name in bad}}


def bad_inputs(dirs: dict[str, Path]) -> list[tuple[tuple[str, ...], list[str]]]:
    """(argv, words the error line must hold): the bad inputs tests/cli/test_cli.py leaves out
    (it covers, in-process, --lr 0/-1/nan/inf, --workers 0/x, unknown delay families,
    missing trace files, --updates 0 and unknown options)."""
    return [
        (("--replicas", "0"), ["--replicas", "'0'"]),
        (("--replicas", "x"), ["--replicas", "'x'"]),
        (("--simulate", "--replicas", "-2"), ["--replicas", "'-2'"]),
        (("--step-policy", "bogus"), ["policy", "bogus"]),
        (("--step-policy", "geometric:0"), ["policy", "geometric:0"]),
        (("--step-policy",), ["--step-policy", "expected one argument"]),
        (("--plot",), ["--plot", "expected one argument"]),
        (("--hessian", "file:/no/such/file"), ["--hessian", "/no/such/file"]),
        (("--hessian", f"file:{dirs['no_positive']}"), ["--hessian"]),
        (("--hessian", f"file:{dirs['comments']}"), ["--hessian", str(dirs["comments"])]),
        (("--delay", "nosuch:x=1"), ["nosuch"]),
        (("--delay", f"trace:{dirs['trace']}"), ["trace", str(dirs["trace"])]),
        (("--frobnicate", "--json"), ["--frobnicate"]),
    ]


# One module fixture per command line: it starts the command and returns its future. The
# autouse fixture below requests those of the selected tests first, so they run together.
@pytest.fixture(scope="module")
def readme_run() -> Future[Result]:
    return start(*README)


@pytest.fixture(scope="module")
def main_run() -> Future[Result]:
    return start(*MAIN)


@pytest.fixture(scope="module")
def exponential_run() -> Future[Result]:
    return start(*EXPONENTIAL)


@pytest.fixture(scope="module")
def simulate_run() -> Future[Result]:
    return start(*SIMULATE)


@pytest.fixture(scope="module")
def simulate_seed_runs() -> tuple[Future[Result], Future[Result]]:
    """``--seed 0`` spelled out (the default: must give the same bytes, from a second
    process) and ``--seed 1``."""
    return start(*SIMULATE, "--seed", "0"), start(*SIMULATE, "--seed", "1")


@pytest.fixture(scope="module")
def two_groups_runs() -> tuple[Future[Result], Future[Result]]:
    return start(*TWO_GROUPS), start(*TWO_GROUPS, "--sweep")


@pytest.fixture(scope="module")
def policy_runs() -> tuple[Future[Result], Future[Result]]:
    return start(*STEP_POLICY), start(*POLICY)


@pytest.fixture(scope="module")
def plot_json_run(dirs: dict[str, Path]) -> Future[Result]:
    return start(*plot_json(dirs["plot_json"]))


@pytest.fixture(scope="module")
def plot_simulate_run(dirs: dict[str, Path]) -> Future[Result]:
    return start(*plot_simulate(dirs["plot_simulate"]))


@pytest.fixture(scope="module")
def plot_file_run(dirs: dict[str, Path]) -> Future[Result]:
    return start("--workers", "4", "--no-exact", "--updates", "200", "--plot",
                 str(dirs["file"]))


@pytest.fixture(scope="module")
def bad_input_runs(dirs: dict[str, Path]) -> list[Future[Result]]:
    return [start(*argv, "--workers", "4", "--no-exact") for argv, _ in bad_inputs(dirs)]


RUN_FIXTURES = ("readme_run", "main_run", "simulate_run", "plot_json_run",
                "plot_simulate_run", "simulate_seed_runs", "exponential_run",
                "two_groups_runs", "policy_runs", "plot_file_run", "bad_input_runs")


@pytest.fixture(scope="module", autouse=True)
def _start_early(request: pytest.FixtureRequest) -> None:
    """Start the commands of every selected test of this module before the first test."""
    wanted = {name for item in request.session.items  # fixturenames: the closure
              if getattr(item, "module", None) is request.module
              for name in getattr(item, "fixturenames", ())}
    for name in RUN_FIXTURES:  # slowest first
        if name in wanted:
            request.getfixturevalue(name)


# ------------------------------------------------------------------ independent answers


def model(*, n: int = 32, lr: float = 0.01, hessian: str = "1", noise: float = 0.0,
          delay: str = DEFAULT_DELAY) -> sdde.AsyncSGDModel:
    """The model the command builds, built here through the library's API."""
    return sdde.AsyncSGDModel(lr=lr, cluster=sdde.Cluster(workers=n, delay=delays.parse(delay)),
                              spectrum=sdde.HessianSpectrum.parse(hessian), noise=noise)


def shifted_exp_kappa_star() -> float:
    """κ* of the default law in closed form: ``arg φ(iω) = −π/2`` at ``ω = 2x``,
    ``x + atan x = π/2``; then ``κ* = ω / |φ(iω)| = ω √(1 + ω²/4)``."""
    x = optimize.brentq(lambda x: x + math.atan(x) - math.pi / 2, 0.1, 2.0, xtol=1e-15)
    omega = 2 * x
    return omega * math.sqrt(1 + omega**2 / 4)


def shifted_exp_transform(z: complex) -> complex:
    return complex(np.exp(-z / 2) / (1 + z / 2))


def mixed_poisson_quantile(q: float, rate: float) -> int:
    """Smallest k with ``P(S <= k) >= q`` for ``S | X ~ Poisson(rate · X)``,
    ``X = 0.5 + Exp(mean 0.5)`` (the default law), by quadrature."""
    def cdf(k: int) -> float:
        value, _ = integrate.quad(lambda e: stats.poisson.cdf(k, rate * (0.5 + e))
                                  * 2 * math.exp(-2 * e), 0, math.inf,
                                  epsabs=1e-13, epsrel=1e-12, limit=200)
        return float(value)

    k = 0
    while cdf(k) < q:
        k += 1
    return k


# ----------------------------------------------------------------------- the README run


def test_readme_command_prints_verdict_with_margin(readme_run: Future[Result]) -> None:
    out = ok_text(readme_run.result())
    m = model()
    kappa_star = critical_kappa(m.kernel)
    assert kappa_star == pytest.approx(shifted_exp_kappa_star(), rel=1e-9)
    assert re.search(rf"E θ grows \(mean field κ\*\)\s+{re.escape(f'{kappa_star:.6g}')} ",
                     out), out
    # the verdict is the server's almost-sure threshold (tests/stability/test_almost_sure.py
    # checks it against the simulator and fresh estimates)
    kappa_as = almost_sure_threshold(m.cluster).kappa
    margin = kappa_as / (0.01 * 32 * 1)
    match = re.search(r"^\s*verdict\s+converges; the learning rate can grow (\S+)× before "
                      r"a run diverges$", out, re.MULTILINE)
    assert match, out
    assert match[1] == f"{margin:.3g}"
    assert re.search(rf"max stable learning rate\s+{re.escape(f'{kappa_as / 32:.6g}')}$",
                     out, re.MULTILINE), out
    # κ_as/(η n) is the margin times h = 1
    assert re.search(rf"max stable curvature\s+{re.escape(f'{margin:.6g}')} ", out), out


# ------------------------------------------------------------------------ JSON: numbers


@pytest.fixture(scope="module")
def main_json(main_run: Future[Result]) -> dict[str, Any]:
    return ok_json(main_run.result())


def test_main_json_stability_matches_library(main_json: dict[str, Any]) -> None:
    stab = main_json["stability"]
    m = model(hessian="0.5,2", noise=0.5)
    kappa_star = critical_kappa(m.kernel)
    lr, n, h = 0.01, 32, [0.5, 2.0]
    assert stab["critical_kappa"] == pytest.approx(kappa_star, rel=1e-12)
    assert stab["critical_kappa"] == pytest.approx(shifted_exp_kappa_star(), rel=1e-9)
    assert stab["kappa_max"] == pytest.approx(lr * n * max(h), rel=1e-15)
    kappa_as = almost_sure_threshold(m.cluster).kappa  # the verdict's threshold
    assert stab["thresholds"]["almost_sure"]["kappa"] == pytest.approx(kappa_as, rel=1e-12)
    assert stab["thresholds"]["almost_sure"]["lr"] == pytest.approx(kappa_as / (n * max(h)),
                                                                    rel=1e-12)
    assert stab["thresholds"]["mean"]["kappa"] == pytest.approx(kappa_star, rel=1e-12)
    assert stab["thresholds"]["mean_square"]["kappa"] == pytest.approx(
        mean_square_threshold(m.cluster, kernel=m.kernel).kappa, rel=1e-12)
    assert stab["margin"] == pytest.approx(kappa_as / (lr * n * max(h)), rel=1e-12)
    assert stab["max_stable_lr"] == pytest.approx(kappa_as / (n * max(h)), rel=1e-12)
    assert stab["max_stable_curvature"] == pytest.approx(kappa_as / (lr * n), rel=1e-12)
    assert lr * n * max(h) < stab["thresholds"]["mean_square"]["kappa"]
    assert stab["converges"] is True and stab["regime"] == "converges"
    # the largest stable n is the last with η n h_max < κ_as(n) (κ_as from the table)
    largest = max(k for k in range(1, 600) if lr * k * max(h) < almost_sure_threshold(
        sdde.Cluster(workers=k, delay=m.cluster.groups[0].delay)).kappa)
    assert stab["max_stable_workers"] == largest
    assert stab["unbounded"] == []


def test_main_json_modes_match_library(main_json: dict[str, Any]) -> None:
    stab = main_json["stability"]
    m = model(hessian="0.5,2", noise=0.5)
    kappa_as = almost_sure_threshold(m.cluster).kappa
    sigma = 0.01 * math.sqrt(32 * 0.5)  # σ² = η² n c
    assert [mode["h"] for mode in stab["modes"]] == [0.5, 2.0]
    variances = []
    for mode in stab["modes"]:
        kappa = 0.01 * 32 * mode["h"]
        assert mode["kappa"] == pytest.approx(kappa, rel=1e-15)
        assert mode["margin"] == pytest.approx(kappa_as / kappa, rel=1e-12)
        assert mode["converges"] is True and mode["unstable_roots"] == 0
        assert mode["regime"] == "converges"
        z0 = characteristic_roots(kappa, m.kernel, n=1)[0]
        root = complex(mode["rightmost_root"]["re"], mode["rightmost_root"]["im"])
        assert root.real == pytest.approx(z0.real, rel=1e-9)
        assert abs(root.imag) == pytest.approx(abs(z0.imag), rel=1e-9, abs=1e-12)
        # it is a root of the closed-form characteristic equation z + κ φ(z) = 0
        assert abs(root + kappa * shifted_exp_transform(root)) < 1e-9
        assert mode["decay_rate"] == pytest.approx(-root.real, rel=1e-12)  # E[X] = 1
        if abs(root.imag) > 1e-12:
            assert mode["period"] == pytest.approx(2 * math.pi / abs(root.imag), rel=1e-12)
        else:
            assert mode["period"] is None
        expected = stationary_variance(kappa, m.kernel, sigma)
        assert mode["stationary_variance"] == pytest.approx(expected, rel=1e-9)
        variances.append(expected)
    assert stab["decay_rate"] == pytest.approx(min(-mode["rightmost_root"]["re"]
                                                   for mode in stab["modes"]), rel=1e-12)
    floor = 0.5 * (0.5 * variances[0] + 2.0 * variances[1])
    assert stab["loss_floor"] == pytest.approx(floor, rel=1e-9)


def test_main_json_cluster_matches_closed_forms(main_json: dict[str, Any]) -> None:
    cluster = main_json["cluster"]
    n = 32
    assert cluster["arrival_rate"] == pytest.approx(n / 1.0, rel=1e-15)  # Σ n_g / E[X_g]
    law = cluster["staleness"]
    assert law["mean"] == pytest.approx(n - 1, rel=1e-12)
    # mixed Poisson: Var S = E[a X] + Var(a X) = a + a² Var X, a = n − 1, Var X = 0.25
    assert law["var"] == pytest.approx((n - 1) + (n - 1) ** 2 * 0.25, rel=1e-9)
    assert law["p99"] == mixed_poisson_quantile(0.99, n - 1)
    assert law["p50"] == mixed_poisson_quantile(0.5, n - 1)
    assert cluster["staleness_exact"]["mean"] == pytest.approx(n - 1, rel=1e-9)


def test_main_json_inputs_echo_the_options(main_json: dict[str, Any]) -> None:
    inputs = main_json["inputs"]
    assert inputs["workers"] == ["32"] and inputs["lr"] == 0.01
    assert inputs["hessian"] == "0.5,2" and inputs["noise"] == 0.5
    assert inputs["delay"] == DEFAULT_DELAY and inputs["policy"] == "constant"
    assert main_json["simulation"] is None and main_json["plots"] == []


def test_unbounded_threshold_is_null_and_listed(exponential_run: Future[Result]) -> None:
    data = ok_json(exponential_run.result())
    m = model(delay="exponential:mean=1")
    assert critical_kappa(m.kernel) == math.inf  # completely monotone: never crosses
    stab = data["stability"]
    assert stab["unbounded"] == ["critical_kappa"]  # only the mean field's is infinite
    assert stab["critical_kappa"] is None
    assert stab["thresholds"]["mean"]["kappa"] is None
    # the server's thresholds are finite: exact mean square κ(κ − 1) = 2n, and a run
    # diverges from the almost-sure one on, which the limits use
    n = m.n_workers
    ms = stab["thresholds"]["mean_square"]
    assert ms["method"] == "closed form" and ms["kappa"] * (ms["kappa"] - 1) == \
        pytest.approx(2 * n, rel=1e-12)
    kappa_as = stab["thresholds"]["almost_sure"]["kappa"]
    assert kappa_as > ms["kappa"]
    assert stab["max_stable_lr"] == pytest.approx(kappa_as / (n * m.spectrum.h_max), rel=1e-12)
    assert stab["converges"] is True


# --------------------------------------------------------------- JSON: the documented keys


def _schema_rows() -> list[tuple[list[str], str, str]]:
    """(key paths, type, meaning) of the rows of docs/cli.md's JSON schema table."""
    text = DOC.read_text(encoding="utf-8").split("## JSON schema", 1)[1]
    rows = []
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        keys = re.findall(r"`([^`]+)`", cells[0])
        rows.append((keys, cells[1], cells[2]))
    assert len(rows) > 20, "the schema table was not found in docs/cli.md"
    return rows


#: Backticked words in the meaning column that are values, not keys.
DOCUMENTED_VALUES = {"renewal", "simulation"}  # cluster.staleness_exact.method


def _lookup(data: Any, path: str) -> list[Any]:
    """Every value at ``path`` (``a.b[].c``: ``[]`` steps into each list element);
    fails if a key is missing."""
    values = [data]
    for part in path.split("."):
        listed = part.endswith("[]")
        key = part.removesuffix("[]")
        found = []
        for value in values:
            assert isinstance(value, dict) and key in value, f"{path}: no key {key!r}"
            found.append(value[key])
        values = [v for lst in found for v in lst] if listed else found
    return values


def _assert_documented_keys(data: dict[str, Any], *, rows: list[str] | None = None) -> None:
    for keys, kind, meaning in _schema_rows():
        for path in keys:
            if rows is not None and path.split(".")[0] not in rows:
                continue
            values = _lookup(data, path)
            if "object" not in kind:
                continue
            named = {w for w in re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", meaning)
                     } - DOCUMENTED_VALUES
            for value in values:
                if value is None:
                    continue
                assert isinstance(value, dict), path
                inner = {k for v in value.values() if isinstance(v, dict) for k in v}
                missing = named - set(value) - inner
                assert not missing, f"{path}: documented keys missing: {sorted(missing)}"


def test_every_documented_key_is_in_the_output(main_json: dict[str, Any]) -> None:
    _assert_documented_keys(main_json)
    assert main_json["sweep"] is not None  # its keys were checked too


def test_documented_keys_with_simulation_and_plots(sim_json: dict[str, Any],
                                                   plot_json_run: Future[Result]) -> None:
    _assert_documented_keys(sim_json, rows=["simulation"])
    _assert_documented_keys(ok_json(plot_json_run.result()), rows=["plots"])


def test_staleness_exact_has_the_staleness_keys(main_json: dict[str, Any]) -> None:
    cluster = main_json["cluster"]
    assert set(cluster["staleness"]) <= set(cluster["staleness_exact"])


def test_every_output_key_is_documented(main_json: dict[str, Any]) -> None:
    rows = _schema_rows()
    paths = {path.removesuffix("[]") for keys, _, _ in rows for path in keys}
    undocumented = {f"{top}.{key}" for top in ("cluster", "stability")
                    for key in main_json[top]} - paths
    (inputs_row,) = [meaning for keys, _, meaning in rows if keys == ["inputs"]]
    documented_inputs = set(re.findall(r"`([A-Za-z_]+)`", inputs_row))
    undocumented |= {f"inputs.{key}" for key in main_json["inputs"]} - {
        f"inputs.{key}" for key in documented_inputs}
    assert not undocumented, sorted(undocumented)


# -------------------------------------------------------------------------- simulation


@pytest.fixture(scope="module")
def sim_json(simulate_run: Future[Result]) -> dict[str, Any]:
    return ok_json(simulate_run.result())


def test_simulation_counts(sim_json: dict[str, Any]) -> None:
    sim = sim_json["simulation"]
    assert sim["replicas"] == SIM_REPLICAS and sim["updates"] == SIM_UPDATES
    assert sim["diverged"] is False and sim["diverged_fraction"] == 0
    assert sim["diverged_at"] is None


def test_simulated_staleness_mean_is_n_minus_1_less_the_open_rounds(
        sim_json: dict[str, Any]) -> None:
    # Every update adds one to the staleness of each of the n − 1 other workers' open
    # rounds, so the T counted gradients plus the n rounds still open at the end hold
    # exactly T (n − 1): the observed mean is n − 1 less (open counters)/T. An open round
    # has gathered about (n − 1) E[X²] / (2 E[X]²) ≈ 0.63 (n − 1) on average here;
    # 2 n (n − 1)/T allows over three times that.
    n, t = 32, SIM_UPDATES
    sim = sim_json["simulation"]
    assert sim["predicted_staleness_mean"] == pytest.approx(n - 1, rel=1e-12)
    assert sim["predicted_staleness_p99"] == mixed_poisson_quantile(0.99, n - 1)
    assert n - 1 - 2 * n * (n - 1) / t <= sim["staleness_mean"] <= n - 1 + 1e-9


def test_simulated_arrival_rate_within_clt(sim_json: dict[str, Any]) -> None:
    # A superposition of n stationary renewal streams with round cv c counts Λ t ± c √(Λ t)
    # arrivals, so the rate over R T gradients has relative sd c / √(R T); 5 sd.
    cv, n = 0.5, 32  # shifted exponential: sd 0.5 (the exponential part), mean 1
    sim = sim_json["simulation"]
    assert sim["predicted_arrival_rate"] == pytest.approx(n / 1.0, rel=1e-15)
    tolerance = 5 * cv / math.sqrt(SIM_REPLICAS * SIM_UPDATES)
    assert sim["arrival_rate"] == pytest.approx(n, rel=tolerance)


def test_simulated_loss_curve(sim_json: dict[str, Any]) -> None:
    curve = sim_json["simulation"]["loss_curve"]
    assert set(curve) == {"t", "simulated", "predicted"}
    assert all(len(curve[k]) == 200 for k in curve)
    t = np.array(curve["t"], dtype=float)
    assert t[0] == 0 and np.all(np.diff(t) > 0)
    # every mode starts at x0 = 1: loss ½ h x0² = 0.5 on both curves
    assert curve["simulated"][0] == pytest.approx(0.5, rel=1e-12)
    assert curve["predicted"][0] == pytest.approx(0.5, rel=1e-6)
    # the curves end where the first replica applied its T-th update, about T / Λ
    expected_end = SIM_UPDATES / 32
    assert t[-1] == pytest.approx(expected_end, rel=5 * 0.5 / math.sqrt(SIM_UPDATES))


def test_simulation_predictions_match_library(sim_json: dict[str, Any]) -> None:
    sim = sim_json["simulation"]
    m = model(noise=0.5)
    variance = stationary_variance(0.32, m.kernel, 0.01 * math.sqrt(32 * 0.5))
    assert sim["predicted_stationary_variance"] == [pytest.approx(variance, rel=1e-9)]
    # by the second half (t > 60, decay rate ≈ 0.69) the SDDE's loss sits on its floor
    assert sim["predicted_late_loss"] == pytest.approx(0.5 * variance, rel=1e-3)
    assert sim["predicted_late_loss"] == pytest.approx(sim_json["stability"]["loss_floor"],
                                                       rel=1e-3)


def test_simulation_same_seed_same_output_other_seed_other_numbers(
        simulate_run: Future[Result], sim_json: dict[str, Any],
        simulate_seed_runs: tuple[Future[Result], Future[Result]]) -> None:
    again, other_run = (future.result() for future in simulate_seed_runs)
    assert again.code == 0 and again.out == simulate_run.result().out, \
        "same seed, same bytes (--seed 0 is the default)"
    other = ok_json(other_run)
    a, b = sim_json["simulation"], other["simulation"]
    assert a["arrival_rate"] != b["arrival_rate"]
    assert a["loss_curve"]["simulated"] != b["loss_curve"]["simulated"]
    # the model's side has no randomness here (renewal-exact law, no simulated law)
    for key in ("predicted_arrival_rate", "predicted_staleness_mean",
                "predicted_stationary_variance"):
        assert a[key] == b[key], key
    assert sim_json["stability"] == other["stability"]
    assert sim_json["cluster"] == other["cluster"]


# ------------------------------------------------------------------------------- sweep


def test_sweep_json_matches_threshold(main_json: dict[str, Any]) -> None:
    sweep = main_json["sweep"]
    m = model(hessian="0.5,2", noise=0.5)
    kappa_star, h_max, lr, n = critical_kappa(m.kernel), 2.0, 0.01, 32
    workers, lrs = sweep["workers"], np.array(sweep["lrs"])
    assert n in workers and workers == sorted(set(workers))
    assert workers[0] == n // 8 and workers[-1] == 8 * n  # n/8 … 8n
    assert lrs[0] == pytest.approx(lr / 64, rel=1e-12)  # η/64 … 64η
    assert lrs[-1] == pytest.approx(lr * 64, rel=1e-12)
    assert np.allclose(np.diff(np.log(lrs)), math.log(lrs[1] / lrs[0]), rtol=1e-9)
    assert len(sweep["converges"]) == len(workers)
    assert sweep["critical_kappa"] == [pytest.approx(kappa_star, rel=1e-12)] * len(workers)
    for i, w in enumerate(workers):
        kappa_as = almost_sure_threshold(sdde.Cluster(workers=w, delay=m.cluster.groups[0].delay)
                                         ).kappa  # the verdict's threshold at w workers
        assert sweep["almost_sure_kappa"][i] == pytest.approx(kappa_as, rel=1e-12)
        bound = kappa_as / (w * h_max)
        assert sweep["max_stable_lr"][i] == pytest.approx(bound, rel=1e-12)
        assert len(sweep["converges"][i]) == lrs.size
        for j, eta in enumerate(lrs):
            if abs(eta / bound - 1) > 1e-12:
                assert sweep["converges"][i][j] is bool(eta < bound), (w, eta)
    # the library's own chart for the same model
    assert sweep == chart_around(m).to_dict()


def _chart_rows(out: str) -> list[tuple[int, str, str, bool]]:
    """(workers, max stable lr, verdict, marked) per row of the human chart block."""
    block = out.split("Stability chart around", 1)[1].splitlines()
    rows = []
    for line in block[2:]:
        match = re.fullmatch(r"\s+(\d+)\s+(\S+)\s+(converges|DIVERGES)(\s+← you)?", line)
        if not match:
            break
        rows.append((int(match[1]), match[2], match[3], match[4] is not None))
    return rows


def test_sweep_text_block_marks_your_row(plot_simulate_run: Future[Result]) -> None:
    out = ok_text(plot_simulate_run.result())
    assert f"Stability chart around n = {CHART_N}, η = {CHART_LR:g}" in out
    rows = _chart_rows(out)
    assert len(rows) >= 5
    assert [w for w, *_, marked in rows if marked] == [CHART_N]
    assert out.count("← you") == 1
    delay = model(n=CHART_N, lr=CHART_LR).cluster.groups[0].delay
    for w, bound, verdict, _ in rows:
        kappa_as = almost_sure_threshold(sdde.Cluster(workers=w, delay=delay)).kappa
        assert bound == f"{kappa_as / w:.4g}"
        assert verdict == ("converges" if kappa_as / w > CHART_LR else "DIVERGES")
    assert {verdict for _, _, verdict, _ in rows} == {"converges", "DIVERGES"}


def test_sweep_text_always_shows_your_row(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--workers", "20", "--no-exact", "--sweep"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [w for w, *_, marked in _chart_rows(out) if marked] == [20]


def test_sweep_needs_one_worker_group(
        two_groups_runs: tuple[Future[Result], Future[Result]]) -> None:
    without, with_sweep = (future.result() for future in two_groups_runs)
    assert_usage_error(with_sweep, "--sweep")
    assert ok_text(without).count("Stability ·") == 1


# ------------------------------------------------------------------------------- plots


def assert_png(path: Path) -> None:
    from matplotlib import image

    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    pixels = image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4), pixels.shape
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100, pixels.shape
    assert not np.all(pixels == pixels[0, 0]), f"{path} is blank"


def test_plot_writes_four_pngs_and_lists_them(dirs: dict[str, Path],
                                              plot_json_run: Future[Result]) -> None:
    directory = dirs["plot_json"]
    data = ok_json(plot_json_run.result())
    assert data["plots"] == [str(directory / name) for name in FIGURES]
    assert data["inputs"]["plot"] == str(directory)
    for name in FIGURES:
        assert_png(directory / name)


def test_plot_with_simulation_and_human_output(dirs: dict[str, Path],
                                               plot_simulate_run: Future[Result]) -> None:
    directory = dirs["plot_simulate"]  # nested: created with its parents
    out = ok_text(plot_simulate_run.result())
    for name in FIGURES:
        assert_png(directory / name)
    written = ", ".join(str(directory / name) for name in FIGURES)
    assert f"figures written: {written}" in out
    assert "Simulation · 2 replicas × 2000 updates" in out
    assert re.search(r"^\s+SDDE\s+simulated$", out, re.MULTILINE), out


def test_plot_into_a_regular_file_is_a_usage_error(dirs: dict[str, Path],
                                                   plot_file_run: Future[Result]) -> None:
    assert_usage_error(plot_file_run.result(), "--plot", str(dirs["file"]))
    assert dirs["file"].read_text() == "a regular file\n"


def test_plot_with_two_worker_groups(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--workers", "4", "4:exponential:mean=2", "--no-exact", "--updates", "200",
                 "--plot", str(tmp_path / "figs")])
    _, err = capsys.readouterr()
    # the stability chart varies one group's worker count, so it is left out; the other
    # three figures are drawn
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "loss.png", "roots.png", "staleness.png"]


# ------------------------------------------------------------------------ step policy


def test_step_policy_and_policy_are_the_same_option(
        policy_runs: tuple[Future[Result], Future[Result]]) -> None:
    long, short = (ok_json(future.result()) for future in policy_runs)
    assert long["stability"] == short["stability"]
    assert long == short
    assert long["stability"]["model"]["policy"] == "inverse"


# --------------------------------------------------------------------------- bad input


def test_bad_input_exits_2_with_one_line(dirs: dict[str, Path],
                                         bad_input_runs: list[Future[Result]]) -> None:
    for (argv, needles), future in zip(bad_inputs(dirs), bad_input_runs, strict=True):
        try:
            assert_usage_error(future.result(), *needles)
        except AssertionError as exc:
            raise AssertionError(f"sdde-analyze {' '.join(argv)}: {exc}") from None


# -------------------------------------------------------------------------------- help


def _help_entry(text: str, option: str) -> str:
    """The help of ``option`` (its lines up to the next option), whitespace collapsed."""
    lines = text.split("\noptions:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    entry: list[str] = []
    for line in lines:
        starts_option = re.match(r"\s{2}-", line) is not None
        if entry and starts_option:
            break
        if entry or (starts_option and re.match(rf"\s+(\S+ )*{re.escape(option)}\b", line)):
            entry.append(line.strip())
    assert entry, f"{option} not in --help"
    return " ".join(entry)


def test_help_gives_an_example_of_each_new_option() -> None:
    result = _run(("--help",))
    assert result.code == 0 and result.err == ""
    examples = result.out.split("\nexamples:\n", 1)[1]
    for option in ("--simulate", "--replicas", "--sweep", "--plot", "--step-policy"):
        entry = _help_entry(result.out, option)
        assert "e.g." in entry or option in examples, (option, entry)
