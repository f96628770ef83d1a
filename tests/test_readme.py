"""README.md keeps its promises: two commands first, and a Python example that runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_install_run_and_test_commands() -> None:
    first = _blocks("bash")[0].strip().splitlines()
    assert len(first) == 2
    assert "pip install" in first[0] and "sdde-analyze --workers 32 --lr 0.01" in first[0]
    assert "pytest" in first[1]
    assert README.index("```bash") < README.index("```python")


def test_readme_python_example_runs_and_is_six_lines(capsys: pytest.CaptureFixture[str]) -> None:
    example = _blocks("python")[0]
    assert len(example.strip().splitlines()) == 6
    exec(compile(example, "README.md", "exec"), {})
    printed = capsys.readouterr().out.split()
    arrival_rate, mean = float(printed[0]), float(printed[1])
    assert arrival_rate == 32.0 and mean == 31.0
