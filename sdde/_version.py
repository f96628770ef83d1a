"""The installed package's version, in a module of its own so that every layer may read it."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sdde")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
