"""Example delay specs, kept import-free so ``sdde-analyze --help`` starts instantly."""

#: One example per family; shown in ``--help`` and in parse errors.
DELAY_SPEC_EXAMPLES = (
    "exponential:mean=1",
    "shifted-exp:shift=0.5,mean=1",
    "gamma:shape=2,mean=1",
    "erlang:k=3,mean=1",
    "uniform:low=0.5,high=1.5",
    "lognormal:mean=1,cv=0.5",
    "weibull:shape=1.5,mean=1",
    "pareto:shape=2.5,mean=1",
    "two-point:p=0.05,slowdown=10,mean=1",
    "deterministic:value=1",
    "trace:path/to/durations.txt",
)
