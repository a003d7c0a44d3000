"""Servers under test for ``bench.api``: started in their own process group, stopped whole.

``serving(cmd, ...)`` starts a command in a new session (so uvicorn's workers share its process
group), waits until ``GET /healthz`` answers 200, and on the way out sends SIGTERM to the whole
group, then SIGKILL to whatever is left. ``CpuMeter`` reads ``/proc`` to say how much CPU each
named group of processes (the server, PostgreSQL) used between two samples, and how busy the
whole machine was: on a 2-core machine the load generator, the server and the database share
the cores, and the split says what dominated.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    port: int
    pid: int  # also the process group of every process it started
    log: Path


@contextmanager
def serving(
    cmd: Sequence[str], port: int, log: Path, *, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Run ``cmd`` (which listens on ``port``) until the block ends; output goes to ``log``."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(cmd), stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        _wait_ready(proc, port, log)
        yield Server(port, proc.pid, log)
    finally:
        _stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{_tail(log)}")
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {READY_TIMEOUT_S:.0f} s:\n{_tail(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(STOP_TIMEOUT_S)
    # uvicorn's workers may outlive their supervisor: the group goes whole.
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _group(proc.pid):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(STOP_TIMEOUT_S)


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# /proc/<pid>/stat, the fields after "(comm) ": state ppid pgrp ... utime(11) stime(12)
_PPID, _PGRP, _UTIME, _STIME = 1, 2, 11, 12
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class _Proc:
    pid: int
    ppid: int
    pgrp: int
    cpu: float  # seconds, user + system
    zombie: bool
    name: str  # the kernel's (comm): "python3", or a name the process gave itself


def _processes() -> list[_Proc]:
    """Every process /proc shows (none where there is no /proc)."""
    out = []
    with suppress(OSError):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue  # gone since the listing
            name = text[text.index("(") + 1 : text.rindex(")")]
            fields = text[text.rindex(")") + 2 :].split()
            cpu = (int(fields[_UTIME]) + int(fields[_STIME])) / _TICK
            pid, ppid, pgrp = int(entry.name), int(fields[_PPID]), int(fields[_PGRP])
            out.append(_Proc(pid, ppid, pgrp, cpu, fields[0] == "Z", name))
    return out


def _group(pgrp: int) -> list[_Proc]:
    """The live processes of a process group (zombies are dead already)."""
    return [p for p in _processes() if p.pgrp == pgrp and not p.zombie]


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat; (0, 0) elsewhere."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return 0, 0
    ticks = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


Member = Callable[[_Proc], bool]


def in_group(pgrp: int, *, named: str | None = None, unless: str | None = None) -> Member:
    """The processes of group ``pgrp`` (only those ``named``; or all but those named
    ``unless``)."""
    return lambda p: (
        p.pgrp == pgrp
        and (named is None or p.name == named)
        and (unless is None or p.name != unless)
    )


def postgres_of(data_dir: Path) -> Member | None:
    """The postmaster of ``data_dir`` and its children (backends, WAL writer, checkpointer)."""
    try:
        postmaster = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return lambda p: postmaster in (p.pid, p.ppid)


class CpuMeter:
    """CPU seconds each named group of processes used between ``start()`` and ``stop()``."""

    def __init__(self, groups: dict[str, Member]) -> None:
        self.groups = groups
        self.used: dict[str, float] = {}
        self.machine_busy: float | None = None  # share of all cores' time, 0..1
        self._before: dict[int, float] = {}
        self._ticks = (0, 0)

    def start(self) -> None:
        self._before = {p.pid: p.cpu for p in _processes()}
        self._ticks = _machine_ticks()

    def stop(self) -> None:
        busy, total = _machine_ticks()
        procs = _processes()
        self.used = {
            name: sum(p.cpu - self._before.get(p.pid, 0.0) for p in procs if member(p))
            for name, member in self.groups.items()
        }
        if total > self._ticks[1]:
            self.machine_busy = (busy - self._ticks[0]) / (total - self._ticks[1])
