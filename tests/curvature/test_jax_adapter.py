"""The JAX adapter: a small MLP's top and bottom curvatures against its dense Hessian from
``jax.hessian``, pytrees, precision, per-example gradients, and the missing-JAX message."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from curvature_reference import mlp_loss, mlp_params

from sdde.curvature import hvp_from_jax, per_example_gradients_from_jax, top_eigenvalues

EPS = np.finfo(float).eps


@pytest.fixture(scope="module")
def mlp() -> tuple:
    jax = pytest.importorskip("jax")
    from jax.flatten_util import ravel_pytree

    gen = np.random.default_rng(7)
    params = mlp_params(gen, (6, 12, 4))  # 6·12 + 12 + 12·4 + 4 = 136 parameters
    batch = (gen.standard_normal((64, 6)), gen.integers(0, 4, 64))
    loss = mlp_loss(2)
    with jax.enable_x64(True):
        flat, unravel = ravel_pytree(params)
        dense = np.asarray(jax.jit(jax.hessian(lambda x: loss(unravel(x), batch)))(flat))
    return params, batch, loss, dense


@pytest.mark.slow
def test_mlp_top_and_bottom_match_the_dense_hessian(mlp) -> None:
    params, batch, loss, dense = mlp
    hvp = hvp_from_jax(loss, params, batch)
    assert hvp.dim == 136 and hvp.framework == "jax"
    exact = np.linalg.eigvalsh(0.5 * (dense + dense.T))
    assert exact.min() < 0 < exact.max()  # an MLP's Hessian is indefinite
    norm = np.abs(exact).max()
    # the product and jax.hessian (forward over reverse both, summed in other orders)
    # agree to rounding of sums of 64 examples' terms
    v = np.random.default_rng(8).standard_normal(136)
    np.testing.assert_allclose(hvp(v), dense @ v, rtol=0, atol=1e3 * EPS * norm)
    for which, reference in (("LA", exact[::-1][:5]), ("SA", exact[:3])):
        top = top_eigenvalues(hvp, k=reference.size, which=which,
                              rng=np.random.default_rng(9))
        # residual bound plus eigvalsh's backward error and the products' rounding
        # (1e3 eps ‖H‖ as checked above)
        assert np.all(np.abs(top.eigenvalues - reference)
                      <= top.residual_norms + 1e3 * EPS * norm)


def test_unravel_maps_a_flat_vector_back_to_the_pytree(mlp) -> None:
    params, batch, loss, _ = mlp
    hvp = hvp_from_jax(loss, params, batch)
    flat = np.concatenate([params[key].ravel() for key in sorted(params)])  # ravel order
    tree = hvp.unravel(flat)
    assert set(tree) == set(params)
    for key, value in params.items():
        np.testing.assert_array_equal(np.asarray(tree[key]), value)


def test_float32_parameters_are_differentiated_in_float64() -> None:
    jax = pytest.importorskip("jax")
    x64_before = jax.config.jax_enable_x64
    h = np.diag([1.0, 1.0 + 1e-9, 3.0])
    params = np.ones(3, dtype=np.float32)

    def loss(p):  # a quadratic with curvatures closer than float32 can tell apart
        return 0.5 * p @ (h @ p)
    exact = hvp_from_jax(loss, params)(np.array([0.0, 1.0, 0.0]))
    assert exact.dtype == np.float64
    np.testing.assert_allclose(exact, [0.0, 1.0 + 1e-9, 0.0], rtol=0, atol=1e-15)
    native = hvp_from_jax(loss, params, precision="native")(np.array([0.0, 1.0, 0.0]))
    assert native[1] == np.float32(1.0)  # float32 rounds 1 + 1e-9 to 1
    assert jax.config.jax_enable_x64 == x64_before  # the process-wide setting is untouched
    with pytest.raises(ValueError, match="precision must be"):
        hvp_from_jax(loss, params, precision="half")


def test_a_loss_without_batch(mlp) -> None:
    params, batch, loss, dense = mlp
    hvp = hvp_from_jax(lambda p: loss(p, batch), params)
    e = np.zeros(136)
    e[5] = 1.0
    np.testing.assert_allclose(hvp(e), dense[:, 5], rtol=0, atol=1e-12)


@pytest.mark.slow
def test_per_example_gradients_match_one_gradient_per_example(mlp) -> None:
    jax = pytest.importorskip("jax")
    from jax.flatten_util import ravel_pytree

    params, batch, loss, _ = mlp
    got = per_example_gradients_from_jax(loss, params, batch)
    assert got.shape == (64, 136) and got.dtype == np.float64
    with jax.enable_x64(True):
        gradient = jax.jit(lambda p, b: ravel_pytree(jax.grad(loss)(p, b))[0])
        for i in (0, 17, 63):
            one = (batch[0][i:i + 1], batch[1][i:i + 1])
            np.testing.assert_allclose(got[i], np.asarray(gradient(params, one)), rtol=0,
                                       atol=1e-14)
        full = np.asarray(gradient(params, batch))
    # the loss is a mean, so the per-example gradients average to the batch gradient
    np.testing.assert_allclose(got.mean(axis=0), full, rtol=0, atol=1e-14)


def test_missing_jax_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jax", None)  # ``import jax`` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install -e '\.\[jax\]'"):
        hvp_from_jax(lambda p: p, np.ones(2))
    with pytest.raises(ImportError, match=r"\.\[jax\]"):
        per_example_gradients_from_jax(lambda p, b: p, np.ones(2), np.ones(2))
