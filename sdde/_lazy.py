"""Lazy public namespaces: a package lists its names, the module behind each loads on first use.

Every layer's ``__init__`` (and ``sdde`` itself) forwards its module ``__getattr__`` here,
so ``import sdde.stability`` costs nothing until a name is used, and the command line starts
without loading numba, sympy or matplotlib.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from typing import Any


def load(package: str, exports: Mapping[str, str], name: str) -> Any:
    """The attribute ``name`` of ``package``: an exported name or a submodule.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping of str to str
        Public name → the module that defines it.
    name : str
        The attribute asked for.

    Raises
    ------
    AttributeError
        Neither an exported name nor a submodule of ``package``.
    """
    if name in exports:
        return getattr(importlib.import_module(exports[name]), name)
    if not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}") is not None:
        return importlib.import_module(f"{package}.{name}")
    raise AttributeError(f"module {package!r} has no attribute {name!r}")
