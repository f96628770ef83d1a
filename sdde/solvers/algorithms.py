"""Time-stepping methods for SDDEs (the *how*; problems are :class:`sdde.SDDEProblem`)."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar, final

from sdde._numerics import FloatArray


class AbstractSolver(abc.ABC):
    """A one-step method for ``dx = f(t, x, y) dt + g(x) dW`` on a fixed grid.

    Subclasses declare their strong and weak orders of convergence.
    """

    name: ClassVar[str]
    strong_order: ClassVar[float]
    weak_order: ClassVar[float]

    @abc.abstractmethod
    def step(self, t: float, x: FloatArray, y: FloatArray, dt: float, dW: FloatArray,
             drift: Callable[[float, FloatArray, FloatArray], FloatArray],
             diffusion: Callable[[FloatArray], FloatArray]) -> FloatArray:
        """The state at ``t + dt`` from ``x`` at ``t`` and the delayed values ``y``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@final
class DelayedEulerMaruyama(AbstractSolver):
    """``x_{n+1} = x_n + f(t_n, x_n, y_n) dt + g(x_n) ΔW_n`` with ``y_n`` from the grid.

    Strong order 1/2 and weak order 1 for Lipschitz coefficients (Buckwar 2000; Küchler
    & Platen 2000). The compiled path of :func:`sdde.solve` implements exactly this
    step for linear drifts.
    """

    name = "euler-maruyama"
    strong_order = 0.5
    weak_order = 1.0

    def step(self, t: float, x: FloatArray, y: FloatArray, dt: float, dW: FloatArray,
             drift: Callable[[float, FloatArray, FloatArray], FloatArray],
             diffusion: Callable[[FloatArray], FloatArray]) -> FloatArray:
        return x + drift(t, x, y) * dt + diffusion(x) * dW


#: Solvers by name.
SOLVERS: dict[str, type[AbstractSolver]] = {DelayedEulerMaruyama.name: DelayedEulerMaruyama}
