"""Characteristic roots of the delay equation of one Hessian mode.

Time is measured in units of the mean delay, so a mode with dimensionless gain
``κ = η · n · h`` has the characteristic equation ``z + κ φ(z) = 0``, ``φ`` the Laplace
transform of the normalised delay law. This module holds the point-delay case, whose
roots are all the branches of the Lambert W function, and every other kernel, whose
rightmost roots come from a spectral (Chebyshev) discretisation of the infinitesimal
generator polished by Newton's method, with an argument-principle count of the roots in
the closed right half-plane as the certificate of stability. ``theory/stability.md``
§8–9.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from collections.abc import Callable, Iterator
from typing import Any, Literal

import numpy as np
from scipy import linalg, special

from sdde._numerics import ComplexArray, FloatArray, brentq
from sdde.delays import DelayLaw, Exponential, Gamma, Mixture
from sdde.model.kernels import DelayKernel, TransformRule, as_kernel
from sdde.stability._rational_roots import chain_roots, rational_roots
from sdde.stability._winding import certified_arg_change

#: Heavy-tailed kernels have no roots left of the imaginary axis; their transient is
#: described by the roots of the law's body: the law conditioned on ``X`` below this
#: quantile. (Truncating further out does not converge: ``e^{|Re z| x}`` outgrows the
#: tail, so left-half-plane roots of far truncations are artefacts of the cut.)
TRANSIENT_QUANTILE = 0.999
#: Transient roots this close to the imaginary axis (relative to ``1 + |z|``) are
#: re-polished with the full heavy-tailed law's transform when they cross it.
TRANSIENT_GAP = 1e-2
#: How far left of the axis (absolute) the full heavy-tailed law's transform still
#: re-polishes a root: a root exactly on the axis (``κ`` at its threshold) lands a
#: rounding error to either side, and without this slack, on the left, kept the
#: transient root of the law's body instead, off by the cut tail's share (``4e-6`` for a
#: lognormal of cv 1e-3 at ``κ*``).
_AXIS_SLACK = 1e-9
#: Newton iterations allowed per root, and the step (relative to 1 + |z|) that stops them.
_NEWTON_STEPS = 50
_NEWTON_TOL = 1e-14
#: A step below this (relative to 1 + |z|) that no longer shrinks also stops Newton: the
#: iterate sits at the noise floor of the transform (closed forms of very concentrated
#: laws, e.g. ``(1 + z/k)^{-k}`` at ``k = 10⁴``, are accurate to ``~k·eps`` only).
_NEWTON_FLOOR = 1e-10
#: Kernels whose coefficient of variation is at most this are concentrated: their
#: rightmost roots lie near those of the point delay at the kernel's mean, whose Lambert W
#: branches seed Newton beside the generator's eigenvalues.
CONCENTRATED_CV = 0.25
#: The first pass keeps the generator's eigenvalues with ``|Im z| τ <= N`` times this
#: (``N + 1`` Chebyshev points on ``[−τ, 0]``): beyond it ``e^{zθ}`` has fewer than about
#: π points per wavelength, so eigenvalues there are discretisation artefacts, and Newton
#: from them wanders for dozens of steps with the rules of high frequencies (most of
#: the cost of a solve before this filter). The wider search keeps them all.
_RESOLVED = 2.0
#: Newton steps the first pass allows a guess before it must be within ``1e-3 (1 + |z|)``
#: of converging (the wider search allows 15). The first pass starts from the generator's
#: resolved eigenvalues, within ``1e-5`` of a root for the built-in laws (two or three
#: steps); an eigenvalue that is not near a root (e.g. near a closed form's branch point,
#: or far left where ``φ`` is huge) wanders, and used to cost 15 steps of the whole batch.
_FIRST_PATIENCE = 5
#: Rounds of wider search when the roots found disagree with the certified count.
_SEARCH_ROUNDS = 3
#: Largest generator (Chebyshev points) and most grid starts of the wider search.
_MAX_SEARCH_SIZE = 480
_MAX_GRID_STARTS = 4096

#: Taylor coefficients of W around the branch point -1/e in p = ±sqrt(2 (1 + e x))
#: (Corless, Gonnet, Hare, Jeffrey & Knuth 1996, eq. 4.22).
_BRANCH_SERIES = (-1.0, 1.0, -1.0 / 3.0, 11.0 / 72.0, -43.0 / 540.0, 769.0 / 17280.0,
                  -221.0 / 8505.0, 680863.0 / 43545600.0, -1963.0 / 204120.0)
#: Within this distance of the branch point (in 1 + e x) the series is used: p <= 0.045,
#: so the first omitted term is below 1e-13.
_BRANCH_ZONE = 1e-3


def lambert_w(x: float, branch: int) -> complex:
    """Lambert W on a branch, finite and accurate at and near the branch point ``-1/e``.

    scipy's ``lambertw`` returns NaN exactly at ``-1/e``; there and within
    ``|1 + e x| < 1e-3`` the branch-point series is summed instead (branches 0 and -1,
    the two that meet there).
    """
    d = 1.0 + math.e * x
    if branch in (0, -1) and abs(d) < _BRANCH_ZONE:
        root = np.sqrt(complex(2.0 * d))
        p = root if branch == 0 else -root
        if d < 0:  # below -1/e the two branches are a conjugate pair; W_0 has Im > 0
            p = complex(0.0, abs(root.imag)) * (1 if branch == 0 else -1)
        return complex(sum(c * p**j for j, c in enumerate(_BRANCH_SERIES)))
    return complex(special.lambertw(x, branch))


def point_delay_roots(kappa: float, n_roots: int = 10) -> ComplexArray:
    """Rightmost roots of ``z + κ e^{-z} = 0`` (a point delay of one mean delay).

    Parameters
    ----------
    kappa : float
        Dimensionless gain ``κ > 0``.
    n_roots : int
        How many roots to return.

    Returns
    -------
    ndarray of complex, shape (n_roots,)
        Sorted by real part, descending (conjugate pairs: positive imaginary part first).

    Notes
    -----
    ``z e^{z} = -κ`` gives ``z = W_k(-κ)`` for every branch ``k``. All roots have
    negative real part iff ``κ < π/2``; the rightmost root is real for ``κ <= 1/e`` and
    the fastest decay, ``Re z = -1``, is the double root at ``κ = 1/e``.

    Examples
    --------
    >>> from sdde.stability.roots import point_delay_roots
    >>> z = point_delay_roots(1 / 2.718281828459045, 2)
    >>> bool(abs(z[0] + 1) < 1e-9 and abs(z[1] + 1) < 1e-9)
    True
    """
    if isinstance(kappa, bool) or not (isinstance(kappa, int | float) and 0 < kappa < math.inf):
        raise ValueError(f"kappa must be a finite number > 0, got {kappa!r}")
    if isinstance(n_roots, bool) or not isinstance(n_roots, int | np.integer) or n_roots < 1:
        raise ValueError(f"n_roots must be a whole number >= 1, got {n_roots!r}")
    # Conjugate pairs are built from one branch each (W_k, k >= 0, has Im >= 0 and
    # W_{-k-1} is its conjugate), so a pair's members are exact conjugates and the
    # positive imaginary part comes first; for κ <= 1/e, W_0 and W_{-1} are two real roots.
    groups: list[list[complex]] = []
    w0 = lambert_w(-kappa, 0)
    if w0.imag != 0.0:
        w0 = complex(w0.real, abs(w0.imag))
        groups.append([w0, w0.conjugate()])
    else:
        groups += [[w0], [complex(lambert_w(-kappa, -1).real, 0.0)]]
    for k in range(1, n_roots // 2 + 2):
        w = lambert_w(-kappa, k)
        w = complex(w.real, abs(w.imag))
        groups.append([w, w.conjugate()])
    groups.sort(key=lambda g: -g[0].real)
    return np.array([z for g in groups for z in g][:n_roots], dtype=np.complex128)


def characteristic_roots(
    kappa: float,
    law: DelayLaw | DelayKernel,
    n: int = 6,
    *,
    method: Literal["auto", "lambert", "generator"] = "auto",
    unstable_count: int | None = None,
) -> ComplexArray:
    """Rightmost roots of ``z + κ φ(z) = 0`` for any delay law or kernel.

    Parameters
    ----------
    kappa : float
        Dimensionless gain ``κ = η · n · h > 0``.
    law : DelayLaw or DelayKernel
        Delay law (normalised to mean 1 here) or a thinned/weighted kernel.
    n : int
        How many roots to return (fewer if fewer are found).
    method : {"auto", "lambert", "generator"}
        ``lambert``: Lambert W (point delays only). ``generator``: spectral
        discretisation of the infinitesimal generator, then Newton. ``auto`` picks
        Lambert W for point delays and the exact finite spectrum for rational kernels
        (exponential/Erlang mixtures, :func:`phase_type_components`).
    unstable_count : int, optional
        The certified number of roots with ``Re z >= 0`` (:func:`unstable_root_count`),
        when the caller already has it. The search widens until the roots found agree
        with it. Default: counted here for closed-form and concentrated kernels
        (coefficient of variation <= :data:`CONCENTRATED_CV`), where it is cheap.

    Returns
    -------
    ndarray of complex
        Sorted by real part, descending (positive imaginary part first in a pair; a
        multiple root repeated). At most ``n``; the first ``k`` of them do not depend on
        ``n`` for a rational kernel.

    Notes
    -----
    A rational kernel (``φ = Σ_c w_c (r_c / (r_c + z))^{k_c}``: exponential, Erlang,
    their mixtures; no threshold or step policy) makes the SDDE a finite linear system
    (the linear chain trick), whose ``1 + Σ_r max k_c`` roots (one chain per distinct
    rate) are all returned, up to ``n``, including those left of the law's abscissa
    ``−min r_c`` (gamma 2 at ``κ = 1``: a pair and a real root near −3.13): the
    eigenvalues of the chain's matrix polished by Newton on the product form
    (:mod:`sdde.stability._rational_roots`), in microseconds.

    Otherwise the generator of the delay equation on ``[−τ, 0]`` (``τ`` the largest delay kept)
    is collocated at ``N + 1`` Chebyshev points (Breda, Maset & Vermiglio 2005); its
    eigenvalues converge spectrally to the rightmost roots and are polished by Newton's
    method on the exact characteristic function, so every returned root satisfies
    ``|z + κ φ(z)| <= 1e-10 (|z| + κ φ(Re z))``. Only roots where ``φ`` is analytic
    (``Re z >`` the law's abscissa of convergence) are returned; for kernels summed by
    a quadrature rule, only where the rule's error grown left of the axis stays below
    ``1e-10`` (so the residual bound holds; the kernel's weight enters the bound, see
    ``_rule_abscissa``). For heavy-tailed
    kernels (:attr:`DelayKernel.heavy_tailed`), which have no roots left of the axis,
    the roots are those of the law conditioned below its 0.999 quantile
    (:data:`TRANSIENT_QUANTILE`): they describe the transient, after which decay
    follows the tail of the law.

    A concentrated kernel (mass ``m``, mean delay ``μ``, small coefficient of variation)
    is close to the point delay ``m e^{−μz}``, so the Lambert W branches
    ``W_k(−κ m μ) / μ`` seed Newton as well: its sharp spectrum needs a generator far
    larger than the default to be resolved, and the branches are the better guesses.
    Whenever the roots found with ``Re z >= 0`` disagree with the certified count, the
    search widens (every Lambert W branch within ``|z| <= κ m``, where all roots of the
    closed right half-plane lie; a generator up to :data:`_MAX_SEARCH_SIZE` points;
    finally Newton from a grid over that half-disk) instead of returning an answer the
    count contradicts.

    Only the generator's first row depends on ``κ``: the rest is built once per kernel
    and size and reused by later calls (a worker-count search solves one kernel at
    dozens of gains), as is the rest of what the search needs of a kernel (its rules,
    abscissa, nearby point delay: :func:`_kernel_setup`); a law passed instead of a
    kernel maps to one cached kernel per equal law (:func:`kernel_of`). The first pass
    keeps the generator's eigenvalues it resolves (:data:`_RESOLVED`), polishes one
    member of each conjugate pair, and drops a guess still far from converging after
    :data:`_FIRST_PATIENCE` steps. The search runs on one BLAS thread
    (:func:`single_blas_thread`).

    Examples
    --------
    >>> from sdde import delays
    >>> z = characteristic_roots(1.0, delays.parse("gamma:shape=2,mean=1"), n=2)
    >>> import numpy as np
    >>> exact = np.roots([0.25, 1, 1, 1])  # z (1 + z/2)^2 + 1 = 0 (linear chain trick)
    >>> bool(np.allclose(np.sort_complex(z), np.sort_complex(exact[exact.real > -1]),
    ...                  rtol=0, atol=1e-10))
    True
    """
    if isinstance(kappa, bool) or not (isinstance(kappa, int | float) and 0 < kappa < math.inf):
        raise ValueError(f"kappa must be a finite number > 0, got {kappa!r}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    if method not in ("auto", "lambert", "generator"):
        raise ValueError(f"method must be auto, lambert or generator, got {method!r}")
    if unstable_count is not None and (isinstance(unstable_count, bool) or not isinstance(
            unstable_count, int | np.integer) or unstable_count < 0):
        raise ValueError(f"unstable_count must be a whole number >= 0 or None, "
                         f"got {unstable_count!r}")
    kernel = kernel_of(law)
    if method == "lambert" and not kernel.point_delay:
        raise ValueError("Lambert W solves point delays only; use method='generator'")
    if kernel.point_delay and method != "generator":
        return point_delay_roots(kappa * kernel.mass, n)
    components = phase_type_components(kernel) if method == "auto" else None
    if components is not None:  # the whole finite spectrum, exactly
        return rational_roots(kappa, tuple(components))[:n]
    with single_blas_thread():
        return _characteristic_roots(kappa, kernel, n, unstable_count, fast=True)


@functools.lru_cache(maxsize=64)
def _cached_kernel(law: DelayLaw) -> DelayKernel:
    return DelayKernel(law)


def kernel_of(law: DelayLaw | DelayKernel) -> DelayKernel:
    """:func:`~sdde.model.kernels.as_kernel`, the same kernel object for equal laws.

    A kernel caches its quadrature rules and the root search caches its generator per
    kernel object; a caller that passes the law (not a kernel) at dozens of gains would
    rebuild them on every call. Laws are frozen dataclasses compared by value, so the
    kernel of an equal law is reused (the 64 most recent; laws that cannot be hashed,
    e.g. with array fields, get a fresh kernel as before).
    """
    if isinstance(law, DelayLaw):
        try:
            return _cached_kernel(law)
        except TypeError:  # an unhashable field
            return as_kernel(law)
    return as_kernel(law)


def _characteristic_roots(kappa: float, kernel: DelayKernel, n: int,
                          unstable_count: int | None, *, fast: bool) -> ComplexArray:
    """The generator search of :func:`characteristic_roots` (arguments checked there).

    ``fast=False`` is the method as it was before issue "Robustness: no answer in 30 s",
    kept as the reference the fast path is tested against: the generator rebuilt on
    every call (the fast path takes its gain-independent part from a per-kernel cache,
    :func:`_kernel_generator`: the same matrix), and the bound on its eigenvalues from
    the complex transform and its derivative (the fast path: a real table of the law's
    body, :meth:`_RootSearch.real_transform`).
    """
    search = _RootSearch(kappa, kernel, fast=fast)
    # Newton needs only a guess in the basin. Checked by hand for the built-in laws at
    # κ in {0.05, 1, 3}: from N = 24–32 on, the rightmost eigenvalue no longer moves (it
    # sits at the discretised kernel's own accuracy); residual tests and the certified
    # count guard the polished result.
    size = _first_size(search.tau, n) if fast else _reference_size(search.tau)
    guesses = search.generator_guesses(size, keep=2 * n + 4)
    rational = _phase_type_roots(kappa, kernel)  # exact where the transform is rational
    starts = [guesses, rational[rational.real > search.abscissa]]
    if search.point is not None:  # the branches the generator did not resolve
        starts.append(_unlike(search.lambert_guesses(2 * n + 4), guesses))
    roots = search.polish(np.concatenate(starts), patience=_FIRST_PATIENCE if fast else 15)
    if unstable_count is None and (kernel.fast or search.point is not None):
        unstable_count = unstable_root_count(kappa, kernel)
    if unstable_count is None:
        return roots[:n]
    for depth in range(1, _SEARCH_ROUNDS + 1):
        if roots_agree_with_count(roots, unstable_count):
            break
        roots = _merge_roots(roots, search.polish(search.wider_guesses(size, depth)))
    return roots[:n]


def _reference_size(tau: float) -> int:
    """Chebyshev points of the reference method's generator on ``[−τ, 0]``."""
    return min(int(32 + 4 * math.ceil(tau)), 200) if tau > 0 else 1


_SIZE_BASE, _SIZE_PER_TAU, _SIZE_PER_ROOT = 32, 4, 0


def _first_size(tau: float, n: int) -> int:
    """Chebyshev points of the first pass's generator, sized to the wanted roots."""
    if tau <= 0:
        return 1
    return min(int(_SIZE_BASE + _SIZE_PER_TAU * math.ceil(tau) + _SIZE_PER_ROOT * n), 200)


def roots_agree_with_count(roots: ComplexArray, count: int) -> bool:
    """Whether roots found agree with a certified count of roots in ``Re z >= 0``.

    Parameters
    ----------
    roots : ndarray of complex
        Distinct roots found (a double root listed twice).
    count : int
        Certified number of roots with ``Re z >= 0`` (:func:`unstable_root_count`).

    Returns
    -------
    bool
        True when the roots clearly right of the axis are at most ``count`` and the roots
        right of it or on it (to ``1e-9 (1 + |z|)``) at least ``count``.
    """
    z = np.asarray(roots, dtype=np.complex128)
    tol = 1e-9 * (1.0 + np.abs(z))
    return int(np.sum(z.real > tol)) <= count <= int(np.sum(z.real >= -tol))


def _unlike(guesses: ComplexArray, others: ComplexArray) -> ComplexArray:
    """The guesses farther than ``1e-3 (1 + |z|)`` from every one of ``others`` (Newton
    from two guesses that close ends at the same root)."""
    if not others.size or not guesses.size:
        return guesses
    gap = np.min(np.abs(guesses[:, None] - others[None, :]), axis=1)
    return guesses[gap > 1e-3 * (1.0 + np.abs(guesses))]


def _merge_roots(roots: ComplexArray, new: ComplexArray) -> ComplexArray:
    """``roots`` and those of ``new`` not within 1e-6 of one already there, sorted as
    :func:`_distinct_sorted` (a double root already listed twice stays so)."""
    fresh = [complex(r) for r in new
             if not np.any(np.abs(roots - r) <= 1e-6 * (1.0 + abs(r)))]
    if not fresh:
        return roots
    return _conjugate_pairs(np.concatenate([roots, np.array(fresh, dtype=np.complex128)]))


@dataclasses.dataclass(frozen=True)
class _KernelSetup:
    """What the root search needs of a kernel, whatever the gain."""

    transient: bool
    transform: Transform
    abscissa: float
    body: TransformRule | None
    nodes: FloatArray
    weights: FloatArray
    tau: float
    point: tuple[float, float] | None

    @classmethod
    def of(cls, kernel: DelayKernel) -> _KernelSetup:
        transient = kernel.heavy_tailed
        transform, abscissa = _transform_and_abscissa(kernel, transient)
        nodes, weights = _generator_kernel(kernel)
        return cls(transient, transform, abscissa,
                   _transient_rule(kernel) if transient else None, nodes, weights,
                   float(nodes.max(initial=0.0)), _concentrated_point(kernel))


@functools.lru_cache(maxsize=64)
def _kernel_setup(kernel: DelayKernel) -> _KernelSetup:
    """:meth:`_KernelSetup.of`, cached per kernel object (a worker-count search or a
    chart solves one kernel at dozens of gains; the setup costs more than a solve)."""
    return _KernelSetup.of(kernel)


class _RootSearch:
    """Guesses for, and Newton polishing of, the roots of one gain and kernel."""

    def __init__(self, kappa: float, kernel: DelayKernel, *, fast: bool = True) -> None:
        self.kappa, self.kernel, self.fast = kappa, kernel, fast
        setup = _kernel_setup(kernel) if fast else _KernelSetup.of(kernel)
        self.transient = setup.transient
        self.transform, self.abscissa = setup.transform, setup.abscissa
        #: The law's body (heavy tails): the rule behind ``transform``.
        self.body = setup.body
        self.nodes, self.weights, self.tau = setup.nodes, setup.weights, setup.tau
        #: ``(m, μ)`` of the nearby point delay ``m e^{−μz}`` of a concentrated kernel.
        self.point = setup.point

    def generator_guesses(self, size: int, keep: int | None) -> ComplexArray:
        """The generator's eigenvalues where roots can be: right of the abscissa and
        within ``|z| <= 2 κ φ(Re z) + 1`` (``keep`` rightmost, or all)."""
        kappa, tau = self.kappa, self.tau
        guesses = _generator_eigenvalues(kappa, self.nodes, self.weights, tau, size,
                                         kernel=self.kernel if self.fast else None)
        # A root has |z| = κ |φ(z)| <= κ φ(Re z): eigenvalues far outside are
        # discretisation artefacts (and would need rules for very high frequencies).
        guesses = guesses[(guesses.real > self.abscissa) & (guesses.real * tau > -600.0)]
        if self.fast:
            bound = kappa * self.real_transform(guesses.real)
        else:  # the reference method: the complex transform (and derivative) at each
            with np.errstate(over="ignore", invalid="ignore"):
                bound = kappa * np.abs(self.transform(
                    guesses.real.astype(np.complex128))[0])
        guesses = guesses[np.abs(guesses) <= 2.0 * bound + 1.0]
        if self.fast and keep is not None:
            guesses = guesses[np.abs(guesses.imag) * tau <= _RESOLVED * size]
        return guesses[np.argsort(-guesses.real)][:keep]

    def real_transform(self, x: FloatArray) -> FloatArray:
        """``|φ(x)|`` at real ``x``, each distinct value once (a conjugate pair shares its
        real part); for heavy tails from a real exponential table of the law's body, four
        times cheaper than the complex one and with its derivative."""
        values, inverse = np.unique(x, return_inverse=True)
        with np.errstate(over="ignore", invalid="ignore"):
            if self.body is not None:
                phi = np.abs(np.exp(-np.outer(values, self.body.nodes)) @ self.body.weights)
            else:
                phi = np.abs(self.transform(values.astype(np.complex128))[0])
        return np.asarray(phi[inverse.ravel()], dtype=np.float64)

    def lambert_guesses(self, n_guesses: int) -> ComplexArray:
        """``W_k(−κ m μ) / μ`` for the ``n_guesses`` rightmost branches of the point delay
        ``m e^{−μz}`` (the kernel's mass and mean; mean 1 and mass φ(0) by default)."""
        mass, mean = self.point or (self.kernel.mass, 1.0)
        return point_delay_roots(self.kappa * mass * mean, n_guesses) / mean

    def wider_guesses(self, size: int, depth: int) -> ComplexArray:
        """Guesses of the ``depth``-th wider search: every Lambert W branch reaching the
        half-disk ``|z| <= κ m`` that holds all roots with ``Re z >= 0``, the generator
        at ``2^depth`` times the size (all its eigenvalues), and in the last round Newton
        from a grid over the half-disk."""
        mean = self.point[1] if self.point else 1.0
        radius = self.kappa * self.kernel.mass
        branches = 2 * (math.ceil(radius * mean / (2.0 * math.pi)) + 3)
        # (both come in conjugate pairs already)
        starts = [self.lambert_guesses(min(branches, _MAX_GRID_STARTS))]
        if self.tau > 0:
            starts.append(self.generator_guesses(min(size * 2**depth, _MAX_SEARCH_SIZE),
                                                 None))
        if depth == _SEARCH_ROUNDS:  # the upper quarter-disk and its mirror image
            step = max(0.25 * min(mean, 1.0), radius / math.sqrt(_MAX_GRID_STARTS / 2))
            axis = np.arange(0.0, radius + step, step)
            grid = (axis[:, None] + 1j * axis[None, :]).ravel()
            grid = grid[np.abs(grid) <= radius + step]
            starts += [grid, np.conj(grid[grid.imag != 0.0])]
        return np.concatenate(starts)

    def polish(self, guesses: ComplexArray, patience: int = 15) -> ComplexArray:
        """Newton on the exact characteristic function; for heavy tails, the roots in or
        near the right half-plane re-polished with the full law's transform."""
        roots = _newton(self.kappa, self.transform, guesses, self.abscissa, patience,
                        conjugates=self.fast)
        if not self.transient:
            return roots
        # Roots in the right half-plane are the full heavy-tailed law's: re-polish with
        # its exact transform (valid for Re z >= 0) the transient roots right of the axis
        # or within TRANSIENT_GAP of it (cutting the tail moves a root by about the cut
        # tail's share of the mean), from their mirror image in the axis. Real roots
        # never lie right of it (z + κ φ(z) > 0 for real z >= 0).
        gap = TRANSIENT_GAP * (1.0 + np.abs(roots))
        near = (roots.real > -gap) & (roots.imag != 0.0)
        if not near.any():
            return roots[roots.real <= 0]
        exact, zero = _transform_and_abscissa(self.kernel, False)
        starts = np.maximum(np.abs(roots[near].real), 1e-12) + 1j * roots[near].imag
        # A root on the axis (κ at its threshold) may land a rounding error left of it:
        # the full law's rule is still accurate there (its terms grow by e^{1e-9 x}).
        right = _newton(self.kappa, exact, starts, zero - _AXIS_SLACK)
        # the transient roots an exact one replaces, and those right of the axis that
        # have none (the full law's root there has crossed to Re z < 0)
        replaced = np.zeros(roots.size, dtype=bool)
        for r in right:
            replaced |= np.abs(roots - r) <= gap
        left = roots[~replaced & (roots.real <= 0)]
        return _distinct_sorted(np.concatenate([right, left]), np.ones(right.size + left.size))


def _concentrated_point(kernel: DelayKernel) -> tuple[float, float] | None:
    """Mass ``m`` and mean delay ``μ`` of a kernel whose coefficient of variation is at
    most :data:`CONCENTRATED_CV` (its transform is then close to ``m e^{−μz}``), else
    None."""
    if kernel.trivial:
        cv = float(kernel.law.cv)
        return (1.0, 1.0) if cv <= CONCENTRATED_CV else None
    rule = kernel.rule(4.0)
    mass = float(rule.weights.sum())
    if not mass > 0:
        return None
    mean = float(rule.weights @ rule.nodes) / mass
    second = float(rule.weights @ rule.nodes**2) / mass
    if not mean > 0:
        return None
    cv = math.sqrt(max(second - mean**2, 0.0)) / mean
    return (mass, mean) if cv <= CONCENTRATED_CV else None


def dominant_root(kappa: float, kernel: DelayKernel) -> complex | None:
    """The rightmost root of ``z + κ φ(z) = 0`` (positive imaginary part of a pair), or
    None when none lies right of the abscissa where ``φ`` is valid.

    For exponential/Erlang mixtures without thinning the transform is rational and the
    rightmost root of ``z Q(z) + κ P(z)`` is the dominant root of the continued
    characteristic function, exact even left of the law's abscissa (a solution's
    transform ``N/(z + κφ)`` has no singularity at ``φ``'s poles), found in microseconds.
    Elsewhere :func:`characteristic_roots`.
    """
    z = characteristic_roots(kappa, kernel, n=1)
    return complex(z[0]) if z.size else None


def continued_root(kappa: float, kernel: DelayKernel, guess: complex) -> complex | None:
    """The root of ``z + κ φ(z) = 0`` that Newton's method reaches from ``guess`` (the pair's
    member with ``Im >= 0``), or None if it does not converge right of the abscissa.

    For continuation along the gain: a root at a nearby gain, scaled, is a guess in its own
    branch's basin. Nothing certifies that the branch is the rightmost: callers compare
    continuations from both sides with certified roots (:mod:`sdde.stability.modes`).
    Heavy-tailed kernels (whose roots near the axis need the transient rule and a second
    polish) return None: solve those with :func:`characteristic_roots`.
    """
    if kernel.heavy_tailed or not (math.isfinite(guess.real) and math.isfinite(guess.imag)):
        return None
    transform, abscissa = _transform_and_abscissa(kernel, False)
    start = np.array([complex(guess.real, abs(guess.imag))])
    z = _newton(kappa, transform, start, abscissa, _FIRST_PATIENCE)
    if not z.size:
        return None
    best = z[np.argmin(np.abs(z - start[0]))]
    return complex(best.real, abs(best.imag))


def dominant_decay_rate(kappa: float, kernel: DelayKernel) -> tuple[float, bool]:
    """``−Re z₀`` of the rightmost root (per mean delay), and whether it is exact.

    :func:`dominant_root`; when there is none right of the abscissa ``a`` where ``φ`` is
    valid, every root lies left of it and the returned rate is the bound ``−a`` (a lower
    bound on the decay rate; ``False`` second value).

    Examples
    --------
    >>> from sdde import delays
    >>> from sdde.model.kernels import as_kernel
    >>> k = as_kernel(delays.parse("exponential:mean=1"))   # z² + z + κ = 0
    >>> rate, exact = dominant_decay_rate(0.16, k)
    >>> round(rate, 12), exact                               # (1 − √(1 − 4κ)) / 2
    (0.2, True)
    """
    z = dominant_root(kappa, kernel)
    if z is not None:
        return -z.real, True
    _, abscissa = _transform_and_abscissa(kernel, kernel.heavy_tailed)
    return (-abscissa if math.isfinite(abscissa) else math.nan), False


@functools.cache
def _blas_controller() -> Any:
    """threadpoolctl's controller of the loaded BLAS libraries, or None without it."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - optional dependency
        return None
    return ThreadpoolController()


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run the block with the BLAS libraries limited to one thread (when threadpoolctl
    is installed; else unchanged).

    The root searches solve small dense problems (a generator of at most 481 points,
    matrix-vector products over a few thousand quadrature nodes), where BLAS threads do
    not pay: on a machine whose cores are busy with other work, OpenBLAS's threads wait
    for each other on every call, and a 200-point eigenvalue problem took 0.26–1.5 s
    instead of 13 ms (issue "Robustness: no answer in 30 s"). The previous limits are
    restored on exit. The limits are process-wide: do not run BLAS-heavy work in other
    threads meanwhile and expect it to use several threads.

    Examples
    --------
    >>> import numpy as np
    >>> with single_blas_thread():
    ...     w = np.linalg.eigvals(np.diag([1.0, 2.0]))
    >>> sorted(w.tolist())
    [1.0, 2.0]
    """
    controller = _blas_controller()
    if controller is None:  # pragma: no cover - optional dependency
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield


Transform = Callable[[ComplexArray], tuple[ComplexArray, ComplexArray]]

#: Largest polynomial degree the phase-type shortcut solves with ``numpy.roots``.
_MAX_PHASE_TYPE_DEGREE = 40


def _phase_type_roots(kappa: float, kernel: DelayKernel) -> ComplexArray:
    """All roots of ``z + κ φ(z)`` when ``φ`` is rational (linear chain trick), unpolished:
    the guesses ``method="generator"`` adds for such kernels.

    Exponential, Erlang (integer-shape gamma) and mixtures of them have
    ``φ(z) = Σ_c w_c (r_c / (r_c + z))^{k_c}``. The generator's guesses come from the
    kernel cut at its ``1 − 1e-6`` quantile, whose transform is poor near the abscissa
    ``−min r_c``; roots there (e.g. ``−1 + κ`` for the exponential at small ``κ``) get
    their guesses here instead. An empty array for any other kernel.
    """
    components = phase_type_components(kernel)
    if components is None:
        return np.empty(0, dtype=np.complex128)
    return chain_roots(kappa, tuple(components))


def phase_type_components(kernel: DelayKernel) -> list[tuple[float, float, int]] | None:
    """``(weight, rate, shape)`` of each phase of a kernel that is an exponential/Erlang
    mixture without thinning or step weights (mean-delay units), or ``None``.

    With these, ``φ(z) = Σ_c w_c (r_c / (r_c + z))^{k_c}`` is rational and the SDDE is a
    finite linear system (the linear chain trick). ``None`` beyond
    :data:`_MAX_PHASE_TYPE_DEGREE` phases in all.
    """
    components = _phase_type_components(kernel.law) if kernel.trivial else None
    if not components or sum(k for _, _, k in components) > _MAX_PHASE_TYPE_DEGREE:
        return None
    return components


def _phase_type_components(law: DelayLaw) -> list[tuple[float, float, int]] | None:
    """``(weight, rate, shape)`` of an exponential/Erlang mixture, or ``None``."""
    if isinstance(law, Exponential):
        return [(1.0, 1.0 / law.scale, 1)]
    if isinstance(law, Gamma) and float(law.shape).is_integer():
        return [(1.0, 1.0 / law.scale, int(law.shape))]
    if isinstance(law, Mixture):
        out: list[tuple[float, float, int]] = []
        for weight, component in zip(law.weights, law.components, strict=True):
            parts = _phase_type_components(component)
            if parts is None:
                return None
            out += [(weight * w, rate, shape) for w, rate, shape in parts]
        return out
    return None


def _transform_and_abscissa(kernel: DelayKernel, transient: bool) -> tuple[Transform, float]:
    """``z -> (φ(z), φ'(z))`` used by Newton, and the abscissa left of which it is invalid."""
    if transient:
        return _transient_rule(kernel).with_derivative, -math.inf
    if kernel.heavy_tailed:
        return kernel.with_derivative, 0.0
    if kernel.fast:
        return kernel.with_derivative, kernel.law.laplace_abscissa
    return kernel.with_derivative, _rule_abscissa(kernel)


#: The quadrature rule's own absolute error on the axis (TransformRule.error's floor).
_RULE_FLOOR = 1e-12
#: Roots are sought where the rule's error bound left of the axis stays below this.
_ROOT_TOLERANCE = 1e-10


def _rule_abscissa(kernel: DelayKernel) -> float:
    """Leftmost ``Re z = −a`` where the kernel's quadrature rule still bounds ``φ(z)``.

    Left of the axis each node's term grows by ``e^{a x_j}``: the rule's own error
    (``1e-12`` of each term) becomes ``1e-12 Σ |w_j| e^{a x_j}``, and the kernel mass
    left out beyond the cut ``x_c``, at most ``w(x_c) P(X > x_c)`` since every staleness
    weight ``w(u)`` decreases in ``u``, becomes ``w(x_c) P(X > x_c) e^{a x_c}``. Weighting
    both by ``w`` matters for thresholds, whose weight has fallen to ``1e-100`` long before
    the cut: bounding with the unweighted tail would hide every root left of ``−0.3``.
    """
    rule = kernel.rule(16.0)
    nodes, weights = rule.nodes, np.abs(rule.weights)
    cut = float(nodes.max(initial=1.0))
    left_out = max(rule.error - _RULE_FLOOR, 0.0) * float(kernel.weight(np.array([cut]))[0])

    def excess(a: float) -> float:  # log of (error bound / tolerance)
        with np.errstate(over="ignore"):
            bound = (_RULE_FLOOR * float(weights @ np.exp(a * nodes))
                     + left_out * math.exp(min(a * cut, 700.0)))
        return math.log(bound / _ROOT_TOLERANCE) if bound > 0 else -math.inf

    if excess(0.0) >= 0.0:
        return 0.0
    hi = 1.0
    while excess(hi) < 0.0 and hi < 1e6:
        hi *= 2.0
    if excess(hi) < 0.0:
        return -math.inf
    return -float(brentq(excess, 0.0, hi, xtol=1e-6 * hi))


def _transient_rule(kernel: DelayKernel) -> TransformRule:
    rule = kernel.rule(16.0, tail=1.0 - TRANSIENT_QUANTILE)
    renormalise = kernel.mass / float(rule.weights.sum())
    return TransformRule(rule.nodes, rule.weights * renormalise, rule.omega_max, 0.0)


def _generator_kernel(kernel: DelayKernel) -> tuple[FloatArray, FloatArray]:
    """Delays and weights of the discretised kernel the generator is built from."""
    if kernel.point_delay:
        return np.array([1.0]), np.array([kernel.mass])
    rule = _transient_rule(kernel) if kernel.heavy_tailed else kernel.rule(16.0, tail=1e-06)
    return rule.nodes, rule.weights


def _generator_eigenvalues(kappa: float, nodes: FloatArray, weights: FloatArray,
                           tau: float, size: int, *,
                           kernel: DelayKernel | None = None) -> ComplexArray:
    """Eigenvalues of the Chebyshev collocation of the generator on ``[−τ, 0]``.

    With ``kernel`` (whose discretised delays ``nodes``, ``weights`` must be), the
    gain-independent part comes from the per-kernel cache (:func:`_kernel_generator`):
    the same matrix, built once for the dozens of gains of a worker-count search.
    """
    if tau <= 0.0:  # no delay at all: x' = −κ m x
        return np.array([-kappa * float(weights.sum())], dtype=np.complex128)
    if kernel is None:
        gen, row = _generator_parts(nodes, weights, tau, size)
    else:
        base, row = _kernel_generator(kernel, size)
        gen = base.copy()
    gen[0] = -kappa * row
    return np.asarray(linalg.eigvals(gen, overwrite_a=True), dtype=np.complex128)


@functools.lru_cache(maxsize=16)
def _kernel_generator(kernel: DelayKernel, size: int) -> tuple[FloatArray, FloatArray]:
    """:func:`_generator_parts` of a kernel's discretised delays (cached per kernel object
    and size: the worker-count search solves one kernel at dozens of gains)."""
    nodes, weights = _generator_kernel(kernel)
    base, row = _generator_parts(nodes, weights, float(nodes.max(initial=0.0)), size)
    base.setflags(write=False)
    row.setflags(write=False)
    return base, row


def _generator_parts(nodes: FloatArray, weights: FloatArray, tau: float,
                     size: int) -> tuple[FloatArray, FloatArray]:
    """The generator's collocation matrix without its first row, and that row per unit
    gain.

    Parameters
    ----------
    nodes, weights : ndarray of float
        Delays (``0 < x <= τ``) and weights of the discretised kernel.
    tau : float
        The largest delay, ``τ > 0``.
    size : int
        ``N``: the generator is collocated at ``N + 1`` Chebyshev points.

    Returns
    -------
    gen : ndarray of float, shape (N + 1, N + 1)
        Rows ``1..N``: ``(2/τ) D``, ``D`` the Chebyshev differentiation matrix; row 0 is
        zero. The generator at gain ``κ`` is ``gen`` with row 0 set to ``−κ row``: only
        that row depends on the gain.
    row : ndarray of float, shape (N + 1,)
        ``Σ_k w_k ℓ(−x_k)``, the Lagrange basis at the delays weighted by the kernel.
    """
    j = np.arange(size + 1)
    x = np.cos(np.pi * j / size)
    theta = 0.5 * tau * (x - 1.0)  # theta[0] = 0, theta[-1] = −τ
    c = np.where((j == 0) | (j == size), 2.0, 1.0) * (-1.0) ** j
    dx = x[:, None] - x[None, :]
    d = np.outer(c, 1.0 / c) / (dx + np.eye(size + 1))
    d -= np.diag(d.sum(axis=1))
    gen = np.empty((size + 1, size + 1))
    gen[1:] = (2.0 / tau) * d[1:]
    gen[0] = 0.0
    return gen, weights @ _lagrange_rows(-nodes, theta, c)


def _lagrange_rows(t: FloatArray, theta: FloatArray, signs: FloatArray) -> FloatArray:
    """Values at ``t`` of the Lagrange basis on the Chebyshev points ``theta``."""
    bary = signs / np.where(np.abs(signs) == 2.0, 2.0, 1.0) ** 2  # (-1)^j, halved at ends
    diff = t[:, None] - theta[None, :]
    exact = np.abs(diff) <= 1e-13 * (1.0 + np.abs(theta[None, :]))  # (near-)hits: the node
    exact &= np.cumsum(exact, axis=1) == 1  # one per row
    diff[np.abs(diff) <= 1e-13 * (1.0 + np.abs(theta[None, :]))] = 1.0
    terms = bary[None, :] / diff
    rows = terms / terms.sum(axis=1, keepdims=True)
    hit = exact.any(axis=1)
    rows[hit] = exact[hit].astype(np.float64)
    return rows


def _newton(kappa: float, transform: Transform, guesses: ComplexArray,
            abscissa: float, patience: int = 15, *, conjugates: bool = False
            ) -> ComplexArray:
    """Polish guesses by Newton's method; keep the distinct converged roots.

    An iterate whose step is still above ``1e-3 (1 + |z|)`` after ``patience`` steps (or
    above ``1e-7 (1 + |z|)`` after 30) started outside every basin and is dropped (the
    second limit is late: near a double root Newton converges only linearly). With
    ``conjugates``, each guess is first reflected into ``Im z >= 0`` (a pair's two
    members become one start) and every root found is returned with its conjugate:
    ``Δ`` has real coefficients, so this halves the work."""
    def newton_step(z: ComplexArray) -> tuple[ComplexArray, ComplexArray, ComplexArray]:
        with np.errstate(over="ignore", invalid="ignore"):  # iterates thrown far left
            phi, dphi = transform(z)
            return z + kappa * phi, 1.0 + kappa * dphi, phi

    z = guesses.astype(np.complex128)
    if conjugates:
        z = np.unique(z.real + 1j * np.abs(z.imag))
    done = np.zeros(z.shape, dtype=bool)
    previous = np.full(z.shape, np.inf)  # the last step's size
    for it in range(_NEWTON_STEPS):
        live = ~done & (z.real > abscissa) & np.isfinite(z)
        if not live.any():
            break
        value, slope, _ = newton_step(z[live])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            step = value / slope
        z[live] -= step
        size, unit = np.abs(step), 1.0 + np.abs(z[live])
        # converged, or at the transform's noise floor: a tiny step that stopped shrinking
        # (quadratic convergence shrinks it by far more than half; the residual test
        # below still decides whether the iterate is a root)
        done[live] = (size <= _NEWTON_TOL * unit) | (
            (size <= _NEWTON_FLOOR * unit) & (size >= 0.5 * previous[live]))
        previous[live] = size
        if it >= patience:  # still far from converging: a spurious guess, give up on it
            slow = 1e-3 if it < 30 else 1e-7  # (a double root converges linearly)
            lost = ~(np.abs(step) <= slow * (1.0 + np.abs(z[live])))
            z[np.flatnonzero(live)[lost]] = np.nan
    usable = np.isfinite(z) & (z.real > abscissa)
    z, done = z[usable], done[usable]
    if not z.size:
        return z
    value, slope, _ = newton_step(z)
    _, _, phi_re = newton_step(z.real.astype(np.complex128))
    scale = np.abs(z) + kappa * np.abs(phi_re)
    residual = np.abs(value)
    # Near a double root Newton converges only linearly, to about sqrt(eps): accept a
    # tiny residual there too.
    keep = np.isfinite(residual) & ((done & (residual <= 1e-10 * scale))
                                    | (residual <= 1e-13 * scale))
    z, flatness = z[keep], np.abs(slope[keep]) / (1.0 + scale[keep])
    if conjugates:
        z, flatness = np.concatenate([z, np.conj(z)]), np.concatenate([flatness, flatness])
    return _distinct_sorted(z, flatness)


def _distinct_sorted(z: ComplexArray, flatness: FloatArray) -> ComplexArray:
    """Distinct roots, real parts descending, each pair with ``Im > 0`` first.

    Copies closer than 1e-6 are one root, counted twice where ``Δ'`` vanishes there
    (``flatness = |Δ'| / scale <= 1e-5``: a double root, found to about 1e-8).
    """
    z = np.where(np.abs(z.imag) <= 1e-12 * (1.0 + np.abs(z)), z.real + 0j, z)
    order = np.lexsort((-z.imag, -np.round(z.real, 9)))
    out: list[complex] = []
    double: list[bool] = []
    for r, flat in zip(z[order], flatness[order], strict=True):
        near = [i for i, q in enumerate(out) if abs(r - q) <= 1e-6 * (1.0 + abs(q))]
        if not near:
            out.append(complex(r))
            double.append(False)
        elif flat <= 1e-5 and not double[near[0]] and len(near) == 1:
            double[near[0]] = True
    roots = [q for q, d in zip(out, double, strict=True) for _ in range(2 if d else 1)]
    return _conjugate_pairs(np.array(roots, dtype=np.complex128))


def _conjugate_pairs(z: ComplexArray) -> ComplexArray:
    """Roots with each ``Im < 0`` member of a pair the exact conjugate of its partner,
    sorted as :func:`_distinct_sorted` returns them.

    The equation has real coefficients, so roots come in conjugate pairs; polished one
    by one, the members are conjugate only to the transform's accuracy (``~1e-12`` for
    quadrature rules), which would otherwise order a pair by rounding noise. The partner
    is the root with ``Im > 0`` nearest the conjugate, within ``1e-6 (1 + |z|)``.
    """
    z = np.array(z, dtype=np.complex128)
    upper = np.flatnonzero(z.imag > 0)
    if upper.size:
        for i in np.flatnonzero(z.imag < 0):
            gap = np.abs(z[upper] - np.conj(z[i]))
            j = int(np.argmin(gap))
            if gap[j] <= 1e-6 * (1.0 + abs(z[i])):
                z[i] = np.conj(z[upper[j]])
    return z[np.lexsort((-z.imag, -np.round(z.real, 9)))]


def unstable_root_count(kappa: float, law: DelayLaw | DelayKernel) -> int | None:
    """Number of roots of ``z + κ φ(z)`` with ``Re z >= 0``, by the argument principle.

    Parameters
    ----------
    kappa : float
        Dimensionless gain ``κ > 0``.
    law : DelayLaw or DelayKernel
        Delay law or kernel.

    Returns
    -------
    int or None
        The count (0 certifies stability of the mean dynamics); None when a root lies
        on the imaginary axis to within the transform's accuracy (``κ`` at a threshold).

    Notes
    -----
    Along the imaginary axis, ``Δ(iω) = iω + κ φ(iω)`` has ``Δ(0) = κ φ(0) > 0`` and,
    for ``ω > κ φ(0)``, ``Im Δ > 0``. Its argument therefore ends in some
    ``(2πm, 2πm + π)`` and tends to ``π/2 + 2πm``; closing the contour by a large
    half-circle (where ``Δ ≈ z``) gives ``−2m`` roots in the right half-plane. The
    change of argument on ``[0, κ φ(0)]`` is certified with the bound
    ``|dΔ/dω| <= 1 + κ E[w X̃]`` (:mod:`sdde.stability._winding`). Valid for every law, heavy
    tails included: ``φ`` is analytic in ``Re z > 0`` and continuous up to the axis.
    """
    if isinstance(kappa, bool) or not (isinstance(kappa, int | float) and 0 < kappa < math.inf):
        raise ValueError(f"kappa must be a finite number > 0, got {kappa!r}")
    kernel = kernel_of(law)
    end = kappa * kernel.mass * (1.0 + 1e-9) + 1e-12

    def delta(w: FloatArray) -> ComplexArray:
        return 1j * w + kappa * kernel.on_axis(w, coarse=True)

    with single_blas_thread():
        change = certified_arg_change(
            delta, 0.0, end, lipschitz=1.0 + kappa * kernel.weighted_mean,
            error=kappa * kernel.transform_error(end, coarse=True) + 1e-13)
    if change is None:
        return None
    return -2 * math.floor(change / (2 * math.pi))
