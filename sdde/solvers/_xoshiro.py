"""A fast normal generator for the compiled solver: xoshiro256++ and a 256-layer ziggurat.

``solve(..., generator="xoshiro256")`` draws its increments here instead of from numpy's
PCG64 ziggurat: each path block seeds a xoshiro256++ state (Blackman & Vigna 2021) from
four 64-bit words of its own spawned stream, so a path is still the same whatever the
number of paths or chunking, and the same seed replays a run; the values differ from
:func:`sdde.model.noise.brownian_increments`. Normals come from Marsaglia & Tsang's
ziggurat in Doornik's form (2005, "An improved ziggurat method to generate normal random
samples"): one 64-bit word gives the layer (8 bits) and an independent 53-bit uniform, and
98.5 % of the draws return after one comparison; the wedges and the tail beyond
``R = 3.654…`` are sampled exactly (rejection and Marsaglia's tail method), so the
output is exactly normal up to the 53-bit resolution of the uniforms.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from sdde._numerics import FloatArray

#: Layers of the ziggurat.
_LAYERS = 256
#: Start of the tail, and the common area of every layer (Marsaglia & Tsang 2000).
_R = 3.6541528853610088
_AREA = _R * math.exp(-0.5 * _R * _R) + math.sqrt(math.pi / 2) * math.erfc(_R / math.sqrt(2))


def _tables() -> tuple[FloatArray, FloatArray]:
    """Layer edges ``x[i]`` (``x[0] = area / f(R)`` for the base with its tail, ``x[1] =
    R``, ``x[256] = 0``) and the fast-path ratios ``x[i + 1] / x[i]``."""
    x = np.zeros(_LAYERS + 1)
    f = math.exp(-0.5 * _R * _R)
    x[0], x[1] = _AREA / f, _R
    for i in range(2, _LAYERS):
        x[i] = math.sqrt(-2.0 * math.log(_AREA / x[i - 1] + f))
        f = math.exp(-0.5 * x[i] * x[i])
    return x, x[1:] / x[:-1]


_EDGES, _RATIOS = _tables()
_TO_UNIT = 2.0**-53


@numba.njit(cache=True, nogil=True)
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True, nogil=True)
def _unit(word: np.uint64) -> float:
    """The top 53 bits of ``word`` as a float in ``[0, 1)`` (via a signed integer: one
    instruction, where an unsigned conversion branches)."""
    return np.int64(word >> np.uint64(11)) * _TO_UNIT


@numba.njit(cache=True, nogil=True)
def next_uint64(state: np.ndarray) -> np.uint64:
    """The next output of xoshiro256++ with 4-word ``state`` (advanced in place)."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    out = _rotl(s0 + s3, 23) + s0
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    state[0], state[1], state[2], state[3] = s0, s1, s2, _rotl(s3, 45)
    return out


@numba.njit(cache=True, nogil=True)
def _slow_normal(state: np.ndarray, layer: int, u: float) -> float:
    """The rare draws: the base layer's tail, or a wedge (accept, else start again)."""
    while True:
        if layer == 0:  # the tail beyond R (Marsaglia 1964); log of a uniform on (0, 1]
            while True:
                x = -math.log1p(-_unit(next_uint64(state))) / _R
                y = -math.log1p(-_unit(next_uint64(state)))
                if 2.0 * y > x * x:
                    return _R + x if u > 0.0 else -(_R + x)
        x = u * _EDGES[layer]
        f0 = math.exp(-0.5 * (_EDGES[layer] * _EDGES[layer] - x * x))
        f1 = math.exp(-0.5 * (_EDGES[layer + 1] * _EDGES[layer + 1] - x * x))
        if f1 + _unit(next_uint64(state)) * (f0 - f1) < 1.0:
            return x
        word = next_uint64(state)
        layer = int(word & np.uint64(0xFF))
        u = 2.0 * _unit(word) - 1.0
        if abs(u) < _RATIOS[layer]:
            return u * _EDGES[layer]


@numba.njit(cache=True, nogil=True)
def fill(state: np.ndarray, out: FloatArray, n: int, scale: float) -> None:
    """``out[:n] = scale · z`` and ``n − len(out)`` more draws dropped, for standard
    normals ``z`` from xoshiro256++ ``state`` (kept in registers, advanced in place).

    The low 8 bits of each word pick the layer, the top 53 the abscissa; the fast path
    (98.5 %) is one comparison, the rest go to :func:`_slow_normal`."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for i in range(n):
        word = _rotl(s0 + s3, 23) + s0
        t = s1 << np.uint64(17)
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 45)
        layer = int(word & np.uint64(0xFF))
        u = 2.0 * _unit(word) - 1.0
        if abs(u) < _RATIOS[layer]:
            z = u * _EDGES[layer]
        else:
            state[0], state[1], state[2], state[3] = s0, s1, s2, s3
            z = _slow_normal(state, layer, u)
            s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
        if i < out.shape[0]:
            out[i] = z * scale
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3


def seed_state(stream: np.random.Generator) -> np.ndarray:
    """A xoshiro256++ state of four words drawn from ``stream`` (never all zero)."""
    state = stream.integers(0, 2**64, size=4, dtype=np.uint64, endpoint=False)
    if not state.any():
        state[0] = 1
    return state


def standard_normals(stream: np.random.Generator, n: int) -> FloatArray:
    """``n`` standard normals of the fast generator seeded from ``stream`` (what the
    compiled solver draws for one path block, in order)."""
    out = np.empty(n)
    fill(seed_state(stream), out, n, 1.0)
    return out
