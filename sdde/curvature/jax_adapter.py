"""Hessian-vector products and per-example gradients of a JAX loss, as numpy callables.

JAX is imported on first use (``pip install -e '.[jax]'``). Parameters are any pytree;
they are flattened with ``jax.flatten_util.ravel_pytree``, so every vector here is the
flat float64 parameter vector and ``FlatHVP.unravel`` maps one back to the pytree.

Precision: by default (``precision="float64"``) the loss runs in float64 inside
``jax.enable_x64(True)``, a context that leaves the process-wide setting alone: parameters
and floating leaves of the batch are cast to float64, and the Hessian is that of the loss
in double precision (what the 1e-8 eigenvalue targets need). Arrays the loss function
closes over keep their dtype: create them as numpy arrays (JAX converts them inside the
context) or in float64, since a ``jnp`` array made outside the context is float32.
``precision="native"`` keeps the parameters' own dtype (float32 for most models: about
7 significant digits in each product, faster).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np

from sdde._numerics import FloatArray
from sdde.curvature._operator import FlatHVP

Precision = Literal["float64", "native"]
_MISSING = "the JAX adapter needs JAX: pip install -e '.[jax]'"


def _jax() -> Any:
    try:
        import jax
    except ImportError:
        raise ImportError(_MISSING) from None
    return jax


@contextmanager
def _precision(jax: Any, precision: str) -> Iterator[None]:
    if precision == "float64":
        with jax.enable_x64(True):
            yield
    elif precision == "native":
        yield
    else:
        raise ValueError(f"precision must be 'float64' or 'native', got {precision!r}")


def _cast(jax: Any, tree: Any, precision: str) -> Any:
    """Floating leaves of ``tree`` as float64 arrays (``precision="float64"``), else as is."""
    if precision != "float64":
        return tree
    import jax.numpy as jnp

    def cast(leaf: Any) -> Any:
        arr = jnp.asarray(leaf)
        return arr.astype(jnp.float64) if jnp.issubdtype(arr.dtype, jnp.floating) else arr
    return jax.tree_util.tree_map(cast, tree)


def hvp_from_jax(loss_fn: Callable[..., Any], params: Any, batch: Any = None, *,
                 precision: Precision = "float64") -> FlatHVP:
    """The Hessian-vector product of a JAX loss at ``params`` (forward-over-reverse).

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params)`` (``batch`` left out) or ``loss_fn(params, batch)`` returning a
        scalar; written with ``jax.numpy``.
    params : pytree
        The parameters at which the Hessian is taken (e.g. a trained minimiser).
    batch : pytree, optional
        The data the loss is averaged over (passed as an argument, not baked into the
        compiled function).
    precision : {"float64", "native"}
        See the module notes: float64 (default) or the parameters' own dtype.

    Returns
    -------
    FlatHVP
        ``hvp(v) = ∇²f(θ) v`` for numpy float64 vectors of length ``dim``, compiled
        (``jax.jit`` of ``jax.jvp`` over ``jax.grad``, about the cost of two gradients).

    Raises
    ------
    ImportError
        If JAX is not installed (``pip install -e '.[jax]'``).

    Examples
    --------
    >>> import numpy as np
    >>> hvp = hvp_from_jax(lambda p: (p["a"] ** 2).sum() + p["a"][0] * p["b"],
    ...                    {"a": np.ones(2), "b": np.float64(1.0)})
    >>> hvp.dim, hvp(np.array([1.0, 0.0, 0.0])).tolist()    # first column of H
    (3, [2.0, 0.0, 1.0])
    """
    jax = _jax()
    from jax.flatten_util import ravel_pytree

    with _precision(jax, precision):
        flat, unravel = ravel_pytree(_cast(jax, params, precision))
        data = _cast(jax, batch, precision)
        dtype = flat.dtype

        def flat_loss(x: Any, data: Any) -> Any:
            p = unravel(x)
            return loss_fn(p) if data is None else loss_fn(p, data)

        grad = jax.grad(flat_loss)
        product = jax.jit(lambda x, v, data: jax.jvp(lambda y: grad(y, data), (x,), (v,))[1])

    def apply(v: FloatArray) -> FloatArray:
        with _precision(jax, precision):
            out = product(flat, jax.numpy.asarray(v, dtype=dtype), data)
            return np.asarray(out, dtype=np.float64)

    def unravel_numpy(v: FloatArray) -> Any:
        with _precision(jax, precision):
            return unravel(jax.numpy.asarray(v, dtype=dtype))

    return FlatHVP(apply=apply, dim=int(flat.size), unravel=unravel_numpy, framework="jax")


def per_example_gradients_from_jax(loss_fn: Callable[[Any, Any], Any], params: Any,
                                   batch: Any, *,
                                   precision: Precision = "float64") -> FloatArray:
    """One flat gradient per example of ``batch``: shape ``(n_examples, dim)``.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params, batch)``, the loss averaged over a batch (the training loss). It
        is called on batches of one example (every leaf of ``batch`` sliced to a leading
        axis of length 1) under ``jax.vmap``, so each row is that example's gradient.
    params : pytree
        Where the gradients are taken.
    batch : pytree
        Examples along the leading axis of every leaf.
    precision : {"float64", "native"}
        As in :func:`hvp_from_jax`.

    Returns
    -------
    ndarray, shape (n_examples, dim)
        In the layout of ``ravel_pytree(params)`` (that of :func:`hvp_from_jax`'s vectors).
        For a large data set call it chunk by chunk (a generator) and hand the chunks to
        :func:`gradient_noise`.

    Examples
    --------
    >>> import numpy as np
    >>> loss = lambda w, b: ((b["x"] @ w - b["y"]) ** 2).mean() / 2
    >>> g = per_example_gradients_from_jax(loss, np.zeros(2), {"x": np.eye(2),
    ...                                                         "y": np.array([1.0, 2.0])})
    >>> (g + 0.0).tolist()                        # −y_e x_e (+ 0.0 clears the −0.0)
    [[-1.0, 0.0], [0.0, -2.0]]
    """
    jax = _jax()
    from jax.flatten_util import ravel_pytree

    with _precision(jax, precision):
        p = _cast(jax, params, precision)
        data = _cast(jax, batch, precision)

        def one(example: Any) -> Any:
            single = jax.tree_util.tree_map(lambda leaf: leaf[None], example)
            return ravel_pytree(jax.grad(loss_fn)(p, single))[0]

        out = jax.jit(jax.vmap(one))(data)
        return np.asarray(out, dtype=np.float64)
