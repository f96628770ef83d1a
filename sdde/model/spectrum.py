"""Hessian spectra: the curvatures ``h_i`` of the loss, one stability question per mode.

For a quadratic loss ``½ θᵀHθ`` each eigen-mode of ``H`` evolves on its own; the largest
eigenvalue limits stability and the smallest limits speed. Curvature must be positive:
a flat or negatively curved direction has no stability question to answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray
from sdde.model._contract import MAX_MODES, VALUE_MAX, VALUE_MIN, check_value


@dataclass(frozen=True, kw_only=True, eq=False)
class HessianSpectrum:
    """Eigenvalues ``h_i > 0`` of the loss Hessian, with optional weights.

    Parameters
    ----------
    eigenvalues : array_like, shape (n_modes,)
        Positive, finite curvatures.
    weights : array_like, shape (n_modes,), optional
        Non-negative weights (multiplicities, or the share of the initial loss in each
        mode); all ones by default.

    Examples
    --------
    >>> from sdde.model.spectrum import HessianSpectrum
    >>> HessianSpectrum.parse("0.1:10:3:log").eigenvalues
    array([ 0.1,  1. , 10. ])
    """

    eigenvalues: FloatArray
    weights: FloatArray | None = None

    def __post_init__(self) -> None:
        h = np.atleast_1d(np.asarray(self.eigenvalues, dtype=np.float64))
        if h.ndim != 1 or h.size == 0:
            raise ValueError("hessian: give at least one eigenvalue (a 1-D list)")
        if h.size > MAX_MODES:
            raise ValueError(f"hessian: at most {MAX_MODES:,} eigenvalues (the input "
                             f"contract), got {h.size:,}")
        bad = ~np.isfinite(h) | (h <= 0)
        if np.any(bad):
            raise ValueError(
                f"hessian: eigenvalues must be finite and > 0, got {float(h[bad][0]):g}; "
                "a flat or negatively curved direction has no stability question to answer "
                "(leave it out)")
        outside = (h < VALUE_MIN) | (h > VALUE_MAX)
        if np.any(outside):
            check_value("hessian: eigenvalues", float(h[outside][0]), example="0.1,1,10")
        w = np.ones_like(h) if self.weights is None else np.atleast_1d(
            np.asarray(self.weights, dtype=np.float64))
        if w.shape != h.shape or np.any(~np.isfinite(w) | (w < 0)) or not np.any(w > 0):
            raise ValueError("hessian: weights must be finite, >= 0, not all 0, and one per "
                             "eigenvalue")
        for arr in (h, w):
            arr.setflags(write=False)
        object.__setattr__(self, "eigenvalues", h)
        object.__setattr__(self, "weights", w)

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_range(cls, low: float, high: float, n_modes: int, *,
                   spacing: str = "linear") -> HessianSpectrum:
        """``n_modes`` eigenvalues from ``low`` to ``high``, linearly or log-spaced."""
        if isinstance(n_modes, bool) or not isinstance(n_modes, int | np.integer) \
                or not 1 <= n_modes <= MAX_MODES:
            raise ValueError(f"hessian: the number of modes must be a whole number in "
                             f"1..{MAX_MODES:,} (the input contract), got {n_modes!r}")
        if not (0 < low <= high < math.inf):
            raise ValueError(f"hessian: a range needs 0 < low <= high < inf, got "
                             f"{low!r}:{high!r}")
        if spacing == "linear":
            values = np.linspace(low, high, int(n_modes))
        elif spacing == "log":
            values = np.geomspace(low, high, int(n_modes))
        else:
            raise ValueError(f"hessian: spacing must be 'linear' or 'log', got {spacing!r}")
        return cls(eigenvalues=values)

    @classmethod
    def from_file(cls, path: str | Path) -> HessianSpectrum:
        """Eigenvalues from a text file: numbers separated by white space or commas."""
        p = Path(path)
        try:
            text = p.read_text()
        except OSError as exc:
            raise ValueError(f"hessian: cannot read {str(p)!r}: {exc.strerror}") from None
        tokens = [t for line in text.splitlines()
                  for t in line.split("#", 1)[0].replace(",", " ").split()]
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            bad = next(t for t in tokens if not _is_number(t))
            raise ValueError(f"hessian: {str(p)!r} holds {bad!r}, not a number") from None
        if not values:
            raise ValueError(f"hessian: {str(p)!r} holds no eigenvalues")
        return cls(eigenvalues=np.array(values))

    @classmethod
    def from_matrix(cls, matrix: npt.ArrayLike, *, atol: float = 1e-10) -> HessianSpectrum:
        """Eigenvalues of a symmetric positive-definite matrix.

        Raises
        ------
        ValueError
            If the matrix is not square and symmetric (to ``atol`` relative to its largest
            entry), or has an eigenvalue ``<= 0`` (or within rounding, ``8 n eps ‖M‖``, of 0).
        """
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.size == 0:
            raise ValueError(f"hessian: a matrix must be square, got shape {m.shape}")
        if not np.all(np.isfinite(m)):
            raise ValueError("hessian: the matrix has non-finite entries")
        scale = max(float(np.max(np.abs(m))), 1e-300)
        if np.max(np.abs(m - m.T)) > atol * scale:
            raise ValueError("hessian: the matrix is not symmetric")
        h = np.asarray(np.linalg.eigvalsh(0.5 * (m + m.T)), dtype=np.float64)
        # eigvalsh is accurate to about n·eps·‖M‖: an eigenvalue within that of 0 is a flat
        # direction that rounding happened to push above zero.
        if h.min() <= m.shape[0] * np.finfo(float).eps * float(np.max(np.abs(h))) * 8:
            raise ValueError(
                f"hessian: the matrix is singular to working precision (smallest eigenvalue "
                f"{h.min():.3g}); a flat or negatively curved direction has no stability "
                "question to answer (leave it out)")
        return cls(eigenvalues=h)

    @classmethod
    def parse(cls, spec: str) -> HessianSpectrum:
        """Spectrum from a spec string (shared with the CLI).

        Parameters
        ----------
        spec : str
            ``"2.5"`` (one eigenvalue), ``"0.1,1,10"`` (a list), ``"lo:hi:n"`` (linear
            range), ``"lo:hi:n:log"`` (log range), or ``"file:PATH"``.
        """
        text = spec.strip() if isinstance(spec, str) else ""
        if not text:
            raise ValueError("hessian: give a value, a list a,b,c, a range lo:hi:n[:log], "
                             "or file:PATH")
        if text.startswith("file:"):
            return cls.from_file(text[5:].strip())
        if ":" in text:
            parts = text.split(":")
            if len(parts) not in (3, 4):
                raise ValueError(f"hessian: a range is lo:hi:n or lo:hi:n:log, got {spec!r}")
            try:
                low, high, n = float(parts[0]), float(parts[1]), int(parts[2])
            except ValueError:
                raise ValueError(f"hessian: a range is lo:hi:n with numbers lo, hi and a "
                                 f"whole n, got {spec!r}") from None
            return cls.from_range(low, high, n, spacing=parts[3] if len(parts) == 4 else
                                  "linear")
        try:
            values = [float(t) for t in text.split(",")]
        except ValueError:
            raise ValueError(f"hessian: expected numbers separated by commas, got "
                             f"{spec!r}") from None
        return cls(eigenvalues=np.array(values))

    # -------------------------------------------------------------- properties
    @property
    def n_modes(self) -> int:
        """Number of modes."""
        return int(self.eigenvalues.size)

    @property
    def h_max(self) -> float:
        """Largest curvature (limits stability)."""
        return float(self.eigenvalues.max())

    @property
    def h_min(self) -> float:
        """Smallest curvature (limits speed)."""
        return float(self.eigenvalues.min())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"n_modes": self.n_modes, "h_min": self.h_min, "h_max": self.h_max,
                "eigenvalues": [float(v) for v in self.eigenvalues],
                "weights": [float(v) for v in np.asarray(self.weights)]}


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
