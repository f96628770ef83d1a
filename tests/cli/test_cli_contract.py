"""The command line's input contract and terminal policy (docs/cli.md, "Input contract")."""

from __future__ import annotations

import io
import warnings

import pytest
from cli_run import assert_usage_error, run

import sdde.cli.command as command
from sdde.cli.terminal import ascii_spelling, make_encodable, quiet_warnings


@pytest.mark.parametrize(("option", "text"), [
    ("--lr", "1_000"), ("--lr", "0x10"), ("--lr", "infinity"), ("--lr", "\u0661"),
    ("--workers", "\u0663\u0662"), ("--workers", "1_000"), ("--workers", "0x10"),
    ("--noise", "1e400"), ("--threshold", "+-1"),
])
def test_numbers_other_than_plain_ascii_notation_are_refused(
        capsys: pytest.CaptureFixture[str], option: str, text: str) -> None:
    code, out, err = run(capsys, option, text)
    assert_usage_error(code, out, err, option, repr(text))


def test_a_leading_plus_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--workers", "+8", "--lr", "+0.05", "--no-exact")
    assert code == 0 and "learning rate η = 0.05" in out


@pytest.mark.parametrize(("argv", "needle"), [
    (["--lr", "1e200"], "--lr must be in [1e-30, 1e+30]"),
    (["--noise", "1e300"], "--noise must be 0 or in"),
    (["--initial-error", "1e200"], "--initial-error must be 0 or in"),
    (["--target-loss", "1e-320"], "--target-loss must be in [1e-300, 1e+300]"),
    (["--lr", "1e8", "--workers", "1"], "is above 1e+06"),
    (["--lr", "1e-12", "--workers", "1"], "is below 1e-09"),
    (["--hessian", "1:2:1000000000"], "1..1,000,000"),
])
def test_values_outside_the_contract_exit_2_naming_the_option(
        capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    code, out, err = run(capsys, *argv)
    assert_usage_error(code, out, err, needle)


def test_a_simulation_that_does_not_fit_in_memory_names_one_that_does(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from sdde import AsyncSGDModel, Cluster, HessianSpectrum
    from sdde.simulator.server import simulation_bytes
    from sdde.validation.simulation_report import RECORDS

    budget = 50 * 2**20
    monkeypatch.setattr("sdde._resources.memory_budget", lambda: budget)
    code, out, err = run(capsys, "--workers", "8", "--simulate", "--updates", "10000000")
    line = assert_usage_error(code, out, err, "--simulate", "--updates")
    fits = int(line.split("use --updates ")[1].split(" ")[0].replace(",", ""))
    model = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=8),
                          spectrum=HessianSpectrum(eigenvalues=[1.0]))
    assert simulation_bytes(model, n_updates=fits, replicas=8,
                            record_every=max(1, fits // RECORDS)) <= budget


def test_ascii_streams_get_ascii_spellings() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    make_encodable(stream)
    stream.write("η = 0.01 · κ ≤ 2.3 ± 0.1, e-fold ∞, θ²\n")
    stream.flush()
    assert raw.getvalue().decode("ascii") == (
        "eta = 0.01 . kappa <= 2.3 +/- 0.1, e-fold infinity, theta^2\n")
    assert ascii_spelling("Λ") == "Lambda" and ascii_spelling("₀") == "0"


def test_warnings_are_recorded_not_printed(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SDDE_DEBUG", raising=False)
    with quiet_warnings("sdde-analyze"):
        warnings.warn("overflow encountered", RuntimeWarning, stacklevel=1)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("SDDE_DEBUG", "1")
    with quiet_warnings("sdde-analyze"):
        warnings.warn("overflow encountered", RuntimeWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert err.startswith("sdde-analyze: debug: RuntimeWarning: overflow encountered (")


def test_a_warning_inside_the_command_does_not_reach_the_terminal(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SDDE_DEBUG", raising=False)
    real = command._check_contract

    def noisy(args: object) -> None:
        warnings.warn("a numerical warning deep inside", RuntimeWarning, stacklevel=1)
        real(args)  # type: ignore[arg-type]

    monkeypatch.setattr(command, "_check_contract", noisy)
    code, out, err = run(capsys, "--workers", "4", "--no-exact")
    assert code == 0 and err == "" and out.startswith("sdde ")


def test_an_inert_threshold_is_said_and_analysed_as_none(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--workers", "32", "--threshold", "1000000000")
    assert code == 0 and err == ""
    assert "staleness cut-off K=1000000000 drops no gradient" in out
    _, plain, _ = run(capsys, "--workers", "32")
    tail = out.split("staleness (server updates")[1]
    assert tail == plain.split("staleness (server updates")[1]


def test_inject_with_too_few_updates_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """η·h = 0.01 converges: the refusal must not tell the user to lower the rate."""
    code, out, err = run(capsys, "--workers", "4", "--no-exact", "--inject", "1",
                         "--updates", "10")
    line = assert_usage_error(code, out, err, "--inject", "82% of its starting loss",
                              "--updates")
    assert "lower the learning rate" not in line


@pytest.mark.parametrize("lr", ["0.2842712474903281", "0.2842712475"])
def test_a_gain_a_hair_past_the_mean_field_threshold_is_reported(
        capsys: pytest.CaptureFixture[str], lr: str) -> None:
    """κ* (1 + 1e-10): the rightmost root sits right of the axis within the invariant's
    tolerance (the report's own check once raised InvariantError here)."""
    code, _out, err = run(capsys, "--workers", "8", "--delay", "gamma:shape=4,mean=1",
                         "--lr", lr, "--no-exact")
    assert code == 0 and err == "", err


def test_an_inert_threshold_is_kept_for_other_worker_counts() -> None:
    from sdde import AsyncSGDModel, Cluster, HessianSpectrum, delays

    law = delays.parse("exponential:mean=1")
    model = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=8, delay=law, threshold=1000),
                          spectrum=HessianSpectrum(eigenvalues=[1.0]))
    assert model.cluster.threshold is None and model.cluster.inert_threshold == 1000
    bigger = model.with_workers(3000).cluster
    assert bigger.threshold == 1000  # at 3000 workers it drops half the gradients
    assert bigger.acceptance() < 0.9


@pytest.mark.parametrize(("argv", "needle"), [
    (["--workers", "10000000", "--no-exact"], "at most 1,000,000 workers"),
    (["--workers", "1000:uniform:low=1e-6,high=2e-6", "1:pareto:shape=2.5", "--no-exact"],
     "--workers: a gradient of the group"),
    (["--workers", "4", "--simulate", "--replicas", "100000000000", "--updates", "10"],
     "use fewer --replicas"),
    (["--workers", "1", "--lr", "1e-3", "--hessian", "1e-12,999"], "above 1000 or"),
])
def test_more_refusals_name_the_option(capsys: pytest.CaptureFixture[str], argv: list[str],
                                       needle: str) -> None:
    code, out, err = run(capsys, *argv)
    assert_usage_error(code, out, err, needle)


def test_a_threshold_past_the_tables_that_still_drops_gradients_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--threshold", "1000000000", "--delay",
                         "lognormal:mean=1,cv=400", "--no-exact")
    assert_usage_error(code, out, err, "--threshold", "at most 1,048,576")


def test_the_simulator_refuses_a_start_whose_loss_overflows() -> None:
    import numpy as np

    from sdde import AsyncSGDModel, Cluster, HessianSpectrum, simulate

    model = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=4),
                          spectrum=HessianSpectrum(eigenvalues=[1.0]))
    with pytest.raises(ValueError, match=r"theta0 must lie in \[-1e\+30, 1e\+30\]"):
        simulate(model, n_updates=10, rng=np.random.default_rng(0), theta0=1e200)


@pytest.mark.parametrize(("argv", "needle"), [
    (["--workers", "1:deterministic:value=1e-9", "8:weibull:shape=0.12"], "span a factor 1e+09"),
    (["--workers", "8", "--inject", "16", "--updates", "1000000000"], "at most 10,000,000"),
])
def test_settings_past_the_tables_are_refused(capsys: pytest.CaptureFixture[str],
                                              argv: list[str], needle: str) -> None:
    """Once MemoryErrors of 84-618 GiB (groups 1e9 apart) and 7.45 GiB (--inject)."""
    code, out, err = run(capsys, *argv)
    assert_usage_error(code, out, err, needle)
