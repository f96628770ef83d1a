"""The input contract of delay specs (docs/cli.md, "Delay laws"): refusals and edges.

Outside the contract :func:`sdde.delays.parse` refuses with one line naming the parameter,
the allowed range and a valid example; at its edges the laws are usable without
warnings. The shape limits are checked against the tail rule they come from, with an
independent numerical integral (not the closed forms of ``tail_share``).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from sdde import delays
from sdde.delays import _contract
from sdde.delays._contract import (
    SHAPE_LIMITS,
    TAIL_LEVEL,
    TAIL_SHARE,
    TIME_MAX,
    TIME_MIN,
    tail_share,
)
from sdde.delays._quadrature import law_quadrature

# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(("spec", "needles"), [
    # the fuzz campaign's findings
    ("exponential:mean=1e150", ["mean", "[1e-09, 1e+09]"]),
    ("exponential:mean=1e-150", ["mean", "[1e-09, 1e+09]"]),
    ("exponential:mean=1e-20", ["mean", "[1e-09, 1e+09]"]),
    ("uniform:low=1e-300,high=2e-300", ["low", "0 or in [1e-09, 1e+09]"]),
    ("pareto:shape=1.0000001", ["shape", ">= 1.2", "1.0000001"]),
    ("pareto:shape=1.001", ["shape", ">= 1.2"]),
    ("pareto:shape=1.19,scale=1", ["shape", ">= 1.2"]),
    ("weibull:shape=0.01", ["shape", ">= 0.12"]),
    ("gamma:shape=1e-8", ["shape", ">= 0.0001"]),
    ("gamma:shape=1e-5,scale=2", ["shape", ">= 0.0001"]),
    ("lognormal:mean=1,cv=1e4", ["cv", "<= 400"]),
    ("lognormal:mu=0,sigma=4", ["sigma", "<= 3.46"]),
    ("lognormal:mean=1,cv=1e-7", ["cv", ">= 1e-06"]),
    # time keys other than the mean, and the mean derived from other keys
    ("exponential:rate=1e12", ["rate", "[1e-09, 1e+09]"]),
    ("exponential:mean=5e-324", ["mean"]),
    ("exponential:mean=1e308", ["mean"]),
    ("deterministic:value=1e-300", ["value"]),
    ("gamma:shape=2,scale=1e10", ["scale"]),
    ("shifted-exp:shift=1e-12,mean=1", ["shift"]),
    ("lognormal:mu=30,sigma=1", ["mean round time"]),
    ("two-point:p=0.5,slowdown=10,time=1e9", ["mean round time"]),
    # shapes that are a point mass to double precision
    ("gamma:shape=1e13", ["shape", "<= 1e+12"]),
    ("erlang:k=2000000000000", ["k", "<= 1e+12"]),
    ("weibull:shape=1e7", ["shape", "<= 1e+06"]),
    ("pareto:shape=1e7", ["shape", "<= 1e+06"]),
    # two-point extremes
    ("two-point:p=0.5,slowdown=1e7", ["slowdown", "<= 1e+06"]),
    ("two-point:p=5e-7,slowdown=1e6", ["p·slowdown"]),
])
def test_out_of_contract_specs_are_refused_in_one_line(spec: str, needles: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        delays.parse(spec)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    # the example the message offers is itself valid
    assert "e.g. " in message
    delays.parse(message.rsplit("e.g. ", 1)[1])


def test_trace_durations_outside_the_time_range_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    path.write_text("0.5\n1.0\n1e300\n0.7\n")
    with pytest.raises(ValueError, match=r"trace: every duration must be in \[1e-09"):
        delays.parse(f"trace:{path}")
    path.write_text("1.0\n1e-12\n")
    with pytest.raises(ValueError, match="got 1e-12"):
        delays.parse(f"trace:{path}")


def test_constructor_limits_keep_their_own_messages() -> None:
    """Laws that do not exist are refused by the constructors, before the contract."""
    with pytest.raises(ValueError, match="> 1"):
        delays.parse("pareto:shape=1")
    with pytest.raises(ValueError, match="> 0"):
        delays.parse("gamma:shape=0")


def test_python_constructors_are_not_bound_by_the_contract() -> None:
    """The contract is the spec parser's; Python users may build any law that exists."""
    assert delays.Pareto(shape=1.05, scale=1.0).mean == pytest.approx(21.0)
    assert delays.Exponential(scale=1e-20).mean == 1e-20


# ------------------------------------------------------------------ the edges


EDGE_SPECS = [
    "exponential:mean=1e-9", "exponential:mean=1e9", "exponential:rate=1e9",
    "deterministic:value=1e-9", "uniform:low=0,high=2e-9", "uniform:low=0.999999,high=1",
    "uniform:low=1,high=1.000000001", "pareto:shape=1.2", "pareto:shape=1e6",
    "weibull:shape=0.12", "weibull:shape=1e6", "gamma:shape=1e-4", "gamma:shape=1e12",
    "erlang:k=5000", "lognormal:mean=1,cv=400", "lognormal:mean=1,cv=1e-6",
    "shifted-exp:shift=0,mean=1", "shifted-exp:shift=0.999999999,mean=1",
    "two-point:p=1e-7,slowdown=1e6,mean=1", "two-point:p=0.999999,slowdown=1e6,mean=1",
    "two-point:p=0.5,slowdown=1e6,mean=1e9",
]


