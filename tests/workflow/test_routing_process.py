"""The routing process (``RouterServer``) and a worker's side of it (``RouterClient``): leads
from several workers share groups, each worker gets its own answers, errors cross the socket as
the API answers them, and a router that goes away fails the waiting leads instead of hanging."""

from __future__ import annotations

import pickle
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from tests.builders import lead
from tests.workflow.conftest import Gate, compiled_policy

from leadrelay.errors import StoreError, UnknownNameError
from leadrelay.policy import CompiledPolicy
from leadrelay.store import activate, save_policy
from leadrelay.workflow.router_client import RouterClient
from leadrelay.workflow.router_process import RouterServer
from leadrelay.workflow.router_wire import portable


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    # short: a Unix socket path must fit in 107 bytes, pytest's tmp_path may not
    path = Path(tempfile.mkdtemp(prefix="lr-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class Router:
    server: RouterServer
    thread: threading.Thread
    policy: CompiledPolicy
    gate: Gate

    def client(self) -> RouterClient:
        return RouterClient(self.server.path)

    def stop(self) -> None:
        self.gate.release.set()
        self.server.stop()
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def router(engine: Engine, socket_dir: Path) -> Iterator[Router]:
    """A routing loop in a thread of this process, on the stored and active test policy."""
    policy = compiled_policy()
    with engine.begin() as conn:
        revision = save_policy(conn, policy)
        activate(conn, revision)
    gate = Gate()
    server = RouterServer(engine, str(socket_dir / "r.sock"), route=gate)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    running = Router(server, thread, policy.with_revision(revision), gate)
    yield running
    running.stop()


def test_leads_of_two_workers_share_a_group_and_each_gets_its_own_answer(router: Router) -> None:
    one, two = router.client(), router.client()
    first = one.submit(lead(external_id="w0", industry="airline"), router.policy)
    assert router.gate.entered.wait(10)
    # sent while the first group is routed: taken together into the next one
    rest = [
        (one if i % 2 else two).submit(lead(external_id=f"w{i}", industry="airline"), router.policy)
        for i in range(1, 7)
    ]
    router.gate.release.set()
    results = [first.result(10)] + [f.result(10) for f in rest]
    one.close()
    two.close()

    assert [sorted(map(str, g)) for g in router.gate.groups] == [
        ["w0"],
        sorted(f"w{i}" for i in range(1, 7)),
    ]
    assert [r.decision.lead_key for r in results] == [f"w{i}" for i in range(7)]
    assert all(r.created for r in results) and len({r.lead_id for r in results}) == 7
    # one rotation for every worker's leads, in the order they were stored: ana, bo, chen...
    in_order = sorted(results, key=lambda r: r.lead_id or 0)
    assert [r.decision.owner for r in in_order] == ["ana", "bo", "chen"] * 2 + ["ana"]
    assert results[0].decision.trials[0].candidates  # the whole trace crossed the socket


def test_many_threads_each_get_the_result_of_their_own_lead(router: Router) -> None:
    router.gate.release.set()
    client = router.client()
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda i: client.route(lead(external_id=f"t{i}"), router.policy), range(40))
        )
    client.close()
    assert [r.decision.lead_key for r in results] == [f"t{i}" for i in range(40)]
    assert len({r.lead_id for r in results}) == 40


def test_a_policy_revision_the_store_does_not_hold_is_the_leads_error(router: Router) -> None:
    router.gate.release.set()
    client = router.client()
    with pytest.raises(UnknownNameError, match="no policy revision 999"):
        client.route(lead(external_id="x"), router.policy.with_revision(999))
    assert client.route(lead(external_id="y"), router.policy).created  # the router carries on
    client.close()


def test_what_was_sent_before_a_stop_is_routed_and_answered(router: Router) -> None:
    client = router.client()
    first = client.submit(lead(external_id="s0"), router.policy)
    assert router.gate.entered.wait(10)
    rest = [client.submit(lead(external_id=f"s{i}"), router.policy) for i in (1, 2, 3)]
    router.server.stop()
    router.gate.release.set()
    assert all(f.result(10).created for f in [first, *rest])
    router.thread.join(10)
    with pytest.raises(StoreError, match="cannot be reached"):
        client.submit(lead(external_id="late"), router.policy)


def test_a_router_that_goes_away_fails_the_waiting_leads_with_a_clear_error(
    socket_dir: Path,
) -> None:
    path = str(socket_dir / "gone.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    client = RouterClient(path)
    waiting = client.submit(lead(external_id="lost"), compiled_policy().with_revision(1))
    accepted, _ = listener.accept()
    accepted.recv(1 << 16)
    accepted.close()  # it read the lead and died without answering
    listener.close()

    with pytest.raises(StoreError, match="may have been stored: send it again"):
        waiting.result(10)
    with pytest.raises(StoreError, match="cannot be reached"):  # nothing listens any more
        client.submit(lead(external_id="next"), compiled_policy().with_revision(1))


def test_a_policy_without_a_revision_is_refused_before_it_is_sent(socket_dir: Path) -> None:
    with pytest.raises(ValueError, match="stored policies only"):
        RouterClient(str(socket_dir / "none.sock")).submit(lead(), compiled_policy())


class _Unpicklable(Exception):
    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("cannot pickle this")


def test_errors_cross_the_socket_as_the_api_answers_them() -> None:
    store_error = StoreError("the database is locked")
    assert portable(store_error) is store_error
    sent = pickle.loads(pickle.dumps(store_error))
    assert type(sent) is StoreError and sent.problems == store_error.problems

    down = OperationalError("SELECT 1", None, _Unpicklable("server closed the connection\nmore"))
    stand_in = portable(down)
    assert type(stand_in) is OperationalError  # still a 503 with Retry-After in the API
    assert "server closed the connection" in str(stand_in) and "more" not in str(stand_in)
    pickle.loads(pickle.dumps(stand_in))

    bug = portable(_Unpicklable("a bug"))
    assert type(bug) is RuntimeError and "_Unpicklable: a bug" in str(bug)


@pytest.mark.skipif(not Path("/proc/self/comm").exists(), reason="process names are Linux's")
def test_the_routing_process_is_named_for_top_and_ps(sqlite_url: str) -> None:
    """Among the python processes of ``leadrelay serve`` the router stands out by name (and
    the benchmarks meter its CPU apart from the workers' by that name)."""
    from leadrelay.store import open_store
    from leadrelay.workflow.router_process import PROCESS_NAME, RouterHost

    open_store(sqlite_url).dispose()  # the store the router opens
    host = RouterHost(sqlite_url, max_group=10, max_wait_s=0.0)
    host.start()
    try:
        process = host._process
        assert process is not None and process.pid is not None
        assert Path(f"/proc/{process.pid}/comm").read_text().strip() == PROCESS_NAME
        assert Path("/proc/self/comm").read_text().strip() != PROCESS_NAME
    finally:
        host.stop()
