"""The numbers the documentation quotes are the numbers the code gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from figures import staleness_tv_table

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("spec", staleness_tv_table.LAWS)
def test_staleness_tv_table_in_docs_matches_code(spec: str) -> None:
    # The table is deterministic (renewal-theory exact law, no sampling), so the quoted
    # four-decimal values must be reproduced exactly after rounding.
    doc = (ROOT / "docs" / "staleness.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith(f"| `{spec}`"))
    quoted = [float(v) for v in re.findall(r"\d+\.\d{4}", row)]
    computed = [round(staleness_tv_table.total_variation(spec, n), 4)
                for n in staleness_tv_table.WORKERS]
    assert quoted == computed


@pytest.mark.slow
def test_validation_tables_in_docs_match_code() -> None:
    # One cell of docs/validation.md recomputed with the generator's own seed and effort:
    # each cell's stream is keyed on (seed, law, n), so it can be recomputed alone, and
    # the rendered cells must match the text character for character.
    from sdde.validation.table import (
        DEFAULT_WORKERS,
        ValidationTable,
        cell_rng,
        validation_row,
    )

    law, n = "deterministic:value=1", 16
    row = validation_row(law, n, kappa=0.25, rng=cell_rng(0, law, n))
    table = ValidationTable(rows=(row,), kappa=0.25)
    doc = (ROOT / "docs" / "validation.md").read_text()
    sections = {"threshold": "#### Divergence threshold κ",
                "decay_rate": "#### Decay rate of the mean",
                "stationary_variance": "#### Stationary variance",
                "time_to_target": "#### Time to target loss"}
    column = 1 + DEFAULT_WORKERS.index(n)  # after the law column
    for quantity, title in sections.items():
        text = doc.split(title, 1)[1]
        quoted = next(line for line in text.splitlines() if line.startswith(f"| `{law}` |"))
        expected = table.comparison_table(quantity).splitlines()[-1].split("|")[2].strip()
        assert quoted.split("|")[1 + column].strip() == expected, quantity
