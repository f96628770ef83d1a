"""Training tasks in JAX for the real asynchronous run: a loss, its gradients and curvature.

Three tasks on scikit-learn's handwritten digits (1797 images of 8 × 8 pixels, standardised
as :meth:`sdde.simulator.logistic.LogisticRegressionObjective.digits` does):

* ``"least-squares"``: a linear model fitted to the one-hot labels by least squares, with
  a ridge term: a real model on real data whose loss is exactly quadratic (constant
  Hessian), the setting sdde's theory is written for;

* ``"logistic"``: multinomial logistic regression with a ridge term, the same loss as
  :class:`~sdde.simulator.logistic.LogisticRegressionObjective` (convex: the fair first
  comparison with a theory made for quadratics);
* ``"mlp"``: a 64 → ``hidden`` → 10 network, tanh then softmax, with a ridge term
  (non-convex).

Parameters are one flat float64 vector (``jax.flatten_util.ravel_pytree``); every
function takes and returns numpy arrays. JAX is imported when a task is built, and the
task switches on JAX's float64 mode (``jax_enable_x64``, a process-wide setting) so that
curvatures and losses match the numpy references to rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from sdde._numerics import FloatArray

TaskName = Literal["least-squares", "logistic", "mlp"]


@dataclass(frozen=True, kw_only=True, eq=False)
class JaxTask:
    """A loss on a data set, with compiled minibatch gradients, HVPs and per-example gradients.

    Build it with :func:`make_task`. Attributes ``features`` (m, p), ``labels`` (m,),
    ``theta0`` (the initial parameters, shape (dim,)), ``batch_size`` and ``l2``.
    """

    name: str
    features: FloatArray
    labels: np.ndarray
    theta0: FloatArray
    batch_size: int
    l2: float
    _fns: Mapping[str, Callable[..., Any]] = field(repr=False)

    @property
    def dim(self) -> int:
        """Number of parameters."""
        return int(self.theta0.size)

    @property
    def n_samples(self) -> int:
        """Rows ``m`` of the data set."""
        return int(self.labels.size)

    def loss(self, theta: FloatArray) -> float:
        """Full-data loss (mean cross-entropy plus ``½ l2 ‖θ‖²``)."""
        return float(self._fns["loss"](np.asarray(theta, dtype=np.float64)))

    def gradient(self, theta: FloatArray, rows: np.ndarray | None = None) -> FloatArray:
        """Gradient on ``rows`` (the minibatch; all rows if None), shape (dim,)."""
        theta = np.asarray(theta, dtype=np.float64)
        if rows is None:
            return np.asarray(self._fns["full_grad"](theta))
        return np.asarray(self._fns["grad"](theta, self.features[rows], self.labels[rows]))

    def hvp(self, theta: FloatArray) -> Callable[[FloatArray], FloatArray]:
        """``v ↦ H(θ) v`` of the full-data loss (``jax.jvp`` of ``jax.grad``)."""
        at = np.asarray(theta, dtype=np.float64)
        fn = self._fns["hvp"]
        return lambda v: np.asarray(fn(at, np.asarray(v, dtype=np.float64)))

    def hessian(self, theta: FloatArray) -> FloatArray:
        """Dense Hessian of the full-data loss, shape (dim, dim) (``jax.hessian``)."""
        h = np.asarray(self._fns["hessian"](np.asarray(theta, dtype=np.float64)))
        return 0.5 * (h + h.T)

    def per_example_gradients(self, theta: FloatArray) -> FloatArray:
        """Gradient of each example's loss (ridge included), shape (m, dim)."""
        return np.asarray(self._fns["per_example"](np.asarray(theta, dtype=np.float64)))


def _digits() -> tuple[FloatArray, np.ndarray]:
    from sdde.simulator.logistic import LogisticRegressionObjective

    f = LogisticRegressionObjective.digits(batch_size=1)
    return np.asarray(f.features), np.asarray(f.labels)


