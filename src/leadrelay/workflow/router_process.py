"""The API's lead router in a process of its own: ``leadrelay serve`` starts one, and every HTTP
worker hands it the leads of ``POST /v1/leads`` over a Unix socket (``router_client``).

Why a process: with group commit in a thread of the worker (``batcher.Batcher``), the writer
waits for the GIL after every database round trip while the event loop runs Python. Groups of
~16 leads took 35-55 ms in the server against ~5 ms in a process doing nothing else (measured;
docs/benchmarks.md). Here one process routes for every worker with the GIL to itself, and its
groups hold the leads of all workers: one routing transaction at a time instead of workers
queueing for the routing lock.

It routes as the batcher does (``route_outcomes``: one transaction per group and policy, a group
that fails for one lead's sake routed again lead by lead), taking what arrived while the last
group ran, up to ``max_group``, waiting ``max_wait_s`` for more when busy. The policy arrives as
its revision; the stored text of that revision is compiled once and kept. On SIGTERM it stops
taking connections, routes what it holds, answers, and exits; SIGINT is left to the parent
(``leadrelay serve`` stops it after the workers, whose last leads it must still route).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import selectors
import signal
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from leadrelay.domain.lead import Lead
from leadrelay.observe.logs import configure as configure_logging
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.workflow.assign import RouteResult
from leadrelay.workflow.batcher import (
    BatcherStats,
    RouteGroup,
    group_size,
    route_live,
    route_outcomes,
    same_run,
)
from leadrelay.workflow.parent_watch import parent_gone, stop_with_parent
from leadrelay.workflow.router_wire import frame, portable, take_frames

log = logging.getLogger("leadrelay.router")

IDLE_POLL_S = 0.5  # how often an idle router looks at its stop flag
SEND_TIMEOUT_S = 10.0  # a worker that reads nothing for this long is cut off
READY_TIMEOUT_S = 30.0
# A routing process that exits cleanly was sent SIGTERM: if ``leadrelay serve`` got it too it
# stops within this long, and the routing process is not started again.
STOPPED_GRACE_S = 2.0
# What ``top`` and ``ps -o comm`` show for the routing process (Linux keeps 15 bytes): every
# other process of ``leadrelay serve`` is "python"; /proc/<pid>/stat gives it to the benchmarks.
PROCESS_NAME = "lr-router"
_MAX_POLICIES = 16


@dataclass(eq=False)
class _Peer:
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    open: bool = True


@dataclass(slots=True)
class _Request:
    peer: _Peer
    id: int
    revision: int
    lead: Lead


class RouterServer:
    """The routing loop: one thread, a selector over the listening socket and every worker."""

    def __init__(
        self,
        engine: Engine,
        path: str,
        *,
        max_group: int = 200,
        max_wait_s: float = 0.0,
        route: RouteGroup = route_live,
    ) -> None:
        self.engine = engine
        self.path = path
        self.max_group = group_size(max_group)
        self.max_wait_s = max_wait_s
        self.stats = BatcherStats()
        self._route = route
        self._queue: deque[_Request] = deque()
        self._policies: dict[int, CompiledPolicy] = {}
        self._stop = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(128)
        self._listener.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ, None)

    def stop(self) -> None:
        """Ask the loop to finish: what it holds is routed and answered first."""
        self._stop.set()

    def serve(self) -> None:
        """Route until ``stop``; then route what is held and close every socket."""
        try:
            busy = False
            while not self._stop.is_set():
                self._poll(0 if self._queue else IDLE_POLL_S)
                if busy and self.max_wait_s > 0:
                    self._gather(time.monotonic() + self.max_wait_s)
                if self._queue:
                    self._route_next()
                busy = bool(self._queue)
            self._selector.unregister(self._listener)
            self._listener.close()
            self._poll(0)  # what was sent before the stop
            while self._queue:
                self._route_next()
        finally:
            for key in list(self._selector.get_map().values()):
                if isinstance(key.data, _Peer):
                    key.data.sock.close()
            self._selector.close()
            self._listener.close()

    def _gather(self, deadline: float) -> None:
        while len(self._queue) < self.max_group:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._poll(left)

    def _poll(self, timeout: float) -> None:
        """Wait up to ``timeout`` for something to arrive, then take all that has arrived (a
        worker just accepted may have sent leads already: they join the same group)."""
        ready = self._selector.select(timeout)
        while ready:
            for key, _ in ready:
                if key.data is None:
                    self._accept()
                else:
                    self._read(key.data)
            if len(self._queue) >= self.max_group:
                return
            ready = self._selector.select(0)

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        self._selector.register(sock, selectors.EVENT_READ, _Peer(sock))

    def _read(self, peer: _Peer) -> None:
        try:
            chunk = peer.sock.recv(1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close(peer)  # its queued leads are still routed: they were accepted
            return
        peer.buffer += chunk
        for request_id, revision, lead in take_frames(peer.buffer):
            self._queue.append(_Request(peer, request_id, revision, lead))

    def _close(self, peer: _Peer) -> None:
        if peer.open:
            peer.open = False
            self._selector.unregister(peer.sock)
            peer.sock.close()

    def _route_next(self) -> None:
        group = [self._queue.popleft() for _ in range(min(self.max_group, len(self._queue)))]
        replies: dict[_Peer, list[tuple[int, bool, Any]]] = {}
        sendable: dict[int, Exception] = {}  # a group's one error is made portable once
        for run in same_run(group, lambda request: request.revision):
            for request, outcome in zip(run, self._outcomes(run), strict=True):
                answer: tuple[int, bool, Any]
                if isinstance(outcome, RouteResult):
                    answer = (request.id, True, outcome)
                else:
                    error = sendable.get(id(outcome))
                    if error is None:
                        error = sendable[id(outcome)] = portable(outcome)
                    answer = (request.id, False, error)
                replies.setdefault(request.peer, []).append(answer)
        for peer, answers in replies.items():
            self._send(peer, answers)

    def _outcomes(self, run: Sequence[_Request]) -> list[RouteResult | Exception]:
        try:
            policy = self._policy(run[0].revision)
        except Exception as exc:
            return [exc] * len(run)
        outcomes = route_outcomes(
            self.engine, [r.lead for r in run], policy, route=self._route, stats=self.stats
        )
        for outcome in outcomes:
            if not isinstance(outcome, RouteResult):
                log.error("routing a lead failed", exc_info=outcome)
                break  # a group's error is one error: logged once
        return outcomes

    def _policy(self, revision: int) -> CompiledPolicy:
        policy = self._policies.get(revision)
        if policy is None:
            from leadrelay.store.policies import compile_version, policy_text

            with self.engine.connect() as conn:
                text = policy_text(conn, revision)
            policy = compile_version(revision, text)
            if len(self._policies) >= _MAX_POLICIES:
                self._policies.clear()
            self._policies[revision] = policy
        return policy

    def _send(self, peer: _Peer, answers: list[tuple[int, bool, Any]]) -> None:
        if not peer.open:
            return  # the worker went away; its leads are routed and stored all the same
        try:
            peer.sock.settimeout(SEND_TIMEOUT_S)
            peer.sock.sendall(frame(answers))
            peer.sock.setblocking(False)
        except OSError as exc:
            log.warning("a worker stopped reading its answers (%s); dropping it", exc)
            self._close(peer)


def run(url: str, path: str, max_group: int, max_wait_s: float, log_setup: Any = None) -> None:
    """The routing process's main (``leadrelay serve`` starts it).

    It also stops when ``leadrelay serve`` is gone without stopping it (killed:
    ``parent_watch``), and then removes the socket and its directory, which the parent would
    have removed."""
    from leadrelay.store import open_store

    if log_setup is not None:
        configure_logging(log_setup)
    _name_process(PROCESS_NAME)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it, after the workers
    engine = open_store(url)
    server = RouterServer(engine, path, max_group=max_group, max_wait_s=max_wait_s)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    stop_with_parent()
    gc.collect()
    gc.freeze()  # what lives as long as the process: the collector's full passes skip it
    try:
        server.serve()
    finally:
        engine.dispose()
        if parent_gone():
            log.warning("leadrelay serve is gone; the routing process stops too")
            with contextlib.suppress(OSError):
                _remove_socket(path)


def _name_process(name: str) -> None:
    """Set the process's name as the kernel shows it (Linux ``prctl(PR_SET_NAME)``; nothing
    elsewhere: no ``prctl`` in libc, or no libc to load by that name)."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # 15: PR_SET_NAME


