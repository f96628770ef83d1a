"""What the command imports before it refuses bad input or prints its help.

Refusing a typo must not cost the SciPy import (about 0.45 s of the 0.6 s a full run
spends importing): the command parses and checks everything the user typed before it loads
the analysis layers. These tests pin *which modules* are loaded, not seconds (timings live
in benchmarks/bench_cli.py).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Modules whose import is the expensive part of a run (scipy.special alone is 0.2 s).
HEAVY = ("scipy.special", "scipy.integrate", "scipy.optimize", "scipy.linalg", "scipy.stats",
         "numba", "matplotlib", "sympy", "sdde.stability.report", "sdde.cluster.cluster")

_PROBE = """
import json, sys
from sdde.cli.command import main
code = main({argv!r})
print(json.dumps({{"code": code, "loaded": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""


def _loaded_after(argv: list[str]) -> tuple[int, list[str]]:
    """Run ``main(argv)`` in a fresh interpreter: its exit code and the heavy modules loaded."""
    out = subprocess.run([sys.executable, "-c", _PROBE.format(argv=argv, heavy=HEAVY)],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["code"], result["loaded"]


@pytest.mark.parametrize("argv", [
    ["--delay", "foo:1"],
    ["--delay", "gamma:shape=-2"],
    ["--delay", "pareto:shape=1.1"],  # the tail rule of the input contract
    ["--delay", "weibull:shape=0.1,mean=1"],
    ["--workers", "8:lognormal:cv=500"],
    ["--lr", "-1"],
    ["--lr", "1e40"],
    ["--hessian", "1:2:x"],
    ["--workers", "0"],
    ["--threshold", "-1"],
    ["--noise", "nan"],
])
def test_bad_input_is_refused_before_any_heavy_import(argv: list[str]) -> None:
    code, loaded = _loaded_after(argv)
    assert code == 2
    assert loaded == []


def test_help_loads_nothing_heavy() -> None:
    code, loaded = _loaded_after(["--help"])
    assert code == 0
    assert loaded == []


def test_a_real_run_still_loads_the_analysis() -> None:
    """The probe itself can fail: a run that does work loads the modules it needs."""
    code, loaded = _loaded_after(["--workers", "4", "--lr", "0.01", "--no-exact"])
    assert code == 0
    assert "sdde.stability.report" in loaded and "scipy.special" in loaded


def test_the_readme_command_needs_neither_scipy_optimize_nor_integrate() -> None:
    """The README command's roots, E[max] and thresholds use sdde's own Brent and
    Gauss–Kronrod (0.35 s of imports saved); other runs may still load both."""
    code, loaded = _loaded_after(["--workers", "32", "--lr", "0.01"])
    assert code == 0
    assert "scipy.optimize" not in loaded and "scipy.integrate" not in loaded
    assert "scipy.stats" not in loaded and "numba" not in loaded