@pytest.mark.parametrize("spec", EDGE_SPECS)
def test_edge_specs_parse_and_behave(spec: str) -> None:
    """At the edges: mean in range, distribution functions and transform sane, no warning
    (pytest turns RuntimeWarnings raised in sdde into errors)."""
    law = delays.parse(spec)
    assert TIME_MIN * (1 - 1e-12) <= law.mean <= TIME_MAX * (1 + 1e-12)
    unit = law.normalized()
    x = np.array([0.0, 1e-300, 1e-3, 0.5, 1.0, 2.0, 1e3, 1e300])
    cdf = np.asarray(unit.cdf(x), dtype=np.float64)
    sf = np.asarray(unit.sf(x), dtype=np.float64)
    assert np.all((cdf >= 0) & (cdf <= 1) & (sf >= 0) & (sf <= 1))
    assert np.all(np.diff(cdf) >= 0)
    np.testing.assert_allclose(cdf + sf, 1.0, atol=1e-12)
    q = np.asarray(unit.quantile([0.0, 0.25, 0.5, 0.75, 1.0 - 1e-9]), dtype=np.float64)
    assert np.all(np.diff(q) >= 0) and np.all(q >= 0)
    phi = np.asarray(law.laplace(np.array([0.0, 1.0 / law.mean, 1j / law.mean,
                                           1e6 / law.mean])), dtype=np.complex128)
    assert np.all(np.isfinite(phi)) and np.all(np.abs(phi) <= 1 + 1e-12)
    assert phi[0] == 1.0


def test_narrow_law_quadrature_keeps_its_last_panel() -> None:
    """A law a few ulps wide lost the mass of its last panel (weights summed to 1 − 3e-6)."""
    for spec in ["uniform:low=1,high=1.000000001", "uniform:low=0.999999,high=1",
                 "shifted-exp:shift=0.999999999,mean=1"]:
        law = delays.parse(spec).normalized()
        _, weights = law_quadrature(law, sqrt_step=0.1)
        assert weights.sum() == pytest.approx(1.0, abs=1e-12), spec


def test_weibull_of_large_shape_has_no_overflow_warning() -> None:
    law = delays.Weibull(shape=1e6, scale=1.0)
    x = np.array([0.5, 1.0, 2.0, 1e300])
    np.testing.assert_array_equal(law.cdf(x)[2:], 1.0)
    np.testing.assert_array_equal(law.sf(x)[2:], 0.0)
    assert np.all(np.asarray(law.pdf(x))[2:] == 0.0)


def test_pareto_equilibrium_draws_overflow_to_inf_silently() -> None:
    """Equilibrium draws of a Pareto law near shape 1: rounds longer than any horizon."""
    law = delays.Pareto(shape=1.0000001, scale=1.0)
    draws = law.sample_moment_biased(np.random.default_rng(0), 1000, 1)
    assert np.all(draws >= 1.0)
    assert np.isinf(draws).any()


# ------------------------------------------------------- the tail rule and its limits


def _tail_share_by_quadrature(dist: stats.rv_continuous) -> float:
    """``E[X; X > q] / E[X] = ∫_0^level isf(v) dv / E[X]``, integrated decade by decade in
    the tail probability ``v`` (independent of the closed forms in ``tail_share``)."""
    decades = TAIL_LEVEL * np.logspace(0.0, -120.0, 121)
    total = sum(integrate.quad(lambda v: float(dist.isf(v)), lo, hi, epsrel=1e-12,
                               epsabs=0.0, limit=200)[0]
                for hi, lo in itertools.pairwise(decades))
    return float(total / dist.mean())


def _family_dist(family: str, value: float) -> stats.rv_continuous:
    if family == "pareto":
        return stats.pareto(value)
    if family == "weibull":
        return stats.weibull_min(value)
    if family == "gamma":
        return stats.gamma(value)
    sigma = math.sqrt(math.log1p(value**2))  # lognormal, value = cv
    return stats.lognorm(sigma, scale=math.exp(-0.5 * sigma**2))


def _family_law(family: str, value: float) -> delays.DelayLaw:
    if family == "lognormal":
        return delays.LogNormal.from_mean_cv(mean=1.0, cv=value)
    return {"pareto": delays.Pareto, "weibull": delays.Weibull,
            "gamma": delays.Gamma}[family](shape=value, scale=1.0)


#: Exact boundaries of the tail rule (shape, or lognormal cv), as docs/cli.md states.
BOUNDARIES = {"pareto": 1.2, "weibull": 0.11525, "gamma": 3.0875e-5, "lognormal": 414.45}


