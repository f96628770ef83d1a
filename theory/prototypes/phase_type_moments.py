"""Exact first and second moments of the asynchronous server with phase-type rounds.

Each worker's round is a phase-type law ``(α, T)`` on ``K`` phases (exit rates
``t = −T 1``).  When a worker leaves its last phase it pushes: ``θ ← θ − a y_i + ε``,
``y_i ← θ``, and it restarts in phase ``r`` with probability ``α_r``.  Time is
continuous, in units of the (normalised, = 1) mean round, ``κ = n a``.

The phase configuration is a Markov chain; ``(configuration, x)`` with
``x = (θ, y_1..y_n)`` is a Markov-modulated linear jump system.  Aggregating over the
workers that share a phase, the *sums*

    P_c      = E[θ² ; c]
    Q_{c,p}  = E[Σ_{j∈p} θ y_j ; c]
    R_{c,p}  = E[Σ_{j∈p} y_j² ; c]
    S_{c,pq} = E[Σ_{j∈p, k∈q, j≠k} y_j y_k ; c]      (ordered pairs, symmetric in p, q)

indexed by the count vector ``c = (m_1..m_K)`` (``Σ m_p = n``), obey a *closed* linear ODE
``dv/dt = L(a) v + s2·F`` (NOTES.md §3; every worker in a phase moves at the same rate,
so the flow out of a sum is the rate times the sum: no exchangeability assumption is
needed).  ``L(a) = L0 + a L1 + a² L2``.  Mean-square stability ⇔ spectral abscissa of
``L(a)`` < 0.  The first moments close the same way on ``(E[θ;c], E[Σ_{j∈p} y_j;c])``.

Size: ``C(n+K−1, K−1)`` configurations × ``(1 + 2K + K(K+1)/2)`` moments, e.g. 257 × 8
for ``K = 2``, ``n = 256``.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sps
import scipy.sparse.linalg as spla
from numpy.typing import NDArray
from scipy import optimize

FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------------- PH laws
@dataclass(frozen=True)
class PhaseType:
    """A phase-type law: initial probabilities ``alpha`` (K,), sub-generator ``T`` (K, K)."""

    alpha: FloatArray
    T: FloatArray

    def __post_init__(self) -> None:
        alpha = np.asarray(self.alpha, dtype=float)
        T = np.asarray(self.T, dtype=float)
        if alpha.ndim != 1 or T.shape != (alpha.size, alpha.size):
            raise ValueError("alpha (K,) and T (K, K)")
        if abs(alpha.sum() - 1) > 1e-12 or np.any(alpha < 0):
            raise ValueError("alpha must be a probability vector")
        if np.any(self._exit(T) < -1e-12):
            raise ValueError("T must have non-negative exit rates")
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "T", T)

    @staticmethod
    def _exit(T: FloatArray) -> FloatArray:
        return -T.sum(axis=1)

    @property
    def K(self) -> int:
        return int(self.alpha.size)

    @property
    def exit(self) -> FloatArray:
        """Exit (push) rate ``t_p`` of each phase."""
        return self._exit(self.T)

    @cached_property
    def mean(self) -> float:
        return float(self.alpha @ np.linalg.solve(-self.T, np.ones(self.K)))

    def normalized(self) -> PhaseType:
        """The same law rescaled to mean 1 (rates multiplied by the mean)."""
        return PhaseType(self.alpha, self.T * self.mean)

    @cached_property
    def stationary_phase(self) -> FloatArray:
        """Phase law of one worker in equilibrium: ``α (−T)^{-1} / mean``."""
        v = np.linalg.solve(-self.T.T, self.alpha)
        return v / v.sum()

    def laplace(self, z: complex | NDArray) -> NDArray:
        """``φ(z) = α (zI − T)^{-1} t``."""
        z = np.atleast_1d(np.asarray(z, dtype=complex))
        out = np.empty(z.shape, dtype=complex)
        for k, zz in np.ndenumerate(z):
            out[k] = self.alpha @ np.linalg.solve(zz * np.eye(self.K) - self.T, self.exit)
        return out

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """Draw round times by running the phase chain (for Monte Carlo checks)."""
        out = np.empty(size)
        rates = -np.diag(self.T)
        for s in range(size):
            p = rng.choice(self.K, p=self.alpha)
            total = 0.0
            while True:
                total += rng.exponential(1 / rates[p])
                probs = np.append(np.maximum(self.T[p], 0) * (1 - np.eye(self.K)[p]),
                                  self.exit[p]) / rates[p]
                nxt = rng.choice(self.K + 1, p=probs / probs.sum())
                if nxt == self.K:
                    break
                p = nxt
            out[s] = total
        return out


def exponential() -> PhaseType:
    """Exponential law, mean 1."""
    return PhaseType(np.array([1.0]), np.array([[-1.0]]))


def erlang(k: int) -> PhaseType:
    """Erlang-k (gamma with integer shape k), mean 1."""
    T = -k * np.eye(k) + k * np.eye(k, k=1)
    return PhaseType(np.eye(k)[0], T)


def hyperexponential(p: FloatArray, means: FloatArray) -> PhaseType:
    """Mixture of exponentials with weights ``p`` and means ``means`` (not normalised)."""
    p, means = np.asarray(p, float), np.asarray(means, float)
    return PhaseType(p / p.sum(), -np.diag(1 / means))


def mixture(weights: FloatArray, laws: list[PhaseType]) -> PhaseType:
    """Mixture of phase-type laws (block-diagonal generator)."""
    w = np.asarray(weights, float)
    alpha = np.concatenate([wi * law.alpha for wi, law in zip(w, laws, strict=True)])
    return PhaseType(alpha / alpha.sum(), sla.block_diag(*[law.T for law in laws]))


def from_sdde_law(law: object) -> PhaseType:
    """Phase-type form of an ``sdde.delays`` law (exponential, integer gamma, mixtures).

    Normalised to mean 1.  Raises ``ValueError`` for laws without a phase-type form.
    """
    from sdde import delays
    if isinstance(law, delays.Exponential):
        return exponential()
    if isinstance(law, delays.Gamma) and float(law.shape).is_integer():
        return erlang(int(law.shape))
    if isinstance(law, delays.Mixture):
        parts = [from_sdde_law(c) for c in law.components]
        scaled = [PhaseType(p.alpha, p.T / float(c.mean)) for p, c in
                  zip(parts, law.components, strict=True)]
        return mixture(np.array(law.weights), scaled).normalized()
    raise ValueError(f"no phase-type form for {law!r}")


# --------------------------------------------------------------------------- configurations
def compositions(n: int, K: int) -> list[tuple[int, ...]]:
    """All count vectors ``(m_1..m_K)`` with ``Σ m = n`` (lexicographic)."""
    if K == 1:
        return [(n,)]
    return [(m,) + rest for m in range(n, -1, -1) for rest in compositions(n - m, K - 1)]


def config_probabilities(ph: PhaseType, configs: list[tuple[int, ...]]) -> FloatArray:
    """Stationary multinomial law of the counts (workers independent, in equilibrium)."""
    pi = ph.stationary_phase
    n = sum(configs[0])
    out = np.empty(len(configs))
    for k, c in enumerate(configs):
        logp = math.lgamma(n + 1) + sum(m * math.log(p) if m else 0.0 for m, p in zip(c, pi))
        logp -= sum(math.lgamma(m + 1) for m in c)
        out[k] = math.exp(logp)
    return out


@dataclass
class _Layout:
    """Index of every structurally possible moment of every configuration."""

    configs: list[tuple[int, ...]]
    K: int
    second: bool

    def __post_init__(self) -> None:
        self.cindex = {c: k for k, c in enumerate(self.configs)}
        self.pairs = [(p, q) for p in range(self.K) for q in range(p, self.K)]
        self.index: dict[tuple, int] = {}
        for c in self.configs:
            self._add((c, "P"))
            for p in range(self.K):
                if c[p] >= 1:
                    self._add((c, "Q", p))
                    if self.second:
                        self._add((c, "R", p))
            if self.second:
                for p, q in self.pairs:
                    if (c[p] >= 2) if p == q else (c[p] >= 1 and c[q] >= 1):
                        self._add((c, "S", p, q))

    def _add(self, key: tuple) -> None:
        self.index[key] = len(self.index)

    @property
    def size(self) -> int:
        return len(self.index)

    def key(self, c: tuple[int, ...], kind: str, p: int = -1, q: int = -1) -> tuple:
        if kind == "S":
            p, q = min(p, q), max(p, q)
            return (c, "S", p, q)
        return (c, kind) if kind == "P" else (c, kind, p)


class _Builder:
    """Accumulates ``L = L0 + a L1 + a² L2`` in COO form, checking structural zeros."""

    def __init__(self, layout: _Layout) -> None:
        self.lay = layout
        self.rows: list[list[int]] = [[], [], []]
        self.cols: list[list[int]] = [[], [], []]
        self.vals: list[list[float]] = [[], [], []]
        self.push = False  # tag the next entries as push (update) transitions
        self.is_push: list[list[bool]] = [[], [], []]

    def add(self, target: tuple, source: tuple, coeff: float, power: int = 0) -> None:
        if coeff == 0.0:
            return
        idx = self.lay.index
        if source not in idx:  # a structurally zero moment contributes nothing
            return
        if target not in idx:
            raise AssertionError(f"flow {coeff} from {source} into impossible {target}")
        self.rows[power].append(idx[target])
        self.cols[power].append(idx[source])
        self.vals[power].append(coeff)
        self.is_push[power].append(self.push)

    def matrices(self, push_only: bool = False) -> list[sps.csr_matrix]:
        """``[L0, L1, L2]`` (all transitions, or only the push transitions)."""
        N = self.lay.size
        out = []
        for r, c, v, tag in zip(self.rows, self.cols, self.vals, self.is_push, strict=True):
            w = np.asarray(v) * (np.asarray(tag, dtype=bool) if push_only else 1.0)
            out.append(sps.csr_matrix((w, (r, c)), shape=(N, N)))
        return out


# --------------------------------------------------------------------------- the generator
@dataclass
class ServerMoments:
    """Exact moment equations of the server for ``n`` workers with PH rounds (mean 1).

    Attributes
    ----------
    L : list of 3 sparse matrices, ``L(a) = L[0] + a L[1] + a² L[2]`` (second moments)
    F : forcing per unit per-push noise variance ``s2`` (stationary configurations)
    mean_L : list of 2 sparse matrices for the first moments, ``L[0] + a L[1]``
    """

    ph: PhaseType
    n: int

    def __post_init__(self) -> None:
        t0 = time.perf_counter()
        self.ph = self.ph.normalized()
        self.configs = compositions(self.n, self.ph.K)
        self.pi = config_probabilities(self.ph, self.configs)
        self.lay2 = _Layout(self.configs, self.ph.K, second=True)
        self.lay1 = _Layout(self.configs, self.ph.K, second=False)
        self.L, self.F = self._second()
        self.mean_L = self._first()
        self.build_seconds = time.perf_counter() - t0

    # ---------------------------------------------------------------- transitions
    def _moves(self, c: tuple[int, ...]):
        """Yield ``(kind, p, r, rate_per_worker, c')``: internal moves p→r and pushes
        from p restarting in r."""
        T, t, alpha, K = self.ph.T, self.ph.exit, self.ph.alpha, self.ph.K
        for p in range(K):
            if c[p] == 0:
                continue
            for r in range(K):
                new = list(c)
                new[p] -= 1
                new[r] += 1
                if r != p and T[p, r] > 0:
                    yield "move", p, r, T[p, r], tuple(new)
                if t[p] > 0 and alpha[r] > 0:
                    yield "push", p, r, t[p] * alpha[r], tuple(new)

    def _second(self) -> tuple[list[sps.csr_matrix], FloatArray]:
        lay, K = self.lay2, self.ph.K
        B = _Builder(lay)
        F = np.zeros(lay.size)
        d = lambda i, j: 1.0 if i == j else 0.0  # noqa: E731
        for ci, c in enumerate(self.configs):
            out_rate = sum(c[p] * -self.ph.T[p, p] for p in range(K))
            for kind_key in [lay.key(c, "P")] + [lay.key(c, x, p) for x in "QR"
                                                 for p in range(K)] + \
                    [lay.key(c, "S", p, q) for p, q in lay.pairs]:
                if kind_key in lay.index:
                    B.push = False
                    B.add(kind_key, kind_key, -out_rate)
            for kind, p, r, rate, c2 in self._moves(c):
                B.push = kind == "push"
                m = c
                P = lay.key(c, "P")
                if kind == "move":
                    B.add(lay.key(c2, "P"), P, rate * m[p])
                    for q in range(K):
                        for X in "QR":
                            B.add(lay.key(c2, X, q), lay.key(c, X, q), rate * (m[p] - d(p, q)))
                            if q == r:
                                B.add(lay.key(c2, X, q), lay.key(c, X, p), rate)
                    for q, q2 in lay.pairs:
                        tgt = lay.key(c2, "S", q, q2)
                        B.add(tgt, lay.key(c, "S", q, q2), rate * (m[p] - d(p, q) - d(p, q2)))
                        if q == r:
                            B.add(tgt, lay.key(c, "S", p, q2), rate)
                        if q2 == r:
                            B.add(tgt, lay.key(c, "S", q, p), rate)
                    continue
                # push by a worker in phase p, restart in r:  A_p = Σ_{i∈p}(θ − a y_i)²
                def add_A(tgt: tuple, w: float) -> None:
                    B.add(tgt, P, w * m[p])
                    B.add(tgt, lay.key(c, "Q", p), -2.0 * w, 1)
                    B.add(tgt, lay.key(c, "R", p), w, 2)
                    F[lay.index[tgt]] += w * m[p] * self.pi[ci]
                add_A(lay.key(c2, "P"), rate)
                for q in range(K):
                    tq = lay.key(c2, "Q", q)
                    if q == r:
                        add_A(tq, rate)
                    B.add(tq, lay.key(c, "Q", q), rate * (m[p] - d(p, q)))
                    B.add(tq, lay.key(c, "S", p, q), -rate, 1)
                    tr = lay.key(c2, "R", q)
                    if q == r:
                        add_A(tr, rate)
                    B.add(tr, lay.key(c, "R", q), rate * (m[p] - d(p, q)))
                for q, q2 in lay.pairs:
                    tgt = lay.key(c2, "S", q, q2)
                    B.add(tgt, lay.key(c, "S", q, q2), rate * (m[p] - d(p, q) - d(p, q2)))
                    if q == r:  # the pusher is the first of the pair
                        B.add(tgt, lay.key(c, "Q", q2), rate * (m[p] - d(p, q2)))
                        B.add(tgt, lay.key(c, "S", p, q2), -rate, 1)
                    if q2 == r:  # the pusher is the second of the pair
                        B.add(tgt, lay.key(c, "Q", q), rate * (m[p] - d(p, q)))
                        B.add(tgt, lay.key(c, "S", p, q), -rate, 1)
        self.L_push = B.matrices(push_only=True)
        return B.matrices(), F

    def _first(self) -> list[sps.csr_matrix]:
        lay, K = self.lay1, self.ph.K
        B = _Builder(lay)
        d = lambda i, j: 1.0 if i == j else 0.0  # noqa: E731
        for c in self.configs:
            out_rate = sum(c[p] * -self.ph.T[p, p] for p in range(K))
            for key in [lay.key(c, "P")] + [lay.key(c, "Q", p) for p in range(K)]:
                if key in lay.index:
                    B.push = False
                    B.add(key, key, -out_rate)
            for kind, p, r, rate, c2 in self._moves(c):
                B.push = kind == "push"
                M = lay.key(c, "P")
                if kind == "move":
                    B.add(lay.key(c2, "P"), M, rate * c[p])
                    for q in range(K):
                        B.add(lay.key(c2, "Q", q), lay.key(c, "Q", q), rate * (c[p] - d(p, q)))
                        if q == r:
                            B.add(lay.key(c2, "Q", q), lay.key(c, "Q", p), rate)
                    continue
                for tgt in [lay.key(c2, "P")] + ([lay.key(c2, "Q", r)]):
                    B.add(tgt, M, rate * c[p])
                    B.add(tgt, lay.key(c, "Q", p), -rate, 1)
                for q in range(K):
                    B.add(lay.key(c2, "Q", q), lay.key(c, "Q", q), rate * (c[p] - d(p, q)))
        self.mean_L_push = B.matrices(push_only=True)[:2]
        return B.matrices()[:2]

    # ---------------------------------------------------------------- evaluation
    def generator(self, kappa: float) -> sps.csr_matrix:
        """Second-moment generator ``L(a)``, ``a = κ/n``."""
        a = kappa / self.n
        return (self.L[0] + a * self.L[1] + a * a * self.L[2]).tocsc()

    def mean_generator(self, kappa: float) -> sps.csr_matrix:
        a = kappa / self.n
        return (self.mean_L[0] + a * self.mean_L[1]).tocsc()

    def initial(self, theta0: float = 1.0) -> FloatArray:
        """Moments at t = 0: every y_j = θ0, configurations stationary."""
        v = np.zeros(self.lay2.size)
        for (c, kind, *pq), k in self.lay2.index.items():
            w = self.pi[self.lay2.cindex[c]] * theta0**2
            if kind == "P":
                v[k] = w
            elif kind in "QR":
                v[k] = w * c[pq[0]]
            else:  # ordered pairs j∈p, k∈q, j≠k
                p, q = pq
                v[k] = w * c[p] * (c[q] - (p == q))
        return v

    def theta2(self, v: FloatArray) -> float:
        """``E θ²`` from a moment vector (sum of ``P_c``)."""
        return float(sum(v[self.lay2.index[(c, "P")]] for c in self.configs))

    def stationary_theta2(self, kappa: float, s2: float = 1.0) -> float:
        """Stationary ``E θ²`` with per-push noise variance ``s2`` (−L⁻¹F); meaningful
        only below the mean-square threshold (negative above it)."""
        v = spla.spsolve(self.generator(kappa), -s2 * self.F)
        return self.theta2(v)

    def abscissa(self, kappa: float, dense: bool | None = None) -> float:
        """Spectral abscissa of ``L(a)`` (dense eig for small systems, else ARPACK)."""
        Lk = self.generator(kappa)
        if dense or (dense is None and Lk.shape[0] <= 3000):
            return float(np.max(np.linalg.eigvals(Lk.toarray()).real))
        vals = spla.eigs(Lk, k=6, sigma=0.5, which="LM", return_eigenvectors=False)
        return float(np.max(vals.real))

    def push_chain_radius(self, kappa: float) -> float:
        """Spectral radius of the second-moment map from one push to the next.

        ``L = B_push − W`` with ``W = D − B_internal``; between pushes the moments evolve
        by ``e^{−Wt}``, so the push-embedded map is ``J = B_push W⁻¹`` and
        ``L = (J − I) W``: ``det L = 0 ⇔ 1 ∈ spec J`` (same threshold; ``log ρ(J)`` is
        the per-update growth rate, ``s(L)`` the per-time one).  Dense; small systems.
        """
        a = kappa / self.n
        Bp = (self.L_push[0] + a * self.L_push[1] + a * a * self.L_push[2]).toarray()
        W = Bp - self.generator(kappa).toarray()
        J = np.linalg.solve(W.T, Bp.T).T
        return float(np.max(np.abs(np.linalg.eigvals(J))))

    def mean_abscissa(self, kappa: float) -> float:
        """Spectral abscissa of the first-moment generator (continuous time, dense)."""
        return float(np.max(np.linalg.eigvals(self.mean_generator(kappa).toarray()).real))

    def mean_push_radius(self, kappa: float) -> float:
        """Spectral radius of the first-moment map from one push to the next
        (update-count time: ``E θ_k`` after the ``k``-th update). Dense."""
        a = kappa / self.n
        Bp = (self.mean_L_push[0] + a * self.mean_L_push[1]).toarray()
        W = Bp - self.mean_generator(kappa).toarray()
        J = np.linalg.solve(W.T, Bp.T).T
        return float(np.max(np.abs(np.linalg.eigvals(J))))


# --------------------------------------------------------------------------- thresholds
def _perm_sign(perm: np.ndarray) -> int:
    """Sign of a permutation (cycle decomposition)."""
    seen = np.zeros(perm.size, dtype=bool)
    sign = 1
    for i in range(perm.size):
        if not seen[i]:
            j, length = i, 0
            while not seen[j]:
                seen[j] = True
                j = perm[j]
                length += 1
            if length % 2 == 0:
                sign = -sign
    return sign


def stability_probe(sm: ServerMoments, kappa: float) -> tuple[bool, float]:
    """``(looks_stable, 1/E θ²_stat)`` from one sparse LU of ``L(κ/n)``.

    Stable ⇒ every eigenvalue has ``Re < 0`` ⇒ ``sign det L = (−1)^N`` and
    ``E θ²_stat = −(L⁻¹F)_θ > 0``.  The first instability is a real (Perron) eigenvalue
    crossing 0 (PSD-cone argument, NOTES.md §1/§3), which flips the determinant's sign and
    sends ``E θ²_stat`` through a pole to negative values; ``E θ²_stat`` can turn positive
    again further on (it does, e.g. H2b, n = 4), so the determinant sign is needed too.
    Only an even number of real crossings between two probes could fool both tests.
    """
    Lk = sm.generator(kappa)
    try:
        lu = spla.splu(Lk.tocsc())
    except RuntimeError:  # exactly singular
        return False, 0.0
    d = lu.U.diagonal()
    sign = int(np.prod(np.sign(d))) * _perm_sign(lu.perm_r) * _perm_sign(lu.perm_c)
    v = sm.theta2(lu.solve(-sm.F))
    ok = sign == (-1) ** Lk.shape[0] and np.isfinite(v) and v > 0
    return bool(ok), (1.0 / v if np.isfinite(v) and v != 0 else 0.0)


def kappa_ms(ph: PhaseType, n: int, *, guess: float | None = None,
             sm: ServerMoments | None = None, rtol: float = 1e-12,
             scan: str = "secant") -> float:
    """Mean-square threshold of the exact server: first ``κ`` where ``s(L(κ/n)) = 0``.

    A march upwards from ``κ = 0.05`` (or ``guess/2``) with :func:`stability_probe`
    finds the first ``κ`` that does not look stable: secant-guided on
    ``g = 1/E θ²_stat`` (which has a simple zero at the threshold: the stationary variance
    has a pole there), each step aiming 3 % past the secant root, at least ×1.05 and at
    most ×1.5 (``scan="secant"``), or plain ×1.02 steps (``scan="fine"``).  The bracket
    is then bisected on the probe until ``g`` changes sign across it, and Brent on ``g``
    finishes.
    """
    sm = sm or ServerMoments(ph, n)
    k0 = 0.05 if guess is None else 0.5 * guess
    ok0, g0 = stability_probe(sm, k0)
    if not ok0:
        raise RuntimeError("no stable start: lower `guess`")
    k1 = k0 * (1.02 if scan == "fine" else 1.1)
    ok1, g1 = stability_probe(sm, k1)
    while ok1:
        if scan == "fine":
            nxt = k1 * 1.02
        else:
            slope = (g1 - g0) / (k1 - k0)
            target = k1 - g1 / slope if slope < 0 else math.inf
            nxt = min(max(1.03 * target, 1.05 * k1), 1.5 * k1)
        k0, g0 = k1, g1
        k1 = nxt
        ok1, g1 = stability_probe(sm, k1)
        if k1 > 1e4:
            return math.inf
    # bisect on the probe until g has opposite signs at the ends (g(k0) > 0 always)
    for _ in range(200):
        if g1 < 0:
            break
        mid = 0.5 * (k0 + k1)
        ok, gm = stability_probe(sm, mid)
        if ok:
            k0, g0 = mid, gm
        else:
            k1, g1 = mid, gm
    else:
        return float(0.5 * (k0 + k1))

    def g(kappa: float) -> float:
        return stability_probe(sm, kappa)[1]

    return float(optimize.brentq(g, k0, k1, xtol=1e-14, rtol=rtol))


def kappa_ms_quadratic_eig(sm: ServerMoments) -> float:
    """Independent route: smallest positive real ``a`` with ``det(L0 + a L1 + a² L2) = 0``
    (companion linearisation, dense QZ), times ``n``. Small systems only."""
    L0, L1, L2 = (x.toarray() for x in sm.L)
    N = L0.shape[0]
    A = np.block([[np.zeros((N, N)), np.eye(N)], [-L0, -L1]])
    Bm = np.block([[np.eye(N), np.zeros((N, N))], [np.zeros((N, N)), L2]])
    vals = sla.eig(A, Bm, right=False)
    vals = vals[np.isfinite(vals)]
    real = vals[(np.abs(vals.imag) < 1e-8 * np.maximum(1, np.abs(vals))) & (vals.real > 1e-9)]
    return float(np.min(real.real) * sm.n)


def kappa_mean(ph: PhaseType, n: int, *, sm: ServerMoments | None = None,
               kappa_max: float = 200.0, start: float = 0.5, factor: float = 1.1,
               clock: str = "time") -> float:
    """Mean threshold of the exact server: first ``κ`` where the first-moment generator's
    spectral abscissa (``clock="time"``: ``E θ(t)``) crosses 0, or where the push-to-push
    map's spectral radius (``clock="updates"``: ``E θ_k``) crosses 1 (dense eig).

    The two differ: a real eigenvalue of the update map crossing −1 makes ``E θ_k``
    alternate and grow while ``E θ(t)`` (a random number of updates) still decays;
    exponential rounds: ``2n(2n−1)`` vs ``∞``.

    Geometric scan (``start``, ``start·factor``, …) to the first non-negative abscissa,
    then Brent. A stable–unstable–stable excursion inside one scan step would be missed.
    ``inf`` if none below ``kappa_max``.
    """
    sm = sm or ServerMoments(ph, n)
    f = sm.mean_abscissa if clock == "time" else (lambda k: sm.mean_push_radius(k) - 1.0)
    k = start
    if f(k) >= 0:
        raise RuntimeError("unstable at the start of the scan: lower `start`")
    while k < kappa_max:
        k2 = k * factor
        if f(k2) >= 0:
            return float(optimize.brentq(f, k, k2, xtol=1e-12))
        k = k2
    return math.inf


# --------------------------------------------------------------------------- brute force
class BruteForce:
    """Un-aggregated moments: per-worker phases ``ω ∈ {1..K}^n`` and the full
    ``E[x xᵀ 1{ω}]`` (``x = (θ, y_1..y_n)``), for small ``n`` (size ``K^n (n+1)²``)."""

    def __init__(self, ph: PhaseType, n: int, kappa: float, s2: float = 0.0) -> None:
        ph = ph.normalized()
        K, N = ph.K, n + 1
        a = kappa / n
        states = list(itertools.product(range(K), repeat=n))
        sidx = {w: k for k, w in enumerate(states)}
        D = N * N
        G = np.zeros((len(states) * D, len(states) * D))
        G1 = np.zeros((len(states) * N, len(states) * N))  # first moments E[x 1{ω}]
        f = np.zeros(len(states) * D)
        pi1 = ph.stationary_phase
        self.pi = np.array([np.prod([pi1[p] for p in w]) for w in states])
        for si, w in enumerate(states):
            blk = slice(si * D, (si + 1) * D)
            G[blk, blk] -= sum(-ph.T[p, p] for p in w) * np.eye(D)
            b1 = slice(si * N, (si + 1) * N)
            G1[b1, b1] -= sum(-ph.T[p, p] for p in w) * np.eye(N)
            for i, p in enumerate(w):
                for r in range(K):
                    w2 = list(w)
                    w2[i] = r
                    ti = sidx[tuple(w2)]
                    tb = slice(ti * D, (ti + 1) * D)
                    t1 = slice(ti * N, (ti + 1) * N)
                    if r != p and ph.T[p, r] > 0:
                        G[tb, blk] += ph.T[p, r] * np.eye(D)
                        G1[t1, b1] += ph.T[p, r] * np.eye(N)
                    rate = ph.exit[p] * ph.alpha[r]
                    if rate > 0:
                        A = np.eye(N)
                        row = np.zeros(N)
                        row[0], row[1 + i] = 1.0, -a
                        A[0] = A[1 + i] = row
                        G[tb, blk] += rate * np.kron(A, A)  # vec(A C Aᵀ) = (A⊗A) vec C
                        G1[t1, b1] += rate * A
                        b = np.zeros(N)
                        b[0] = b[1 + i] = 1.0
                        f[tb] += rate * s2 * self.pi[si] * np.outer(b, b).ravel()
        self.G, self.f, self.states, self.N, self.D = G, f, states, N, D
        self.G1 = G1

    def mean_abscissa(self) -> float:
        return float(np.max(np.linalg.eigvals(self.G1).real))

    def mean_theta(self, t: float, theta0: float = 1.0) -> float:
        """``E θ(t)`` from the stationary phases and ``x = θ0``."""
        v0 = np.concatenate([p * np.full(self.N, theta0) for p in self.pi])
        v = sla.expm(self.G1 * t) @ v0
        return float(sum(v[k * self.N] for k in range(len(self.states))))

    def initial(self, theta0: float = 1.0) -> FloatArray:
        x = np.full(self.N, theta0)
        return np.concatenate([p * np.outer(x, x).ravel() for p in self.pi])

    def theta2(self, v: FloatArray) -> float:
        return float(sum(v[k * self.D] for k in range(len(self.states))))

    def evolve(self, v0: FloatArray, t: float) -> FloatArray:
        """Exact ``v(t)`` of ``dv/dt = G v + f`` (augmented matrix exponential)."""
        M = len(v0)
        aug = np.zeros((M + 1, M + 1))
        aug[:M, :M] = self.G
        aug[:M, M] = self.f
        return (sla.expm(aug * t) @ np.append(v0, 1.0))[:M]

    def abscissa(self) -> float:
        return float(np.max(np.linalg.eigvals(self.G).real))


def mean_theta_aggregated(sm: ServerMoments, kappa: float, t: float,
                          theta0: float = 1.0) -> float:
    """``E θ(t)`` from the aggregated first-moment ODE (stationary phases, x = θ0)."""
    v0 = np.zeros(sm.lay1.size)
    for (c, kind, *p), k in sm.lay1.index.items():
        w = sm.pi[sm.lay1.cindex[c]] * theta0
        v0[k] = w if kind == "P" else w * c[p[0]]
    v = sla.expm(sm.mean_generator(kappa).toarray() * t) @ v0
    return float(sum(v[sm.lay1.index[(c, "P")]] for c in sm.configs))


def evolve_aggregated(sm: ServerMoments, kappa: float, s2: float, t: float,
                      v0: FloatArray) -> FloatArray:
    """Exact ``v(t)`` of the aggregated ODE (augmented matrix exponential)."""
    Lk = sm.generator(kappa).toarray()
    M = Lk.shape[0]
    aug = np.zeros((M + 1, M + 1))
    aug[:M, :M] = Lk
    aug[:M, M] = s2 * sm.F
    return (sla.expm(aug * t) @ np.append(v0, 1.0))[:M]
