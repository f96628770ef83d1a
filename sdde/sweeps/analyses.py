"""Analyses a parameter sweep can run at every grid point: what they accept, what they give.

An analysis declares the grid dimensions it understands (with their type, units and a
validator, so that a bad grid fails before any work starts), the outputs it returns (with
units), and the dimensions it evaluates as whole vectors in one call (its vectorised fast
path). :func:`sdde.sweeps.engine.sweep` runs it over a grid.

* :class:`StabilityAnalysis`: the mean-field verdict, ``κ*``, margin and largest stable
  learning rate; vectorised over the learning rate (one ``κ*`` per cluster, no root
  finder per point), optionally the decay rate (one root per point and mode).
* :class:`SimulationAnalysis`: the exact simulator with replicas, summarised by
  :func:`sdde.validation.simulation_report.simulate_report`.
* :class:`FunctionAnalysis`: any function ``fn(point, rng) -> {name: number}``.
"""

from __future__ import annotations

import abc
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, final

import numpy as np

from sdde._numerics import FloatArray


@dataclass(frozen=True)
class Output:
    """One output variable of an analysis: its units and meaning (netCDF attributes)."""

    units: str
    description: str
    dtype: str = "float64"


@dataclass(frozen=True)
class Dimension:
    """A grid dimension an analysis understands.

    ``check`` turns one user value into the stored coordinate value, or raises
    ``ValueError`` saying what is wrong; ``default`` is used when the grid omits the
    dimension (``None``: the dimension is required).
    """

    units: str
    description: str
    check: Callable[[Any], Any]
    default: Any = None


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"must be a whole number >= 1, got {value!r}")
    return int(value)


def _positive_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"must be a number > 0, got {value!r}")
    if not (math.isfinite(float(value)) and float(value) > 0):
        raise ValueError(f"must be a finite number > 0, got {value!r}")
    return float(value)


#: The threshold coordinate's value for "no threshold" (netCDF has no None).
NO_THRESHOLD = -1


def _threshold(value: Any) -> int:
    if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
        return NO_THRESHOLD
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < -1:
        raise ValueError(f"must be a whole number >= 0, or None for no threshold, "
                         f"got {value!r}")
    return int(value)


def _law(value: Any) -> str:
    from sdde import delays

    if not isinstance(value, str):
        raise ValueError(f"must be a delay-law spec such as 'gamma:shape=2,mean=1', "
                         f"got {value!r}")
    delays.parse(value)  # raises ValueError naming the problem
    return value


#: The dimensions of the cluster analyses (stability and simulation).
CLUSTER_DIMENSIONS: Mapping[str, Dimension] = {
    "law": Dimension("", "round-time law of every worker (sdde.delays.parse spec)", _law,
                     default="shifted-exp:shift=0.5,mean=1"),
    "workers": Dimension("workers", "number of workers n", _positive_int),
    "lr": Dimension("", "learning rate η", _positive_float),
    "threshold": Dimension("updates", f"staleness threshold K ({NO_THRESHOLD}: none)",
                           _threshold, default=NO_THRESHOLD),
}


