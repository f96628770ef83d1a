"""Hessian-vector products and per-example gradients of a PyTorch loss, as numpy callables.

PyTorch is imported on first use (``pip install -e '.[torch]'``). The transforms are
``torch.func``'s (``jvp`` over ``grad``, ``vmap``), so ``loss_fn`` is a pure function of
its parameters: for an ``nn.Module`` write it with ``torch.func.functional_call``::

    params = {k: v.detach() for k, v in model.named_parameters()}
    def loss_fn(p, batch):
        x, y = batch
        return torch.nn.functional.cross_entropy(torch.func.functional_call(model, p, (x,)), y)

Parameters are a tensor, or a dict / list / tuple of them (nested); every vector here is
their concatenation in that order (dict insertion order), and ``FlatHVP.unravel`` maps one
back. Precision: ``precision="float64"`` (default) casts the parameters and every floating
tensor of the batch to float64 (a module's own buffers are not touched: call
``model.double()`` if it has floating buffers); ``"native"`` keeps the parameters' dtype.
Layers that mix examples (batch norm in training mode) have no per-example gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import numpy as np

from sdde._numerics import FloatArray
from sdde.curvature._operator import FlatHVP

Precision = Literal["float64", "native"]
_MISSING = "the PyTorch adapter needs torch: pip install -e '.[torch]'"


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError(_MISSING) from None
    return torch


def _map(fn: Callable[[Any], Any], tree: Any) -> Any:
    """``tree`` with ``fn`` applied to every leaf (dicts, lists and tuples are nodes)."""
    if isinstance(tree, Mapping):
        return {key: _map(fn, value) for key, value in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(_map(fn, value) for value in tree)
    return fn(tree)


def _leaves(tree: Any) -> list[Any]:
    if isinstance(tree, Mapping):
        return [leaf for value in tree.values() for leaf in _leaves(value)]
    if isinstance(tree, list | tuple):
        return [leaf for value in tree for leaf in _leaves(value)]
    return [tree]


def _rebuild(tree: Any, leaves: Iterator[Any]) -> Any:
    return _map(lambda _: next(leaves), tree)


def _dtype(torch: Any, precision: str, default: Any) -> Any:
    if precision == "float64":
        return torch.float64
    if precision == "native":
        return default
    raise ValueError(f"precision must be 'float64' or 'native', got {precision!r}")


def _cast_batch(torch: Any, batch: Any, precision: str) -> Any:
    if batch is None or precision != "float64":
        return batch
    return _map(lambda t: t.to(torch.float64) if isinstance(t, torch.Tensor)
                and t.is_floating_point() else t, batch)


class _Flat:
    """The parameters as one flat tensor, and the way back to their structure."""

    def __init__(self, torch: Any, params: Any, precision: str) -> None:
        leaves = _leaves(params)
        if not leaves or not all(isinstance(t, torch.Tensor) for t in leaves):
            raise ValueError("params must be a tensor or a dict/list/tuple of tensors, e.g. "
                             "dict(model.named_parameters())")
        dtype = _dtype(torch, precision, leaves[0].dtype)
        self.torch, self.structure = torch, params
        self.shapes = [t.shape for t in leaves]
        self.sizes = [int(t.numel()) for t in leaves]
        self.flat = torch.cat([t.detach().to(dtype).reshape(-1) for t in leaves])

    def unravel(self, x: Any) -> Any:
        parts = self.torch.split(x, self.sizes)
        return _rebuild(self.structure, iter(p.reshape(s) for p, s in
                                             zip(parts, self.shapes, strict=True)))

    def ravel(self, tree: Any) -> Any:
        return self.torch.cat([t.reshape(-1) for t in _leaves(tree)])

    def tensor(self, v: FloatArray) -> Any:
        return self.torch.as_tensor(np.asarray(v, dtype=np.float64)).to(
            dtype=self.flat.dtype, device=self.flat.device)


def _numpy(t: Any) -> FloatArray:
    return np.asarray(t.detach().cpu().numpy(), dtype=np.float64)


def hvp_from_torch(loss_fn: Callable[..., Any], params: Any, batch: Any = None, *,
                   precision: Precision = "float64") -> FlatHVP:
    """The Hessian-vector product of a PyTorch loss at ``params`` (``torch.func``).

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params)`` (``batch`` left out) or ``loss_fn(params, batch)`` returning a
        scalar tensor, a pure function of ``params`` (see the module notes).
    params : tensor or dict/list/tuple of tensors
        Where the Hessian is taken.
    batch : optional
        The data the loss is averaged over.
    precision : {"float64", "native"}
        See the module notes.

    Returns
    -------
    FlatHVP
        ``hvp(v) = ∇²f(θ) v`` for numpy float64 vectors (``torch.func.jvp`` of
        ``torch.func.grad``: forward-over-reverse).

    Raises
    ------
    ImportError
        If PyTorch is not installed (``pip install -e '.[torch]'``).
    """
    torch = _torch()
    from torch.func import grad, jvp

    flat = _Flat(torch, params, precision)
    data = _cast_batch(torch, batch, precision)

    def flat_loss(x: Any) -> Any:
        p = flat.unravel(x)
        return loss_fn(p) if data is None else loss_fn(p, data)

    gradient = grad(flat_loss)

    def apply(v: FloatArray) -> FloatArray:
        _, out = jvp(gradient, (flat.flat,), (flat.tensor(v),))
        return _numpy(out)

    return FlatHVP(apply=apply, dim=int(flat.flat.numel()),
                   unravel=lambda v: flat.unravel(flat.tensor(v)), framework="torch")


def per_example_gradients_from_torch(loss_fn: Callable[[Any, Any], Any], params: Any,
                                     batch: Any, *,
                                     precision: Precision = "float64") -> FloatArray:
    """One flat gradient per example of ``batch``: shape ``(n_examples, dim)``.

    ``loss_fn(params, batch)`` is called on batches of one example (every tensor of
    ``batch`` with a leading axis of length 1) under ``torch.func.vmap``; the rows are in
    the layout of :func:`hvp_from_torch`'s vectors.

    Raises
    ------
    ImportError
        If PyTorch is not installed (``pip install -e '.[torch]'``).
    """
    torch = _torch()
    from torch.func import grad, vmap

    flat = _Flat(torch, params, precision)
    p = flat.unravel(flat.flat)
    data = _cast_batch(torch, batch, precision)

    def one(example: Any) -> Any:
        single = _map(lambda t: t.unsqueeze(0) if isinstance(t, torch.Tensor) else t, example)
        return flat.ravel(grad(loss_fn)(p, single))

    return _numpy(vmap(one)(data))
