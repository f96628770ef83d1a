"""Delay kernels ``w(u) dF̃(u)`` and their transforms (``sdde.model.kernels``).

A mode's characteristic function is ``Δ(z) = z + κ φ(z)`` with
``φ(z) = E[w(X̃) e^{−zX̃}]``, ``X̃`` the delay law normalised to mean 1 and ``w`` the
expected step factor of a gradient of age ``u``. Independent answers used here:

* the law's own transform ``law.normalized().laplace``: closed forms, or scipy's adaptive
  quadrature (QUADPACK, absolute error ~1e-13) for laws without one — a different
  algorithm from the fixed Gauss–Legendre rules of :class:`TransformRule`;
* mpmath closed forms (Weibull shape 1/2 via ``erfc``);
* closed-form derivatives of the gamma transform;
* brute-force Poisson sums (``scipy.stats.poisson``) for the step-policy weights;
* mixed-Poisson identities for the mass of thinned kernels (exponential mixing gives a
  geometric staleness; a point delay gives a Poisson one);
* the argument-principle root count as an independent check of the completely-monotone
  shortcut in ``critical_kappa``.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy import special, stats

from sdde import delays
from sdde.delays import DelayLaw
from sdde.model.kernels import DelayKernel, StepPolicy, as_kernel
from sdde.stability.mean_field import critical_kappa
from sdde.stability.roots import unstable_root_count

#: Laws whose transform is closed form (the kernel must hand it through unchanged).
CLOSED_FORM_LAWS = [
    delays.Deterministic(value=1.0),
    delays.Deterministic(value=3.5),
    delays.Exponential(scale=2.0),
    delays.parse("gamma:shape=2,mean=1"),
    delays.Gamma(shape=0.5, scale=3.0),
    delays.Gamma(shape=7.3, scale=0.2),
    delays.Uniform(low=0.5, high=1.5),
    delays.Uniform(low=0.0, high=4.0),
    delays.parse("two-point:time=1,p=0.05,slowdown=10"),
    delays.parse("shifted-exponential:shift=0.5,mean=1"),
    delays.Weibull(shape=1.0, scale=2.0),  # = exponential: closed form
]
#: Laws without a closed-form transform (quadrature rules inside the kernel).
RULE_LAWS = [
    delays.parse("lognormal:cv=0.5,mean=1"),
    delays.parse("weibull:shape=2,scale=1"),
    delays.parse("pareto:shape=2.5,scale=1"),
]
#: Slack for the adaptive-quadrature reference: QUADPACK is asked for 1e-13 absolute
#: (sdde/_numerics.py LAPLACE_EPSABS) and the transform is bounded by 1 on the axis, so
#: 5e-12 is ~50x the reference's own error.
REFERENCE_SLACK = 5e-12


def _ids(law: DelayLaw) -> str:
    return str(law)


# =================================================================== exact path
@pytest.mark.parametrize("law", CLOSED_FORM_LAWS, ids=_ids)
def test_closed_form_transform_is_the_normalised_laws_own(law: DelayLaw) -> None:
    """A plain kernel of a closed-form law returns ``law.normalized().laplace`` itself
    (same code path, so bit-for-bit), on and right of the imaginary axis and left of it
    down to the abscissa of convergence."""
    kernel = DelayKernel(law)
    unit = law.normalized()
    assert kernel.fast
    assert kernel.trivial
    assert kernel.mass == 1.0
    assert kernel.transform_error(50.0) <= 1e-13
    sigma = np.array([0.0, 0.3, 2.0, 10.0])
    if unit.laplace_abscissa > -math.inf:
        sigma = np.concatenate([sigma, [0.5 * unit.laplace_abscissa]])
    else:
        sigma = np.concatenate([sigma, [-0.7, -3.0]])
    omega = np.array([0.0, 0.1, 1.0, 2.5, 17.0, 200.0])
    z = sigma[:, None] + 1j * omega[None, :]
    np.testing.assert_array_equal(kernel.transform(z), unit.laplace(z))
    np.testing.assert_array_equal(kernel.on_axis(omega), unit.laplace(1j * omega))
    np.testing.assert_array_equal(kernel.re_on_axis(omega), np.real(unit.laplace(1j * omega)))
    assert complex(kernel.transform(0.0)) == 1.0


def test_closed_form_gamma_against_formula() -> None:
    """And the hand-through is the right function: mean-1 gamma of shape k has
    φ(z) = (1 + z/k)^{-k}. Both sides are a few ulps from exact (k log1p vs complex
    power), so 1e-13 relative."""
    k = 2.7
    kernel = DelayKernel(delays.Gamma(shape=k, scale=5.0))
    z = np.array([0.0, 1.0, 1j, 3 + 4j, -1.0 + 0.5j, 40j])
    expected = (1.0 + z / k) ** (-k)
    np.testing.assert_allclose(kernel.transform(z), expected, rtol=1e-13)


# =================================================================== rule path
@pytest.mark.parametrize("law", RULE_LAWS, ids=_ids)
@pytest.mark.parametrize("omega_max", [1.0, 4.0, 10.0, 25.0])
def test_rule_transform_matches_adaptive_quadrature(law: DelayLaw, omega_max: float) -> None:
    """On ``[0, omega_max]`` the rule (``kernel.rule(omega_max)``), ``on_axis``,
    ``re_on_axis`` and ``transform`` agree with scipy's adaptive quadrature of the same
    normalised law to the kernel's own error bound plus the reference's error; the coarse
    rule to its (larger) coarse bound."""
    kernel = DelayKernel(law)
    unit = law.normalized()
    assert not kernel.fast
    omega = np.linspace(0.0, omega_max, 33)
    reference = np.asarray(unit.laplace(1j * omega), dtype=np.complex128)
    bound = kernel.transform_error(omega_max)
    rule = kernel.rule(omega_max)
    assert rule.omega_max >= omega_max
    assert rule.error == bound
    tol = REFERENCE_SLACK + bound
    assert np.abs(rule(1j * omega) - reference).max() <= tol
    assert np.abs(kernel.on_axis(omega) - reference).max() <= tol
    assert np.abs(kernel.re_on_axis(omega) - reference.real).max() <= tol
    assert np.abs(kernel.transform(1j * omega) - reference).max() <= tol
    coarse_bound = kernel.transform_error(omega_max, coarse=True)
    assert coarse_bound >= bound
    coarse = kernel.on_axis(omega, coarse=True)
    assert np.abs(coarse - reference).max() <= REFERENCE_SLACK + coarse_bound
    coarse_re = kernel.re_on_axis(omega, coarse=True)
    assert np.abs(coarse_re - reference.real).max() <= REFERENCE_SLACK + coarse_bound


@pytest.mark.parametrize("law", RULE_LAWS, ids=_ids)
def test_rule_transform_right_of_the_axis(law: DelayLaw) -> None:
    """The bound holds in the closed right half-plane, not only on the axis
    (``e^{−σx}`` only shrinks every term of the rule and of the truncated tail)."""
    kernel = DelayKernel(law)
    z = np.array([0.05, 0.5 + 0.5j, 2.0 + 3.0j, 7.0 - 1.0j, 0.2 + 9.0j])
    reference = np.asarray(law.normalized().laplace(z), dtype=np.complex128)
    bound = kernel.transform_error(float(np.abs(z.imag).max()))
    assert np.abs(kernel.transform(z) - reference).max() <= REFERENCE_SLACK + bound


def _weibull_half_transform(omega: float, lam: float) -> complex:
    """Weibull shape 1/2, scale λ: with x = λ s², dF = e^{−s} ds, so
    φ(iω) = ∫_0^∞ e^{−s − a s²} ds = ½ sqrt(π/a) e^{1/(4a)} erfc(1/(2 sqrt a)), a = iωλ
    (mpmath at 30 digits)."""
    if omega == 0.0:
        return 1.0 + 0j
    with mpmath.workdps(30):
        a = 1j * mpmath.mpf(omega) * mpmath.mpf(lam)
        value = (mpmath.sqrt(mpmath.pi / a) / 2 * mpmath.exp(1 / (4 * a))
                 * mpmath.erfc(1 / (2 * mpmath.sqrt(a))))
        return complex(value)


@pytest.mark.parametrize("omega_max", [
    4.0,
    16.0,
    32.0,
    64.0,
])
def test_rule_error_bound_weibull_half_closed_form(omega_max: float) -> None:
    """Weibull shape 1/2 (a density singular at 0, completely monotone): the rule against
    an mpmath closed form. The reference is exact to ~1e-16 (30 digits; the only error
    is rounding ω and λ to doubles), so only 1e-13 slack is added to the kernel's own
    bound ``transform_error(omega_max)``."""
    law = delays.Weibull(shape=0.5, scale=1.0)
    kernel = DelayKernel(law)
    lam = float(kernel.law.scale)
    omega = np.linspace(0.0, omega_max, 33)
    reference = np.array([_weibull_half_transform(float(w), lam) for w in omega])
    error = np.abs(kernel.on_axis(omega) - reference)
    assert error.max() <= 1e-13 + kernel.transform_error(omega_max), (
        omega[np.argmax(error)], error.max(), kernel.transform_error(omega_max))


# =================================================================== derivative
@pytest.mark.parametrize("shape", [1.0, 2.0, 3.5, 12.0])
def test_with_derivative_gamma_closed_form(shape: float) -> None:
    """Mean-1 gamma: φ = (1 + zθ)^{−k}, φ' = −kθ (1 + zθ)^{−k−1}, θ = 1/k. The kernel
    uses a central difference with step h = 1e-5 max(1, |z|): truncation h²|φ'''|/6 and
    rounding eps|φ|/h are both ~1e-10 relative to |φ'| for these z (well inside the
    half-plane Re z > −k of convergence), so 1e-8 relative is a 100x margin."""
    kernel = DelayKernel(delays.Gamma(shape=shape, scale=4.0))
    theta = 1.0 / shape
    z = np.array([0.0, 0.5, 1j, 2.0 + 3.0j, -0.4 + 1.0j, 10j, 5.0 - 40.0j])
    value, slope = kernel.with_derivative(z)
    phi = (1.0 + z * theta) ** (-shape)
    dphi = -shape * theta * (1.0 + z * theta) ** (-shape - 1.0)
    np.testing.assert_allclose(value, phi, rtol=1e-13)
    np.testing.assert_allclose(slope, dphi, rtol=1e-8)


def test_with_derivative_rule_path_gamma_closed_form() -> None:
    """The quadrature path of ``with_derivative`` (``TransformRule.with_derivative``),
    forced by a staleness threshold so large that w ≡ 1: P(Poisson(u) <= 10^6) = 1 to
    double precision for every node u (the rule stops at the 1 − 1e-12 quantile, u < 40).
    So φ is the gamma transform again, with the rule's error (about 1e-12, bounded by
    transform_error); φ' = −Σ w_j x_j e^{−z x_j} integrates x dF̃ with the same rule,
    whose tail beyond the cut carries E[X̃; X̃ > cut] < 40·1e-12: 1e-10 absolute."""
    shape = 3.0
    kernel = DelayKernel(delays.Gamma(shape=shape, scale=1.0), updates_per_delay=1.0,
                         threshold=10**6)
    assert not kernel.fast
    assert abs(kernel.mass - 1.0) <= 1e-11
    z = np.array([0.0, 0.5, 1j, 2.0 + 3.0j, 0.3 + 10.0j])
    value, slope = kernel.with_derivative(z)
    theta = 1.0 / shape
    phi = (1.0 + z * theta) ** (-shape)
    dphi = -shape * theta * (1.0 + z * theta) ** (-shape - 1.0)
    bound = kernel.transform_error(10.0)
    assert np.abs(value - phi).max() <= bound + 1e-13
    assert np.abs(slope - dphi).max() <= 1e-10


@pytest.mark.parametrize("spec", ["lognormal:cv=0.5,mean=1", "weibull:shape=2,scale=1"])
def test_with_derivative_rule_path_matches_finite_difference(spec: str) -> None:
    """For a thinned kernel (rule path), φ' from the rule equals a central difference of
    ``transform`` along the real direction. A real step keeps |Im z|, hence the same
    cached rule: the difference is of one finite exponential sum, with truncation
    h²|φ'''|/6 ~ 1e-9 (|φ'''| <= E[X̃³] ~ 2 here) and rounding eps/h ~ 1e-12, so 1e-7
    relative (absolute 1e-9 near zeros)."""
    kernel = DelayKernel(delays.parse(spec), updates_per_delay=4.0, threshold=6,
                         policy=StepPolicy.parse("inverse"))
    z = np.array([0.2, 1.0 + 1.0j, 0.1 + 3.0j, 2.0 - 0.5j])
    h = 1e-4
    value, slope = kernel.with_derivative(z)
    fd = (kernel.transform(z + h) - kernel.transform(z - h)) / (2 * h)
    np.testing.assert_allclose(value, kernel.transform(z), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(slope, fd, rtol=1e-7, atol=1e-9)


def test_with_derivative_near_the_abscissa() -> None:
    """Mean-1 Erlang-3: φ = (1 + z/3)^{-3} is analytic for Re z > −3. Newton (roots.py)
    only keeps iterates with Re z > abscissa, so with_derivative must work there.
    Regression (found by this suite): the real central-difference step z − h crossed the
    abscissa and law.laplace raised ValueError. At z = −3 + 1e-6 φ ~ 1e19 and φ' ~ 1e25:
    1e-6 relative allows for any step of at most 1e-2 of the distance to the pole."""
    kernel = DelayKernel(delays.erlang(3, 1.0))
    z = np.array([-3.0 + 1e-6 + 0j, -2.99999 + 30.0j])
    assert np.all(np.isfinite(kernel.transform(z)))  # transform is fine here
    _, slope = kernel.with_derivative(z)
    # The central difference (step 1e-5) carries rounding ~eps·|φ|/h ≈ 1e-11 and truncation
    # h²|φ'''| ≈ 1e-10 in absolute terms: atol 1e-9 (Newton needs far less).
    np.testing.assert_allclose(slope, -(1.0 + z / 3.0) ** -4, rtol=1e-6, atol=1e-9)


# =================================================================== step policies
#: Mean staleness values: exactly 0, underflow-small, tiny (1e-12), around the inverse
#: policy's series switch at 1e-8, and 1e-4 .. 200.
M_TINY = np.array([0.0, 1e-300, 1e-12, 1e-9, 0.99e-8])
M_BULK = np.concatenate([[1e-4, 1e-3], np.geomspace(0.01, 200.0, 40), [200.0]])
M_ALL = np.concatenate([M_TINY, [1.01e-8, 1e-7, 1e-6, 1e-5], M_BULK])
#: Band where the inverse policy's closed form (pdtr(K+1, m) − e^{−m})/m used to cancel
#: (relative error ~eps/m, 1.1e-9 at m = 1e-8): a regression test below.
M_INVERSE_BAND = np.array([1.01e-8, 1e-7, 1e-6])
POLICIES = [StepPolicy(), StepPolicy("inverse"), StepPolicy("geometric", 0.9),
            StepPolicy("geometric", 0.5), StepPolicy("geometric", 1.0),
            StepPolicy("geometric", 1e-3)]
THRESHOLDS = [0, 1, 2, 5, 20, 100, None]
#: Brute-force truncation for K = None: P(Poisson(200) > 2000) < 1e-1000.
S_INF = 2000


def _brute_weight(policy: StepPolicy, m: np.ndarray, threshold: int | None) -> np.ndarray:
    s = np.arange((S_INF if threshold is None else threshold) + 1)
    g = policy.factor(s)
    return np.array([math.fsum(g * stats.poisson.pmf(s, mi)) for mi in m])


def _rel(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.abs(got - ref) / ref


@pytest.mark.parametrize("policy", POLICIES, ids=str)
@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_step_policy_weight_against_poisson_sum(policy: StepPolicy,
                                                threshold: int | None) -> None:
    """``E[g(S) 1{S <= K}]``, ``S ~ Poisson(m)``: the closed forms (regularised incomplete
    gamma via ``pdtr``) against Σ_{s<=K} g(s) Pois(s; m).

    Tolerance 1e-12 relative: both sides are double-precision sums (or incomplete gamma
    functions) of positive terms, so no cancellation; scipy's pmf is exp(s log m − m −
    lgamma(s+1)), whose exponent for the terms that matter (s <= ~400, m <= 200) is at
    most ~2000 in size, so each term carries ~2000 eps ≈ 4e-13 relative error, which a
    sum of positive terms keeps. (Measured: <= 1.1e-13.)"""
    m = M_ALL
    got = policy.weight(m, threshold)
    ref = _brute_weight(policy, m, threshold)
    assert got.shape == m.shape
    assert np.all(ref > 0)
    rel = _rel(got, ref)
    assert rel.max() <= 1e-12, (m[np.argmax(rel)], got[np.argmax(rel)], ref[np.argmax(rel)])
    assert got[0] == 1.0  # m = 0: S = 0 surely, g(0) = 1


@pytest.mark.parametrize("threshold", [0, 3, None])
def test_inverse_policy_weight_small_mean_staleness(threshold: int | None) -> None:
    """Regression (found by this suite): the same 1e-12 check on 1e-8 < m <= 1e-6, where
    the inverse policy's difference formula lost ~eps/m relative accuracy. Both sides
    are sums of positive terms there."""
    policy = StepPolicy("inverse")
    got = policy.weight(M_INVERSE_BAND, threshold)
    ref = _brute_weight(policy, M_INVERSE_BAND, threshold)
    assert _rel(got, ref).max() <= 1e-12


def test_step_policy_weight_large_threshold_is_the_untruncated_sum() -> None:
    """K = 10^4 (far beyond any Poisson(200) mass) equals K = None to rounding."""
    m = M_BULK
    for policy in POLICIES:
        np.testing.assert_allclose(policy.weight(m, 10**4), policy.weight(m, None),
                                   rtol=1e-13)


@pytest.mark.parametrize(("spec", "expected"), [
    ("constant", StepPolicy("constant")),
    ("inverse", StepPolicy("inverse")),
    ("  inverse ", StepPolicy("inverse")),
    ("geometric:0.9", StepPolicy("geometric", 0.9)),
    ("geometric:1", StepPolicy("geometric", 1.0)),
    ("geometric:1e-3", StepPolicy("geometric", 0.001)),
])
def test_step_policy_parse_valid(spec: str, expected: StepPolicy) -> None:
    policy = StepPolicy.parse(spec)
    assert policy == expected
    assert StepPolicy.parse(str(policy)) == policy
    assert policy.is_constant == (policy.name == "constant" or policy.gamma == 1.0)


@pytest.mark.parametrize(("spec", "message"), [
    ("", r"constant, inverse, geometric:GAMMA, exponential:BETA or tail:A"),
    ("bogus", r"constant, inverse, geometric:GAMMA, exponential:BETA or tail:A.*'bogus'"),
    ("Inverse", r"constant, inverse, geometric:GAMMA, exponential:BETA or tail:A"),
    ("geometric", r"geometric:0\.9"),
    ("geometric:", r"geometric:0\.9"),
    ("geometric:abc", r"geometric:0\.9.*'geometric:abc'"),
    ("geometric:0.5x", r"geometric:0\.9.*'geometric:0\.5x'"),
    ("geometric:0", r"geometric:0\.9.*'geometric:0'"),
    ("geometric:1.5", r"geometric:0\.9.*'geometric:1\.5'"),
    ("constant:3", r"constant step policy takes no argument.*'constant:3'"),
    ("inverse:0.5", r"inverse step policy takes no argument"),
])
def test_step_policy_parse_invalid(spec: str, message: str) -> None:
    """Every bad spec is a ValueError that names the valid form (the list of policies,
    the geometric:GAMMA syntax with an example, or the allowed range of γ)."""
    with pytest.raises(ValueError, match=message):
        StepPolicy.parse(spec)


@pytest.mark.parametrize("spec", ["geometric:0", "geometric:-0.5", "geometric:1.5",
                                  "geometric:nan", "geometric:inf"])
def test_step_policy_parse_out_of_range_gamma_names_the_range(spec: str) -> None:
    """A number outside (0, 1] is a number: the error should state the allowed range,
    as the constructor's own message does."""
    with pytest.raises(ValueError, match=r"0 < gamma <= 1"):
        StepPolicy.parse(spec)


def test_step_policy_constructor_validation() -> None:
    with pytest.raises(ValueError, match="takes no gamma"):
        StepPolicy("constant", 0.5)
    with pytest.raises(ValueError, match="0 < gamma <= 1"):
        StepPolicy("geometric", True)  # a bool is not a number here
    with pytest.raises(ValueError, match="0 < gamma <= 1"):
        StepPolicy("geometric")


# =================================================================== thinned kernels
RHOS = [0.1, 1.0, 3.7, 20.0, 100.0]
KS = [0, 1, 3, 10, 50]


@pytest.mark.parametrize("rho", RHOS)
@pytest.mark.parametrize("threshold", KS)
def test_thinned_exponential_mass_is_geometric(rho: float, threshold: int) -> None:
    """X̃ ~ Exp(1) and S | X̃ ~ Poisson(ρ X̃): S is geometric,
    P(S = s) = (1/(1+ρ)) (ρ/(1+ρ))^s, so φ(0) = P(S <= K) = 1 − (ρ/(1+ρ))^{K+1}.
    The kernel sums its quadrature rule, which leaves out at most 1e-12 of tail mass
    (RULE_TAIL): 1e-10 absolute."""
    kernel = DelayKernel(delays.Exponential(scale=2.5), updates_per_delay=rho,
                         threshold=threshold)
    expected = 1.0 - (rho / (1.0 + rho)) ** (threshold + 1)
    assert abs(kernel.mass - expected) <= 1e-10
    assert abs(complex(kernel.transform(0.0)) - kernel.mass) <= 1e-15
    assert not kernel.trivial
    assert not kernel.fast


@pytest.mark.parametrize("rho", RHOS)
@pytest.mark.parametrize("threshold", [0, 3, 10])
def test_thinned_exponential_mass_other_policies(rho: float, threshold: int) -> None:
    """Same mixing, weighted: E[g(S); S <= K] = Σ_{s<=K} p q^s g(s), p = 1/(1+ρ),
    q = ρ/(1+ρ) — a finite sum of positive terms (1e-10 absolute, as above)."""
    p, q = 1.0 / (1.0 + rho), rho / (1.0 + rho)
    s = np.arange(threshold + 1)
    for policy in (StepPolicy("inverse"), StepPolicy("geometric", 0.7)):
        kernel = DelayKernel(delays.Exponential(scale=1.0), updates_per_delay=rho,
                             threshold=threshold, policy=policy)
        expected = math.fsum(p * q**s * policy.factor(s))
        assert abs(kernel.mass - expected) <= 1e-10


@pytest.mark.parametrize("rho", RHOS)
@pytest.mark.parametrize("threshold", KS)
def test_thinned_point_delay_mass_is_poisson_cdf(rho: float, threshold: int) -> None:
    """A point delay (normalised to 1): S ~ Poisson(ρ), mass = P(Poisson(ρ) <= K), and the
    transform is that mass times e^{−z}."""
    kernel = DelayKernel(delays.Deterministic(value=4.0), updates_per_delay=rho,
                         threshold=threshold)
    expected = float(special.pdtr(threshold, rho))
    assert kernel.mass == pytest.approx(expected, rel=1e-14, abs=1e-300)
    assert kernel.point_delay
    z = np.array([0.0, 1j, 0.5 + 2.0j])
    np.testing.assert_allclose(kernel.transform(z), expected * np.exp(-z), rtol=1e-14)


def test_thinning_needs_updates_per_delay() -> None:
    law = delays.Exponential(scale=1.0)
    for rho in (None, 0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="updates_per_delay"):
            DelayKernel(law, updates_per_delay=rho, threshold=3)
        with pytest.raises(ValueError, match="updates_per_delay"):
            DelayKernel(law, updates_per_delay=rho, policy=StepPolicy("inverse"))
    # A plain kernel needs none, and geometric:1 is the constant policy.
    assert DelayKernel(law).trivial
    assert DelayKernel(law, policy=StepPolicy("geometric", 1.0)).trivial


def test_as_kernel() -> None:
    law = delays.Exponential(scale=1.0)
    kernel = DelayKernel(law, updates_per_delay=2.0, threshold=1)
    assert as_kernel(kernel) is kernel
    assert isinstance(as_kernel(law), DelayKernel)
    assert as_kernel(law).trivial
    with pytest.raises(ValueError, match="DelayLaw or DelayKernel"):
        as_kernel("exponential")  # type: ignore[arg-type]


# =================================================================== flags
@pytest.mark.parametrize(("law", "plain", "thresholded", "geometric", "inverse"), [
    (delays.parse("lognormal:cv=0.5,mean=1"), True, False, False, True),
    (delays.parse("pareto:shape=2.5,scale=1"), True, False, False, True),
    (delays.Weibull(shape=0.7, scale=1.0), True, False, False, True),
    (delays.parse("gamma:shape=2,mean=1"), False, False, False, False),
    (delays.Exponential(scale=1.0), False, False, False, False),
    (delays.parse("weibull:shape=2,scale=1"), False, False, False, False),
    (delays.Deterministic(value=1.0), False, False, False, False),
], ids=lambda v: str(v) if isinstance(v, DelayLaw) else None)
def test_heavy_tailed_flag(law: DelayLaw, plain: bool, thresholded: bool, geometric: bool,
                           inverse: bool) -> None:
    """Heavy-tailed = φ has no analytic continuation left of the axis. A threshold
    (w ~ e^{−ρu}) or a geometric policy with γ < 1 (w ~ e^{−(1−γ)ρu}) damps any tail; the
    inverse policy (w ~ 1/(ρu)) does not."""
    assert DelayKernel(law).heavy_tailed is plain
    assert DelayKernel(law, updates_per_delay=2.0, threshold=5).heavy_tailed is thresholded
    assert DelayKernel(law, updates_per_delay=2.0,
                       policy=StepPolicy("geometric", 0.9)).heavy_tailed is geometric
    assert DelayKernel(law, updates_per_delay=2.0,
                       policy=StepPolicy("inverse")).heavy_tailed is inverse


CM_LAWS = [
    delays.Exponential(scale=1.0),
    delays.Gamma(shape=0.5, scale=1.0),
    delays.Weibull(shape=0.7, scale=1.0),
    delays.Mixture(components=(delays.Exponential(scale=0.3), delays.Exponential(scale=4.0)),
                   weights=(0.6, 0.4)),
    delays.Mixture(components=(delays.Exponential(scale=0.1), delays.Gamma(shape=0.3, scale=2.0),
                               delays.Exponential(scale=10.0)), weights=(0.3, 0.3, 0.4)),
]
NOT_CM_LAWS = [
    delays.parse("shifted-exponential:shift=0.5,mean=1"),
    delays.Gamma(shape=2.0, scale=1.0),
    delays.Weibull(shape=1.5, scale=1.0),
    delays.Deterministic(value=1.0),
    delays.Mixture(components=(delays.Exponential(scale=1.0), delays.Gamma(shape=2.0, scale=1.0)),
                   weights=(0.5, 0.5)),
]


@pytest.mark.parametrize("law", CM_LAWS, ids=_ids)
def test_completely_monotone_laws_never_destabilise(law: DelayLaw) -> None:
    """Mixtures of exponentials: flagged, κ* = inf, and — independently of the flag, which
    is what critical_kappa short-cuts on — the argument-principle count finds no root in
    the closed right half-plane at κ = 1, 10, 50, and Re φ(iω) = E[cos ωX̃] > 0 on a grid
    (law.laplace: closed form or adaptive quadrature, accurate to ~1e-13, far below the
    smallest value of Re φ on the grid)."""
    kernel = DelayKernel(law)
    assert kernel.completely_monotone
    assert critical_kappa(law) == math.inf
    for kappa in (1.0, 10.0, 50.0):
        assert unstable_root_count(kappa, law) == 0
    omega = np.concatenate([np.linspace(0.0, 10.0, 41), [30.0, 100.0]])
    re_phi = np.real(np.asarray(law.normalized().laplace(1j * omega)))
    assert np.all(re_phi > 1e-6)
    # A threshold breaks the mixture structure: no longer flagged.
    assert not DelayKernel(law, updates_per_delay=1.0, threshold=2).completely_monotone


@pytest.mark.parametrize("law", NOT_CM_LAWS, ids=_ids)
def test_not_completely_monotone(law: DelayLaw) -> None:
    """Shifted, gamma/Weibull with shape > 1, point delays, and mixtures with such a
    component are not mixtures of exponentials; all but the mixture (whose density
    0.5(1 + x)e^{−x} is still monotone) have a finite threshold, so the flag must not
    be set on them."""
    assert not DelayKernel(law).completely_monotone
    if not isinstance(law, delays.Mixture):
        assert math.isfinite(critical_kappa(law))


def test_equilibrium_of_a_mixture_of_exponentials_is_completely_monotone() -> None:
    """The equilibrium density (1 − F)/μ of a mixture of exponentials is again one."""
    law = delays.Mixture(components=(delays.Exponential(scale=0.5),
                                     delays.Exponential(scale=3.0)), weights=(0.5, 0.5))
    assert DelayKernel(law.equilibrium()).completely_monotone
    assert not DelayKernel(delays.Gamma(shape=2.0, scale=1.0).equilibrium()).completely_monotone


@pytest.mark.parametrize("spec", ["lognormal:cv=1,mean=1", "pareto:shape=2.5,scale=1",
                                  "weibull:shape=2,scale=1"])
@pytest.mark.parametrize(("start", "step", "count"), [(0.0, 0.027, 1), (0.0, 0.027, 2),
                                                      (1.3, 0.01, 1025), (7.0, 0.3, 40)])
def test_re_on_grid_matches_direct_cosines(spec: str, start: float, step: float,
                                           count: int) -> None:
    """The three-term cosine recurrence against ``Σ w_j cos(ω_k x_j)`` evaluated directly on
    the same rule. Rounding grows at most like ``k² eps`` (k <= 1024: 2.3e-10 per unit
    weight, weights summing to 1), so 5e-10 absolute."""
    kernel = DelayKernel(delays.parse(spec))
    rule = kernel.rule(start + step * count)
    omega = start + step * np.arange(count)
    direct = np.cos(np.outer(omega, rule.nodes)) @ rule.weights
    grid = rule.re_on_grid(start, step, count)
    assert grid.shape == (count,)
    assert np.abs(grid - direct).max() <= 5e-10
