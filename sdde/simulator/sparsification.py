"""Gradient sparsification for the reference simulator: random-k and top-k, with error feedback.

A worker that pushes a sparsified gradient sends only ``k`` of its ``d`` coordinates:

* **random-k**: ``k`` coordinates chosen uniformly without replacement, afresh for every
  push (the ``k`` smallest of ``d`` uniform keys drawn for that push);
* **top-k**: the ``k`` coordinates of largest magnitude ``|p_i|`` (ties: lower index first).

With **error feedback** each worker ``w`` keeps what it did not send, the residual ``r_w``
(zero at the start), and adds it to its next gradient: it pushes the sparsified
``p = g + r_w`` and keeps ``r_w ← p − sent``. Without it the unsent coordinates are
discarded. :func:`sdde.simulator.server.run` and :func:`sdde.simulator.server.simulate` take a
:class:`Sparsifier` (``sparsifier=``); :func:`sparsify` is the selection of one push, the
pure function both simulator engines follow.

Examples
--------
>>> s = Sparsifier.parse("top:0.25:ef")
>>> s.keep(8), str(s)
(2, 'top:0.25:ef')
>>> sent, residual = sparsify(np.array([0.5, -3.0, 1.0, 2.0]), keep=2)
>>> sent.tolist(), residual.tolist()
([0.0, -3.0, 0.0, 2.0], [0.5, 0.0, 1.0, 0.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:  # sdde._numerics loads scipy: not needed to parse a sparsifier
    from sdde._numerics import FloatArray

__all__ = ["Sparsifier", "sparsify"]

_FORMS = "'random:F', 'top:F', 'random:F:ef' or 'top:F:ef' with F a fraction in (0, 1]"


@dataclass(frozen=True)
class Sparsifier:
    """Which coordinates of each pushed gradient reach the server.

    Parameters
    ----------
    kind : {"random", "top"}
        ``"random"``: ``k`` coordinates uniformly without replacement, fresh per push;
        ``"top"``: the ``k`` largest ``|p_i|`` (ties: lower index first).
    fraction : float
        The share ``k / d`` of coordinates sent, in ``(0, 1]`` (see :meth:`keep`).
    error_feedback : bool
        Each worker adds what it did not send last time to its next gradient.

    Notes
    -----
    On a push of worker ``w`` with stochastic gradient ``g`` (computed at the parameters
    ``w`` pulled): ``p = g + r_w`` with error feedback, else ``p = g``; ``sent`` is ``p``
    on the chosen ``k`` coordinates and 0 elsewhere; with error feedback
    ``r_w ← p − sent``. The server applies ``θ ← θ − η g(s) · sent`` if it accepts the
    gradient; if the threshold drops it, ``sent`` is lost. See :func:`sparsify`.

    Examples
    --------
    >>> Sparsifier("random", 0.1).keep(100), Sparsifier("random", 0.001).keep(100)
    (10, 1)
    >>> Sparsifier("top", 1.0, error_feedback=True).is_identity(5)
    True
    """

    kind: Literal["random", "top"]
    fraction: float
    error_feedback: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("random", "top"):
            raise ValueError(f"kind must be 'random' or 'top', got {self.kind!r}")
        f = self.fraction
        if isinstance(f, bool) or not isinstance(f, int | float | np.integer | np.floating) \
                or not (math.isfinite(f) and 0 < f <= 1):
            raise ValueError(f"fraction must be a finite number in (0, 1], got {f!r}")
        if not isinstance(self.error_feedback, bool | np.bool_):
            raise ValueError(f"error_feedback must be True or False, got {self.error_feedback!r}")
        object.__setattr__(self, "fraction", float(f))
        object.__setattr__(self, "error_feedback", bool(self.error_feedback))

    def keep(self, dim: int) -> int:
        """Coordinates sent per push out of ``dim``: ``k = max(1, round(fraction · dim))``.

        ``round`` is Python's (halves to even); ``k`` never exceeds ``dim``.
        """
        if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 1:
            raise ValueError(f"dim must be a whole number >= 1, got {dim!r}")
        return min(int(dim), max(1, round(self.fraction * int(dim))))

    def is_identity(self, dim: int) -> bool:
        """Whether every coordinate is sent (``keep(dim) == dim``): no sparsification."""
        return self.keep(dim) == dim

    @classmethod
    def parse(cls, spec: str) -> Sparsifier:
        """Read ``"random:0.1"``, ``"top:0.01"``, ``"random:0.1:ef"`` or ``"top:0.5:ef"``.

        Raises
        ------
        ValueError
            On anything else, in one line naming ``spec`` and the accepted forms.
        """
        parts = spec.split(":") if isinstance(spec, str) else []
        ok = len(parts) in (2, 3) and parts[0] in ("random", "top") \
            and (len(parts) == 2 or parts[2] == "ef")
        try:
            fraction = float(parts[1]) if ok else math.nan
        except ValueError:
            fraction = math.nan
        if not (math.isfinite(fraction) and 0 < fraction <= 1):
            raise ValueError(f"bad sparsifier {spec!r}: expected {_FORMS}")
        return cls(parts[0], fraction, error_feedback=len(parts) == 3)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.kind}:{self.fraction!r}" + (":ef" if self.error_feedback else "")


def sparsify(p: FloatArray, keep: int, keys: FloatArray | None = None
             ) -> tuple[FloatArray, FloatArray]:
    """Split one push ``p`` into what is sent and what is left.

    Parameters
    ----------
    p : ndarray, shape (d,)
        The vector to sparsify (the gradient, plus the residual under error feedback).
    keep : int
        Coordinates sent, ``1 .. d``.
    keys : ndarray, shape (d,), optional
        Random-k: the coordinates with the ``keep`` smallest keys are sent (uniform keys
        give a uniformly random subset). ``None``: top-k, the ``keep`` largest ``|p_i|``.
        Ties go to the lower index in both cases.

    Returns
    -------
    sent : ndarray, shape (d,)
        ``p`` on the chosen coordinates, 0 elsewhere.
    residual : ndarray, shape (d,)
        ``p − sent``: 0 on the chosen coordinates, ``p`` elsewhere (so
        ``sent + residual == p`` exactly).

    Notes
    -----
    This is a stable sort of the scores ``−|p|`` (top-k) or ``keys`` (random-k), the
    definition. The compiled simulator makes the same choice in O(d) time
    (``sdde.simulator._kernel.sparsify_into``: the ``keep``-th smallest score by quickselect,
    ties sent in index order).

    Examples
    --------
    >>> sent, residual = sparsify(np.array([1.0, 2.0, 3.0]), 1, keys=np.array([0.7, 0.2, 0.9]))
    >>> sent.tolist(), residual.tolist()
    ([0.0, 2.0, 0.0], [1.0, 0.0, 3.0])
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or not 1 <= keep <= p.size:
        raise ValueError(f"need a 1-D p and 1 <= keep <= {p.size}, got keep={keep!r}")
    if keys is not None and np.shape(keys) != p.shape:
        raise ValueError(f"keys must have the shape of p, {p.shape}, got {np.shape(keys)}")
    order = np.argsort(-np.abs(p) if keys is None else keys, kind="stable")
    chosen = order[:keep]
    sent = np.zeros_like(p)
    sent[chosen] = p[chosen]
    residual = p.copy()
    residual[chosen] = 0.0
    return sent, residual
