"""Spec strings such as ``gamma:shape=2,mean=1`` → :class:`DelayLaw` (shared with the CLI)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sdde.delays._base import DelayLaw, require_finite
from sdde.delays._composite import Empirical, _check_two_point, shifted_exponential, two_point
from sdde.delays._contract import check_law, check_times
from sdde.delays._families import (
    Deterministic,
    Exponential,
    Gamma,
    LogNormal,
    Pareto,
    Uniform,
    Weibull,
    erlang,
)
from sdde.delays._spec_examples import DELAY_SPEC_EXAMPLES


@dataclass(frozen=True)
class _Form:
    """One accepted set of keys: required ones, and optional ones with defaults."""

    required: frozenset[str]
    build: Callable[..., DelayLaw]
    optional: Mapping[str, float] = field(default_factory=dict)

    def matches(self, keys: set[str]) -> bool:
        return self.required <= keys <= self.required | set(self.optional)

    def usage(self, family: str) -> str:
        parts = [f"{k}=…" for k in sorted(self.required)]
        parts += [f"{k}={v:g}" for k, v in self.optional.items()]
        return f"{family}:{','.join(parts)}" if parts else family


def _uniform_from_cv(mean: float, cv: float) -> Uniform:
    half = math.sqrt(3.0) * cv * mean
    if not 0 < cv <= 1 / math.sqrt(3.0):
        raise ValueError(f"uniform: cv must be in (0, {1 / math.sqrt(3.0):.4f}], got {cv!r}")
    return Uniform(low=mean - half, high=mean + half)


def _two_point_from_mean(p: float, slowdown: float, mean: float) -> DelayLaw:
    _check_two_point(p, slowdown)
    require_finite("two-point", "mean", mean, minimum=0.0)
    return two_point(time=mean / (1.0 - p + p * slowdown), p=p, slowdown=slowdown)


def _exponential_from_rate(rate: float) -> DelayLaw:
    return Exponential(scale=1.0 / require_finite("exponential", "rate", rate, minimum=0.0))


def _shifted_exp_from_scale(shift: float, scale: float) -> DelayLaw:
    require_finite("shifted-exp", "scale", scale, minimum=0.0)
    return shifted_exponential(shift=shift, mean=shift + scale)


_FAMILIES: dict[str, tuple[_Form, ...]] = {
    "deterministic": (
        _Form(frozenset(), lambda mean: Deterministic(value=mean), {"mean": 1.0}),
        _Form(frozenset({"value"}), lambda value: Deterministic(value=value)),
    ),
    "exponential": (
        _Form(frozenset(), lambda mean: Exponential(scale=mean), {"mean": 1.0}),
        _Form(frozenset({"rate"}), _exponential_from_rate),
    ),
    "shifted-exp": (
        _Form(frozenset({"shift"}), lambda shift, mean: shifted_exponential(shift=shift, mean=mean),
              {"mean": 1.0}),
        _Form(frozenset({"shift", "scale"}), _shifted_exp_from_scale),
    ),
    "gamma": (
        _Form(frozenset({"shape"}), lambda shape, mean: Gamma.from_mean(shape=shape, mean=mean),
              {"mean": 1.0}),
        _Form(frozenset({"shape", "scale"}), lambda shape, scale: Gamma(shape=shape, scale=scale)),
    ),
    "erlang": (
        _Form(frozenset({"k"}), lambda k, mean: erlang(k, mean), {"mean": 1.0}),
    ),
    "uniform": (
        _Form(frozenset({"low", "high"}), lambda low, high: Uniform(low=low, high=high)),
        _Form(frozenset({"cv"}), _uniform_from_cv, {"mean": 1.0}),
    ),
    "lognormal": (
        _Form(frozenset({"cv"}), lambda cv, mean: LogNormal.from_mean_cv(mean=mean, cv=cv),
              {"mean": 1.0}),
        _Form(frozenset({"mu", "sigma"}), lambda mu, sigma: LogNormal(mu=mu, sigma=sigma)),
    ),
    "weibull": (
        _Form(frozenset({"shape"}), lambda shape, mean: Weibull.from_mean(shape=shape, mean=mean),
              {"mean": 1.0}),
        _Form(frozenset({"shape", "scale"}),
              lambda shape, scale: Weibull(shape=shape, scale=scale)),
    ),
    "pareto": (
        _Form(frozenset({"shape"}), lambda shape, mean: Pareto.from_mean(shape=shape, mean=mean),
              {"mean": 1.0}),
        _Form(frozenset({"shape", "scale"}), lambda shape, scale: Pareto(shape=shape, scale=scale)),
    ),
    "two-point": (
        _Form(frozenset({"p", "slowdown"}), _two_point_from_mean, {"mean": 1.0}),
        _Form(frozenset({"p", "slowdown", "time"}),
              lambda p, slowdown, time: two_point(time=time, p=p, slowdown=slowdown)),
    ),
}

_ALIASES = {
    "det": "deterministic", "const": "deterministic", "constant": "deterministic",
    "point": "deterministic", "exp": "exponential", "shifted-exponential": "shifted-exp",
    "shiftedexp": "shifted-exp", "lognorm": "lognormal", "straggler": "two-point",
    "twopoint": "two-point",
}

#: Examples shown in errors and in ``--help``.
EXAMPLES = DELAY_SPEC_EXAMPLES


def families() -> tuple[str, ...]:
    """Names of the families :func:`parse` accepts (``trace`` reads a file)."""
    return (*_FAMILIES, "trace")


def parse(spec: str) -> DelayLaw:
    """Build a computation-time law from a spec string.

    Parameters
    ----------
    spec : str
        ``family`` or ``family:key=value,key=value``; ``trace:PATH`` reads durations
        from a file (one per line). Families: deterministic, exponential, shifted-exp,
        gamma, erlang, uniform, lognormal, weibull, pareto, two-point, trace. ``mean``
        defaults to 1 wherever it is accepted.

    Returns
    -------
    DelayLaw

    Raises
    ------
    ValueError
        One line naming what is wrong (unknown family, unknown or missing key, a value
        out of range) and what is accepted instead. Besides the laws' own limits, the
        input contract of :mod:`sdde.delays._contract` applies: times in
        ``[1e-9, 1e9]`` and shape parameters where the tail is still observable
        (``docs/cli.md``, "Delay laws").

    Examples
    --------
    >>> from sdde.delays import parse
    >>> law = parse("gamma:shape=2,mean=1")
    >>> float(law.mean), float(law.var)
    (1.0, 0.5)
    >>> str(parse("shifted-exp:shift=0.5,mean=1"))
    'shifted-exp:shift=0.5,mean=1'
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"delay spec must be a non-empty string such as {EXAMPLES[1]!r}")
    name, _, rest = spec.strip().partition(":")
    family = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if family == "trace":
        if not rest.strip():
            raise ValueError("trace: give a file of durations, e.g. 'trace:durations.txt'")
        law = Empirical.from_file(rest.strip())
        check_law(family, {}, law)
        return law
    if family not in _FAMILIES:
        raise ValueError(
            f"unknown delay family {name!r}; valid families: {', '.join(families())}"
        )
    values = _parse_pairs(family, rest)
    forms = _FAMILIES[family]
    for form in forms:
        if form.matches(set(values)):
            kwargs = {**form.optional, **values}
            check_times(family, kwargs)
            built = form.build(**kwargs)
            check_law(family, kwargs, built)
            return built
    valid = " | ".join(form.usage(family) for form in forms)
    raise ValueError(
        f"{family}: cannot use keys {sorted(values) or '(none)'}; valid forms: {valid}"
    )


def _parse_pairs(family: str, text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, eq, raw = item.partition("=")
        key = key.strip().lower()
        if not eq or not key:
            raise ValueError(f"{family}: expected key=value, got {item!r}")
        if key in values:
            raise ValueError(f"{family}: key {key!r} given twice")
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(f"{family}: {key} must be a number, got {raw.strip()!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"{family}: {key} must be finite, got {raw.strip()!r}")
        values[key] = number
    return values
