"""Spectra given as weighted densities: ``HessianSpectrum.from_density`` and ``density:FILE``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde._text_tables import BULK_BYTES
from sdde.model.spectrum import HessianSpectrum


def test_from_density_scales_weights_to_the_total() -> None:
    s = HessianSpectrum.from_density([0.5, 2.0, 1.0], [1, 3, 4], total=16)
    assert s.weights.tolist() == [2.0, 6.0, 8.0]
    assert s.h_min == 0.5 and s.h_max == 2.0 and s.noise is None


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.floats(1e-6, 1e6), st.floats(0.0, 10.0), st.floats(0.0, 5.0)),
                min_size=1, max_size=40))
def test_density_file_round_trip(tmp_path_factory: pytest.TempPathFactory,
                                 rows: list[tuple[float, float, float]]) -> None:
    """Written with full precision and read back: the same nodes, weights and noise."""
    if not any(w > 0 for _, w, _ in rows):
        rows = [(rows[0][0], 1.0, rows[0][2]), *rows[1:]]
    table = np.array(rows)
    path = tmp_path_factory.mktemp("d") / "density.txt"
    np.savetxt(path, table, fmt="%.17g", header="h weight noise")
    s = HessianSpectrum.parse(f"density:{path}")
    assert np.array_equal(s.eigenvalues, table[:, 0])
    assert np.array_equal(s.weights, table[:, 1])
    assert s.noise is not None and np.array_equal(s.noise, table[:, 2])


def test_bulk_reader_agrees_with_the_line_reader(tmp_path: Path) -> None:
    """Files above BULK_BYTES take pandas' reader; comments and commas as in small files."""
    rng = np.random.default_rng(0)
    h = np.sort(rng.uniform(0.01, 10, 20_000))
    w = rng.uniform(0.1, 2.0, h.size)
    lines = ["# h, weight"] + [f"{float(a)!r}, {float(b)!r}  # node {i}" for i, (a, b) in
                               enumerate(zip(h, w, strict=True))]
    big = tmp_path / "big.txt"
    big.write_text("\n".join(lines))
    assert big.stat().st_size > BULK_BYTES
    s = HessianSpectrum.from_density_file(big)
    assert np.array_equal(s.eigenvalues, h) and np.array_equal(s.weights, w)
    small = tmp_path / "small.txt"
    small.write_text("\n".join(lines[:50]))
    t = HessianSpectrum.from_density_file(small)
    assert np.array_equal(t.eigenvalues, h[:49]) and np.array_equal(t.weights, w[:49])


@pytest.mark.parametrize(("text", "message"), [
    ("1 2\n3 x\n", "line 2"),
    ("1 2\n3 4 5\n", "line 2"),
    ("1\n", "line 1"),
    ("# nothing\n", "holds no density nodes"),
    ("-1 2\n", "must be finite and > 0"),
    ("1 -2\n", "weights must be finite, >= 0"),
    ("1 2 -3\n", "noise must be finite, >= 0"),
])
def test_bad_density_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "d.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        HessianSpectrum.parse(f"density:{path}")


def test_large_spectra_are_summarised_in_json() -> None:
    s = HessianSpectrum.from_range(0.1, 10.0, 5000, spacing="log")
    d = s.to_dict()
    assert d["listed"] is False and "eigenvalues" not in d
    assert d["h_quantiles"]["0.5"] == pytest.approx(1.0, rel=1e-3)
    assert HessianSpectrum.parse("1,2").to_dict()["eigenvalues"] == [1.0, 2.0]
