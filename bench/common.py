"""What every benchmark shares: results, timing, the machine, temp dirs."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

# wide enough for the table when piped to a file or a CI log
console = Console(highlight=False, width=None if sys.stdout.isatty() else 130)


@dataclass(frozen=True)
class Result:
    """One printed figure: measured, and (when there is one) beside its same-run baseline."""

    benchmark: str
    figure: float
    unit: str
    baseline: float | None = None  # same unit as figure, measured in the same run
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None  # None: no target, or not decidable at this scale

    @property
    def ratio(self) -> float | None:
        return self.figure / self.baseline if self.baseline else None


def machine() -> str:
    text = (
        f"{platform.platform()}, {os.cpu_count()} cores, {platform.machine()},"
        f" Python {platform.python_version()} ({platform.python_implementation()})"
    )
    if hasattr(os, "getloadavg"):
        text += f"; load average {os.getloadavg()[0]:.2f} at start"
    return text


@dataclass(frozen=True)
class Timing:
    """Median wall time of some runs, and how much of the wall time this process had the CPU."""

    seconds: float
    runs: tuple[float, ...]
    cpu_share: float  # process CPU time / wall time over all runs; well below 1 = machine busy
    cpu_seconds: float  # process CPU time per run, averaged over the runs

    def describe(self) -> str:
        text = f"runs {', '.join(f'{r:.3f}' for r in self.runs)} s"
        if self.cpu_share < 0.9:
            text += f"; [yellow]process had the CPU {self.cpu_share:.0%} of the time[/]"
        return text


def median_seconds(
    fn: Callable[[], object], repeat: int, *, setup: Callable[[], object] | None = None
) -> Timing:
    """Median wall time of ``repeat`` runs of ``fn`` (``setup`` runs untimed before each)."""
    runs = []
    cpu = 0.0
    for _ in range(repeat):
        if setup is not None:
            setup()
        cpu_start, start = time.process_time(), time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
        cpu += time.process_time() - cpu_start
    wall = sum(runs)
    return Timing(statistics.median(runs), tuple(runs), cpu / wall if wall else 1.0, cpu / repeat)


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"leadrelay-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def say(text: str) -> None:
    console.print(text)
