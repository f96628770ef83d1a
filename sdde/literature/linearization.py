"""A non-quadratic objective seen through its quadratic model at the minimiser.

:func:`linearize` finds the minimiser ``θ*`` of a gradient oracle with a Hessian, takes
the eigenmodes of ``H(θ*)`` and the stochastic-gradient noise projected on them: a
:class:`~sdde.simulator.objectives.QuadraticObjective` whose predictions (excess loss, thresholds)
stand for the real objective near its optimum (``docs/notebooks/beyond_quadratics.ipynb``
does the same for a cluster). :func:`logistic_example` is a small task to try it on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray
from sdde.simulator.objectives import GradientOracle, QuadraticObjective

__all__ = ["LinearizedObjective", "linearize", "logistic_example"]


@dataclass(frozen=True, eq=False)
class LinearizedObjective:
    """A gradient oracle seen through its quadratic model at the minimiser.

    Attributes
    ----------
    objective : GradientOracle
        The real objective (simulated as it is).
    theta_star : ndarray, shape (dim,)
        The minimiser ``θ*``.
    f_star : float
        ``f(θ*)``; predictions and :func:`simulated_relative_iterations` use the excess
        loss ``f − f*``.
    modes : ndarray, shape (dim, dim)
        Eigenvectors of ``H(θ*)`` (columns, curvature ascending).
    quadratic : QuadraticObjective
        Curvatures ``h_i`` (eigenvalues of ``H(θ*)``) and gradient-noise variances
        ``c_i = v_iᵀ Cov(g(θ*)) v_i``: the objective in the coordinates
        ``x = modesᵀ (θ − θ*)``, as far as a quadratic can say.
    """

    objective: GradientOracle
    theta_star: FloatArray
    f_star: float
    modes: FloatArray
    quadratic: QuadraticObjective

    def coordinates(self, theta: npt.ArrayLike) -> FloatArray:
        """``x = modesᵀ (θ − θ*)``: the modes' distances from the optimum."""
        return np.asarray((np.asarray(theta, dtype=np.float64) - self.theta_star) @ self.modes)


def linearize(objective: Any, *, rng: np.random.Generator,
              theta_star: npt.ArrayLike | None = None,
              n_gradients: int = 2000) -> LinearizedObjective:
    """The quadratic model of ``objective`` at its minimiser (as in
    ``docs/notebooks/beyond_quadratics.ipynb``).

    Parameters
    ----------
    objective : GradientOracle with ``hessian(θ)``
        And ``gradient(θ)`` (the full-batch gradient) unless ``theta_star`` is given:
        the minimiser is found with L-BFGS from ``θ = 0``, polished by two Newton steps.
    rng : numpy.random.Generator
        Draws the stochastic gradients that estimate the noise.
    theta_star : array_like, optional
        The minimiser, if known.
    n_gradients : int
        Stochastic gradients at ``θ*`` whose projected variance gives ``c_i`` (relative
        error about ``sqrt(2 / n_gradients)``: 3 % for the default).

    Returns
    -------
    LinearizedObjective

    Raises
    ------
    ValueError
        If the Hessian at ``θ*`` is not positive definite (no unique optimum to linearise
        at; for logistic regression: set ``l2 > 0``).
    """
    from scipy import optimize

    if not isinstance(objective, GradientOracle) or not callable(getattr(objective, "hessian",
                                                                           None)):
        raise ValueError("linearize needs a GradientOracle with a hessian(theta) method, "
                         f"got {type(objective).__name__}")
    if isinstance(n_gradients, bool) or not isinstance(n_gradients, int) or n_gradients < 2:
        raise ValueError(f"n_gradients must be a whole number >= 2, got {n_gradients!r}")
    if theta_star is None:
        fit = optimize.minimize(objective.loss, np.zeros(objective.dim),
                                jac=objective.gradient,  # type: ignore[attr-defined]
                                method="L-BFGS-B", options={"maxiter": 5000, "gtol": 1e-10})
        star = np.asarray(fit.x, dtype=np.float64)
        oracle: Any = objective
        for _ in range(2):  # Newton polish: L-BFGS stops at |∇f| ~ 1e-7
            step = np.linalg.solve(oracle.hessian(star), oracle.gradient(star))
            star = star - np.asarray(step, dtype=np.float64)
    else:
        star = np.array(theta_star, dtype=np.float64).reshape(objective.dim)
    h, modes = np.linalg.eigh(objective.hessian(star))  # type: ignore[attr-defined]
    if h[0] <= 0:
        raise ValueError(f"the Hessian at the minimiser has an eigenvalue {h[0]:.3g} <= 0: "
                         "no unique optimum to linearise at (add a ridge term)")
    gradients = np.array([objective.stochastic_gradient(star, rng) for _ in range(n_gradients)])
    noise = ((gradients - gradients.mean(axis=0)) @ modes).var(axis=0, ddof=1)
    return LinearizedObjective(objective=objective, theta_star=star,
                               f_star=float(objective.loss(star)), modes=modes,
                               quadratic=QuadraticObjective(curvatures=h, noise=noise))


def logistic_example(*, seed: int = 0, batch_size: int = 128) -> Any:
    """A small logistic-regression task for the tests, figure and notebook.

    Three classes, four standard-normal features, 600 rows drawn from a softmax model with
    weak signal, ridge ``l2 = 0.02``, minibatches of ``batch_size`` rows: 15 parameters.
    The class probabilities stay far from 0 and 1, so the quadratic model at the
    minimiser is fair from ``θ = 0`` on (plain SGD at ``η = 0.25`` reaches the default
    target in 22 updates, the linearisation predicts 24).

    Returns
    -------
    sdde.simulator.logistic.LogisticRegressionObjective
    """
    from sdde.simulator.logistic import LogisticRegressionObjective

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((600, 4))
    w = 0.5 * np.array([[0.8, -0.4, 0.0], [0.0, 0.6, -0.6], [-0.5, 0.0, 0.5],
                        [0.3, 0.3, -0.6]])
    scores = x @ w
    prob = np.exp(scores - scores.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    labels = (prob.cumsum(axis=1) > rng.random((600, 1))).argmax(axis=1)
    return LogisticRegressionObjective(features=x, labels=labels, n_classes=3,
                                       batch_size=batch_size, l2=0.02)
