"""Gradient-noise variance along given directions, from per-example gradients.

sdde's noise convention (``AsyncSGDModel.noise``, ``sdde-analyze --noise C``): ``c_i`` is
the variance of the component along Hessian eigenvector ``u_i`` of *one stochastic gradient*
as a worker pushes it, the minibatch gradient ``g_B = (1/B) Σ_{e ∈ B} g_e``, around the
full-batch gradient. From per-example gradients ``g_e`` that is

    c_i = Var(u_iᵀ g_e) / B                      (batches drawn with replacement, or from
                                                  a population much larger than B)
    c_i = Var(u_iᵀ g_e) / B · (1 − B / M)        (B rows drawn without replacement from M)

with ``Var`` the sample variance (divisor ``n − 1``) over the examples given: exact when
they are the whole population of ``M`` rows, unbiased when they are a random sample of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray
from sdde.curvature._operator import check_count

Gradients = npt.ArrayLike | Iterable[npt.ArrayLike] | Callable[[], Iterable[npt.ArrayLike]]


@dataclass(frozen=True, kw_only=True, eq=False)
class GradientNoise:
    """Minibatch gradient noise along a set of directions.

    Attributes
    ----------
    variances : ndarray, shape (k,)
        ``c_i``: the variance of one minibatch gradient's component along direction ``i``
        (sdde's ``noise`` per mode; pass it as ``AsyncSGDModel(noise=...)`` in the order of
        the spectrum's eigenvalues).
    covariance : ndarray, shape (k, k)
        The minibatch gradient's covariance between the directions (``variances`` is its
        diagonal). sdde's modes are independent; large off-diagonal entries say the noise
        couples them.
    example_variances : ndarray, shape (k,)
        ``Var(u_iᵀ g_e)`` for one example (divisor ``n − 1``).
    variance_std_error : ndarray, shape (k,)
        Standard error of ``variances`` from the finite number of examples (the sample
        variance's asymptotic ``√((μ₄ − s⁴) / n)``, scaled like ``variances``).
    mean : ndarray, shape (k,)
        The mean gradient's component along each direction (near 0 at a minimiser).
    n_examples, batch_size : int
        Examples used and the minibatch size ``B``.
    population_size : int or None
        ``M`` when batches are drawn without replacement from ``M`` rows.
    """

    variances: FloatArray
    covariance: FloatArray
    example_variances: FloatArray
    variance_std_error: FloatArray
    mean: FloatArray
    n_examples: int
    batch_size: int
    population_size: int | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"variances": [float(v) for v in self.variances],
                "variance_std_error": [float(v) for v in self.variance_std_error],
                "example_variances": [float(v) for v in self.example_variances],
                "mean": [float(v) for v in self.mean],
                "n_examples": self.n_examples, "batch_size": self.batch_size,
                "population_size": self.population_size}


def gradient_noise(per_example_gradients: Gradients, directions: npt.ArrayLike, *,
                   batch_size: int, population_size: int | None = None) -> GradientNoise:
    """The minibatch gradient-noise variance along each direction (sdde's ``noise``).

    Parameters
    ----------
    per_example_gradients : array_like of shape (n_examples, dim), or an iterable of such
        chunks, or a callable returning one
        One gradient per example, at the parameters of interest (e.g. a minimiser). Chunks
        (a generator over the data set) keep memory at one chunk: only the ``k``
        projections of each example are kept.
    directions : array_like, shape (dim, k) or (dim,)
        Directions as columns, e.g. ``top_eigenvalues(..., return_eigenvectors=True)
        .eigenvectors``; each is normalised to unit length.
    batch_size : int
        Examples per stochastic gradient, ``B >= 1``.
    population_size : int, optional
        ``M``: batches are drawn without replacement from ``M`` rows (the data set), which
        multiplies the variance by ``1 − B / M``. Leave out for sampling with replacement
        or from a stream.

    Returns
    -------
    GradientNoise

    Examples
    --------
    >>> import numpy as np
    >>> g = np.array([[1.0, 0.0], [-1.0, 2.0], [3.0, -2.0], [1.0, 0.0]])
    >>> gradient_noise(g, np.eye(2), batch_size=2).variances   # sample variances / 2
    array([1.33333333, 1.33333333])
    """
    u = np.asarray(directions, dtype=np.float64)
    if u.ndim == 1:
        u = u[:, None]
    if u.ndim != 2 or u.shape[1] < 1 or not np.all(np.isfinite(u)):
        raise ValueError(f"directions must be a finite (dim, k) array of columns, got shape "
                         f"{u.shape}")
    lengths = np.linalg.norm(u, axis=0)
    if np.any(lengths == 0):
        raise ValueError("directions: every column must be non-zero")
    u = u / lengths
    b = check_count("batch_size", batch_size, 1)
    if population_size is not None:
        population_size = check_count("population_size", population_size, 1)
        if b > population_size:
            raise ValueError(f"batch_size ({b}) cannot exceed population_size "
                             f"({population_size}) when drawing without replacement")
    p = _projections(per_example_gradients, u)
    n = p.shape[0]
    if n < 2:
        raise ValueError(f"per_example_gradients: need at least 2 examples for a variance, "
                         f"got {n}")
    factor = (1.0 - b / population_size if population_size is not None else 1.0) / b
    mean = p.mean(axis=0)
    centred = p - mean
    example_cov = centred.T @ centred / (n - 1)
    example_var = np.diag(example_cov).copy()
    fourth = np.mean(centred ** 4, axis=0)
    second = np.mean(centred ** 2, axis=0)
    se = np.sqrt(np.maximum(fourth - second ** 2, 0.0) / n) * factor
    out = (factor * example_var, factor * example_cov, example_var, se, mean)
    for arr in out:
        arr.setflags(write=False)
    return GradientNoise(variances=out[0], covariance=out[1], example_variances=out[2],
                         variance_std_error=out[3], mean=out[4], n_examples=n, batch_size=b,
                         population_size=population_size)


def _projections(gradients: Gradients, u: FloatArray) -> FloatArray:
    """``G u`` for the gradients given as one array or as chunks: shape (n_examples, k)."""
    source: Any = gradients() if callable(gradients) else gradients
    if isinstance(source, np.ndarray) or _is_array_like(source):
        chunks: Iterable[Any] = [source]
    else:
        chunks = source
    parts = []
    for chunk in chunks:
        g = np.asarray(chunk, dtype=np.float64)
        if g.ndim == 1:
            g = g[None, :]
        if g.ndim != 2 or g.shape[1] != u.shape[0]:
            raise ValueError(f"per_example_gradients: each chunk must have shape (n, dim) = "
                             f"(n, {u.shape[0]}) to match the directions, got {g.shape}")
        if not np.all(np.isfinite(g)):
            raise ValueError("per_example_gradients: non-finite gradient (NaN or inf)")
        parts.append(g @ u)
    if not parts:
        raise ValueError("per_example_gradients: no gradients given")
    return np.concatenate(parts, axis=0)


def _is_array_like(obj: object) -> bool:
    """A nested list/tuple of numbers or an object with ``__array__`` (one array, not chunks)."""
    if hasattr(obj, "__array__"):
        return True
    if isinstance(obj, list | tuple) and obj:
        first = obj[0]
        return isinstance(first, list | tuple) and bool(first) and np.isscalar(first[0])
    return False
