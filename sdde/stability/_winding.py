"""Certified change of argument of a complex curve (private).

Counting the roots of an analytic function inside a contour (argument principle) needs
the total change of ``arg f`` along the contour, and sampling can miss a fast turn near
a zero. If ``|f'| <= L`` along a parameter interval ``[a, b]`` and
``L (b - a) < |f(a)| - e`` (``e`` the evaluation error), the curve stays in a disk around
``f(a)`` that excludes 0, so its change of argument is the principal value of
``arg f(b) / f(a)``. Intervals that fail the test are split until all pass.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sdde._numerics import ComplexArray, FloatArray

#: Evaluations allowed before giving up (a zero on, or extremely close to, the path).
MAX_EVALUATIONS = 2**17


def certified_arg_change(
    f: Callable[[FloatArray], ComplexArray],
    a: float,
    b: float,
    *,
    lipschitz: float,
    error: float,
    n_start: int = 64,
    max_evaluations: int = MAX_EVALUATIONS,
) -> float | None:
    """Total change of ``arg f(t)`` for ``t`` from ``a`` to ``b``.

    Parameters
    ----------
    f : callable
        Vectorised complex function of a real parameter.
    a, b : float
        Parameter interval.
    lipschitz : float
        Bound on ``|f'(t)|`` over ``[a, b]``.
    error : float
        Bound on the absolute error of each evaluation of ``f``.
    n_start : int
        Intervals of the first, uniform, grid.
    max_evaluations : int
        Budget; the function returns None when it is used up.

    Returns
    -------
    float or None
        The change of argument (radians), or None when the curve passes within the
        evaluation error of 0 (the count is undecidable at this precision).
    """
    t = np.linspace(a, b, n_start + 1)
    v = np.asarray(f(t), dtype=np.complex128)
    left_t, right_t, left_v, right_v = t[:-1], t[1:], v[:-1], v[1:]
    total = 0.0
    used = t.size
    while left_t.size:
        reach = lipschitz * (right_t - left_t) + error
        ok = reach < np.maximum(np.abs(left_v), np.abs(right_v))
        total += float(np.sum(np.angle(right_v[ok] / left_v[ok])))
        lt, rt, lv, rv = left_t[~ok], right_t[~ok], left_v[~ok], right_v[~ok]
        if not lt.size:
            break
        used += 3 * lt.size
        if used > max_evaluations or np.any(rt - lt <= 4 * np.spacing(np.abs(rt))):
            return None
        grid = lt[:, None] + (rt - lt)[:, None] * np.array([0.0, 0.25, 0.5, 0.75, 1.0])
        inner = np.asarray(f(grid[:, 1:4].ravel()), dtype=np.complex128).reshape(-1, 3)
        values = np.concatenate([lv[:, None], inner, rv[:, None]], axis=1)
        left_t, right_t = grid[:, :-1].ravel(), grid[:, 1:].ravel()
        left_v, right_v = values[:, :-1].ravel(), values[:, 1:].ravel()
    return total
