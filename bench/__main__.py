"""``python -m bench [NAME ...] [--leads N] [--full] [--repeat R] [--profile]``."""

from __future__ import annotations

import argparse
import importlib
import time
from datetime import UTC, datetime

from rich.table import Table

from bench.common import Result, console, machine, say

BENCHMARKS = (
    *("decide", "raw", "live", "bulk", "api", "accounts"),
    *("score", "social", "smart", "notify", "optimize", "observe", "scale"),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="leadrelay benchmarks: figures printed, not asserted"
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"{', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument("--leads", type=int, help="leads per benchmark (each has its own default)")
    parser.add_argument("--full", action="store_true", help="bulk: route 1,000,000 leads")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per figure (median)")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile decide instead of benchmarking"
    )
    return parser


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def table(results: list[Result]) -> Table:
    out = Table(title="leadrelay benchmarks", title_justify="left")
    for name in ("benchmark", "figure", "unit", "baseline", "ratio", "target", "met?"):
        out.add_column(name, justify="right" if name in ("figure", "baseline", "ratio") else "left")
    for r in results:
        baseline = f"{_fmt(r.baseline)} ({r.baseline_name})" if r.baseline is not None else ""
        ratio = "" if r.ratio is None else f"{r.ratio:.1%}" if r.ratio < 0.1 else f"{r.ratio:.0%}"
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: ""}[r.met]
        out.add_row(r.benchmark, _fmt(r.figure), r.unit, baseline, ratio, r.target, met)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    say(f"[bold]leadrelay benchmarks[/] {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    say(f"machine: {machine()}")
    if args.profile:
        from bench.decide import profile

        profile(args.leads)
        return 0
    results: list[Result] = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        start = time.perf_counter()
        kwargs = {"full": args.full} if name == "bulk" else {}
        results.extend(module.run(args.leads, args.repeat, **kwargs))
        say(f"  ({name} took {time.perf_counter() - start:.1f} s)\n")
    console.print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
