"""A worker's side of the routing process (``router_process``): ``submit`` as ``Batcher`` has it.

``submit`` sends the lead (with its policy's revision) and returns a future; a reader thread
sets each future as the answers come back. If the routing process cannot be reached, ``submit``
fails at once with a ``StoreError`` (the API answers 503) and the next call connects again, so
a router started again by ``leadrelay serve`` is picked up without restarting the worker. Leads
sent to a router that then went away fail with a ``StoreError`` that says they may have been
stored: sending them again with the same ``external_id`` or ``Idempotency-Key`` routes nothing
twice.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
from concurrent.futures import Future
from concurrent.futures import wait as wait_all

from leadrelay.domain.lead import Lead
from leadrelay.errors import StoreError
from leadrelay.policy.compiled import CompiledPolicy
from leadrelay.workflow.assign import RouteResult
from leadrelay.workflow.router_wire import frame, take_frames

UNREACHABLE = "the lead router cannot be reached ({why}); nothing was stored, send the lead again"
GONE = (
    "the lead router stopped before answering; the lead may have been stored: send it again"
    " with the same external_id or Idempotency-Key (nothing is routed twice)"
)


class _Link:
    """One connection and the futures waiting on it."""

    __slots__ = ("pending", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending: dict[int, Future[RouteResult]] = {}


class RouterClient:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._link: _Link | None = None
        self._ids = itertools.count(1)
        self._closed = False

    def submit(self, lead: Lead, policy: CompiledPolicy) -> Future[RouteResult]:
        """Route ``lead`` in the routing process's next group; the future holds its result or
        its error."""
        if not policy.revision:
            raise ValueError("the routing process routes by stored policies only (revision 0)")
        request = next(self._ids)
        data = frame((request, policy.revision, lead))
        future: Future[RouteResult] = Future()
        with self._lock:
            if self._closed:
                raise StoreError("the lead router is shutting down; send the lead again")
            link = self._link or self._connect()
            link.pending[request] = future
            try:
                link.sock.sendall(data)
            except OSError as exc:
                del link.pending[request]
                self._drop(link)
                raise StoreError(UNREACHABLE.format(why=exc)) from None
        return future

    def route(self, lead: Lead, policy: CompiledPolicy) -> RouteResult:
        """``submit`` and wait for the result (raises the lead's error)."""
        return self.submit(lead, policy).result()

    def close(self, timeout: float = 30.0) -> None:
        """Wait (up to ``timeout``) for the answers still due, then disconnect."""
        with self._lock:
            self._closed = True
            link = self._link
            waiting = list(link.pending.values()) if link is not None else []
        wait_all(waiting, timeout)
        with self._lock:
            if link is not None:
                self._drop(link)

    def _connect(self) -> _Link:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            raise StoreError(UNREACHABLE.format(why=exc.strerror or exc)) from None
        link = self._link = _Link(sock)
        reader = threading.Thread(
            target=self._read, args=(link,), name="leadrelay-router-answers", daemon=True
        )
        reader.start()
        return link

    def _read(self, link: _Link) -> None:
        buffer = bytearray()
        try:
            while True:
                chunk = link.sock.recv(1 << 20)
                if not chunk:
                    break
                buffer += chunk
                for answers in take_frames(buffer):
                    with self._lock:
                        futures = [link.pending.pop(request) for request, _, _ in answers]
                    for future, (_, ok, value) in zip(futures, answers, strict=True):
                        if ok:
                            future.set_result(value)
                        else:
                            future.set_exception(value)
        except OSError:
            pass
        finally:
            with self._lock:
                self._drop(link)

    def _drop(self, link: _Link) -> None:
        """Forget ``link`` (the lock is held): close it and fail what still waits on it."""
        if self._link is link:
            self._link = None
        with contextlib.suppress(OSError):
            link.sock.shutdown(socket.SHUT_RDWR)
        link.sock.close()
        waiting, link.pending = link.pending, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(StoreError(GONE))
