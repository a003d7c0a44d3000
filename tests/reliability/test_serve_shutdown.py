"""``leadrelay serve`` ends with every process it started and leaves nothing in the temp dir.

``kill <pid>`` (SIGTERM to the serve process alone, as a supervisor sends it) and SIGTERM to its
whole process group stop it cleanly; a serve process killed outright (SIGKILL, no shutdown code
runs) still takes its routing process and its workers with it, and the routing process removes
its socket directory itself.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import pytest
from bench.servers import HOST, free_port

READY_TIMEOUT_S = 60.0
GONE_WITHIN_S = 20.0


@pytest.fixture
def temp_dir() -> Iterator[Path]:
    """The TMPDIR serve runs with; short, as a Unix socket path in it must be."""
    path = Path(tempfile.mkdtemp(prefix="lr-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def strays() -> Iterator[set[int]]:
    """Processes a test started; any still running at its end are killed (a failing test
    leaves none behind)."""
    pids: set[int] = set()
    yield pids
    for pid in pids:
        if _alive(pid):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _serve(tmp: Path, temp_dir: Path, workers: int) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    env = {**os.environ, "LEADRELAY_DB": f"sqlite:///{tmp / 'store.db'}", "TMPDIR": str(temp_dir)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # serve makes its own in TMPDIR
    log = tmp / "serve.log"
    cmd = [str(Path(sys.executable).parent / "leadrelay"), "serve", "--port", str(port),
           "--workers", str(workers)]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        with suppress(httpx.HTTPError):
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200:
                return proc, port, log
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"leadrelay serve not ready:\n{log.read_text()}")


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for its parent to read its status."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _gone(pids: set[int]) -> set[int]:
    """Waits for ``pids`` to end; those still running after GONE_WITHIN_S."""
    deadline = time.monotonic() + GONE_WITHIN_S
    left = {pid for pid in pids if _alive(pid)}
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = {pid for pid in left if _alive(pid)}
    return left


def _left_in(temp_dir: Path) -> list[str]:
    return sorted(p.name for p in temp_dir.iterdir() if p.name.startswith("leadrelay-"))


@pytest.mark.parametrize("to_group", [False, True], ids=["serve-alone", "process-group"])
def test_sigterm_stops_serve_its_routing_process_and_leaves_nothing_in_tmp(
    tmp_path: Path, temp_dir: Path, strays: set[int], to_group: bool
) -> None:
    proc, _port, log = _serve(tmp_path, temp_dir, workers=1)
    children = _children(proc.pid)
    strays.update(children | {proc.pid})
    assert children, "serve runs its routing process"
    assert _left_in(temp_dir), "serve keeps its routing socket in TMPDIR"
    if to_group:
        os.killpg(proc.pid, signal.SIGTERM)
    else:
        os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(GONE_WITHIN_S) == 128 + signal.SIGTERM, log.read_text()
    assert _gone(children) == set()
    assert _left_in(temp_dir) == []
    assert "starting it again" not in log.read_text()  # no routing process started to stop


@pytest.mark.parametrize("workers", [1, 2])
def test_a_killed_serve_takes_its_routing_process_and_workers_with_it(
    tmp_path: Path, temp_dir: Path, strays: set[int], workers: int
) -> None:
    proc, port, log = _serve(tmp_path, temp_dir, workers=workers)
    children = _children(proc.pid)
    strays.update(children | {proc.pid})
    assert len(children) >= 1 + (workers if workers > 1 else 0)
    os.kill(proc.pid, signal.SIGKILL)  # no shutdown code of serve runs
    proc.wait(GONE_WITHIN_S)
    assert _gone(children) == set(), log.read_text()
    assert not any(name.startswith("leadrelay-router-") for name in _left_in(temp_dir))
    with pytest.raises(httpx.ConnectError):  # nobody holds the port any more
        httpx.get(f"http://{HOST}:{port}/healthz", timeout=2)
    assert "routing process stops too" in log.read_text()
