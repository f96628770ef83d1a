"""Multinomial logistic regression: a real, non-quadratic gradient oracle for the simulator.

:class:`LogisticRegressionObjective` is a :class:`~sdde.simulator.objectives.GradientOracle`
(``dim``, ``loss(θ)``, ``stochastic_gradient(θ, rng)``) whose stochastic gradients are
minibatch gradients of the softmax cross-entropy on a fixed data set, with a ridge term.
:meth:`LogisticRegressionObjective.digits` builds it on scikit-learn's handwritten digits
(1797 images of 8 × 8 pixels, 10 classes, shipped inside scikit-learn: no download), so
:func:`sdde.simulator.server.run` can simulate asynchronous SGD on a task that is not the
quadratic model of THEORY.md §3.

Parameter layout: ``θ`` is the flattened ``(p + 1) × K`` matrix
``theta.reshape(p + 1, K)``: row ``j < p`` holds the weights of feature ``j`` for the
``K`` classes, the last row the biases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from sdde._numerics import FloatArray

_SKLEARN_MISSING = "the digits data set needs scikit-learn: pip install 'sdde[datasets]'"


@dataclass(frozen=True, kw_only=True)
class LogisticRegressionObjective:
    """Softmax cross-entropy on ``(features, labels)`` plus ``½ · l2 · ‖θ‖²``.

    With ``X̃ = [X, 1]`` (a bias column appended), ``W = theta.reshape(p + 1, K)``
    (last row: the biases) and scores ``z_i = x̃_iᵀ W``, the loss is

    ``f(θ) = (1/m) Σ_i [logsumexp(z_i) − z_{i, y_i}] + ½ · l2 · ‖θ‖²``.

    The ridge term covers every parameter, the biases included: softmax is unchanged by
    adding one constant to all classes' scores, so without a penalty on the biases that
    direction would stay flat. With ``l2 > 0`` the loss is ``l2``-strongly convex and has
    a unique minimiser.

    Parameters
    ----------
    features : array_like, shape (m, p)
        One row per example (finite numbers; scale them, e.g. standardise the columns,
        so that :meth:`lipschitz_bound` is moderate).
    labels : array_like of int, shape (m,)
        Class of each row, in ``0 .. n_classes − 1``.
    n_classes : int
        Number of classes ``K >= 2``.
    batch_size : int
        Rows per stochastic gradient, ``1 .. m``; drawn uniformly without replacement.
    l2 : float
        Ridge coefficient ``>= 0`` (``0`` gives up the unique minimiser).

    Examples
    --------
    >>> f = LogisticRegressionObjective(features=np.array([[0.0], [1.0], [2.0]]),
    ...                                 labels=np.array([0, 1, 1]), n_classes=2,
    ...                                 batch_size=2, l2=0.0)
    >>> f.dim                                    # (p + 1) · K
    4
    >>> round(f.loss(np.zeros(f.dim)), 6)        # log K at θ = 0
    0.693147
    >>> g = f.stochastic_gradient(np.zeros(f.dim), np.random.default_rng(0))
    >>> g.shape
    (4,)
    """

    features: FloatArray
    labels: np.ndarray
    n_classes: int
    batch_size: int = 32
    l2: float = 1e-4
    _design: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        x = np.array(self.features, dtype=np.float64)  # a copy: frozen below
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"features must be a 2-D array (m rows, p columns) with m, p >= 1,"
                             f" got shape {x.shape}; reshape a single feature with "
                             f"x.reshape(-1, 1)")
        if not np.all(np.isfinite(x)):
            raise ValueError("features must be finite: remove or impute NaN/inf entries")
        m = x.shape[0]
        k = self.n_classes
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
            raise ValueError(f"n_classes must be a whole number >= 2, got {k!r}")
        y_raw = np.asarray(self.labels)
        if y_raw.shape != (m,):
            raise ValueError(f"labels must be a 1-D array with one label per feature row "
                             f"({m}), got shape {y_raw.shape}")
        if y_raw.dtype.kind not in "iu":
            raise ValueError(f"labels must be integers (class indices 0 .. {int(k) - 1}), "
                             f"got dtype {y_raw.dtype}; convert with labels.astype(int)")
        if np.any((y_raw < 0) | (y_raw >= k)):
            raise ValueError(f"labels must lie in 0 .. n_classes − 1 = {int(k) - 1}, got values "
                             f"in {int(y_raw.min())} .. {int(y_raw.max())}; raise n_classes "
                             f"or relabel")
        b = self.batch_size
        if isinstance(b, bool) or not isinstance(b, int | np.integer) or not 1 <= b <= m:
            raise ValueError(f"batch_size must be a whole number in 1 .. m = {m} (the number "
                             f"of rows), got {b!r}")
        l2 = self.l2
        if isinstance(l2, bool) or not isinstance(l2, int | float | np.floating) \
                or not 0.0 <= float(l2) < np.inf:
            raise ValueError(f"l2 must be a finite number >= 0 (e.g. 1e-4), got {l2!r}")
        x.flags.writeable = False
        y = y_raw.astype(np.int64)
        y.flags.writeable = False
        design = np.hstack([x, np.ones((m, 1))])
        design.flags.writeable = False
        object.__setattr__(self, "features", x)
        object.__setattr__(self, "labels", y)
        object.__setattr__(self, "n_classes", int(k))
        object.__setattr__(self, "batch_size", int(b))
        object.__setattr__(self, "l2", float(l2))
        object.__setattr__(self, "_design", design)

    @property
    def n_samples(self) -> int:
        """Number of rows ``m``."""
        return int(self.features.shape[0])

    @property
    def dim(self) -> int:
        """Number of parameters ``(p + 1) · K``."""
        return int(self._design.shape[1] * self.n_classes)

    def _weights(self, theta: FloatArray) -> FloatArray:
        w = np.asarray(theta, dtype=np.float64)
        if w.shape != (self.dim,):
            raise ValueError(f"theta must have shape ({self.dim},) = ((p + 1) · K,), "
                             f"got {w.shape}")
        return w.reshape(self._design.shape[1], self.n_classes)

    def _cross_entropy(self, w: FloatArray, rows: np.ndarray | None,
                       want_gradient: bool) -> tuple[float, FloatArray | None]:
        """Mean cross-entropy over ``rows`` (all if None) and its gradient in ``w``."""
        x = self._design if rows is None else self._design[rows]
        y = self.labels if rows is None else self.labels[rows]
        scores = x @ w
        shifted = scores - scores.max(axis=1, keepdims=True)  # stable log-sum-exp
        exp = np.exp(shifted)
        total = exp.sum(axis=1)
        picked = shifted[np.arange(y.size), y]
        value = float(np.mean(np.log(total) - picked))
        if not want_gradient:
            return value, None
        residual = exp / total[:, None]  # softmax probabilities …
        residual[np.arange(y.size), y] -= 1.0  # … minus the one-hot labels
        return value, np.asarray(x.T @ residual / y.size)

    def loss(self, theta: FloatArray) -> float:
        """Mean cross-entropy over the whole data set plus ``½ · l2 · ‖θ‖²``."""
        w = self._weights(theta)
        value, _ = self._cross_entropy(w, None, want_gradient=False)
        return value + 0.5 * self.l2 * float(np.dot(w.ravel(), w.ravel()))

    def gradient(self, theta: FloatArray) -> FloatArray:
        """The exact (full-batch) gradient of :meth:`loss`, shape ``(dim,)``."""
        w = self._weights(theta)
        _, g = self._cross_entropy(w, None, want_gradient=True)
        assert g is not None
        return np.asarray((g + self.l2 * w).ravel())

    def stochastic_gradient(self, theta: FloatArray, rng: np.random.Generator) -> FloatArray:
        """The gradient on ``batch_size`` rows drawn uniformly without replacement.

        The rows are ``rng.choice(m, batch_size, replace=False)``; the ridge term is
        added exactly. Every row is in the batch with probability ``batch_size / m``, so
        the expectation is :meth:`gradient` (unbiased); with ``batch_size == m`` it is
        :meth:`gradient` up to rounding (the rows are summed in a shuffled order).
        """
        w = self._weights(theta)
        rows = rng.choice(self.n_samples, self.batch_size, replace=False)
        _, g = self._cross_entropy(w, rows, want_gradient=True)
        assert g is not None
        return np.asarray((g + self.l2 * w).ravel())

    def hessian(self, theta: FloatArray) -> FloatArray:
        """The exact Hessian of :meth:`loss`, shape ``(dim, dim)``.

        ``H(θ) = (1/m) Σ_i (x̃_i x̃_iᵀ) ⊗ S_i + l2 · I`` with ``S_i = diag(π_i) − π_i π_iᵀ``
        (``π_i``: row ``i``'s softmax probabilities), in the layout of ``theta``
        (``theta.reshape(p + 1, K)``, row-major). Its eigenvalues at the minimiser are the
        curvatures ``h`` of the quadratic model (``sdde.HessianSpectrum``). Cost:
        ``K(K + 1)/2`` products ``X̃ᵀ diag(s) X̃``.

        Examples
        --------
        >>> f = LogisticRegressionObjective(features=np.array([[0.0], [1.0], [2.0]]),
        ...                                 labels=np.array([0, 1, 1]), n_classes=2,
        ...                                 batch_size=2, l2=0.0)
        >>> h = f.hessian(np.zeros(f.dim))       # π = (½, ½): S = [[¼, −¼], [−¼, ¼]]
        >>> [round(float(h[i, j]), 6) for i, j in ((0, 0), (0, 1), (1, 1))]  # (5/3) S
        [0.416667, -0.416667, 0.416667]
        """
        x = self._design
        prob = self._probabilities(theta)
        m, d = x.shape
        k_all = self.n_classes
        out = np.empty((d, k_all, d, k_all))
        for k in range(k_all):
            for j in range(k, k_all):
                s = prob[:, k] * (float(k == j) - prob[:, j])  # S_i[k, j] for every row
                block = (x.T * s) @ x / m
                block = 0.5 * (block + block.T)  # exactly symmetric, whatever BLAS rounds
                out[:, k, :, j] = block
                out[:, j, :, k] = block
        hess = out.reshape(d * k_all, d * k_all)
        hess[np.diag_indices_from(hess)] += self.l2
        return np.asarray(hess)

    def hessian_vector_product(self, theta: FloatArray) -> Callable[[FloatArray], FloatArray]:
        """``v ↦ H(θ) v`` without forming ``H``: with ``A = X̃ V`` (``V`` = ``v`` as a
        ``(p + 1) × K`` matrix), row ``i`` of ``S_i``'s action is ``π_i ⊙ a_i − π_i (π_iᵀ
        a_i)``, and ``H v = X̃ᵀ [those rows] / m + l2 V``. Two products with ``X̃`` per call:
        the route of :mod:`sdde.curvature` for this objective.

        Examples
        --------
        >>> f = LogisticRegressionObjective(features=np.array([[0.0], [1.0], [2.0]]),
        ...                                 labels=np.array([0, 1, 1]), n_classes=2,
        ...                                 batch_size=2, l2=0.1)
        >>> v = np.arange(4.0)
        >>> bool(np.allclose(f.hessian_vector_product(np.ones(4))(v),
        ...                  f.hessian(np.ones(4)) @ v, rtol=1e-14, atol=1e-15))
        True
        """
        x, k = self._design, self.n_classes
        prob = self._probabilities(theta)

        def hvp(v: FloatArray) -> FloatArray:
            vm = np.asarray(v, dtype=np.float64).reshape(x.shape[1], k)
            a = x @ vm
            rows = prob * a - prob * np.sum(prob * a, axis=1, keepdims=True)
            return np.asarray((x.T @ rows / x.shape[0] + self.l2 * vm).ravel())

        return hvp

    def _probabilities(self, theta: FloatArray) -> FloatArray:
        """Every row's softmax probabilities ``π_i`` at ``theta``."""
        scores = self._design @ self._weights(theta)
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def accuracy(self, theta: FloatArray) -> float:
        """Fraction of rows whose highest-scoring class is their label."""
        scores = self._design @ self._weights(theta)
        return float(np.mean(np.argmax(scores, axis=1) == self.labels))

    def lipschitz_bound(self) -> float:
        """An upper bound on the Hessian's largest eigenvalue: ``½ ‖X̃‖₂² / m + l2``.

        The Hessian in the layout ``theta.reshape(p + 1, K)`` (row-major) is

        ``H(θ) = (1/m) Σ_i (x̃_i x̃_iᵀ) ⊗ S_i + l2 · I``,  ``S_i = diag(π_i) − π_i π_iᵀ``,

        with ``π_i`` the softmax probabilities of row ``i``. ``vᵀ S_i v`` is the variance
        of ``v`` under ``π_i``, at most ``(max v − min v)² / 4 ≤ ‖v‖² / 2``, so
        ``S_i ⪯ ½ I``; as ``x̃_i x̃_iᵀ ⪰ 0`` the Kronecker product keeps the order and
        ``H ⪯ ½ (X̃ᵀX̃ / m) ⊗ I + l2 · I``, whose top eigenvalue is the bound (``‖·‖₂``: the
        largest singular value). It holds at every ``θ``, so it bounds the gradient's
        Lipschitz constant: full-batch gradient descent is monotone for ``lr ≤ 1 / bound``,
        and it plays the part of the quadratic model's ``h_max``.
        """
        top = float(np.linalg.norm(self._design, 2))
        return 0.5 * top * top / self.n_samples + self.l2

    @classmethod
    def digits(cls, *, batch_size: int = 32, l2: float = 1e-4,
               standardize: bool = True) -> LogisticRegressionObjective:
        """scikit-learn's handwritten digits: 1797 rows, 64 pixels, 10 classes.

        Parameters
        ----------
        batch_size, l2
            As in the class.
        standardize : bool
            Scale each pixel column to mean 0 and standard deviation 1 (the columns that
            are constant in the data set, always 0, stay at 0). Otherwise the pixel values
            ``0 .. 16`` are divided by 16.

        Raises
        ------
        ImportError
            If scikit-learn is not installed (``pip install 'sdde[datasets]'``).

        Examples
        --------
        >>> f = LogisticRegressionObjective.digits()
        >>> f.dim, f.n_samples
        (650, 1797)
        >>> round(f.loss(np.zeros(f.dim)), 4)    # log 10
        2.3026
        """
        pixels, labels = _digits_arrays()
        if standardize:
            mean, std = pixels.mean(axis=0), pixels.std(axis=0)
            safe = np.where(std > 0.0, std, 1.0)
            features = np.where(std > 0.0, (pixels - mean) / safe, 0.0)
        else:
            features = pixels / 16.0
        return cls(features=features, labels=labels, n_classes=10, batch_size=batch_size,
                   l2=l2)


@lru_cache(maxsize=1)
def _digits_arrays() -> tuple[FloatArray, np.ndarray]:
    """The digits pixels (float, 0 .. 16) and labels, loaded once and read-only."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError(_SKLEARN_MISSING) from exc
    data = load_digits()
    pixels = np.asarray(data.data, dtype=np.float64)
    labels = np.asarray(data.target, dtype=np.int64)
    pixels.flags.writeable = False
    labels.flags.writeable = False
    return pixels, labels
