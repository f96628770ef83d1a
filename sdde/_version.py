"""The package's version, in a module of its own so that every layer may read it.

A literal, not ``importlib.metadata.version("sdde")``: that lookup costs about 30 ms of
every ``sdde-analyze`` start. tests/test_version.py checks it against pyproject.toml and
the installed metadata.
"""

__version__ = "0.1.0"
