"""Independent references for the curvature tests: matrices with a chosen spectrum, the
digits logistic regression's Hessian-vector product written from its formula, and the same
loss (and a small MLP) in JAX."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from sdde.simulator.logistic import LogisticRegressionObjective


def symmetric_with_spectrum(eigenvalues: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``Q diag(eigenvalues) Qᵀ`` with ``Q`` Haar-random orthogonal (QR of a Gaussian)."""
    n = eigenvalues.size
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    h = (q * eigenvalues) @ q.T
    return 0.5 * (h + h.T)


def logistic_hvp(f: LogisticRegressionObjective, theta: np.ndarray):
    """``v ↦ H(θ) v`` without forming ``H``: the objective's own
    :meth:`~LogisticRegressionObjective.hessian_vector_product`, a second route to the
    Hessian besides ``f.hessian`` (which builds K(K+1)/2 blocks, checked against it in
    the tests)."""
    return f.hessian_vector_product(theta)


def jax_logistic_loss(f: LogisticRegressionObjective):
    """``(θ, (X̃, y)) ↦ f.loss(θ)`` on the batch, in ``jax.numpy``."""
    import jax
    import jax.numpy as jnp

    k, l2 = f.n_classes, f.l2

    def loss(theta: Any, batch: Any) -> Any:
        x, y = batch
        z = x @ theta.reshape(x.shape[1], k)
        picked = jnp.take_along_axis(z, y[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(z, axis=1) - picked) + 0.5 * l2 * jnp.sum(theta ** 2)
    return loss


def mlp_params(rng: np.random.Generator, sizes: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Weights and biases of a tanh MLP (a pytree of float64 numpy arrays)."""
    params = {}
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        params[f"w{i}"] = rng.standard_normal((a, b)) / np.sqrt(a)
        params[f"b{i}"] = 0.1 * rng.standard_normal(b)
    return params


def mlp_loss(n_layers: int):
    """Softmax cross-entropy of a tanh MLP with ``n_layers`` weight layers, in JAX."""
    import jax
    import jax.numpy as jnp

    def loss(params: Any, batch: Any) -> Any:
        x, y = batch
        for i in range(n_layers):
            x = x @ params[f"w{i}"] + params[f"b{i}"]
            if i < n_layers - 1:
                x = jnp.tanh(x)
        picked = jnp.take_along_axis(x, y[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(x, axis=1) - picked)
    return loss
