"""``sdde.validation.table``: the table of model-vs-simulator comparisons.

The comparisons themselves are tested against exact answers in tests/validation/test_validate.py;
here the table's bookkeeping: its rows, the Markdown rendering (parsed back and compared
with the rows' numbers), reproducibility from the seed, and the progress callback. One
small table (2 laws × 2 worker counts, ``Effort.quick()``) is computed once, ~3 s.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

from sdde.validation import compare as validate
from sdde.validation.table import Effort, ValidationRow, ValidationTable, validation_table

LAWS = ["deterministic:value=1", "exponential:mean=1"]
WORKERS = [2, 8]
SEED = 3


@pytest.fixture(scope="module")
def computed() -> tuple[ValidationTable, list[float]]:
    calls: list[float] = []
    table = validation_table(LAWS, WORKERS, effort=Effort.quick(), seed=SEED,
                             progress=calls.append)
    return table, calls


@pytest.fixture(scope="module")
def table(computed: tuple[ValidationTable, list[float]]) -> ValidationTable:
    return computed[0]


def numbers(row: ValidationRow) -> np.ndarray:
    """Every number of a row, in a fixed order (NaN kept, so compare with equal_nan)."""
    out: list[float] = []
    for f in dataclasses.fields(row):
        value = getattr(row, f.name)
        if dataclasses.is_dataclass(value):
            out.extend(float(v) for v in dataclasses.astuple(value) if not isinstance(v, str))
    return np.array(out)


def body(markdown: str) -> list[list[str]]:
    """The body rows of a Markdown table, as lists of cells (law first)."""
    lines = markdown.splitlines()
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]


# ----------------------------------------------------------------------------- rows
def test_rows_laws_and_workers(table: ValidationTable) -> None:
    assert len(table.rows) == 4
    assert [(r.law, r.workers) for r in table.rows] == [(law, n) for law in LAWS
                                                        for n in WORKERS]
    assert table.laws == LAWS
    assert table.workers == WORKERS
    assert table.kappa == 0.25
    assert table.seed == SEED
    assert table.effort == Effort.quick()
    for law in LAWS:
        for n in WORKERS:
            row = table.row(law, n)
            assert (row.law, row.workers) == (law, n)
            assert isinstance(row.threshold, validate.Comparison)
            assert isinstance(row.staleness, validate.StalenessCheck)


@pytest.mark.parametrize(("law", "n"), [("exponential:mean=1", 4), ("gamma:shape=2,mean=1", 2),
                                        ("exponential:mean=2", 8)])
def test_missing_row_raises_key_error(table: ValidationTable, law: str, n: int) -> None:
    with pytest.raises(KeyError, match="no row"):
        table.row(law, n)


def test_deterministic_threshold_cells_hold_the_exact_predictions(
        table: ValidationTable) -> None:
    """Deterministic rounds: the discrete threshold is n · 2 sin(π/(2(2(n−1)+1)))
    (Levin–May, the root finder's rounding: 1e-12) and the SDDE's is π/2."""
    for n in WORKERS:
        c = table.row("deterministic:value=1", n).threshold
        assert c.discrete == pytest.approx(n * 2 * math.sin(math.pi / (2 * (2 * n - 1))),
                                           rel=1e-12)
        assert c.sdde == pytest.approx(math.pi / 2, rel=1e-12)


# ------------------------------------------------------------------------- rendering
def test_comparison_table_renders_the_errors(table: ValidationTable) -> None:
    """Each cell is "SDDE error · discrete error (±half-width)" in percent with one
    decimal: parsed back, within the 0.05 rounding of each number; an infinite error is
    "∞" (the SDDE never diverges with exponential rounds: κ* = ∞)."""
    text = table.comparison_table("threshold")
    lines = text.splitlines()
    assert lines[0] == "| law | n = 2 | n = 8 |"
    assert lines[1] == "| --- | --- | --- |"
    rows = body(text)
    assert len(rows) == 2
    cell = re.compile(r"^(∞|–|[+-]\d+\.\d) · (∞|–|[+-]\d+\.\d) \(±(\d+\.\d)\)$")
    for law, cells in zip(LAWS, rows, strict=True):
        assert cells[0] == f"`{law}`"
        assert len(cells) == 3
        for n, text_cell in zip(WORKERS, cells[1:], strict=True):
            c = table.row(law, n).threshold
            match = cell.match(text_cell)
            assert match, text_cell
            for shown, value in ((match[1], c.sdde_error), (match[2], c.discrete_error)):
                if math.isinf(value):
                    assert shown == "∞"
                else:
                    assert abs(float(shown) - 100 * value) <= 0.05 + 1e-9
            assert abs(float(match[3]) - 100 * c.relative_half_width) <= 0.05 + 1e-9
    assert all(cells[1].startswith("∞ · ") for cells in rows[1:])  # exponential


def test_missing_prediction_renders_as_a_dash(table: ValidationTable) -> None:
    """The discrete model has no clock: no arrival-rate prediction (NaN) shows "–"."""
    for cells in body(table.comparison_table("arrival_rate")):
        assert all(" · – (±" in c for c in cells[1:])


def test_simulated_table_renders_value_and_half_width(table: ValidationTable) -> None:
    """"value ± half-width" with 4 and 2 significant digits: parsed back within half a
    unit of the last digit shown (relative 5e-4 and 5e-2)."""
    rows = body(table.simulated_table("arrival_rate"))
    assert len(rows) == 2
    for law, cells in zip(LAWS, rows, strict=True):
        for n, text_cell in zip(WORKERS, cells[1:], strict=True):
            value, half = (float(x) for x in text_cell.split(" ± "))
            c = table.row(law, n).arrival_rate
            assert value == pytest.approx(c.simulated, rel=5e-4)
            assert half == pytest.approx(c.half_width, rel=5e-2)


def test_staleness_table_renders_the_distances(table: ValidationTable) -> None:
    """"tv_poisson · tv_exact (tv_noise)" with 3 decimals (within 5e-4)."""
    rows = body(table.staleness_table())
    assert len(rows) == 2
    for law, cells in zip(LAWS, rows, strict=True):
        for n, text_cell in zip(WORKERS, cells[1:], strict=True):
            match = re.fullmatch(r"(\d\.\d{3}) · (\d\.\d{3}) \((\d\.\d{3})\)", text_cell)
            assert match, text_cell
            s = table.row(law, n).staleness
            shown = [float(x) for x in match.groups()]
            expected = [s.tv_poisson, s.tv_exact, s.tv_noise]
            np.testing.assert_allclose(shown, expected, rtol=0, atol=5e-4 + 1e-12)


# --------------------------------------------------------------------- reproducibility
def test_same_seed_same_cell(table: ValidationTable) -> None:
    """Cell i draws from SeedSequence(seed).spawn(len(cells))[i]; a child's stream depends
    only on (seed, i), so a one-cell table of the first cell reproduces it bit for bit;
    another seed does not."""
    alone = validation_table(LAWS[:1], WORKERS[:1], effort=Effort.quick(), seed=SEED)
    np.testing.assert_array_equal(numbers(alone.rows[0]), numbers(table.rows[0]))
    other = validation_table(LAWS[:1], WORKERS[:1], effort=Effort.quick(), seed=SEED + 1)
    assert not np.array_equal(numbers(other.rows[0]), numbers(table.rows[0]),
                              equal_nan=True)


def test_cell_does_not_depend_on_the_other_cells(table: ValidationTable) -> None:
    alone = validation_table(LAWS[1:], WORKERS[1:], effort=Effort.quick(), seed=SEED)
    np.testing.assert_array_equal(numbers(alone.rows[0]),
                                  numbers(table.row(LAWS[1], WORKERS[1])))


# --------------------------------------------------------------------------- progress
def test_progress_reports_increasing_fractions_to_one(
        computed: tuple[ValidationTable, list[float]]) -> None:
    """Once per cell, the fraction of cells done: (i + 1)/4."""
    _, calls = computed
    assert calls == [0.25, 0.5, 0.75, 1.0]  # strictly increasing, ending at 1.0
