"""Large traces: fast reading, exact ``E[max]``, and the summarised Laplace transform.

Truth comes from closed forms (``E[max]`` of i.i.d. draws of an empirical law), from the
exact ``O(N)`` transform sum, and from the report computed with the unsummarised law.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from sdde.cluster.cluster import expected_max
from sdde.delays import Empirical, _composite, parse
from sdde.delays._families import Deterministic


def _trace(n: int, seed: int = 0, decimals: int = 6) -> np.ndarray:
    return np.round(np.random.default_rng(seed).lognormal(0.0, 0.5, n), decimals) + 0.01


# ------------------------------------------------------------------------- reading
def test_reads_lines_blanks_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("# header\n1.5\n\t3.25 \n4 # four\n\n  5e-1\r\n")
    law = Empirical.from_file(path)
    np.testing.assert_array_equal(law.samples, [0.5, 1.5, 3.25, 4.0])
    assert law.source == str(path)


@pytest.mark.parametrize("layout", ["lines", "mixed"])
def test_large_file_fast_path_matches_python_floats(tmp_path: Path, layout: str) -> None:
    values = _trace(200_000, seed=1, decimals=9)
    text = "\n".join(repr(float(v)) for v in values)
    if layout == "mixed":  # comments, blank lines, padding and CRLF
        text = "# trace\n\n" + text.replace("\n", " # x\r\n  ", 1000).replace("\n", "\n\n", 1000)
    path = tmp_path / "big.txt"
    path.write_text(text)
    assert path.stat().st_size > _composite._PANDAS_BYTES
    law = Empirical.from_file(path)
    np.testing.assert_array_equal(law.samples, np.sort(values))


@pytest.mark.parametrize("size", [10, 300_000])
def test_first_bad_line_is_named(tmp_path: Path, size: int) -> None:
    lines = ["1.0"] * size
    lines[size // 2] = "1.0 2.0" if size > 100 else "oops"
    path = tmp_path / "bad.txt"
    path.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=rf"bad\.txt' line {size // 2 + 1}: expected one"):
        Empirical.from_file(path)


@pytest.mark.parametrize("token", ["0", "-1", "nan", "inf", "NA"])
def test_non_positive_or_non_finite_named(tmp_path: Path, token: str) -> None:
    path = tmp_path / "t.txt"
    path.write_text("1\n2\n" + token + "\n3\n")
    with pytest.raises(ValueError, match=rf"line 3: expected one duration > 0, got '{token}'"):
        Empirical.from_file(path)


@pytest.mark.parametrize("payload", [b"\x00\x01\x02binary", b"1.0\n\xff\xfe2.0\n"])
def test_binary_file_is_one_line(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(payload)
    with pytest.raises(ValueError) as info:
        Empirical.from_file(path)
    assert str(info.value) == f"trace: {str(path)!r} is not a text file of durations"


@pytest.mark.parametrize("text", ["", "# only a comment\n\n"])
def test_empty_trace(tmp_path: Path, text: str) -> None:
    path = tmp_path / "e.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match="holds no durations"):
        Empirical.from_file(path)


def test_spec_reads_trace(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("1\n2\n3\n")
    law = parse(f"trace:{path}")
    assert isinstance(law, Empirical)
    assert law.mean == 2.0


# ---------------------------------------------------------------- expected maximum
@pytest.mark.parametrize("n", [1, 2, 7, 32, 1000])
def test_expected_max_closed_form(n: int) -> None:
    law = Empirical(samples=np.random.default_rng(n).integers(1, 40, 300).astype(float))
    x = law.samples
    big_n = x.size
    i = np.arange(1, big_n + 1)
    exact = float(np.sum(x * ((i / big_n) ** n - ((i - 1) / big_n) ** n)))
    assert expected_max([(n, law)]) == pytest.approx(exact, rel=1e-13)


def test_expected_max_mixed_groups() -> None:
    rng = np.random.default_rng(3)
    a = Empirical(samples=rng.integers(1, 9, 50).astype(float))
    b = Empirical(samples=np.round(rng.lognormal(0.0, 0.7, 80), 2) + 0.01)
    c = Deterministic(value=3.0)
    groups = [(3, a), (5, b), (2, c)]
    # independent: P(max <= x) on the merged support, E = Σ x_j (P_j − P_{j−1})
    grid = np.unique(np.concatenate([a.samples, b.samples, [3.0]]))
    prob = np.asarray(a.cdf(grid)) ** 3 * np.asarray(b.cdf(grid)) ** 5 * (grid >= 3.0)
    exact = float(np.sum(grid * np.diff(prob, prepend=0.0)))
    assert expected_max(groups) == pytest.approx(exact, rel=1e-12)


def test_expected_max_large_trace_is_fast_and_exact() -> None:
    law = Empirical(samples=_trace(1_000_000))
    pts, mass = law.atoms()
    counts = np.rint(mass * law.samples.size).astype(np.int64)
    cdf = np.cumsum(counts) / law.samples.size  # exact integers, one rounding
    exact = float(np.sum(pts * np.diff(cdf**32, prepend=0.0)))
    assert expected_max([(32, law)]) == pytest.approx(exact, rel=1e-12)


# ------------------------------------------------------------- summarised transform
def _random_z(rng: np.random.Generator, size: int, scale: float) -> np.ndarray:
    radius = scale * 10.0 ** rng.uniform(-3.0, 0.0, size)
    angle = rng.uniform(-0.5 * np.pi, 0.5 * np.pi, size)
    return radius * np.exp(1j * angle)


def test_summary_is_used_beyond_the_exact_size() -> None:
    small = Empirical(samples=_trace(3000, decimals=2))
    assert small.atoms()[0].size <= _composite._EXACT_ATOMS
    large = Empirical(samples=_trace(100_000))
    assert large.atoms()[0].size > _composite._EXACT_ATOMS
    cells = large._taylor_cells(3)
    assert cells is not None and cells[0].size < large.atoms()[0].size / 4


def test_summarised_transform_within_bound() -> None:
    """``|φ̃ − φ| <= r^K e^r / K! Σ_b w_b |e^{−z c_b}|`` (+ rounding) at random ``z``."""
    law = Empirical(samples=_trace(100_000, seed=4))
    mean = law.mean
    rng = np.random.default_rng(5)
    z = _random_z(rng, 400, 100.0 / mean)
    got = law.laplace(z)
    exact = law._laplace_exact(z)
    err = np.abs(got - exact)
    assert err.max() < 1e-13  # Re z >= 0: absolute, far below the 1e-10 asked for
    k = _composite._TAYLOR_TERMS
    h0 = 0.5 * (law.support[1] - law.support[0])
    for zi, ei in zip(z, err, strict=True):
        level = max(0, math.ceil(math.log(abs(zi) * h0 / _composite._TAYLOR_RADIUS, 4)))
        cells = law._taylor_cells(level)
        if cells is None:
            assert ei == 0.0
            continue
        centres, moments, h = cells
        r = abs(zi) * h
        assert r <= _composite._TAYLOR_RADIUS * (1 + 1e-12)
        bound = r**k * math.exp(r) / math.factorial(k) * float(
            np.sum(moments[:, 0] * np.abs(np.exp(-zi * centres))))
        assert ei <= bound + 64 * np.finfo(float).eps


def test_summarised_transform_left_of_axis() -> None:
    """Left of the axis the error is relative to ``φ(Re z)`` (rounding of ``z x`` aside)."""
    law = Empirical(samples=_trace(50_000, seed=6))
    rng = np.random.default_rng(7)
    z = _random_z(rng, 200, 50.0 / law.mean)
    z = -0.05 * np.abs(z.real) / law.mean + 1j * z.imag
    got = law.laplace(z)
    exact = law._laplace_exact(z)
    scale = np.abs(law._laplace_exact(z.real.astype(np.complex128)))
    assert np.max(np.abs(got - exact) / scale) < 1e-12


def test_summary_keeps_moments_and_scaling() -> None:
    law = Empirical(samples=_trace(20_000, seed=8))
    assert law.laplace(0.0) == 1.0
    # φ'(0) = −E[X]: a small step differentiates the summary
    eps = 1e-6 / law.mean
    slope = (law.laplace(eps) - law.laplace(-eps)).real / (2 * eps)
    assert slope == pytest.approx(-law.mean, rel=1e-8)
    twice = law.scaled(2.0)
    z = _random_z(np.random.default_rng(9), 50, 20.0 / law.mean)
    np.testing.assert_allclose(twice.laplace(z / 2.0), law.laplace(z), rtol=0, atol=1e-13)


def test_cached_moments_and_biased_sampling() -> None:
    law = Empirical(samples=_trace(10_000, seed=10))
    assert law.mean == pytest.approx(float(np.mean(law.samples)), rel=1e-15)
    assert law.var == pytest.approx(float(np.var(law.samples)), rel=1e-15)
    w = law.samples**2
    expect = np.random.default_rng(1).choice(law.samples, size=(4, 5), p=w / w.sum())
    got = law.sample_moment_biased(np.random.default_rng(1), (4, 5), 2)
    np.testing.assert_array_equal(got, expect)


# ------------------------------------------------------- the report, summary vs exact
def _report(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    from sdde.cli import main

    assert main(["--workers", "32", "--delay", f"trace:{path}", "--no-exact", "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


def _numbers(tree: object, prefix: str = "") -> dict[str, float]:
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items()
                for k, v in _numbers(sub, f"{prefix}.{key}").items()}
    if isinstance(tree, list):
        return {k: v for i, sub in enumerate(tree)
                for k, v in _numbers(sub, f"{prefix}[{i}]").items()}
    if isinstance(tree, bool) or not isinstance(tree, int | float):
        return {}
    return {prefix: float(tree)}


def test_report_matches_unsummarised_law(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A 10⁵ trace: thresholds, decay rate and staleness agree to 1e-8 relative."""
    values = _trace(100_000, seed=11, decimals=3)
    path = tmp_path / "trace.txt"
    path.write_text("\n".join(f"{v:.3f}" for v in values))
    assert np.unique(values).size > 2000
    monkeypatch.setattr(_composite, "_EXACT_ATOMS", 10**9)
    exact = _numbers(_report(path, capsys))
    monkeypatch.setattr(_composite, "_EXACT_ATOMS", 0)
    summary = _numbers(_report(path, capsys))
    assert exact.keys() == summary.keys()
    checked = [k for k in exact if any(s in k for s in (
        "kappa", "threshold", "decay", "staleness", "max_stable", "root", "lr"))]
    assert len(checked) > 5
    for key in exact:
        assert summary[key] == pytest.approx(exact[key], rel=1e-8, abs=1e-12), key


@pytest.mark.parametrize("bad", ['"1.5"', "1.5e", "0x1p3"])
def test_bulk_reader_refuses_what_lines_refuse(tmp_path: Path, bad: str) -> None:
    lines = ["1.25"] * 300_000
    lines[123_456] = bad
    path = tmp_path / "big.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"line 123457: expected one duration"):
        Empirical.from_file(path)


def test_bulk_and_line_readers_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values = _trace(50_000, seed=12, decimals=9)
    path = tmp_path / "t.txt"
    path.write_text("# trace\r\n" + "\r\n".join(f" {float(v)!r}  # c" for v in values) + "\n\n")
    monkeypatch.setattr(_composite, "_PANDAS_BYTES", 0)
    bulk = Empirical.from_file(path).samples
    monkeypatch.setattr(_composite, "_PANDAS_BYTES", 1 << 62)
    small = Empirical.from_file(path).samples
    np.testing.assert_array_equal(bulk, small)
    np.testing.assert_array_equal(bulk, np.sort(values))
