"""The executable derivations in ``theory/derivations/`` run to completion.

Each script derives its results in sympy and ends by checking them against sdde's
numerical code with ``assert``; running it is the test. Scripts print their results:
the output is captured here and shown only on failure.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

DERIVATIONS = Path(__file__).resolve().parents[1] / "theory" / "derivations"
SCRIPTS = sorted(p.name for p in DERIVATIONS.glob("*.py"))


def test_every_derivation_is_collected() -> None:
    assert set(SCRIPTS) >= {
        "point_delay.py",
        "erlang.py",
        "uniform.py",
        "transcendental.py",
        "thresholds_and_policies.py",
        "discrete_constant_staleness.py",
        "sufficient_condition.py",
    }


@pytest.mark.parametrize("script", SCRIPTS)
def test_derivation_runs(script: str, capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(DERIVATIONS / script), run_name="__main__")
    assert "all checks passed" in capsys.readouterr().out
