"""Top-10 Hessian eigenvalues and the spectral density from Hessian-vector products (issue 20).

Run: ``.venv/bin/python benchmarks/bench_curvature.py [--quick] [--dense-max N]``.

What is measured (wall time, median of ``REPEATS`` calls where a call takes under a second,
one call otherwise; JAX's compilation is done before timing, and reported apart):

* **sdde**: ``sdde.curvature.top_eigenvalues(hvp, k=10)`` (ARPACK Lanczos on the HVP, at
  machine precision, residual checks included), with ``n_hvp`` the products it used.
* **the other**: the simplest honest route: form the dense Hessian (the exact formula for
  the logistic regression; ``jax.jit(jax.hessian)`` on the flat parameters for the MLP) and
  take ``numpy.linalg.eigvalsh``. It is run up to ``--dense-max`` parameters; above, its
  time is extrapolated from the largest measured size as ``O(dim³)`` (eigvalsh) and its
  memory, ``8 · dim²`` bytes for the matrix alone, says where it stops fitting in the
  machine's 24 GiB (about 55 000 parameters).
* **ratio**: other / sdde (above 1: sdde is faster); **|Δλ|**: the largest difference of
  the ten eigenvalues between the two routes.
* **SLQ**: ``spectral_density(hvp, n_probes=16, lanczos_steps=64)``, 1024 products.

Problems: the digits logistic regression (650 parameters) at a random point, with the
formula's HVP in numpy and JAX's; and a tanh MLP on the digits (64 → h → 10, all 1797
rows, float64) at its random initialisation, ``dim = 75 h + 10``.
"""

from __future__ import annotations

import os

# One BLAS thread, as in tests/conftest.py: on this shared 2-core machine multi-threaded
# OpenBLAS made the small products of the numpy HVP 40x slower. Both routes get one core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402  (after the thread settings, which numpy reads on import)
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _common import median_time  # noqa: E402

from sdde.curvature import hvp_from_jax, spectral_density, top_eigenvalues  # noqa: E402
from sdde.simulator.logistic import LogisticRegressionObjective  # noqa: E402

REPEATS = 3
K = 10
MEMORY = 24 * 2**30


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    first = time.perf_counter() - start
    if first < 1.0:
        return min(first, median_time(fn, REPEATS)), out
    return first, out


