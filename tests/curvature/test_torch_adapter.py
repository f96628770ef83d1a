"""The PyTorch adapter (skipped without torch: its wheels pull GPU libraries this machine's
CI does not install), and the one-line message when torch is missing."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from sdde.curvature import hvp_from_torch, per_example_gradients_from_torch, top_eigenvalues

EPS = np.finfo(float).eps


def test_missing_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # ``import torch`` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install -e '\.\[torch\]'"):
        hvp_from_torch(lambda p: p, np.ones(2))
    with pytest.raises(ImportError, match=r"\.\[torch\]"):
        per_example_gradients_from_torch(lambda p, b: p, np.ones(2), np.ones(2))


def _mlp(torch):
    gen = torch.Generator().manual_seed(7)
    params = {"w0": torch.randn(6, 12, generator=gen) / 6**0.5,
              "b0": 0.1 * torch.randn(12, generator=gen),
              "w1": torch.randn(12, 4, generator=gen) / 12**0.5,
              "b1": 0.1 * torch.randn(4, generator=gen)}
    batch = (torch.randn(64, 6, generator=gen), torch.randint(0, 4, (64,), generator=gen))

    def loss(p, b):
        x, y = b
        hidden = torch.tanh(x @ p["w0"] + p["b0"])
        return torch.nn.functional.cross_entropy(hidden @ p["w1"] + p["b1"], y)
    return params, batch, loss


def test_mlp_top_eigenvalues_match_the_dense_hessian() -> None:
    torch = pytest.importorskip("torch")
    params, batch, loss = _mlp(torch)
    hvp = hvp_from_torch(loss, params, batch)
    assert hvp.dim == 136 and hvp.framework == "torch"
    p64 = {k: v.double() for k, v in params.items()}
    b64 = (batch[0].double(), batch[1])
    sizes = [v.numel() for v in p64.values()]
    flat = torch.cat([v.reshape(-1) for v in p64.values()])

    def flat_loss(x):
        parts = torch.split(x, sizes)
        return loss({k: part.reshape(v.shape) for (k, v), part
                     in zip(p64.items(), parts, strict=True)}, b64)
    dense = torch.autograd.functional.hessian(flat_loss, flat).numpy()
    exact = np.linalg.eigvalsh(0.5 * (dense + dense.T))
    norm = np.abs(exact).max()
    v = np.random.default_rng(8).standard_normal(136)
    np.testing.assert_allclose(hvp(v), dense @ v, rtol=0, atol=1e3 * EPS * norm)
    top = top_eigenvalues(hvp, k=5, rng=np.random.default_rng(9))
    assert np.all(np.abs(top.eigenvalues - exact[::-1][:5])
                  <= top.residual_norms + 1e3 * EPS * norm)
    tree = hvp.unravel(flat.numpy())
    assert set(tree) == set(params) and tree["w1"].shape == (12, 4)


def test_per_example_gradients_match_one_gradient_per_example() -> None:
    torch = pytest.importorskip("torch")
    params, batch, loss = _mlp(torch)
    got = per_example_gradients_from_torch(loss, params, batch)
    assert got.shape == (64, 136) and got.dtype == np.float64
    p64 = {k: v.double().requires_grad_(True) for k, v in params.items()}
    for i in (0, 17, 63):
        value = loss(p64, (batch[0][i:i + 1].double(), batch[1][i:i + 1]))
        grads = torch.autograd.grad(value, list(p64.values()))
        expected = torch.cat([g.reshape(-1) for g in grads]).numpy()
        np.testing.assert_allclose(got[i], expected, rtol=0, atol=1e-14)
