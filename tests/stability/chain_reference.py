"""Independent reference for rational kernels: the linear-chain ODE, one chain per phase.

State ``(x, y_{c,1}, …, y_{c,k_c})`` per component ``c`` with weight ``w_c``, rate ``r_c``
and shape ``k_c``: ``x' = −κ Σ_c w_c y_{c,k_c}``, ``y_{c,1}' = r_c (x − y_{c,1})``,
``y_{c,j}' = r_c (y_{c,j−1} − y_{c,j})``. ``y_{c,k}`` is ``x`` filtered through the
Erlang(k_c, r_c) density, so the eigenvalues are the roots of ``z + κ φ(z)``, plus ``−r``
for every chain that repeats a rate (uncontrollable; sdde's minimal chain matrix merges
such chains, so this non-minimal construction is an independent check of it).
"""

from __future__ import annotations

import numpy as np


def linear_chain_eigenvalues(kappa: float,
                             parts: list[tuple[float, float, int]]) -> np.ndarray:
    """Eigenvalues of the chain ODE of ``parts = [(weight, rate, shape), …]`` at gain κ."""
    size = 1 + sum(k for _, _, k in parts)
    a = np.zeros((size, size))
    row = 1
    for weight, rate, shape in parts:
        for j in range(shape):
            a[row + j, row + j] = -rate
            a[row + j, row + j - 1 if j else 0] += rate
        a[0, row + shape - 1] = -kappa * weight
        row += shape
    return np.linalg.eigvals(a)
