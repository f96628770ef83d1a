"""The version literal in sdde/_version.py is the one pyproject.toml declares and pip installed."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

from sdde._version import __version__

ROOT = Path(__file__).resolve().parent.parent


def test_version_literal_matches_pyproject_and_metadata() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert __version__ == declared == version("sdde")
