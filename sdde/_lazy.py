"""Lazy public namespaces: a package lists its names, the module behind each loads on first use.

Every layer's ``__init__`` (and ``sdde`` itself) forwards its module ``__getattr__`` here,
so ``import sdde.stability`` costs nothing until a name is used, and the command line starts
without loading numba, sympy or matplotlib.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Mapping
from types import ModuleType
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



class _Deferred(ModuleType):
    """A stand-in for a module that imports it on the first attribute look-up.

    Unlike ``importlib.util.LazyLoader`` it is thread-safe on Python 3.11 (the import
    system's own lock does the loading) and never enters ``sys.modules``, so the real
    module is imported exactly as usual.
    """

    def __getattr__(self, attr: str) -> Any:
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)  # later look-ups find the names directly
        return getattr(real, attr)


def module(name: str) -> ModuleType:
    """The module ``name``, imported on its first attribute access (SPEC 1's ``lazy.load``).

    The bottom layers use SciPy everywhere, but a command that rejects its input or prints
    its help needs none of it: importing ``scipy.integrate`` and ``scipy.special`` costs
    about 0.45 s, three times Python and NumPy together. A module already imported is
    returned as it is.

    Parameters
    ----------
    name : str
        A module's full name, e.g. ``"scipy.special"``.

    Returns
    -------
    ModuleType
        The module, or a stand-in whose attributes are the module's.

    Examples
    --------
    >>> from sdde import _lazy
    >>> special = _lazy.module("scipy.special")
    >>> float(special.expit(0.0))
    0.5
    """
    return sys.modules.get(name) or _Deferred(name)