def make_task(name: TaskName = "logistic", *, batch_size: int = 32, l2: float = 1e-3,
              hidden: int = 32, init_seed: int = 0) -> JaxTask:
    """A digits task in JAX: ``"least-squares"`` (quadratic), ``"logistic"`` (convex) or
    ``"mlp"`` (64 → hidden → 10, tanh; non-convex).

    Parameters
    ----------
    name : {"least-squares", "logistic", "mlp"}
    batch_size : int
        Rows per minibatch gradient.
    l2 : float
        Ridge coefficient ``>= 0``.
    hidden : int
        Hidden units of the MLP.
    init_seed : int
        Seed of the MLP's initial weights (Glorot-like normal; the linear tasks start at
        ``θ = 0``).

    Returns
    -------
    JaxTask
    """
    if name not in ("least-squares", "logistic", "mlp"):
        raise ValueError(f"task must be 'least-squares', 'logistic' or 'mlp', got {name!r}")
    if not (isinstance(l2, int | float) and l2 >= 0):
        raise ValueError(f"l2 must be a number >= 0, got {l2!r}")
    x, y = _digits()
    if not (isinstance(batch_size, int) and 1 <= batch_size <= y.size):
        raise ValueError(f"batch_size must be a whole number in 1..{y.size}, got {batch_size!r}")
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    jax.config.update("jax_enable_x64", True)
    n_classes = int(y.max()) + 1
    p = x.shape[1]
    if name != "mlp":
        # one (p + 1) × K matrix, biases in the last row: the layout of the numpy
        # LogisticRegressionObjective, so the flat vectors are interchangeable
        params: dict[str, Any] = {"w": jnp.zeros((p + 1, n_classes))}
    else:
        rng = np.random.default_rng(init_seed)
        params = {"w1": jnp.asarray(rng.normal(size=(p, hidden)) / np.sqrt(p)),
                  "b1": jnp.zeros(hidden),
                  "w2": jnp.asarray(rng.normal(size=(hidden, n_classes)) / np.sqrt(hidden)),
                  "b2": jnp.zeros(n_classes)}
    flat, unravel = ravel_pytree(params)

    def scores(theta: Any, xb: Any) -> Any:
        q = unravel(theta)
        if name != "mlp":
            return xb @ q["w"][:-1] + q["w"][-1]
        return jnp.tanh(xb @ q["w1"] + q["b1"]) @ q["w2"] + q["b2"]

    def batch_loss(theta: Any, xb: Any, yb: Any) -> Any:
        z = scores(theta, xb)
        ridge = 0.5 * l2 * theta @ theta
        if name == "least-squares":
            residual = z - jax.nn.one_hot(yb, n_classes)
            return 0.5 * jnp.mean(jnp.sum(residual**2, axis=1)) + ridge
        picked = jnp.take_along_axis(z, yb[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(z, axis=1) - picked) + ridge

    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def full_loss(theta: Any) -> Any:
        return batch_loss(theta, xj, yj)

    def hvp(theta: Any, v: Any) -> Any:
        return jax.jvp(jax.grad(full_loss), (theta,), (v,))[1]

    def one_example(theta: Any, xi: Any, yi: Any) -> Any:
        return jax.grad(batch_loss)(theta, xi[None, :], yi[None])

    fns = {"loss": jax.jit(full_loss), "full_grad": jax.jit(jax.grad(full_loss)),
           "grad": jax.jit(jax.grad(batch_loss)), "hvp": jax.jit(hvp),
           "hessian": jax.jit(jax.hessian(full_loss)),
           "per_example": jax.jit(lambda th: jax.vmap(one_example, (None, 0, 0))(th, xj, yj))}
    theta0 = np.array(flat, dtype=np.float64)
    theta0.setflags(write=False)
    task = JaxTask(name=name, features=x, labels=y, theta0=theta0, batch_size=batch_size,
                   l2=float(l2), _fns=fns)
    task.gradient(theta0, np.arange(batch_size))  # compile once, before any timing
    task.loss(theta0)
    return task


def top_curvatures(task: JaxTask, theta: FloatArray, k: int = 6) -> FloatArray:
    """The ``k`` largest Hessian eigenvalues at ``theta``, descending: Lanczos on
    :meth:`JaxTask.hvp` (:func:`sdde.curvature.top_eigenvalues`; the tests check it against
    the dense Hessian)."""
    from sdde.curvature import top_eigenvalues

    top = top_eigenvalues(task.hvp(theta), task.dim, k=k, which="LA",
                          rng=np.random.default_rng(0))
    return np.asarray(top.eigenvalues, dtype=np.float64)
