"""Hessian spectra: the curvatures ``h_i`` of the loss, one stability question per mode.

For a quadratic loss ``½ θᵀHθ`` each eigen-mode of ``H`` evolves on its own; the largest
eigenvalue limits stability and the smallest limits speed. Curvature must be positive:
a flat or negatively curved direction has no stability question to answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sdde._numerics import FloatArray
from sdde._text_tables import BULK_BYTES, read_number_table
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
    noise : array_like, shape (n_modes,), optional
        Gradient-noise variance along each mode, when the spectrum comes with it (a
        density file's third column); pass it on as the model's ``noise``.

    Examples
    --------
    >>> from sdde.model.spectrum import HessianSpectrum
    >>> HessianSpectrum.parse("0.1:10:3:log").eigenvalues
    array([ 0.1,  1. , 10. ])
    """

    eigenvalues: FloatArray
    weights: FloatArray | None = None
    noise: FloatArray | None = None

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
        c = None if self.noise is None else np.atleast_1d(np.asarray(self.noise, dtype=np.float64))
        if c is not None and (c.shape != h.shape or np.any(~np.isfinite(c) | (c < 0))):
            raise ValueError("hessian: noise must be finite, >= 0, and one per eigenvalue")
        for arr in (h, w) if c is None else (h, w, c):
            arr.setflags(write=False)
        object.__setattr__(self, "eigenvalues", h)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "noise", c)

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
    def from_density(cls, nodes: npt.ArrayLike, weights: npt.ArrayLike, *,
                     noise: npt.ArrayLike | None = None,
                     total: float | None = None) -> HessianSpectrum:
        """A spectrum given as a weighted density: eigenvalue ``nodes`` with ``weights``.

        The output of stochastic Lanczos quadrature (PyHessian, hessian-eigenthings,
        :mod:`sdde.curvature`) or a histogram of eigenvalues: each node stands for
        ``weight`` modes of that curvature (weights are multiplicities, so the initial
        loss and the noise floor sum over them). Every per-mode answer is a function of
        the gain ``κ = η n h`` alone, so a density of any total mass costs what its
        distinct nodes cost (and beyond 64 of them, a grid in ``κ``).

        Parameters
        ----------
        nodes : array_like, shape (m,)
            Curvatures ``> 0`` (leave negative and flat directions out: they have no
            stability question to answer).
        weights : array_like, shape (m,)
            Non-negative masses.
        noise : array_like, shape (m,), optional
            Gradient-noise variance along the modes of each node.
        total : float, optional
            Rescale the weights to sum to ``total`` (e.g. the number of parameters, for a
            density normalised to 1).

        Examples
        --------
        >>> s = HessianSpectrum.from_density([0.1, 1.0], [0.75, 0.25], total=1000)
        >>> s.weights.tolist(), s.n_modes
        ([750.0, 250.0], 2)
        """
        w = np.atleast_1d(np.asarray(weights, dtype=np.float64))
        if total is not None:
            if not (math.isfinite(total) and total > 0) or not np.all(np.isfinite(w)) \
                    or w.sum() <= 0:
                raise ValueError(f"hessian: total must be > 0 and the weights must have a "
                                 f"positive finite sum, got total {total!r}")
            w = w * (total / w.sum())
        return cls(eigenvalues=np.atleast_1d(np.asarray(nodes, dtype=np.float64)), weights=w,
                   noise=None if noise is None else np.asarray(noise, dtype=np.float64))

    @classmethod
    def from_density_file(cls, path: str | Path) -> HessianSpectrum:
        """A density from a text file: one node per line, ``h weight [noise]`` separated by
        white space or commas (``#`` starts a comment). See :meth:`from_density`."""
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise ValueError(f"hessian: cannot read {str(p)!r}: {exc.strerror}") from None
        table = _bulk_table(data)
        if table is not None:
            return cls.from_density(table[:, 0], table[:, 1],
                                    noise=table[:, 2] if table.shape[1] == 3 else None)
        # line by line: the reference, which names the first bad line
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"hessian: {str(p)!r} is not a text file") from None
        rows: list[list[float]] = []
        width = 0
        for lineno, line in enumerate(text.splitlines(), start=1):
            tokens = line.split("#", 1)[0].replace(",", " ").split()
            if not tokens:
                continue
            values = [float(t) if _is_number(t) else math.nan for t in tokens]
            width = width or len(tokens)
            if len(tokens) not in (2, 3) or len(tokens) != width or any(map(math.isnan,
                                                                            values)):
                raise ValueError(
                    f"hessian: {str(p)!r} line {lineno}: expected 'h weight' or "
                    f"'h weight noise' (numbers, the same columns on every line), got "
                    f"{line.strip()!r}")
            rows.append(values)
        if not rows:
            raise ValueError(f"hessian: {str(p)!r} holds no density nodes")
        table = np.array(rows, dtype=np.float64)
        return cls.from_density(table[:, 0], table[:, 1],
                                noise=table[:, 2] if width == 3 else None)

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
            range), ``"lo:hi:n:log"`` (log range), ``"file:PATH"`` (eigenvalues), or
            ``"density:PATH"`` (a weighted density, :meth:`from_density_file`).
        """
        text = spec.strip() if isinstance(spec, str) else ""
        if not text:
            raise ValueError("hessian: give a value, a list a,b,c, a range lo:hi:n[:log], "
                             "file:PATH or density:PATH")
        if text.startswith("file:"):
            return cls.from_file(text[5:].strip())
        if text.startswith("density:"):
            return cls.from_density_file(text[8:].strip())
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
    @cached_property
    def order(self) -> npt.NDArray[np.intp]:
        """The stable ascending order of :attr:`eigenvalues` (computed once: a spectrum of
        a million modes is sorted once, not at every use)."""
        order = np.argsort(self.eigenvalues, kind="stable")
        order.setflags(write=False)
        return order

    @cached_property
    def ascending(self) -> FloatArray:
        """The eigenvalues in ascending order (read-only)."""
        h = np.asarray(self.eigenvalues[self.order], dtype=np.float64)
        h.setflags(write=False)
        return h

    @property
    def n_modes(self) -> int:
        """Number of modes."""
        return int(self.eigenvalues.size)

    @property
    def h_max(self) -> float:
        """Largest curvature (limits stability)."""
        return float(self.ascending[-1])

    @property
    def h_min(self) -> float:
        """Smallest curvature (limits speed)."""
        return float(self.ascending[0])

    def describe(self) -> str:
        """``"20 Hessian mode(s)"``, or for weighted spectra (densities) the nodes and their
        total weight: ``"1000000 density nodes (total weight 1.25e+06)"``."""
        w = np.asarray(self.weights)
        if np.all(w == 1.0):
            return f"{self.n_modes} Hessian mode(s)"
        return f"{self.n_modes} density nodes (total weight {float(w.sum()):.3g})"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; beyond :data:`MAX_LISTED` modes the lists give way to the
        total weight and quantiles of the curvature (``listed`` says which)."""
        out: dict[str, Any] = {"n_modes": self.n_modes, "h_min": self.h_min,
                               "h_max": self.h_max,
                               "total_weight": float(np.sum(np.asarray(self.weights)))}
        if self.n_modes > MAX_LISTED:
            quantiles = (0.01, 0.1, 0.5, 0.9, 0.99)
            out.update(listed=False, h_quantiles=dict(zip(
                map(str, quantiles), np.quantile(self.ascending, quantiles).tolist(),
                strict=True)))
            return out
        out.update(listed=True, eigenvalues=self.eigenvalues.tolist(),
                   weights=np.asarray(self.weights).tolist())
        if self.noise is not None:
            out["noise"] = self.noise.tolist()
        return out


def _bulk_table(data: bytes) -> FloatArray | None:
    """A large density file's rows in bulk (None: small, unreadable in bulk, or with a bad
    line, which the line-by-line reading then names)."""
    if len(data) < BULK_BYTES or b"\0" in data:
        return None
    try:
        table = read_number_table(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if table is None or table.ndim != 2 or table.shape[1] not in (2, 3) \
            or not np.all(np.isfinite(table)):
        return None
    return table


#: Most modes :meth:`HessianSpectrum.to_dict` lists one by one.
MAX_LISTED = 1000


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
