"""The command line: ``sdde-analyze``.

Parses strings into laws, clusters and models (no maths here), runs the analyses of the
layers below and renders their results as a terminal report, JSON or plots; also the cluster
report and the plotting helpers the figures use.

Layer 12 of 12. It may import ``sdde.delays``, ``sdde.cluster``, ``sdde.model``,
``sdde.simulator``, ``sdde.solvers``, ``sdde.stability``, ``sdde.literature``,
``sdde.schedule``, ``sdde.validation``, ``sdde.sweeps`` and the shared
``sdde._numerics``/``sdde._progress``; nothing in the package imports it
(docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdde import _lazy

if TYPE_CHECKING:
    from sdde.cli.cluster_report import ClusterReport, analyze_cluster
    from sdde.cli.command import main

_EXPORTS = {
    "main": "sdde.cli.command",
    "ClusterReport": "sdde.cli.cluster_report",
    "analyze_cluster": "sdde.cli.cluster_report",
}
__all__ = [
    "ClusterReport",
    "analyze_cluster",
    "main",
]


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return __all__
