"""``sdde-analyze``: the command line. A thin adapter: strings → objects → report → text.

No mathematics lives here; everything printed comes from :mod:`sdde.cli.cluster_report`.
Bad input exits with code 2 and one line on stderr that says what to fix.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from sdde.delays._spec_examples import DELAY_SPEC_EXAMPLES

if TYPE_CHECKING:
    from pathlib import Path

    from sdde._progress import TerminalProgress
    from sdde.cli.cluster_report import ClusterReport
    from sdde.cluster.cluster import Cluster
    from sdde.delays import DelayLaw
    from sdde.literature.injection import InjectionReport
    from sdde.literature.sparse_sgd import SparsificationReport
    from sdde.model.async_sgd import AsyncSGDModel
    from sdde.model.spectrum import HessianSpectrum
    from sdde.simulator.sparsification import Sparsifier
    from sdde.stability.chart import StabilityChart
    from sdde.stability.report import StabilityReport
    from sdde.validation.simulation_report import SimulationReport

# The command's linear algebra is small (matrices of a few hundred rows), where one BLAS
# thread is fastest; several threads on a busy machine made one eigenvalue call 20×
# slower. Set before numpy is first imported (the user's own setting wins).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

PROG = "sdde-analyze"
DEFAULT_DELAY = "shifted-exp:shift=0.5,mean=1"
EXIT_USAGE = 2
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad command-line input; its message is one line telling what to fix."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    examples = "\n".join(f"  {e}" for e in DELAY_SPEC_EXAMPLES)
    p = _Parser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Will asynchronous SGD on this cluster converge, and how fast? "
                    "Reports gradient arrival rate, run time and staleness "
                    "(Poisson approximation next to the exact law), then the stability "
                    "verdict of the real server for the learning rate and loss curvature: "
                    "where a run diverges (almost surely) and where E θ² grows (mean "
                    "square), beside the mean-field threshold κ*; max stable learning "
                    "rate and workers, fastest worker count, decay rate, loss floor and "
                    "time to a target loss.",
        epilog=f"delay specs (time units are yours; mean defaults to 1):\n{examples}\n\n"
               "examples:\n"
               f"  {PROG} --workers 32 --lr 0.01\n"
               "      is it safe, how fast, how many workers? (one Hessian mode, h = 1)\n"
               f"  {PROG} --workers 32 --lr 0.08\n"
               "      past the edge: DIVERGES, and by how much to lower the learning rate\n"
               f"  {PROG} --workers 32 --lr 0.005 --hessian 0.1:10:20:log --noise 1 "
               "--target-loss 0.5\n"
               "      20 curvatures with gradient noise: loss floor, time to a loss of 0.5\n"
               f"  {PROG} --workers 32 --lr 0.01 --hessian density:spectrum.txt\n"
               "      your network's Hessian density (lines 'h weight [noise]', up to 10^6)\n"
               f"  {PROG} --workers 24:gamma:shape=4,mean=1 8:exponential:mean=3\n"
               "      mixed hardware: two groups, each group's worker limits\n"
               f"  {PROG} --workers 64 --delay lognormal:mean=1,cv=1 --threshold 200\n"
               "      heavy-tailed rounds, stale gradients dropped past a cut-off K = 200\n"
               f"  {PROG} --workers 8 --lr 0.1 --simulate --plot out/\n"
               "      the model beside the exact simulated server, with figures\n"
               f"  {PROG} --workers 32 --lr 0.05 --sweep --plot out/\n"
               "      where the edge is, over workers x learning rate\n"
               f"  {PROG} --workers 24:gamma:shape=4,mean=1 8:exponential:mean=3 "
               "--hessian 0.1:10:20:log --noise 1 --target-loss 0.5 --optimize\n"
               "      the fastest safe schedule: workers, cut-off, step policy, learning rate",
    )
    p.add_argument("--workers", nargs="+", default=["32"], metavar="N|N:SPEC",
                   help="number of workers (default 32), or groups such as "
                        "'24:gamma:shape=4,mean=1 8:exponential:mean=3'")
    p.add_argument("--lr", type=_positive_float("--lr"), default=0.01,
                   help="learning rate η (default 0.01), e.g. --lr 0.05")
    p.add_argument("--delay", default=DEFAULT_DELAY, metavar="SPEC",
                   help=f"round-time law of each worker (default {DEFAULT_DELAY}), "
                        "e.g. --delay gamma:shape=2,mean=1")
    p.add_argument("--threshold", type=_whole("--threshold", 0), default=None, metavar="K",
                   help="staleness cut-off K: drop gradients more than K updates stale, "
                        "e.g. --threshold 40")
    p.add_argument("--bandwidth", default=None, metavar="size=S,capacity=C",
                   help="shared link: each round gains n·S/C time units, "
                        "e.g. --bandwidth size=1,capacity=200")
    p.add_argument("--updates", type=_whole("--updates", 1), default=10_000, metavar="T",
                   help="quote the run time for T updates, and simulate T updates with "
                        "--simulate (default 10000)")
    p.add_argument("--exact", action=argparse.BooleanOptionalAction, default=True,
                   help="also compute the exact staleness law (default on)")
    p.add_argument("--gradients", type=_whole("--gradients", 1), default=200_000,
                   metavar="N", help="gradients to simulate when the exact law has no "
                                     "closed form (default 200000)")
    p.add_argument("--seed", type=_whole("--seed", 0), default=0,
                   help="seed of every random draw (default 0): same seed, same output")
    p.add_argument("--hessian", default="1", metavar="SPEC",
                   help="loss curvatures (Hessian eigenvalues): a value, a list '0.1,1,10', "
                        "a range 'lo:hi:n[:log]', file:PATH (eigenvalues) or density:PATH "
                        "(lines 'h weight [noise]': a weighted density such as stochastic "
                        "Lanczos quadrature's, with per-node noise; default 1)")
    p.add_argument("--noise", type=_nonnegative_float("--noise"), default=0.0, metavar="C",
                   help="gradient-noise variance per mode (default 0), e.g. --noise 0.5")
    p.add_argument("--step-policy", "--policy", dest="policy", default="constant",
                   metavar="NAME",
                   help="staleness-dependent step: constant (default), inverse "
                        "(η/(1+s)), geometric:GAMMA (η·GAMMA^s), exponential:BETA "
                        "(η·exp(−BETA·s)), tail:A (η·(1 + A(1 − 2F(s))), F the staleness "
                        "CDF) or mindthestep:BETA[:T] (η·T·exp(−BETA·s)/E[exp(−BETA·S)]), "
                        "e.g. --step-policy geometric:0.9")
    p.add_argument("--target-loss", type=_positive_float("--target-loss"), default=None,
                   metavar="EPS", help="also report the time until the expected loss is "
                                       "below EPS")
    p.add_argument("--initial-error", type=_nonnegative_float("--initial-error"),
                   default=1.0, metavar="X0",
                   help="initial distance from the optimum along every mode (default 1)")
    p.add_argument("--simulate", action="store_true",
                   help="also run the exact async-SGD simulator (--replicas runs of "
                        "--updates updates) and show it beside the model, e.g. "
                        "--simulate --replicas 8")
    p.add_argument("--replicas", type=_whole("--replicas", 1), default=8, metavar="R",
                   help="independent simulated runs with --simulate (default 8), e.g. "
                        "--replicas 32 for tighter intervals")
    p.add_argument("--sweep", action="store_true",
                   help="a workers × learning-rate stability chart around your setting "
                        "(n/8 … 8n workers, η/64 … 64η)")
    p.add_argument("--out", default=None, metavar="FILE.nc",
                   help="with --sweep: run the sweep over the --sweep-* grid (or the chart's) "
                        "and save it as a labelled netCDF dataset (xarray), e.g. "
                        "--sweep --out results.nc; with --simulate, a simulation sweep. "
                        "Interrupted, it resumes where it stopped when run again")
    p.add_argument("--sweep-workers", default=None, metavar="LIST|LO:HI:N[:log]",
                   help="worker counts of the --out sweep (default n/8 … 8n), e.g. "
                        "4,8,16 or 2:256:30:log")
    p.add_argument("--sweep-lr", default=None, metavar="LIST|LO:HI:N[:log]",
                   help="learning rates of the --out sweep (default η/64 … 64η), e.g. "
                        "1e-4:1e-1:50:log")
    p.add_argument("--sweep-delay", nargs="+", default=None, metavar="SPEC",
                   help="round-time laws of the --out sweep (default --delay), e.g. "
                        "--sweep-delay gamma:shape=2,mean=1 exponential:mean=1")
    p.add_argument("--sweep-threshold", default=None, metavar="LIST",
                   help="staleness thresholds of the --out sweep, 'none' for no threshold "
                        "(default --threshold), e.g. none,20,40")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the --out sweep on this Dask scheduler (needs the "
                        "'distributed' extra), e.g. tcp://10.0.0.5:8786; default: local "
                        "processes")
    p.add_argument("--inject", type=_inject_staleness, default=None, metavar="K",
                   help="also predict delay injection (sequential SGD whose gradients are "
                        "uniformly 0..K updates stale) on the --hessian/--noise quadratic: "
                        "iterations to the target loss relative to no staleness, and its "
                        "thresholds, e.g. --inject 16")
    p.add_argument("--sparsify", type=_sparsifier, default=None,
                   metavar="random|top:F[:ef]",
                   help="also predict sparsified pushes: each push carries a share F of the "
                        "coordinates (random-k or top-k), ':ef' with error feedback, e.g. "
                        "--sparsify random:0.1:ef")
    p.add_argument("--dim", type=_whole("--dim", 1), default=None, metavar="D",
                   help=f"coordinates of the model, for --sparsify (k = F·D rounded; default "
                        f"{DEFAULT_DIM})")
    p.add_argument("--optimize", action="store_true",
                   help="schedule the cluster: which workers of each --workers group, which "
                        "staleness cut-off, step policy and learning rate reach "
                        "--target-loss soonest (or decay fastest) while a run stays "
                        "--margin below the divergence thresholds; --lr is your current "
                        "setting, compared; with --simulate the choices are simulated")
    p.add_argument("--margin", type=_fraction("--margin"), default=0.2, metavar="M",
                   help="with --optimize: safety margin below the almost-sure (and, with a "
                        "target or noise, mean-square) threshold (default 0.2 = 20%%)")
    p.add_argument("--cutoffs", default="none", metavar="LIST|auto",
                   help="with --optimize: staleness cut-offs to try, 'none' for no cut-off "
                        "(default none), e.g. none,40,80; 'auto' adds the 90%% and 99%% "
                        "staleness quantiles of the best subset")
    p.add_argument("--policies", default="constant", metavar="LIST",
                   help="with --optimize: step policies to try (default constant), e.g. "
                        "constant,tail:0.5")
    p.add_argument("--plot", default=None, metavar="DIR",
                   help="write PNG figures into DIR: stability chart, rightmost roots, "
                        "staleness law, loss curve, e.g. --plot figures/")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object instead of the table")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sdde-analyze``; returns the exit code (0 success, 2 bad input)."""
    from sdde.cli.terminal import make_encodable, quiet_warnings

    make_encodable(sys.stdout, sys.stderr)
    try:
        with quiet_warnings(PROG):
            args = build_parser().parse_args(argv)
            return _run(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help exits through argparse
        return int(exc.code or 0)
    except KeyboardInterrupt:  # Ctrl-C: no traceback, the shell's exit code
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        sys.stderr.close()
        return 0
    except Exception as exc:  # a bug in sdde: one line, and a way to report it
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc} "
              "(please report this with the command line)", file=sys.stderr)
        return EXIT_INTERNAL


