"""The model's input contract (sdde.model._contract): inside it accepted, outside one line."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdde import AsyncSGDModel, Cluster, HessianSpectrum
from sdde.model._contract import (
    GAIN_MAX,
    GAIN_MIN,
    MAX_MODES,
    VALUE_MAX,
    VALUE_MIN,
    check_gains,
    check_value,
)

inside = st.floats(math.log10(VALUE_MIN), math.log10(VALUE_MAX)).map(lambda e: 10.0 ** e)
outside = st.one_of(st.floats(-323, math.log10(VALUE_MIN) - 1e-9).map(lambda e: 10.0 ** e),
                    st.floats(math.log10(VALUE_MAX) + 1e-9, 308).map(lambda e: 10.0 ** e),
                    st.sampled_from([math.nan, math.inf, -1.0, -0.0 - 1e-300]))


@settings(max_examples=200, deadline=None)
@given(value=inside)
def test_values_inside_the_contract_are_accepted(value: float) -> None:
    value = min(max(value, VALUE_MIN), VALUE_MAX)  # 10**e rounds past the ends
    assert check_value("lr", value) == value


@settings(max_examples=200, deadline=None)
@given(value=outside)
def test_values_outside_the_contract_are_refused_in_one_line(value: float) -> None:
    with pytest.raises(ValueError) as info:
        check_value("lr", value, example="0.01")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("lr must be in [1e-30, 1e+30]") and "e.g. 0.01" in message


def test_zero_is_allowed_only_where_it_means_something() -> None:
    assert check_value("noise", 0.0, zero_ok=True) == 0.0
    with pytest.raises(ValueError, match="lr must be in"):
        check_value("lr", 0.0)


def _gain_fix(message: str) -> float:
    """The learning rate a refusal suggests (the last number of the message)."""
    return float(message.rsplit(" ", 1)[-1].rstrip(")"))


@settings(max_examples=100, deadline=None)
@given(lr=inside, n=st.integers(1, 10**6), h=inside)
def test_a_refused_gain_names_a_learning_rate_that_fits(lr: float, n: int, h: float) -> None:
    gain = lr * n * h
    # the contract's bounds allow 1e-12 relative for rounding (a gain of 1e6 (1 + 2e-15)
    # is accepted: hypothesis found lr = 1, n = 10^6, h = 10^(1e-15))
    if GAIN_MIN * (1 - 1e-12) <= gain <= GAIN_MAX * (1 + 1e-12):
        check_gains(lr, n, [h])
        return
    with pytest.raises(ValueError) as info:
        check_gains(lr, n, [h])
    message = str(info.value)
    assert message.startswith("lr: the gain κ = η·n·h") and "\n" not in message
    if gain > GAIN_MAX:
        suggested = float(message.split("use a learning rate below ")[1])
        check_gains(suggested * (1 - 1e-6), n, [h])  # just below the suggestion: accepted
    else:
        suggested = float(message.split("use a learning rate above ")[1].split(" ")[0])
        check_gains(suggested * (1 + 1e-6), n, [h])


def test_a_spectrum_wider_than_the_gain_range_suggests_leaving_modes_out() -> None:
    with pytest.raises(ValueError, match=r"no learning rate fits them all"):
        check_gains(1.0, 1, [1e-12, 1e6])


def test_the_model_and_spectrum_enforce_the_contract() -> None:
    cluster = Cluster(workers=4)
    spectrum = HessianSpectrum(eigenvalues=[1.0])
    with pytest.raises(ValueError, match=r"^lr must be in"):
        AsyncSGDModel(lr=1e200, cluster=cluster, spectrum=spectrum)
    with pytest.raises(ValueError, match=r"^noise must be 0 or in"):
        AsyncSGDModel(lr=0.01, cluster=cluster, spectrum=spectrum, noise=1e300)
    with pytest.raises(ValueError, match="eigenvalues must be in"):
        HessianSpectrum(eigenvalues=[1e-40])
    with pytest.raises(ValueError, match="number of modes must be a whole number in 1"):
        HessianSpectrum.from_range(1.0, 2.0, MAX_MODES + 1)


def test_analyze_stability_refuses_outside_the_contract() -> None:
    from sdde import analyze_stability

    model = AsyncSGDModel(lr=1e-12, cluster=Cluster(workers=1),
                          spectrum=HessianSpectrum(eigenvalues=[1.0]))
    with pytest.raises(ValueError, match="below 1e-09"):
        analyze_stability(model)
    ok = AsyncSGDModel(lr=0.01, cluster=Cluster(workers=2),
                       spectrum=HessianSpectrum(eigenvalues=[1.0]))
    with pytest.raises(ValueError, match="target loss must be in"):
        analyze_stability(ok, target_loss=1e-320)
    with pytest.raises(ValueError, match="initial error must be 0 or in"):
        analyze_stability(ok, initial_error=1e200)
