"""Compiled Lyapunov-exponent sweep of the noise-free one-mode server (numba).

Used by :mod:`sdde.stability.almost_sure`; tests/stability/test_almost_sure.py checks it
against a plain-numpy twin and against the reference simulator's own event loop.

The server (the server of THEORY.md §1, one Hessian mode of curvature ``h``, no gradient noise, gain
``a = η h`` per update) is a product of random linear maps. Worker ``i`` holds ``y_i``,
the parameter at its last pull; on a push by worker ``w`` with staleness ``s`` (updates
applied since its pull)::

    accepted (K < 0 or s <= K):  θ ← θ − a · g(s) · y_w ;   then  y_w ← θ
    dropped:                                              then  y_w ← θ

The push schedule (which worker pushes when) does not depend on θ, nor does the
staleness / acceptance sequence (it depends on the schedule and on ``K`` only), so one
schedule drives all gains ``a_1 … a_M`` at once (common random numbers). The state is
laid out ``y[i, m]`` (worker-major) so that a push touches one contiguous row of ``M``
values: O(M) work per push, vectorised over ``m``. ``θ`` always equals ``y`` of the last
pusher, so the state vector is ``(θ, y_1, …, y_n)``; it is divided by its max-abs every
``renorm`` pushes and the logarithms are accumulated.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray

IntArray = npt.NDArray[np.int64]


@numba.njit(cache=True, nogil=True, fastmath=False, boundscheck=False)
def lyapunov_sweep(workers: IntArray, n: int, gains: FloatArray, factors: FloatArray,
                   threshold: int, burn_in: int, batch: int, renorm: int,
                   y0: FloatArray, theta0: float) -> tuple[FloatArray, IntArray]:
    """Log-growth of the noise-free server, per batch of pushes, for every gain at once.

    Parameters
    ----------
    workers : int64 array, shape (N,)
        The pushing worker of each push, in time order (``0 … n−1``).
    n : int
        Number of workers.
    gains : float64 array, shape (M,)
        Per-update gains ``a = η h`` (``κ = n a``).
    factors : float64 array, shape (L,)
        Step-policy weight ``g(s)``; staleness ``s >= L`` uses ``factors[L − 1]``.
    threshold : int
        Staleness cut-off ``K`` (pushes with ``s > K`` are dropped); ``< 0``: none.
    burn_in : int
        Pushes discarded before the first batch (a multiple of ``renorm``).
    batch : int
        Pushes per batch (a multiple of ``renorm``).
    renorm : int
        Pushes between renormalisations (each costs O(n M)); choose it so that
        ``(1 + max|a g|)^renorm`` stays far below the float range (:func:`safe_renorm`).
    y0, theta0 : float64 array, shape (n,), and float
        Initial pulls and parameter (the same for every gain). Use a generic (random)
        start: with all ``y_i`` equal, ``a = 1/k`` lands exactly on 0 after ``k`` stale
        pushes, an artefact of the start, not of the exponent.

    Returns
    -------
    logs : float64 array, shape (B, M)
        ``log‖state‖`` gained over each of the ``B = (N − burn_in) // batch`` batches
        (max-abs norm; ``-inf`` if the state became exactly 0).
    accepted : int64 array, shape (B,)
        Updates applied in each batch.
    """
    n_push = workers.shape[0]
    m_count = gains.shape[0]
    n_batches = (n_push - burn_in) // batch if n_push > burn_in else 0
    logs = np.zeros((n_batches, m_count))
    accepted = np.zeros(n_batches, dtype=np.int64)
    y = np.empty((n, m_count))
    for i in range(n):
        for m in range(m_count):
            y[i, m] = y0[i]
    theta = np.full(m_count, theta0)
    acc = np.zeros(m_count)       # accumulated log of the renormalisation factors
    at_start = np.zeros(m_count)  # acc at the start of the current batch
    big = np.empty(m_count)
    pulled = np.zeros(n, dtype=np.int64)
    n_fac = factors.shape[0]
    updates = 0
    updates_at_start = 0
    end = burn_in + n_batches * batch
    for e in range(end):
        w = workers[e]
        s = updates - pulled[w]
        if threshold < 0 or s <= threshold:
            c = factors[s if s < n_fac else n_fac - 1]
            row = y[w]
            for m in range(m_count):
                t = theta[m] - (gains[m] * c) * row[m]
                theta[m] = t
                row[m] = t
            updates += 1
        else:
            row = y[w]
            for m in range(m_count):
                row[m] = theta[m]
        pulled[w] = updates
        if (e + 1) % renorm == 0:
            for m in range(m_count):
                big[m] = abs(theta[m])
            for i in range(n):
                r = y[i]
                for m in range(m_count):
                    v = abs(r[m])
                    if v > big[m]:
                        big[m] = v
            for m in range(m_count):
                b = big[m]
                if b > 1e-280 and b < np.inf:
                    acc[m] += np.log(b)
                    big[m] = 1.0 / b
                else:  # (nearly) zero: collapsed, e.g. a = 1 on a fresh push; or overflow
                    acc[m] = -np.inf if b <= 1e-280 else np.inf
                    big[m] = 1.0
            for i in range(n):
                r = y[i]
                for m in range(m_count):
                    r[m] *= big[m]
            for m in range(m_count):
                theta[m] *= big[m]
            done = e + 1 - burn_in
            if done == 0:
                for m in range(m_count):
                    at_start[m] = acc[m]
                updates_at_start = updates
            elif done > 0 and done % batch == 0:
                b_idx = done // batch - 1
                for m in range(m_count):
                    # an absorbed chain (state exactly 0) stays at -inf, not nan
                    logs[b_idx, m] = acc[m] - at_start[m] if acc[m] > -np.inf else -np.inf
                    at_start[m] = acc[m]
                accepted[b_idx] = updates - updates_at_start
                updates_at_start = updates
    return logs, accepted


def safe_renorm(n: int, max_gain: float, max_factor: float = 1.0, *,
                log_range: float = 500.0) -> int:
    """Pushes between renormalisations: ``(1 + a g)^R <= e^log_range``, in ``[n, 16 n]``.

    One push multiplies the max-abs norm of the state by at most ``1 + a g``; the
    renormalisation costs ``O(n M)``, so ``R >= n`` keeps it below one update's cost per
    push. (The norm can also shrink fast, but a decay by ``e^-500`` over ``R`` pushes
    would need an exponent far below any near a threshold.)
    """
    growth = np.log1p(abs(max_gain) * abs(max_factor))
    cap = int(log_range / growth) if growth > 0 else 16 * n
    return int(max(8, min(max(n, 64) * 16, max(cap, 8))))
