"""Internal consistency checks (private).

A result that contradicts itself (a certified unstable root count beside a rightmost root
left of the axis, a negative time, a probability above one) is a bug in sdde, not a
property of the user's input. :func:`check` turns such a contradiction into an
:class:`InvariantError` before the result is returned, so the command line reports an
internal error instead of printing a wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["InvariantError", "check"]


class InvariantError(RuntimeError):
    """An internal invariant of a computed result does not hold (a bug in sdde).

    Examples
    --------
    >>> from sdde._invariants import InvariantError
    >>> issubclass(InvariantError, RuntimeError)
    True
    """


def check(condition: bool, message: str | Callable[[], str]) -> None:
    """Raise :class:`InvariantError` with ``message`` unless ``condition`` holds.

    Parameters
    ----------
    condition : bool
        The invariant; anything truthy passes (a NumPy boolean included).
    message : str or callable
        What was expected and what was found, for the error report (a callable is only
        called when the check fails: for messages that cost something to build).

    Raises
    ------
    InvariantError
        When ``condition`` is false.

    Examples
    --------
    >>> from sdde._invariants import InvariantError, check
    >>> check(0.3 <= 1.0, "a probability is at most 1")
    >>> try:
    ...     check(-1.0 >= 0.0, "time to target >= 0, got -1")
    ... except InvariantError as exc:
    ...     print(exc)
    internal invariant violated: time to target >= 0, got -1
    """
    if not condition:
        text = message() if callable(message) else message
        raise InvariantError(f"internal invariant violated: {text}")
