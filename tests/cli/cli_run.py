"""In-process ``sdde-analyze`` runs for the CLI tests (one copy of the helpers)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sdde.cli.command import EXIT_USAGE, PROG, main

ERROR_PREFIX = f"{PROG}: error:"


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"JSON output holds the non-standard constant {name}")


def strict_json(text: str) -> Any:
    """``json.loads`` that refuses NaN, Infinity and -Infinity."""
    return json.loads(text, parse_constant=_reject_constant)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``main(argv)`` in-process; returns (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """Run with ``--json``; asserts success, a clean stderr and exactly one JSON object."""
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    assert "Traceback" not in out + err
    assert out.endswith("\n") and out.count("\n") == 1, "expected exactly one line of JSON"
    data = strict_json(out)
    assert isinstance(data, dict)
    return data


def assert_usage_error(code: int, out: str, err: str, *needles: str) -> str:
    """Exit 2, nothing on stdout, one ``sdde-analyze: error:`` line naming every needle."""
    assert code == EXIT_USAGE, (code, out, err)
    assert "Traceback" not in out and "Traceback" not in err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {err!r}"
    line = lines[0]
    assert line.startswith(ERROR_PREFIX), line
    for needle in needles:
        assert needle in line, f"{needle!r} missing from {line!r}"
    return line