class Analysis(abc.ABC):
    """What a sweep runs at each grid point (abstract).

    Subclasses set :attr:`name`, :attr:`dimensions`, :attr:`vectorised` and implement
    :attr:`outputs` and :meth:`evaluate`. They must pickle (they travel to worker
    processes) and be deterministic given the ``rng`` they are handed.
    """

    name: ClassVar[str]
    dimensions: ClassVar[Mapping[str, Dimension]]
    #: Dimensions evaluated as whole vectors in one call (the fast path).
    vectorised: ClassVar[tuple[str, ...]] = ()

    @property
    @abc.abstractmethod
    def outputs(self) -> Mapping[str, Output]:
        """Output name -> :class:`Output`."""

    @abc.abstractmethod
    def evaluate(self, point: Mapping[str, Any], vectors: Mapping[str, np.ndarray],
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Outputs at one point of the non-vectorised dimensions.

        Parameters
        ----------
        point : mapping
            One value per non-vectorised dimension (defaults filled in).
        vectors : mapping
            The whole coordinate of each vectorised dimension present.
        rng : numpy.random.Generator
            This point's own stream.

        Returns
        -------
        dict
            Each output as an array of shape ``tuple(len(v) for v in vectors.values())``.
        """

    def describe(self) -> str:
        """The analysis and its settings, for the dataset's attributes and the store."""
        return repr(self)


def _model(point: Mapping[str, Any], lr: float, hessian: str, noise: float,
           policy: str) -> Any:
    from sdde import delays
    from sdde.cluster.cluster import Cluster
    from sdde.model.async_sgd import AsyncSGDModel
    from sdde.model.kernels import StepPolicy
    from sdde.model.spectrum import HessianSpectrum

    threshold = None if point["threshold"] == NO_THRESHOLD else point["threshold"]
    cluster = Cluster(workers=point["workers"], delay=delays.parse(point["law"]),
                      threshold=threshold)
    return AsyncSGDModel(lr=lr, cluster=cluster, spectrum=HessianSpectrum.parse(hessian),
                         noise=noise, policy=StepPolicy.for_cluster(policy, cluster))


_KAPPA_STAR: dict[tuple[str, int, str, int], float] = {}
#: Relative 95 % half-width of the almost-sure thresholds a sweep estimates by simulation.
SWEEP_REL_TOL = 0.05


def _cached_kappa_star(law: str, threshold: int, policy: str, workers: int,
                       compute: Callable[[], float]) -> float:
    """``κ*`` of a kernel, computed once per process (``workers = 0``: any count)."""
    key = (law, threshold, policy, workers)
    if key not in _KAPPA_STAR:
        _KAPPA_STAR[key] = compute()
    return _KAPPA_STAR[key]


@final
@dataclass(frozen=True)
class StabilityAnalysis(Analysis):
    """Stability of the server over workers × learning rate × law × threshold.

    The thresholds depend on the cluster (law, workers, threshold) and the step policy, not
    on the learning rate, so each cluster costs one mean-field ``κ*`` and one almost-sure
    ``κ_as`` (:func:`sdde.stability.almost_sure.almost_sure_threshold`: closed form, table,
    or a Monte Carlo estimate to 5 %, cached per process) and the whole learning-rate axis
    follows from ``κ = η n h_max`` (a stability chart never calls a root finder per point).
    ``stable`` is the almost-sure verdict: a run converges. ``decay=True`` adds the slowest
    mode's decay rate, which does need the rightmost root of every mode at every learning
    rate.

    Parameters
    ----------
    hessian : str
        Curvatures, as ``--hessian`` takes them (``"1"``, ``"0.1:10:8:log"``, …).
    policy : str
        Step policy (``constant``, ``inverse``, ``geometric:G``).
    decay : bool
        Also compute ``decay_rate`` (slower: roots per point).

    Examples
    --------
    >>> import numpy as np
    >>> out = StabilityAnalysis().evaluate(
    ...     {"law": "gamma:shape=2,mean=1", "workers": 4, "threshold": -1},
    ...     {"lr": np.array([0.5, 2.0])}, np.random.default_rng(0))
    >>> out["kappa_star"], out["stable"]          # Erlang-2: κ* = 4; κ = 2 and 8
    (array([4., 4.]), array([ True, False]))
    >>> round(float(out["kappa_as"][0]), 2)         # a run diverges from κ ≈ 3.35 at n = 4
    3.35
    """

    hessian: str = "1"
    policy: str = "constant"
    decay: bool = False

    name: ClassVar[str] = "stability"
    dimensions: ClassVar[Mapping[str, Dimension]] = CLUSTER_DIMENSIONS
    vectorised: ClassVar[tuple[str, ...]] = ("lr",)

    @property
    def outputs(self) -> Mapping[str, Output]:
        """Output name -> :class:`Output`."""
        out = {
            "stable": Output("", "a run of the server converges (κ < κ_as)", "bool"),
            "kappa": Output("", "largest gain κ = η n h_max"),
            "kappa_as": Output("", "almost-sure divergence threshold κ_as (a run diverges)"),
            "kappa_star": Output("", "mean-field divergence threshold κ* (inf: none)"),
            "margin": Output("", "κ_as/κ: factor the learning rate may still grow by"),
            "max_stable_lr": Output("", "largest stable learning rate κ_as/(n h_max)"),
        }
        if self.decay:
            out["decay_rate"] = Output("1/time", "slowest mode's decay rate −Re z₀/E[X] "
                                       "(negative: grows)")
        return out

    def evaluate(self, point: Mapping[str, Any], vectors: Mapping[str, np.ndarray],
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Outputs for one cluster over the learning-rate vector."""
        from sdde.stability.almost_sure import almost_sure_threshold
        from sdde.stability.mean_field import critical_kappa

        lrs = np.asarray(vectors["lr"], dtype=np.float64)
        model = _model(point, float(lrs[0]), self.hessian, 0.0, self.policy)
        kernel = model.kernel
        # κ* is a property of the kernel: without a threshold it is the same for every
        # worker count, so each process computes it once per law and policy
        workers_key = point["workers"] if model.kernel_depends_on_workers else 0
        kappa_star = _cached_kappa_star(point["law"], point["threshold"], self.policy,
                                        workers_key, lambda: critical_kappa(kernel))
        # the server's threshold depends on n; it is cached per cluster and drawn from a
        # fixed seed, so it does not depend on the executor or the chunking
        policy = None if model.policy.is_constant else model.policy
        kappa_as = almost_sure_threshold(model.cluster, policy, rel_tol=SWEEP_REL_TOL).kappa
        n, h_max = model.cluster.n_workers, float(np.max(model.spectrum.eigenvalues))
        kappa = lrs * n * h_max
        with np.errstate(divide="ignore"):
            out = {
                "stable": kappa < kappa_as,
                "kappa": kappa,
                "kappa_as": np.full(lrs.shape, kappa_as),
                "kappa_star": np.full(lrs.shape, kappa_star),
                "margin": kappa_as / kappa,
                "max_stable_lr": np.full(lrs.shape, kappa_as / (n * h_max)),
            }
        if self.decay:
            out["decay_rate"] = self._decay_rates(model, kernel, lrs)
        return out

    @staticmethod
    def _decay_rates(model: Any, kernel: Any, lrs: FloatArray) -> FloatArray:
        from sdde.stability.roots import characteristic_roots

        n, curvatures = model.cluster.n_workers, np.asarray(model.spectrum.eigenvalues)
        rates = np.empty(lrs.shape)
        for i, lr in enumerate(lrs):
            # as analyze_stability: the rightmost of two roots (asking for one can miss a
            # complex pair), modes without a root left out, NaN if none has one
            modes = [characteristic_roots(float(lr * n * h), kernel, n=2) for h in curvatures]
            found = [-float(z[0].real) for z in modes if z.size]
            rates[i] = min(found) / model.mean_delay if found else math.nan
        return rates


@final
@dataclass(frozen=True)
class SimulationAnalysis(Analysis):
    """The exact simulator at each grid point, with the SDDE's prediction beside it.

    Each point runs :func:`sdde.validation.simulation_report.simulate_report` (``replicas`` runs of
    ``updates`` updates on the quadratic with curvatures ``hessian``) with its own random
    stream, so the result does not depend on how points are spread over workers.

    Parameters
    ----------
    replicas, updates : int
        Independent runs per point and updates per run.
    hessian : str
        Curvatures (``--hessian`` syntax).
    noise : float
        Gradient-noise variance along every mode.
    policy : str
        Step policy.
    """

    replicas: int = 8
    updates: int = 2000
    hessian: str = "1"
    noise: float = 0.0
    policy: str = "constant"

    name: ClassVar[str] = "simulation"
    dimensions: ClassVar[Mapping[str, Dimension]] = CLUSTER_DIMENSIONS

    def __post_init__(self) -> None:
        for label, value in (("replicas", self.replicas), ("updates", self.updates)):
            try:
                _positive_int(value)
            except ValueError as error:
                raise ValueError(f"{label} {error}") from None

    @property
    def outputs(self) -> Mapping[str, Output]:
        """Output name -> :class:`Output`."""
        return {
            "diverged_fraction": Output("", "share of replicas that diverged"),
            "final_loss": Output("", "mean over replicas of the loss after the last update"),
            "staleness_mean": Output("updates", "observed mean staleness"),
            "arrival_rate": Output("1/time", "observed gradients per time unit"),
            "decay_rate": Output("1/time", "fitted decay rate of the slowest mode's mean"),
            "predicted_decay_rate": Output("1/time", "the same fit on the SDDE's mean"),
        }

    def evaluate(self, point: Mapping[str, Any], vectors: Mapping[str, np.ndarray],
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Simulate one configuration and summarise it."""
        from sdde.validation.simulation_report import simulate_report

        model = _model(point, float(point["lr"]), self.hessian, self.noise, self.policy)
        report = simulate_report(model, updates=self.updates, replicas=self.replicas,
                                 rng=rng)
        values = {
            "diverged_fraction": report.diverged_fraction,
            "final_loss": float(report.loss[-1]),
            "staleness_mean": report.staleness_mean,
            "arrival_rate": report.arrival_rate,
            "decay_rate": report.decay_rate,
            "predicted_decay_rate": report.predicted_decay_rate,
        }
        return {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}


def _any_value(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | str):
        raise ValueError(f"must be a number or a string, got {value!r}")
    if isinstance(value, numbers.Real) and not math.isfinite(float(value)):
        raise ValueError(f"must be finite, got {value!r}")
    return value


@final
@dataclass(frozen=True)
class FunctionAnalysis(Analysis):
    """Any function of a grid point: ``fn(point, rng) -> {name: number}``.

    ``fn`` must be importable by name (a module-level function) to travel to worker
    processes. Grid values may be numbers or strings.

    Parameters
    ----------
    fn : callable
        ``fn(point: dict, rng: numpy.random.Generator) -> Mapping[str, float]``.
    outputs_spec : mapping of str to Output
        The names ``fn`` returns, with units.
    """

    fn: Callable[[Mapping[str, Any], np.random.Generator], Mapping[str, float]]
    outputs_spec: Mapping[str, Output] = field(default_factory=dict)

    name: ClassVar[str] = "function"
    dimensions: ClassVar[Mapping[str, Dimension]] = {}

    @property
    def outputs(self) -> Mapping[str, Output]:
        """Output name -> :class:`Output`."""
        return self.outputs_spec

    def evaluate(self, point: Mapping[str, Any], vectors: Mapping[str, np.ndarray],
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Call ``fn`` and check it returned every declared output."""
        result = self.fn(dict(point), rng)
        missing = set(self.outputs_spec) - set(result)
        if missing:
            raise ValueError(f"{self.describe()} returned no {sorted(missing)}")
        return {k: np.asarray(result[k], dtype=self.outputs_spec[k].dtype)
                for k in self.outputs_spec}

    def describe(self) -> str:
        """The function's qualified name and outputs."""
        module = getattr(self.fn, "__module__", "?")
        return f"FunctionAnalysis({module}.{getattr(self.fn, '__qualname__', self.fn)!s}, " \
               f"outputs={sorted(self.outputs_spec)})"


def check_value(analysis: Analysis, dim: str, value: Any) -> Any:
    """Validate one grid value for ``analysis``; raise ``ValueError`` naming the dimension."""
    spec = analysis.dimensions.get(dim)
    try:
        return spec.check(value) if spec is not None else _any_value(value)
    except ValueError as error:
        raise ValueError(f"grid dimension {dim!r}: {error}") from None


def resolve_dimensions(analysis: Analysis, grid_dims: Sequence[str]) -> dict[str, Any]:
    """The defaults of dimensions the grid omits; raise if a required one is missing or
    the grid names one the analysis does not know."""
    known = analysis.dimensions
    if known:
        unknown = [d for d in grid_dims if d not in known]
        if unknown:
            raise ValueError(f"grid dimension(s) {unknown} unknown to the {analysis.name} "
                             f"analysis; it takes {sorted(known)}")
    missing = [d for d, spec in known.items() if d not in grid_dims and spec.default is None]
    if missing:
        raise ValueError(f"the {analysis.name} analysis needs grid dimension(s) {missing}")
    return {d: spec.default for d, spec in known.items() if d not in grid_dims}