class RouterHost:
    """The routing process as ``leadrelay serve`` runs it: started before the workers, started
    again if it dies (workers answer 503 meanwhile), stopped after them."""

    def __init__(
        self, url: str, *, max_group: int, max_wait_s: float, log_setup: Any = None
    ) -> None:
        self._args = (url, max_group, max_wait_s, log_setup)
        directory = tempfile.mkdtemp(prefix="leadrelay-router-")  # mode 0700
        self.path = str(Path(directory) / "router.sock")
        self._process: BaseProcess | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="leadrelay-router-watch")
        self._watcher.daemon = True
        self._watcher.start()

    def _spawn(self) -> None:
        Path(self.path).unlink(missing_ok=True)
        url, max_group, max_wait_s, log_setup = self._args
        process = get_context("spawn").Process(
            target=run, args=(url, self.path, max_group, max_wait_s, log_setup),
            name="leadrelay-router",
        )  # fmt: skip
        process.start()
        self._process = process
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _listening(self.path):
            if not process.is_alive():
                raise RuntimeError(f"the routing process exited at start (code {process.exitcode})")
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the routing process did not start in {READY_TIMEOUT_S:.0f} s")
            time.sleep(0.02)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            process.join(IDLE_POLL_S)
            if process.is_alive() or self._stopping.is_set():
                continue
            if process.exitcode == 0 and self._stopping.wait(STOPPED_GRACE_S):
                continue  # SIGTERM to all of ``leadrelay serve``: it is stopping too
            log.error("the routing process exited (code %s); starting it again", process.exitcode)
            try:
                self._spawn()
            except RuntimeError as exc:
                log.error("%s; trying again in 1 s", exc)
                time.sleep(1.0)

    def stop(self, timeout: float = 30.0) -> None:
        """Route what it holds, then stop it (SIGTERM; killed after ``timeout``)."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join()
        _remove_socket(self.path)


def _remove_socket(path: str) -> None:
    """The routing socket and the private directory ``RouterHost`` made for it."""
    Path(path).unlink(missing_ok=True)
    Path(path).parent.rmdir()


def _listening(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()
