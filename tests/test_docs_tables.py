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