def _run(args: argparse.Namespace) -> int:
    _check_sweep_options(args)
    _check_contract(args)
    # Everything a user typed is parsed and checked before the analysis layers (and most
    # of SciPy) are imported, so bad input is refused in a fraction of a second.
    groups = _groups_from_args(args)
    spectrum = _spectrum_from_args(args)

    import numpy as np

    from sdde._version import __version__
    from sdde.cli.cluster_report import analyze_cluster
    from sdde.model._contract import check_gains
    from sdde.stability.report import analyze_stability

    cluster = _cluster_from_args(args, groups)
    model = _model_from_args(args, cluster, spectrum)
    if args.sparsify is not None:
        _check_sparsify(args, model)
    elif args.dim is not None:
        raise UsageError("--dim sets the coordinates --sparsify chooses from: add --sparsify")
    if args.optimize:
        return _optimize(args, cluster, model)
    try:
        check_gains(model.lr, model.n_workers, model.spectrum.eigenvalues)
    except ValueError as exc:
        raise UsageError(f"--{exc}") from None
    _check_optimize_options(args)
    if args.simulate:
        _check_simulation_memory(args, model)
    planned = _planned_sweep(args, model) if args.out else None
    bar = _progress_bar("exact staleness law", args)
    try:
        report = analyze_cluster(cluster, updates=args.updates, exact=args.exact,
                                 rng=np.random.default_rng(args.seed),
                                 n_gradients=args.gradients, progress=bar)
    except ValueError as exc:
        raise _usage_error(exc) from None
    finally:
        bar.close()
    bar = _progress_bar("stability analysis", args)
    try:
        stability = analyze_stability(model, target_loss=args.target_loss,
                                      initial_error=args.initial_error, progress=bar)
    except ValueError as exc:
        raise _usage_error(exc) from None
    finally:
        bar.close()
    from sdde.literature.synchrony import compare_synchronous

    synchronous = compare_synchronous(model, stability.decay_rate)
    simulation = _simulation(args, model, stability) if args.simulate else None
    injection = _injection(args, model) if args.inject is not None else None
    sparsification = (_sparsification(args, model, stability) if args.sparsify is not None
                      else None)
    chart = _chart(args, model) if args.sweep or args.plot else None
    saved = None if planned is None else _sweep_to_file(args, *planned)
    plots = _plots(args, model, report, chart, simulation, stability) if args.plot else []
    inputs = {"workers": args.workers, "lr": args.lr, "delay": args.delay,
              "threshold": args.threshold, "bandwidth": args.bandwidth,
              "updates": args.updates, "exact": args.exact, "seed": args.seed,
              "hessian": args.hessian, "noise": args.noise, "policy": args.policy,
              "target_loss": args.target_loss, "initial_error": args.initial_error,
              "simulate": args.simulate, "replicas": args.replicas, "sweep": args.sweep,
              "out": args.out, "scheduler": args.scheduler, "plot": args.plot,
              "inject": args.inject,
              "sparsify": None if args.sparsify is None else str(args.sparsify),
              "dim": (args.dim or DEFAULT_DIM) if args.sparsify is not None else None}
    if args.json:
        out = {"sdde_version": __version__, "inputs": inputs, **report.to_dict(),
               "stability": stability.to_dict(),
               "synchronous": synchronous.to_dict(),
               "simulation": None if simulation is None else simulation.to_dict(),
               "sweep": None if chart is None or not args.sweep else chart.to_dict(),
               "sweep_file": saved,
               "injection": None if injection is None else injection.to_dict(),
               "sparsification": (None if sparsification is None
                                  else sparsification.to_dict()),
               "plots": [str(p) for p in plots]}
        print(json.dumps(out, allow_nan=False))
    else:
        print(f"sdde {__version__} · learning rate η = {args.lr:g} · seed {args.seed}")
        print(report.summary())
        print(stability.summary())
        print(synchronous.summary())
        if injection is not None:
            print(injection.summary())
        if sparsification is not None:
            print(sparsification.summary())
        if simulation is not None:
            print(simulation.summary())
        if chart is not None and args.sweep:
            print(chart.summary((model.n_workers, model.lr)))
        if saved is not None:
            sizes = " × ".join(f"{n} {d}" for d, n in saved["sizes"].items())
            print(f"sweep ({saved['analysis']}): {sizes} = {saved['points']} points in "
                  f"{saved['seconds']:.1f} s, written to {saved['path']}")
        if plots:
            print(f"figures written: {', '.join(str(p) for p in plots)}")
    return 0