def _jax_logistic(f: LogisticRegressionObjective) -> Callable:
    import jax
    import jax.numpy as jnp

    def loss(theta: Any, batch: Any) -> Any:
        x, y = batch
        z = x @ theta.reshape(x.shape[1], f.n_classes)
        picked = jnp.take_along_axis(z, y[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(z, axis=1) - picked) + 0.5 * f.l2 * jnp.sum(theta**2)
    return loss


def _mlp(hidden: int, rng: np.random.Generator) -> tuple[dict, Callable]:
    import jax
    import jax.numpy as jnp

    params = {"w0": rng.standard_normal((64, hidden)) / 8.0, "b0": np.zeros(hidden),
              "w1": rng.standard_normal((hidden, 10)) / np.sqrt(hidden), "b1": np.zeros(10)}

    def loss(p: Any, batch: Any) -> Any:
        x, y = batch
        z = jnp.tanh(x @ p["w0"] + p["b0"]) @ p["w1"] + p["b1"]
        picked = jnp.take_along_axis(z, y[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(z, axis=1) - picked)
    return params, loss


def _dense_mlp(loss: Callable, params: dict, batch: Any) -> Callable[[], np.ndarray]:
    import jax
    from jax.flatten_util import ravel_pytree

    with jax.enable_x64(True):
        flat, unravel = ravel_pytree(params)
        hessian = jax.jit(jax.hessian(lambda x: loss(unravel(x), batch)))
        hessian(flat).block_until_ready()  # compile outside the timer

    def run() -> np.ndarray:
        with jax.enable_x64(True):
            h = np.asarray(hessian(flat))
        return np.linalg.eigvalsh(h)[::-1][:K]
    return run


def _row(name: str, dim: int, dense: float | None, dense_note: str, sdde: float,
         n_hvp: int, error: float | None, slq: float, compile_s: float | None) -> None:
    dense_text = f"{dense:9.3f}" if dense is not None else f"{dense_note:>9}"
    ratio = f"{dense / sdde:7.1f}" if dense is not None else "      -"
    err = f"{error:9.1e}" if error is not None else "        -"
    comp = f"{compile_s:7.2f}" if compile_s is not None else "      -"
    print(f"{name:<22}{dim:>8}{dense_text}{sdde:>9.3f}{n_hvp:>7}{ratio}{err}{slq:>9.2f}{comp}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="MLP sizes up to ~4000 only")
    parser.add_argument("--dense-max", type=int, default=4000,
                        help="largest dim for the dense route (default 4000)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'problem':<22}{'dim':>8}{'dense s':>9}{'sdde s':>9}{'n_hvp':>7}{'ratio':>7}"
          f"{'|Δλ|':>9}{'SLQ s':>9}{'jit s':>7}")

    f = LogisticRegressionObjective.digits()
    theta = 0.05 * rng.standard_normal(f.dim)
    dense_s, exact = _timed(lambda: np.linalg.eigvalsh(f.hessian(theta))[::-1][:K])
    routes: list[tuple[str, Callable, float | None]] = [
        ("logistic (numpy HVP)", f.hessian_vector_product(theta), None)]
    start = time.perf_counter()
    jax_hvp = hvp_from_jax(_jax_logistic(f), theta, (np.asarray(f._design), f.labels))
    jax_hvp(np.zeros(f.dim))
    routes.append(("logistic (JAX HVP)", jax_hvp, time.perf_counter() - start))
    for name, hvp, compile_s in routes:
        sdde_s, top = _timed(lambda hvp=hvp: top_eigenvalues(hvp, f.dim, k=K,
                                                             rng=np.random.default_rng(1)))
        slq_s, _ = _timed(lambda hvp=hvp: spectral_density(hvp, f.dim,
                                                           rng=np.random.default_rng(2)))
        _row(name, f.dim, dense_s, "", sdde_s, top.n_hvp,
             float(np.abs(top.eigenvalues - exact).max()), slq_s, compile_s)

    x, y = f.features, f.labels
    hiddens = (13, 53) if args.quick else (13, 53, 213, 853)
    largest: tuple[int, float] | None = None
    for hidden in hiddens:
        params, loss = _mlp(hidden, rng)
        dim = 75 * hidden + 10
        start = time.perf_counter()
        hvp = hvp_from_jax(loss, params, (x, y))
        hvp(np.zeros(dim))
        compile_s = time.perf_counter() - start
        sdde_s, top = _timed(lambda hvp=hvp, dim=dim: top_eigenvalues(
            hvp, dim, k=K, rng=np.random.default_rng(1)))
        slq_s, _ = _timed(lambda hvp=hvp, dim=dim: spectral_density(
            hvp, dim, rng=np.random.default_rng(2)))
        dense_s: float | None = None
        error: float | None = None
        note = ""
        if dim <= args.dense_max:
            dense_s, exact = _timed(_dense_mlp(loss, params, (x, y)))
            error = float(np.abs(top.eigenvalues - exact).max())
            largest = (dim, dense_s)
        else:
            gib = 8 * dim**2 / 2**30
            if 8 * dim**2 > MEMORY:
                note = f"{gib:.0f}GiB!"
            elif largest is not None:
                note = f"~{largest[1] * (dim / largest[0]) ** 3:.0f}?"
        _row(f"MLP h={hidden}", dim, dense_s, note, sdde_s, top.n_hvp, error, slq_s,
             compile_s)
    print("\n'~N?': the dense route's time extrapolated as dim³ from the largest measured "
          "size (not run); 'NGiB!': the dense Hessian alone exceeds the 24 GiB machine.")
    print(f"The dense route stops fitting in memory at dim ≈ {int(np.sqrt(MEMORY / 8)):,}.")


if __name__ == "__main__":
    main()
