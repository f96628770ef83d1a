"""Characteristic roots of the delay equation of one Hessian mode.

Time is measured in units of the mean delay, so a mode with dimensionless gain
``κ = η · n · h`` has the characteristic equation ``z + κ φ(z) = 0``, ``φ`` the Laplace
transform of the normalised delay law. This module holds the point-delay case, whose
roots are all the branches of the Lambert W function; general kernels follow.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from sdde._numerics import ComplexArray

#: Taylor coefficients of W around the branch point -1/e in p = ±sqrt(2 (1 + e x))
#: (Corless, Gonnet, Hare, Jeffrey & Knuth 1996, eq. 4.22).
_BRANCH_SERIES = (-1.0, 1.0, -1.0 / 3.0, 11.0 / 72.0, -43.0 / 540.0, 769.0 / 17280.0,
                  -221.0 / 8505.0, 680863.0 / 43545600.0, -1963.0 / 204120.0)
#: Within this distance of the branch point (in 1 + e x) the series is used: p <= 0.045,
#: so the first omitted term is below 1e-13.
_BRANCH_ZONE = 1e-3


def lambert_w(x: float, branch: int) -> complex:
    """Lambert W on a branch, finite and accurate at and near the branch point ``-1/e``.

    scipy's ``lambertw`` returns NaN exactly at ``-1/e``; there and within
    ``|1 + e x| < 1e-3`` the branch-point series is summed instead (branches 0 and -1,
    the two that meet there).
    """
    d = 1.0 + math.e * x
    if branch in (0, -1) and abs(d) < _BRANCH_ZONE:
        root = np.sqrt(complex(2.0 * d))
        p = root if branch == 0 else -root
        if d < 0:  # below -1/e the two branches are a conjugate pair; W_0 has Im > 0
            p = complex(0.0, abs(root.imag)) * (1 if branch == 0 else -1)
        return complex(sum(c * p**j for j, c in enumerate(_BRANCH_SERIES)))
    return complex(special.lambertw(x, branch))


def point_delay_roots(kappa: float, n_roots: int = 10) -> ComplexArray:
    """Rightmost roots of ``z + κ e^{-z} = 0`` (a point delay of one mean delay).

    Parameters
    ----------
    kappa : float
        Dimensionless gain ``κ > 0``.
    n_roots : int
        How many roots to return.

    Returns
    -------
    ndarray of complex, shape (n_roots,)
        Sorted by real part, descending (conjugate pairs: positive imaginary part first).

    Notes
    -----
    ``z e^{z} = -κ`` gives ``z = W_k(-κ)`` for every branch ``k``. All roots have
    negative real part iff ``κ < π/2``; the rightmost root is real for ``κ <= 1/e`` and
    the fastest decay, ``Re z = -1``, is the double root at ``κ = 1/e``.

    Examples
    --------
    >>> from sdde.roots import point_delay_roots
    >>> z = point_delay_roots(1 / 2.718281828459045, 2)
    >>> bool(abs(z[0] + 1) < 1e-9 and abs(z[1] + 1) < 1e-9)
    True
    """
    if isinstance(kappa, bool) or not (isinstance(kappa, int | float) and 0 < kappa < math.inf):
        raise ValueError(f"kappa must be a finite number > 0, got {kappa!r}")
    if isinstance(n_roots, bool) or not isinstance(n_roots, int | np.integer) or n_roots < 1:
        raise ValueError(f"n_roots must be a whole number >= 1, got {n_roots!r}")
    # Conjugate pairs are built from one branch each (W_k, k >= 0, has Im >= 0 and
    # W_{-k-1} is its conjugate), so a pair's members are exact conjugates and the
    # positive imaginary part comes first; for κ <= 1/e, W_0 and W_{-1} are two real roots.
    groups: list[list[complex]] = []
    w0 = lambert_w(-kappa, 0)
    if w0.imag != 0.0:
        w0 = complex(w0.real, abs(w0.imag))
        groups.append([w0, w0.conjugate()])
    else:
        groups += [[w0], [complex(lambert_w(-kappa, -1).real, 0.0)]]
    for k in range(1, n_roots // 2 + 2):
        w = lambert_w(-kappa, k)
        w = complex(w.real, abs(w.imag))
        groups.append([w, w.conjugate()])
    groups.sort(key=lambda g: -g[0].real)
    return np.array([z for g in groups for z in g][:n_roots], dtype=np.complex128)
