"""``sdde-analyze``: the command line as a thin adapter (STYLE.md R13).

Tiers: in-process ``main([...])`` with capsys for behaviour and every bad-input path; one
subprocess run each of the installed console script for success and failure. Exact values
come from closed forms: ``Λ = Σ n_g / E[X_g]`` and a mean staleness of ``n − 1`` without a
threshold (theory/staleness.md §2). Simulated laws use a fixed ``--seed`` and few
``--gradients`` so the file stays fast.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from cli_run import assert_usage_error, run, run_json, strict_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special

from sdde.cli.command import EXIT_USAGE, PROG, build_parser
from sdde.delays import families
from sdde.delays._spec_examples import DELAY_SPEC_EXAMPLES

ALL_FAMILIES = families()

STALENESS_KEYS = {"method", "mean", "var", "p50", "p99", "pmf_start", "pmf",
                  "pmf_mass_outside", "tail_mass"}
INPUT_KEYS = {"workers", "lr", "delay", "threshold", "bandwidth", "updates", "exact", "seed"}


# ---------------------------------------------------------------------- helpers


def console_script() -> Path:
    """The installed ``sdde-analyze`` entry point (PATH first, then the venv's bin dir)."""
    found = shutil.which(PROG)
    path = Path(found) if found else Path(sys.executable).parent / PROG
    assert path.exists(), f"console script {PROG} not installed next to {sys.executable}"
    return path


# ------------------------------------------------------------- text and JSON output


def test_default_text_names_arrival_rate_and_mean_staleness(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--workers", "32", "--lr", "0.01")
    assert code == 0, err
    assert err == ""
    assert re.search(r"arrival rate\s+32 gradients per time unit", out), out
    assert re.search(r"Poisson approximation\s+31\s", out), out
    assert re.search(r"exact \(renewal theory\)\s+31\s", out), out
    assert "learning rate η = 0.01" in out
    assert "seed 0" in out
    assert "total variation between them" in out


def test_json_has_documented_keys_and_values(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "--workers", "32", "--lr", "0.01")
    assert isinstance(data["sdde_version"], str) and data["sdde_version"]
    inputs = data["inputs"]
    assert set(inputs) >= INPUT_KEYS
    assert inputs["lr"] == 0.01
    assert inputs["exact"] is True
    assert inputs["seed"] == 0
    assert inputs["threshold"] is None and inputs["bandwidth"] is None

    cluster = data["cluster"]
    assert cluster["arrival_rate"] == 32.0
    assert cluster["acceptance"] == 1.0
    assert cluster["workers"] == 32
    for key in ("staleness", "staleness_exact"):
        law = cluster[key]
        assert set(law) >= STALENESS_KEYS
        assert law["mean"] == pytest.approx(31.0, rel=1e-9)
        assert law["var"] > 0
        assert law["p50"] <= law["p99"]
        # to_dict lists the central range holding all but 1e-9 of the mass, and the rest
        assert sum(law["pmf"]) >= 1 - 1e-9
        assert sum(law["pmf"]) <= 1 + 1e-9
        assert sum(law["pmf"]) + law["pmf_mass_outside"] == pytest.approx(1.0, abs=1e-12)
        assert all(p >= 0 for p in law["pmf"])
        assert 0 <= law["tail_mass"] < 1e-9
    assert cluster["staleness"]["method"] == "poisson"
    assert cluster["staleness_exact"]["method"] == "renewal"
    assert cluster["staleness_exact"]["acceptance"] == 1.0
    assert 0 < cluster["staleness_total_variation"] < 1

    run_time = cluster["run_time"]
    assert set(run_time) >= {"updates", "mean", "std"}
    assert run_time["updates"] == 10_000
    assert run_time["mean"] == pytest.approx(10_000 / 32, rel=1e-12)
    assert run_time["std"] > 0
    # E[max of 32] exceeds the mean round time 1 and the shift 0.5.
    assert cluster["sync_round_time"] > 1.0


def test_heterogeneous_groups(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "--workers", "24:gamma:shape=4,mean=1", "8:exponential:mean=3")
    cluster = data["cluster"]
    assert cluster["workers"] == 32
    assert len(cluster["groups"]) == 2
    assert cluster["arrival_rate"] == pytest.approx(24 + 8 / 3, rel=1e-12)
    assert cluster["staleness"]["mean"] == pytest.approx(31.0, rel=1e-9)
    assert cluster["staleness_exact"]["mean"] == pytest.approx(31.0, rel=1e-9)
    assert data["inputs"]["workers"] == ["24:gamma:shape=4,mean=1", "8:exponential:mean=3"]


def test_heterogeneous_groups_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--workers", "24:gamma:shape=4,mean=1", "8:exponential:mean=3")
    assert code == 0
    assert "26.67 gradients per time unit" in out
    assert "cluster: 32 workers" in out


def test_threshold_reports_acceptance(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("--threshold", "10", "--workers", "16", "--seed", "3", "--gradients", "4000")
    data = run_json(capsys, *argv)
    cluster = data["cluster"]
    assert cluster["threshold"] == 10
    assert 0 < cluster["acceptance"] < 1
    assert cluster["staleness_exact"]["method"] == "simulation"
    assert 0 < cluster["staleness_exact"]["acceptance"] < 1
    assert 0 < cluster["accepted_rate"] < cluster["arrival_rate"]

    code, out, _ = run(capsys, *argv)
    assert code == 0
    match = re.search(r"staleness cut-off K=10: accepted fraction (\S+) \(Poisson\), "
                      r"(\S+) \(exact\)", out)
    assert match, out
    assert float(match[1]) == pytest.approx(cluster["acceptance"], abs=5e-5)
    assert float(match[2]) == pytest.approx(cluster["staleness_exact"]["acceptance"], abs=5e-5)


def test_bandwidth_slows_arrivals(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "--bandwidth", "size=1,capacity=100", "--workers", "16")
    cluster = data["cluster"]
    # Each round gains 16 · 1 / 100 = 0.16 time units on top of a mean of 1.
    assert cluster["arrival_rate"] == pytest.approx(16 / (1 + 0.16), rel=1e-12)
    assert cluster["link"] == {"message_size": 1.0, "capacity": 100.0}
    assert data["inputs"]["bandwidth"] == "size=1,capacity=100"


def test_no_exact_leaves_exact_law_null(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "--workers", "8", "--no-exact")
    assert data["inputs"]["exact"] is False
    assert data["cluster"]["staleness_exact"] is None
    assert data["cluster"]["staleness_total_variation"] is None
    assert data["cluster"]["staleness"]["mean"] == pytest.approx(7.0, rel=1e-9)


def test_updates_sets_quoted_run_time(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "--workers", "8", "--updates", "500", "--no-exact")
    assert data["cluster"]["run_time"]["updates"] == 500
    assert data["cluster"]["run_time"]["mean"] == pytest.approx(500 / 8, rel=1e-12)


def test_simulated_law_is_reproducible_from_seed(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("--delay", "lognormal:mean=1,cv=1", "--workers", "8", "--gradients", "20000")
    first = run(capsys, *argv, "--seed", "5", "--json")
    again = run(capsys, *argv, "--seed", "5", "--json")
    other = run(capsys, *argv, "--seed", "6", "--json")
    assert first[0] == again[0] == other[0] == 0
    assert first[1] == again[1], "same seed must give byte-identical output"
    a, b = strict_json(first[1]), strict_json(other[1])
    assert a["cluster"]["staleness_exact"]["method"] == "simulation"
    assert a["cluster"]["staleness_exact"]["n_samples"] > 0
    assert a["cluster"]["staleness_exact"] != b["cluster"]["staleness_exact"]
    # Poisson side has no randomness.
    assert a["cluster"]["staleness"] == b["cluster"]["staleness"]


def test_trace_delay_from_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    durations = [0.8, 1.0, 1.2, 1.5, 0.9]
    trace = tmp_path / "durations.txt"
    trace.write_text("# measured round times\n" + "\n".join(map(str, durations)) + "\n\n")
    data = run_json(capsys, "--delay", f"trace:{trace}", "--workers", "4", "--gradients", "2000")
    mean = sum(durations) / len(durations)
    assert data["cluster"]["arrival_rate"] == pytest.approx(4 / mean, rel=1e-12)
    assert data["cluster"]["staleness"]["mean"] == pytest.approx(3.0, rel=1e-9)


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_heavy_tail_gives_null_not_infinity(capsys: pytest.CaptureFixture[str]) -> None:
    # Pareto shape 1.5: finite mean, infinite variance of the round time, so the staleness
    # variance and the run-time spread are infinite and must appear as null.
    data = run_json(capsys, "--delay", "pareto:shape=1.5", "--workers", "8",
                    "--gradients", "2000")
    cluster = data["cluster"]
    assert cluster["staleness"]["var"] is None
    assert cluster["run_time"]["std"] is None
    assert cluster["staleness"]["mean"] == pytest.approx(7.0, rel=1e-9)
    assert cluster["arrival_rate"] == pytest.approx(8.0, rel=1e-12)


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_pareto_synchronous_round_matches_closed_form(
        capsys: pytest.CaptureFixture[str]) -> None:
    shape, n = 2.5, 8
    data = run_json(capsys, "--delay", f"pareto:shape={shape}", "--workers", str(n),
                    "--no-exact")
    scale = (shape - 1) / shape  # mean 1
    expected = scale * n * special.beta(n, 1 - 1 / shape)
    assert data["cluster"]["sync_round_time"] == pytest.approx(expected, rel=1e-6)


def test_heavy_tail_run_emits_no_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, err = run(capsys, "--delay", "pareto:shape=1.5", "--workers", "8",
                           "--no-exact")
    assert code == 0
    assert err == ""
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("argv", [
    ("--workers", "2", "--delay", "two-point:p=0.01,slowdown=100"),
    ("--workers", "2", "--delay", "gamma:shape=0.1"),
])
def test_valid_high_variance_laws_are_analysed(capsys: pytest.CaptureFixture[str],
                                               argv: tuple[str, ...]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 0, err


def test_tiny_gamma_shape_does_not_crash(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--workers", "8", "--delay", "gamma:shape=0.01")
    assert code in (0, EXIT_USAGE)
    assert "Traceback" not in out + err


# ------------------------------------------------------------------------ help


def test_help_lists_every_delay_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--help")
    assert code == 0
    assert err == ""
    for example in DELAY_SPEC_EXAMPLES:
        assert example in out
    for family in ALL_FAMILIES:
        assert f"{family}:" in out, family
    for option in ("--workers", "--lr", "--delay", "--threshold", "--bandwidth", "--updates",
                   "--exact", "--no-exact", "--gradients", "--seed", "--json"):
        assert option in out


def test_examples_cover_every_family() -> None:
    named = {example.partition(":")[0] for example in DELAY_SPEC_EXAMPLES}
    assert named == set(ALL_FAMILIES)


def test_build_parser_defaults() -> None:
    args = build_parser().parse_args([])
    assert args.workers == ["32"]
    assert args.lr == 0.01
    assert args.exact is True
    assert args.json is False
    assert args.seed == 0


# ------------------------------------------------------------------ bad input

BAD_INPUT = [
    pytest.param(["--workers", "0"], ["--workers", "'0'"], id="workers-0"),
    pytest.param(["--workers", "x"], ["--workers", "'x'"], id="workers-x"),
    pytest.param(["--workers", "2.5"], ["--workers", "'2.5'"], id="workers-2.5"),
    pytest.param(["--workers", "-3"], ["--workers"], id="workers-negative"),
    pytest.param(["--workers", "8:bogus"], ["bogus", *ALL_FAMILIES], id="workers-bogus-law"),
    pytest.param(["--workers", "8:"], ["delay spec"], id="workers-empty-law"),
    pytest.param(["--workers", "8:gamma:shape=-1"], ["gamma", "shape", "-1"],
                 id="workers-bad-group-law"),
    pytest.param(["--lr", "0"], ["--lr", "'0'"], id="lr-0"),
    pytest.param(["--lr", "-1"], ["--lr", "'-1'"], id="lr-negative"),
    pytest.param(["--lr", "nan"], ["--lr", "'nan'"], id="lr-nan"),
    pytest.param(["--lr", "inf"], ["--lr", "'inf'"], id="lr-inf"),
    pytest.param(["--lr", "1e400"], ["--lr"], id="lr-overflow"),
    pytest.param(["--lr", "abc"], ["--lr", "'abc'"], id="lr-abc"),
    pytest.param(["--delay", "foo"], ["foo", *ALL_FAMILIES], id="delay-unknown-family"),
    pytest.param(["--delay", "gamma:shape=-1"], ["gamma", "shape", "-1"],
                 id="delay-negative-shape"),
    pytest.param(["--delay", "gamma:shap=2"], ["shap", "valid forms", "gamma:shape="],
                 id="delay-unknown-key"),
    pytest.param(["--delay", "gamma:shape=abc"], ["gamma", "shape", "abc"],
                 id="delay-non-number"),
    pytest.param(["--delay", "gamma:shape=2,shape=3"], ["shape", "twice"],
                 id="delay-duplicate-key"),
    pytest.param(["--delay", "gamma:shape"], ["gamma", "key=value"], id="delay-no-equals"),
    pytest.param(["--delay", "pareto:shape=1"], ["pareto", "infinite mean"],
                 id="delay-pareto-infinite-mean"),
    pytest.param(["--delay", "trace:"], ["trace", "file"], id="delay-trace-no-path"),
    pytest.param(["--delay", "trace:/nonexistent"], ["/nonexistent"],
                 id="delay-trace-missing-file"),
    pytest.param(["--threshold", "-1"], ["--threshold", "'-1'"], id="threshold-negative"),
    pytest.param(["--threshold", "1.5"], ["--threshold", "'1.5'"], id="threshold-fraction"),
    pytest.param(["--bandwidth", "size=1"], ["--bandwidth", "capacity"],
                 id="bandwidth-missing-capacity"),
    pytest.param(["--bandwidth", "size=1,capacity=0"], ["--bandwidth", "capacity", "'0'"],
                 id="bandwidth-zero-capacity"),
    pytest.param(["--bandwidth", "size=nan,capacity=1"], ["--bandwidth", "size"],
                 id="bandwidth-nan"),
    pytest.param(["--bandwidth", "junk"], ["--bandwidth", "'junk'"], id="bandwidth-junk"),
    pytest.param(["--updates", "0"], ["--updates", "'0'"], id="updates-0"),
    pytest.param(["--gradients", "0"], ["--gradients", "'0'"], id="gradients-0"),
    pytest.param(["--seed", "-1"], ["--seed", "'-1'"], id="seed-negative"),
    pytest.param(["--bogus"], ["--bogus", "--help"], id="unknown-option"),
    pytest.param(["--json", "extra"], ["extra"], id="stray-argument"),
    pytest.param(["--lr"], ["--lr", "expected one argument"], id="missing-value-lr"),
    pytest.param(["--workers"], ["--workers"], id="missing-value-workers"),
]


@pytest.mark.parametrize(("argv", "needles"), BAD_INPUT)
def test_bad_input_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], argv: list[str],
                                         needles: list[str]) -> None:
    assert_usage_error(*run(capsys, *argv), *needles)


@pytest.mark.parametrize("argv", [arg.values[0] for arg in BAD_INPUT])
def test_bad_input_with_json_still_prints_no_json(capsys: pytest.CaptureFixture[str],
                                                  argv: list[str]) -> None:
    assert_usage_error(*run(capsys, "--json", *argv))


@pytest.mark.parametrize(("content", "needles"), [
    ("1.0\nabc\n", ["line 2", "'abc'"]),
    ("# only a comment\n\n", ["no durations"]),
    ("1.0\n-2\n", ["trace", "> 0"]),
])
def test_bad_trace_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str,
                        needles: list[str]) -> None:
    trace = tmp_path / "bad.txt"
    trace.write_text(content)
    assert_usage_error(*run(capsys, "--delay", f"trace:{trace}"), str(trace), *needles)


def test_bad_trace_value_message_is_plain(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    trace = tmp_path / "negative.txt"
    trace.write_text("1.0\n-2\n")
    line = assert_usage_error(*run(capsys, "--delay", f"trace:{trace}"))
    assert "np.float64" not in line
    assert "line 2" in line


def test_bandwidth_duplicate_key_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*run(capsys, "--bandwidth", "size=1,capacity=1,size=2", "--no-exact"),
                       "--bandwidth", "size")


def test_bandwidth_overflow_names_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*run(capsys, "--bandwidth", "size=1e308,capacity=1e-308"),
                       "--bandwidth")


def _is_valid_lr(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return 0 < value < math.inf


def _is_valid_count(text: str) -> bool:
    try:
        return int(text.partition(":")[0]) >= 1
    except ValueError:
        return False


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=12).filter(lambda s: not _is_valid_lr(s)))
def test_any_invalid_lr_is_a_usage_error(capsys: pytest.CaptureFixture[str], text: str) -> None:
    code, out, err = run(capsys, "--lr", text, "--no-exact")
    assert_usage_error(code, out, err)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=12).filter(lambda s: not _is_valid_count(s)))
def test_any_invalid_worker_count_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                                   text: str) -> None:
    code, out, err = run(capsys, "--workers", text, "--no-exact")
    assert_usage_error(code, out, err)


# ------------------------------------------------------------ console script


def test_console_script_json() -> None:
    proc = subprocess.run([str(console_script()), "--workers", "32", "--lr", "0.01", "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    data = strict_json(proc.stdout)
    assert data["cluster"]["arrival_rate"] == 32.0
    assert data["cluster"]["staleness_exact"]["mean"] == pytest.approx(31.0, rel=1e-9)


def test_console_script_bad_input() -> None:
    proc = subprocess.run([str(console_script()), "--workers", "0"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert_usage_error(proc.returncode, proc.stdout, proc.stderr, "--workers")