@pytest.mark.parametrize("family", sorted(SHAPE_LIMITS))
def test_shape_limits_satisfy_the_tail_rule(family: str) -> None:
    """At each limit at most 10 % of the mean comes from rounds rarer than 1e-6 (by an
    independent quadrature); the rule's exact boundary is where the share is 10 %, and
    the limit lies on its safe side, within a factor 4 of it."""
    _, kind, limit = SHAPE_LIMITS[family]
    share = _tail_share_by_quadrature(_family_dist(family, limit))
    assert share == pytest.approx(tail_share(_family_law(family, limit)), rel=1e-6)
    assert share <= TAIL_SHARE * (1 + 1e-9)  # Pareto's limit 1.2 is the exact boundary
    boundary = BOUNDARIES[family]
    assert tail_share(_family_law(family, boundary)) == pytest.approx(TAIL_SHARE, rel=1e-3)
    if family != "pareto":
        assert _tail_share_by_quadrature(_family_dist(family, boundary)) == pytest.approx(
            TAIL_SHARE, rel=1e-3)
    outside = boundary * (0.99 if kind == "min" else 1.01)
    assert tail_share(_family_law(family, outside)) > TAIL_SHARE
    assert 1.0 <= (limit / boundary if kind == "min" else boundary / limit) <= 4.0


def test_two_point_tail_share() -> None:
    """Rounds rarer than 1e-6 are the slow atom only when p <= 1e-6."""
    assert tail_share(delays.two_point(time=1.0, p=1e-5, slowdown=1e6)) == 0.0
    law = delays.two_point(time=1.0, p=1e-7, slowdown=1e6)
    assert tail_share(law) == pytest.approx(0.1 / (1 - 1e-7 + 0.1), rel=1e-12)


# ------------------------------------------------------------ property: the whole contract


def _log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    # 10**log10(0.12) is 0.11999999999999998: clip back into [lo, hi]
    return st.floats(math.log10(lo), math.log10(hi)).map(
        lambda e: min(max(float(10.0**e), lo), hi))


@st.composite
def contract_specs(draw: st.DrawFn) -> str:
    """Spec strings anywhere inside the contract (log-uniform over each range)."""
    mean = draw(_log_uniform(TIME_MIN, TIME_MAX))
    family = draw(st.sampled_from(["exponential", "gamma", "weibull", "pareto",
                                   "lognormal", "uniform", "shifted-exp", "two-point",
                                   "deterministic"]))
    if family == "gamma":
        return f"gamma:shape={draw(_log_uniform(1e-4, 1e12)):.17g},mean={mean:.17g}"
    if family == "weibull":
        return f"weibull:shape={draw(_log_uniform(0.12, 1e6)):.17g},mean={mean:.17g}"
    if family == "pareto":
        shape = 1.2 + draw(_log_uniform(1e-12, 1e6))
        return f"pareto:shape={shape:.17g},mean={mean:.17g}"
    if family == "lognormal":
        return f"lognormal:cv={draw(_log_uniform(1e-6, 400.0)):.17g},mean={mean:.17g}"
    if family == "uniform":
        cv = draw(_log_uniform(1e-6, 1 / math.sqrt(3.0)))
        return f"uniform:cv={cv:.17g},mean={mean:.17g}"
    if family == "shifted-exp":
        frac = draw(st.floats(0.0, 1.0 - 1e-9))
        return f"shifted-exp:shift={frac * mean:.17g},mean={mean:.17g}"
    if family == "two-point":
        p = draw(_log_uniform(1e-6, 0.999999))
        slowdown = draw(_log_uniform(1.0 + 1e-9, 1e6))
        return f"two-point:p={p:.17g},slowdown={slowdown:.17g},mean={mean:.17g}"
    if family == "deterministic":
        return f"deterministic:value={mean:.17g}"
    return f"exponential:mean={mean:.17g}"


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(contract_specs())
def test_every_spec_inside_the_contract_parses(spec: str) -> None:
    """Inside the contract: no refusal, the stated mean, a finite transform, no warning."""
    try:
        law = delays.parse(spec)
    except ValueError as exc:  # only the shifted time may fall below 1e-9: not a bug
        assert "shift" in str(exc), (spec, exc)
        return
    fields = dict(kv.split("=") for kv in spec.partition(":")[2].split(","))
    want = float(fields.get("mean", fields.get("value", "nan")))
    assert law.mean == pytest.approx(want, rel=1e-9)
    assert 0.0 <= tail_share(law) <= TAIL_SHARE
    phi = complex(law.laplace(1.0 / law.mean))
    assert 0.0 < phi.real <= 1.0


def test_contract_constants_are_documented() -> None:
    """docs/cli.md ("Delay laws") states the numbers the code enforces."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    for needle in ["1e-9", "1e9", "1.2", "0.12", "1e-4", "400", "1e6", "1e12",
                   "10 %", "one in a million"]:
        assert needle in text, needle
    assert _contract.MAX_SLOWDOWN == 1e6