def _check_contract(args: argparse.Namespace) -> None:
    """The model's numbers against the input contract (docs/cli.md), before any work."""
    from sdde.model._contract import MAX_WORKERS, TARGET_MAX, TARGET_MIN, check_value

    total = sum(_whole("--workers", 1)(token.partition(":")[0]) for token in args.workers)
    if total > MAX_WORKERS:
        raise UsageError(f"--workers: at most {MAX_WORKERS:,} workers in all (the input "
                         f"contract: tables and simulations grow with the count), got "
                         f"{total:,}")
    try:
        check_value("--lr", args.lr, example="0.01")
        check_value("--noise", args.noise, zero_ok=True, example="0.5")
        check_value("--initial-error", args.initial_error, zero_ok=True, example="1")
        if args.target_loss is not None:
            check_value("--target-loss", args.target_loss, low=TARGET_MIN, high=TARGET_MAX,
                        example="0.01")
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _check_simulation_memory(args: argparse.Namespace, model: AsyncSGDModel) -> None:
    """Refuse a --simulate run that would not fit in memory, naming one that would."""
    from sdde._resources import gib, memory_budget
    from sdde.simulator.server import simulation_bytes
    from sdde.validation.simulation_report import RECORDS

    def need(updates: int) -> int:
        return simulation_bytes(model, n_updates=updates, replicas=args.replicas,
                                record_every=max(1, updates // RECORDS))

    budget = memory_budget()
    if need(args.updates) <= budget:
        return
    if need(1) > budget:  # even one update per run is too much: the runs themselves
        raise UsageError(f"--simulate: {args.replicas:,} runs need about {gib(need(1))} "
                         f"before the first update, more than half of the "
                         f"{gib(2 * budget)} this machine has available: use fewer "
                         "--replicas")
    lo, hi = 1, args.updates  # the most updates that fit: need() grows with updates
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if need(mid) <= budget else (lo, mid)
    fits = lo
    runs = f"{args.replicas} runs" if args.replicas > 1 else "one run"
    raise UsageError(f"--simulate: {runs} of {args.updates:,} updates need about "
                     f"{gib(need(args.updates))}, more than half of the {gib(2 * budget)} "
                     f"this machine has available: use --updates {fits:,} or fewer (or "
                     "fewer --replicas)")


def _check_optimize_options(args: argparse.Namespace) -> None:
    """Options that only mean something with --optimize."""
    given = [o for o, v, default in (("--margin", args.margin, 0.2),
                                     ("--cutoffs", args.cutoffs, "none"),
                                     ("--policies", args.policies, "constant"))
             if v != default]
    if given:
        raise UsageError(f"{given[0]} sets up the scheduler: add --optimize")


def _optimize(args: argparse.Namespace, cluster: Cluster, model: AsyncSGDModel) -> int:
    """``--optimize``: the scheduler over the --workers groups, and its check."""
    import numpy as np

    from sdde._version import __version__
    from sdde.schedule.optimizer import schedule

    for option, flag in (("--sweep", args.sweep), ("--inject", args.inject is not None),
                         ("--sparsify", args.sparsify is not None)):
        if flag:
            raise UsageError(f"--optimize cannot be combined with {option}: run them "
                             "separately")
    cutoffs = _cutoff_list(args.cutoffs, cluster)
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    if not policies:
        raise UsageError("--policies: give step policies such as constant,tail:0.5")
    bar = _progress_bar("scheduling", args)
    try:
        noise = model.noise if isinstance(model.noise, float) else [
            float(c) for c in np.asarray(model.noise)]
        result = schedule(cluster.groups, model.spectrum, noise=noise,
                          target_loss=args.target_loss, initial_error=args.initial_error,
                          margin=args.margin, thresholds=cutoffs, policies=policies,
                          link=cluster.link, lr=args.lr, rng=np.random.default_rng(args.seed),
                          progress=bar)
    except ValueError as exc:
        raise UsageError(f"--optimize: {exc}") from None
    finally:
        bar.close()
    check = None
    if args.simulate:
        if args.target_loss is None:
            raise UsageError("--optimize --simulate measures the time to a target loss: "
                             "add --target-loss EPS")
        from sdde.validation.schedule_check import check_schedule

        bar = _progress_bar("simulating the choices", args)
        try:
            check = check_schedule(result, model.spectrum, noise=model.noise,
                                   rng=np.random.default_rng([args.seed, 2]),
                                   replicas=args.replicas, initial_error=args.initial_error,
                                   link=cluster.link, progress=bar)
        finally:
            bar.close()
    plots = []
    if args.plot:
        from sdde.cli.plots import write_schedule_plots

        try:
            plots = write_schedule_plots(args.plot, result)
        except OSError as exc:
            raise UsageError(f"--plot: cannot write into {args.plot!r}: "
                             f"{exc.strerror or exc}") from None
    command = _command_for(args, result)
    if args.json:
        out = {"sdde_version": __version__, "schedule": result.to_dict(),
               "command": command,
               "check": None if check is None else [r.to_dict(result) for r in check.rows],
               "chosen_is_fastest": None if check is None else check.chosen_is_fastest,
               "plots": [str(p) for p in plots]}
        print(json.dumps(out, allow_nan=False))
        return 0
    print(f"sdde {__version__} · scheduling · seed {args.seed}")
    print(result.summary())
    print(f"  the chosen setting's full report: {command}")
    if check is not None:
        print(f"Simulated ({args.replicas} runs each; time to loss {args.target_loss:g})")
        print(check.summary())
    if plots:
        print(f"figures written: {', '.join(str(p) for p in plots)}")
    return 0


def _cutoff_list(text: str, cluster: Cluster) -> list[int | None] | Literal["auto"]:
    """``--cutoffs``: ``auto``, or a list of whole numbers and ``none``."""
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    if items == ["auto"]:
        return "auto"
    if not items:
        raise UsageError("--cutoffs: give cut-offs such as none,40 or auto")
    values: list[int | None] = [None if t == "none" else _whole("--cutoffs", 0)(t)
                                for t in items]
    if cluster.threshold is not None:
        values.append(cluster.threshold)
    return list(dict.fromkeys(values))


def _command_for(args: argparse.Namespace, result: Any) -> str:
    """The sdde-analyze command line of the chosen setting."""
    best = result.best
    groups = [f"{n}:{g.delay}" for n, g in zip(best.candidate.counts, result.groups,
                                               strict=True) if n > 0]
    parts = [PROG, "--workers", *groups, "--lr", f"{best.lr:.4g}"]
    if best.candidate.threshold is not None:
        parts += ["--threshold", str(best.candidate.threshold)]
    if best.candidate.policy != "constant":
        parts += ["--step-policy", best.candidate.policy]
    for option, value, default in (("--hessian", args.hessian, "1"),
                                   ("--noise", args.noise, 0.0),
                                   ("--target-loss", args.target_loss, None),
                                   ("--initial-error", args.initial_error, 1.0),
                                   ("--bandwidth", args.bandwidth, None)):
        if value != default:
            parts += [option, f"{value:g}" if isinstance(value, float) else str(value)]
    return " ".join(parts)


def _check_sweep_options(args: argparse.Namespace) -> None:
    """The --out sweep's options, checked before any long work starts."""
    given = [o for o, v in (("--sweep-workers", args.sweep_workers), ("--sweep-lr", args.sweep_lr),
                            ("--sweep-delay", args.sweep_delay),
                            ("--sweep-threshold", args.sweep_threshold),
                            ("--scheduler", args.scheduler)) if v is not None]
    if args.out is None and given:
        raise UsageError(f"{given[0]} sets up a saved sweep: add --sweep --out FILE.nc")
    if args.out is not None and not args.sweep:
        raise UsageError("--out saves a sweep: add --sweep (and the --sweep-* grid you want)")
    if args.out is not None and (len(args.workers) != 1 or ":" in args.workers[0]):
        raise UsageError("--sweep --out varies one worker count: give --workers N and the "
                         "law with --delay or --sweep-delay")
    if args.out is not None and args.bandwidth is not None:
        raise UsageError("--sweep --out does not model a shared link yet: drop --bandwidth")


def sweep_grid(args: argparse.Namespace, model: AsyncSGDModel) -> dict[str, list]:
    """The --out sweep's grid from the options (defaults: the chart around the setting)."""
    from sdde.stability.chart import chart_axes

    default_workers, default_lrs = chart_axes(model.n_workers, model.lr)
    workers = (_grid_values("--sweep-workers", args.sweep_workers, whole=True)
               if args.sweep_workers is not None else default_workers.tolist())
    lrs = (_grid_values("--sweep-lr", args.sweep_lr, whole=False)
           if args.sweep_lr is not None else default_lrs.tolist())
    laws = list(args.sweep_delay) if args.sweep_delay is not None else [args.delay]
    if args.sweep_threshold is not None:
        thresholds: list = [None if t.strip().lower() == "none"
                            else _whole("--sweep-threshold", 0)(t.strip())
                            for t in args.sweep_threshold.split(",") if t.strip()]
    else:
        thresholds = [args.threshold]
    return {"law": laws, "workers": [int(w) for w in workers],
            "lr": [float(x) for x in lrs], "threshold": thresholds}


def _planned_sweep(args: argparse.Namespace, model: AsyncSGDModel) -> tuple[Any, dict, int]:
    """The --out sweep's analysis and grid, checked before any long work starts."""
    from pathlib import Path

    from sdde.sweeps._store import check_output
    from sdde.sweeps.analyses import SimulationAnalysis, StabilityAnalysis
    from sdde.sweeps.engine import check_sweep

    analysis = (SimulationAnalysis(replicas=args.replicas, updates=args.updates,
                                   hessian=args.hessian, noise=args.noise, policy=args.policy)
                if args.simulate else StabilityAnalysis(hessian=args.hessian, policy=args.policy))
    grid = sweep_grid(args, model)
    try:
        plan = check_sweep(analysis, grid, executor=args.scheduler, seed=args.seed)
    except ValueError as exc:
        raise UsageError(f"--sweep: {exc}") from None
    out = Path(args.out)
    # the chunks and the file each hold every output at every point (8 bytes at most)
    n_bytes = 2 * plan.points * len(analysis.outputs) * 8
    try:
        check_output(out, out.parent / f"{out.name}.parts", n_bytes)
    except ValueError as exc:
        raise UsageError(f"--out: {exc}") from None
    return analysis, grid, plan.chunks


def _sweep_to_file(args: argparse.Namespace, analysis: Any, grid: dict, chunks: int) -> dict:
    """Run the --out sweep (resumable through ``FILE.nc.parts/``) and write the dataset."""
    import shutil
    import time
    from pathlib import Path

    from sdde.sweeps._store import SweepWriteError, write_dataset
    from sdde.sweeps.engine import sweep

    out = Path(args.out)
    store = out.with_name(out.name + ".parts")

    def note(text: str) -> None:
        print(f"{PROG}: note: {text}", file=sys.stderr)

    def write_failed(exc: SweepWriteError) -> UsageError:
        return UsageError(f"--out: cannot write {exc.filename!r}: {exc.strerror}; the "
                          f"finished chunks are kept in {str(store)!r} for resuming: free "
                          "some space (or restore access) and run the same command again")

    bar = _progress_bar(f"sweep ({analysis.name}, chunks)", args)
    bar.total = chunks
    start = time.monotonic()
    try:
        dataset = sweep(analysis, grid, executor=args.scheduler, store=store, seed=args.seed,
                        progress=bar, notice=note)
    except ValueError as exc:
        raise UsageError(f"--sweep: {exc}") from None
    except SweepWriteError as exc:
        raise write_failed(exc) from None
    except OSError as exc:
        if not isinstance(args.scheduler, str):
            raise
        reason = " ".join(str(exc).split()) or type(exc).__name__  # Dask's, on one line
        raise UsageError(f"--scheduler: {reason}; start the scheduler, or drop --scheduler "
                         "to run on this machine") from None
    except KeyboardInterrupt:
        print(f"{PROG}: finished chunks are kept in {store}: run the same command again "
              "to resume", file=sys.stderr)
        raise
    finally:
        bar.close()
    try:
        write_dataset(dataset, out)
    except SweepWriteError as exc:
        raise write_failed(exc) from None
    shutil.rmtree(store, ignore_errors=True)
    return {"path": str(out), "analysis": analysis.name, "sizes": dict(dataset.sizes),
            "points": int(dataset[next(iter(dataset.data_vars))].size),
            "seconds": time.monotonic() - start}


def _grid_values(option: str, text: str, *, whole: bool) -> list[float]:
    """``a,b,c`` or ``lo:hi:n[:log]`` (whole numbers rounded and made distinct)."""
    import numpy as np

    convert = _whole(option, 1) if whole else _positive_float(option)
    if ":" in text:
        parts = text.split(":")
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "log"):
            raise UsageError(f"{option}: expected LO:HI:N or LO:HI:N:log, got {text!r}")
        lo, hi = _positive_float(option)(parts[0]), _positive_float(option)(parts[1])
        n = _whole(f"{option} N", 1)(parts[2])
        if hi < lo:
            raise UsageError(f"{option}: LO must not exceed HI, got {text!r}")
        values = np.geomspace(lo, hi, n) if len(parts) == 4 else np.linspace(lo, hi, n)
        if whole:
            return sorted({int(v) for v in np.round(values)})
        return sorted({float(v) for v in values})
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise UsageError(f"{option}: give values such as 1,2,4 or a range LO:HI:N, got {text!r}")
    values_list = [convert(t) for t in items]
    if len(set(values_list)) != len(values_list):
        raise UsageError(f"{option}: a value is repeated in {text!r}")
    return values_list


def _progress_bar(label: str, args: argparse.Namespace) -> TerminalProgress:
    """A progress bar on stderr if it is a terminal (with ``--json`` too)."""
    from sdde._progress import TerminalProgress

    del args  # drawn with --json too: the bar goes to stderr, the JSON to stdout
    return TerminalProgress(label)


def _simulation(args: argparse.Namespace, model: AsyncSGDModel,
                stability: StabilityReport) -> SimulationReport:
    import numpy as np

    from sdde.validation.simulation_report import simulate_report

    # its own stream, so adding --simulate does not change the other figures
    rng = np.random.default_rng([args.seed, 1])
    bar = _progress_bar("simulation", args)
    try:
        return simulate_report(model, updates=args.updates, replicas=args.replicas,
                               rng=rng, initial_error=args.initial_error,
                               target_loss=args.target_loss, stability=stability,
                               progress=bar)
    finally:
        bar.close()


def _injection(args: argparse.Namespace, model: AsyncSGDModel) -> InjectionReport:
    """``--inject K``: delay injection on the quadratic of --hessian, --noise, --lr."""
    from sdde.literature.injection import analyze_injection
    from sdde.simulator.objectives import QuadraticObjective

    spectrum = model.spectrum
    if args.updates > MAX_INJECT_UPDATES:
        raise UsageError(f"--inject predicts every one of --updates updates (O(K) each): at "
                         f"most {MAX_INJECT_UPDATES:,}, got {args.updates:,}")
    try:
        return analyze_injection(
            QuadraticObjective(curvatures=spectrum.eigenvalues, noise=args.noise),
            lr=args.lr, max_staleness=args.inject, n_updates=args.updates,
            theta0=args.initial_error, weights=spectrum.weights, target=args.target_loss)
    except ValueError as exc:
        raise UsageError(f"--inject: {str(exc).replace('n_updates', '--updates')}") from None


def _check_sparsify(args: argparse.Namespace, model: AsyncSGDModel) -> None:
    """--sparsify's setting, checked before any long work starts."""
    from sdde.literature.sparse_sgd import sparsified_model

    if args.simulate or args.sweep:
        option = "--simulate" if args.simulate else "--sweep"
        raise UsageError(f"--sparsify cannot be combined with {option} yet: the simulation "
                         "and sweeps are of the unsparsified setting (compare with "
                         "sdde.validation.sparse_check.time_to_target_check)")
    try:
        sparsified_model(model, args.sparsify, args.dim or DEFAULT_DIM)
    except ValueError as exc:
        raise UsageError(f"--sparsify: {exc}") from None


def _sparsification(args: argparse.Namespace, model: AsyncSGDModel,
                    stability: StabilityReport) -> SparsificationReport:
    """``--sparsify SPEC``: the sparsified model of the same setting."""
    from sdde.literature.sparse_sgd import analyze_sparsified

    try:
        return analyze_sparsified(model, args.sparsify, dim=args.dim or DEFAULT_DIM,
                                  target_loss=args.target_loss,
                                  initial_error=args.initial_error)
    except ValueError as exc:
        raise UsageError(f"--sparsify: {exc}") from None


def _chart(args: argparse.Namespace, model: AsyncSGDModel) -> StabilityChart | None:
    from sdde.stability.chart import chart_around

    if len(model.cluster.groups) != 1:
        if args.sweep:
            raise UsageError("--sweep needs a single worker group (the chart varies one "
                             "worker count); drop --sweep or use one group")
        return None
    return chart_around(model)


def _plots(args: argparse.Namespace, model: AsyncSGDModel, report: ClusterReport,
           chart: StabilityChart | None, simulation: SimulationReport | None,
           stability: StabilityReport) -> list[Path]:
    import numpy as np

    from sdde.cli.plots import write_plots
    from sdde.stability.report import MAX_SOLVED_MODES, loss_curve, rightmost_roots
    from sdde.validation.simulation_report import CURVE_POINTS, predicted_loss

    # chart is None for several worker groups: write_plots then leaves that figure out
    if simulation is not None and simulation.t.size:
        t, predicted, simulated = simulation.t, simulation.predicted_loss, simulation.loss
    else:
        t = np.linspace(0.0, args.updates / model.cluster.accepted_rate, CURVE_POINTS)
        # exact moments mode by mode for a few modes; from the roots for large spectra
        predicted = (predicted_loss(model, t, args.initial_error)
                     if model.spectrum.n_modes <= MAX_SOLVED_MODES
                     else loss_curve(stability, t, args.initial_error))
        simulated = None
    try:
        return write_plots(args.plot, chart=chart, point=(model.n_workers, model.lr),
                           roots=rightmost_roots(model), cluster=report, t=t,
                           predicted_loss=predicted, simulated_loss=simulated,
                           target=args.target_loss, n_modes=model.spectrum.n_modes)
    except OSError as exc:
        raise UsageError(f"--plot: cannot write into {args.plot!r}: {exc.strerror or exc}"
                         ) from None


def _spectrum_from_args(args: argparse.Namespace) -> HessianSpectrum:
    """``--hessian`` → :class:`HessianSpectrum` (an error becomes a UsageError)."""
    from sdde.model.spectrum import HessianSpectrum

    try:
        return HessianSpectrum.parse(args.hessian)
    except ValueError as exc:
        raise UsageError(f"--{exc}") from None


def _model_from_args(args: argparse.Namespace, cluster: Cluster,
                     spectrum: HessianSpectrum) -> AsyncSGDModel:
    """Parsed inputs → :class:`AsyncSGDModel` (every error becomes a UsageError)."""
    from sdde.model.async_sgd import AsyncSGDModel
    from sdde.model.kernels import StepPolicy

    try:
        policy = StepPolicy.for_cluster(args.policy, cluster)
    except ValueError as exc:
        raise UsageError(f"--step-policy: {exc}") from None
    noise: Any = args.noise
    if spectrum.noise is not None:
        if args.noise != 0.0:
            raise UsageError("--noise: the density file gives the noise of each node (its "
                             "third column): leave --noise out, or drop that column")
        noise = spectrum.noise
    try:
        return AsyncSGDModel(lr=args.lr, cluster=cluster, spectrum=spectrum,
                             noise=noise, policy=policy)
    except ValueError as exc:
        raise _usage_error(exc) from None


def _groups_from_args(args: argparse.Namespace) -> list[tuple[int, DelayLaw]]:
    """``--workers`` and ``--delay`` → (count, law) per worker group (no SciPy needed)."""
    from sdde.delays import parse

    try:
        default_law = parse(args.delay)
        groups = []
        for token in args.workers:
            count, sep, spec = token.partition(":")
            n = _whole("--workers", 1)(count)
            groups.append((n, parse(spec) if sep else default_law))
        return groups
    except ValueError as exc:
        raise _usage_error(exc) from None


def _cluster_from_args(args: argparse.Namespace,
                       laws: list[tuple[int, DelayLaw]]) -> Cluster:
    """Parsed worker groups → :class:`Cluster` (every error becomes a UsageError)."""
    from sdde.cluster.cluster import Cluster, SharedLink, WorkerGroup

    try:
        groups = [WorkerGroup(workers=n, delay=law) for n, law in laws]
        link = None
        if args.bandwidth is not None:
            try:
                link = SharedLink(**_key_values("--bandwidth", args.bandwidth,
                                                {"size": "message_size",
                                                 "capacity": "capacity"}))
                link.comm_time(sum(g.workers for g in groups))
            except ValueError as exc:
                raise UsageError(f"--bandwidth: {exc}") from None
        return Cluster(workers=groups, threshold=args.threshold, link=link)
    except ValueError as exc:
        raise _usage_error(exc) from None


#: The library names parameters the way its signatures do; the command names options.
_OPTION_OF = {"lr": "--lr", "noise": "--noise", "workers": "--workers",
              "threshold": "--threshold", "initial error": "--initial-error",
              "target loss": "--target-loss"}


def _usage_error(exc: ValueError) -> UsageError:
    """A library ``ValueError`` as a usage error, its leading parameter named as an option."""
    text = str(exc)
    for name, option in _OPTION_OF.items():
        if text.startswith((f"{name} ", f"{name}:")):
            return UsageError(option + text[len(name):])
    return UsageError(text)


def _key_values(option: str, text: str, keys: dict[str, str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq or key.strip() not in keys:
            raise UsageError(f"{option}: expected {','.join(f'{k}=…' for k in keys)}, "
                             f"got {text!r}")
        if keys[key.strip()] in out:
            raise UsageError(f"{option}: {key.strip()} given twice in {text!r}")
        out[keys[key.strip()]] = _positive_float(f"{option} {key.strip()}")(value)
    if len(out) != len(keys):
        raise UsageError(f"{option}: give all of {', '.join(keys)}, got {text!r}")
    return out


#: Numbers on the command line (docs/cli.md, "Input contract"): ASCII digits, an optional
#: sign, point and exponent. Python's own parsers also take ``1_000``, ``0x10`` (int),
#: ``infinity`` and digits of other scripts (``٣٢``): refused, so a typo is never read as a
#: different number.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_WHOLE = re.compile(r"\+?\d+", re.ASCII)


def _fraction(option: str) -> Callable[[str], float]:
    def convert(text: str) -> float:
        value = _float(option, allow_zero=True)(text)
        if not value < 1:
            raise UsageError(f"{option} must be a number in [0, 1), e.g. 0.2, got {text!r}")
        return value

    return convert


def _positive_float(option: str) -> Callable[[str], float]:
    return _float(option, allow_zero=False)


def _nonnegative_float(option: str) -> Callable[[str], float]:
    return _float(option, allow_zero=True)


def _float(option: str, *, allow_zero: bool) -> Callable[[str], float]:
    bound = ">= 0" if allow_zero else "> 0"

    def convert(text: str) -> float:
        if not _NUMBER.fullmatch(text.strip()):
            raise UsageError(f"{option} must be a number, got {text!r} (write it with "
                             "digits 0-9, a point and an optional exponent, e.g. 0.05 or 1e-3)")
        value = float(text)
        if not ((value >= 0 if allow_zero else value > 0) and value < float("inf")):
            raise UsageError(f"{option} must be a finite number {bound}, got {text!r}")
        return value

    return convert


#: Coordinates ``--sparsify`` chooses from without ``--dim`` (only ``k/d`` matters then).
DEFAULT_DIM = 1_000_000
#: Largest ``--inject K``: the prediction costs O(K) per update and mode (K = 2000: ~3 s).
MAX_INJECT = 2000
#: Most updates ``--inject`` predicts (its loss curve holds one value per update).
MAX_INJECT_UPDATES = 10_000_000


def _inject_staleness(text: str) -> int:
    value = _whole("--inject", 0)(text)
    if value > MAX_INJECT:
        raise UsageError(f"--inject must be a whole number in 0..{MAX_INJECT}, got {text!r}")
    return value


def _sparsifier(text: str) -> Sparsifier:
    from sdde.simulator.sparsification import Sparsifier

    try:
        return Sparsifier.parse(text)
    except ValueError as exc:
        raise UsageError(f"--sparsify: {exc}") from None


def _whole(option: str, minimum: int) -> Callable[[str], int]:
    def convert(text: str) -> int:
        if not _WHOLE.fullmatch(text.strip()):
            raise UsageError(f"{option} must be a whole number >= {minimum}, got {text!r} "
                             f"(write it with digits 0-9, e.g. {max(minimum, 1) * 8})")
        value = int(text)
        if value < minimum:
            raise UsageError(f"{option} must be a whole number >= {minimum}, got {text!r}")
        return value

    return convert


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
