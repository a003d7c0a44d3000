"""``leadrelay serve`` routes in a process of its own; when that process dies, the server starts
it again by itself. Meanwhile requests get clean 503s, never a 500 or a hang, and a lead whose
answer was lost is sent again with its external id: in the end every lead is stored once, with
one owner, and the routing tables agree with the assignments."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from tests.reliability.harness import ApiProcess, counters_agree, lead_body, read_stored, seed

RESTART_WITHIN_S = 30.0


def _routing_process(server_pid: int) -> int:
    """The pid of the serve process's child that runs multiprocessing's spawn (the router)."""
    for task in Path(f"/proc/{server_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"multiprocessing.spawn" in cmdline and b"resource_tracker" not in cmdline:
                return int(child)
    raise AssertionError("leadrelay serve has no routing process")


def test_a_killed_routing_process_is_started_again_and_no_lead_is_lost(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    seeded = seed(url)
    server = ApiProcess(url, tmp_path / "api.log")
    server.start()
    try:
        assert server.proc is not None
        with httpx.Client(base_url=server.base, headers=seeded.headers, timeout=30) as http:

            def post(i: int) -> int:
                return http.post("/v1/leads", json=lead_body(i, "rp")).status_code

            with ThreadPoolExecutor(8) as pool:
                assert set(pool.map(post, range(40))) == {201}
            first = _routing_process(server.proc.pid)
            os.kill(first, signal.SIGKILL)

            answers: dict[int, int] = {}
            i = 40
            deadline = time.monotonic() + RESTART_WITHIN_S
            while time.monotonic() < deadline:
                answers[i] = post(i)
                i += 1
                if answers[i - 1] == 201 and i - 40 > 5:
                    break
                time.sleep(0.05)
            assert answers[i - 1] == 201, f"not routing again after {RESTART_WITHIN_S:.0f} s"
            assert set(answers.values()) <= {201, 503}, answers
            assert _routing_process(server.proc.pid) != first
            # the leads answered 503 are sent again: stored once whatever the first try did
            again = {j: post(j) for j, code in answers.items() if code == 503}
            assert set(again.values()) <= {200, 201}
        assert server.proc.poll() is None  # the same server all along

        stored = read_stored(seeded.engine)
        assert len(stored.by_external) == i
        assert all(n == 1 for n in stored.active.values())
        assert counters_agree(seeded.engine, stored) == []
        assert "starting it again" in (tmp_path / "api.log").read_text()
    finally:
        server.stop()
        seeded.engine.dispose()
