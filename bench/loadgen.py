"""A small HTTP/1.1 load generator: keep-alive connections, pre-serialised requests, asyncio.

Two shapes of load:

- **closed loop**: C connections, each sending its next request as soon as the previous answer
  is in, for T seconds. The rate is the server's throughput; latencies are under saturation.
- **open loop**: requests fall due at a fixed rate whatever the server does, sent on the first
  idle connection of a pool. Each latency runs from when the request was *due*, not when it was
  sent, so a server that stalls is charged for every request that queued behind the stall (no
  coordinated omission). Requests still queued when the run is cut count with the time they had
  waited by then.

The machine has two cores shared with the server under test, so the client does little:
requests are bytes built before the run (``source()`` only fills in a counter), an answer is
read by its Content-Length with no header parsing beyond status and length, and uvloop runs
the loop when it is importable. The client's own CPU time is part of every result.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

Source = Callable[[], bytes]  # the next request, whole: request line, headers and body
T = TypeVar("T")
_CONNECTION_ERRORS = (OSError, EOFError, asyncio.LimitOverrunError, ValueError)


class Meter(Protocol):
    """Something sampled when the measured phase starts and when it stops (CPU of servers)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Load:
    """What one run saw: every answer's status and latency, errors, and the client's CPU."""

    shape: str
    seconds: float  # from the first request (due) to the last answer
    latencies: tuple[float, ...]  # seconds, sorted: every answer, and open-loop leftovers
    statuses: Counter[int]
    errors: Counter[str]
    cpu_seconds: float  # this process, during the measured phase
    unanswered: int = 0  # open loop: still queued when the run was cut

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def failed(self) -> int:
        return self.answered - self.ok + sum(self.errors.values()) + self.unanswered

    @property
    def rate(self) -> float:
        """2xx answers per second."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float:
        """Latency in seconds at quantile ``q`` (nearest rank); NaN when nothing was measured."""
        if not self.latencies:
            return math.nan
        rank = math.ceil(q * len(self.latencies))
        return self.latencies[min(len(self.latencies), max(rank, 1)) - 1]

    def outcome(self) -> str:
        """``201 x4,120``, then anything else seen, in yellow."""
        parts = [f"{status} x{n:,}" for status, n in sorted(self.statuses.items())]
        parts += [f"{name} x{n:,}" for name, n in self.errors.most_common()]
        if self.unanswered:
            parts.append(f"unanswered x{self.unanswered:,}")
        text = ", ".join(parts) or "nothing answered"
        return f"[yellow]{text}[/]" if self.failed or not self.ok else text


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bool]:
        """Send one request and read its whole answer: (status, the server will close)."""
        # One request in flight per connection, so the write buffer never holds more than it.
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            await self.reader.readexactly(int(lower[at + 17 : end]))
        elif b"\r\ntransfer-encoding: chunked" in lower:
            await self._chunks()
        elif status >= 200 and status not in (204, 304):
            await self.reader.read()  # no length: the body runs to the end of the connection
            return status, True
        return status, b"\r\nconnection: close" in lower

    async def _chunks(self) -> None:
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await self.reader.readexactly(size + 2)
            if size == 0:
                return

    async def close(self) -> None:
        self.writer.close()
        with suppress(*_CONNECTION_ERRORS):
            await self.writer.wait_closed()


class _Client:
    """The connections of one run and what they saw (only while ``recording``)."""

    def __init__(self, host: str, port: int, source: Source) -> None:
        self.host, self.port, self.source = host, port, source
        self.connections: list[_Connection | None] = []
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self.recording = False

    async def connect(self, n: int) -> None:
        self.connections = list(
            await asyncio.gather(*(_Connection.open(self.host, self.port) for _ in range(n)))
        )

    async def send(self, i: int, since: float) -> None:
        """One request on connection ``i``; its latency counts from ``since``."""
        conn = self.connections[i]
        try:
            if conn is None:
                conn = self.connections[i] = await _Connection.open(self.host, self.port)
            status, closing = await conn.exchange(self.source())
        except _CONNECTION_ERRORS as exc:
            if self.recording:
                self.errors[type(exc).__name__] += 1
            if conn is not None:
                await conn.close()
            self.connections[i] = None
            await asyncio.sleep(0.01)  # a refused connection must not spin
            return
        if self.recording:
            self.latencies.append(time.perf_counter() - since)
            self.statuses[status] += 1
        if closing:
            await conn.close()
            self.connections[i] = None

    async def close(self) -> None:
        for conn in self.connections:
            if conn is not None:
                await conn.close()

    def load(self, shape: str, seconds: float, cpu: float, unanswered: int = 0) -> Load:
        return Load(
            shape,
            seconds,
            tuple(sorted(self.latencies)),
            self.statuses,
            self.errors,
            cpu,
            unanswered,
        )


def closed_loop(
    host: str,
    port: int,
    source: Source,
    *,
    connections: int = 32,
    seconds: float = 10.0,
    warm_up: float = 2.0,
    meter: Meter | None = None,
) -> Load:
    """Each of ``connections`` sends back to back for ``seconds`` (after an untimed warm-up)."""

    async def go() -> Load:
        client = _Client(host, port, source)
        await client.connect(connections)

        async def worker(i: int, until: float) -> None:
            while (sent := time.perf_counter()) < until:
                await client.send(i, sent)

        try:
            if warm_up > 0:
                until = time.perf_counter() + warm_up
                await asyncio.gather(*(worker(i, until) for i in range(connections)))
            client.recording = True
            if meter is not None:
                meter.start()
            cpu, start = time.process_time(), time.perf_counter()
            await asyncio.gather(*(worker(i, start + seconds) for i in range(connections)))
            end = time.perf_counter()
            cpu = time.process_time() - cpu
            if meter is not None:
                meter.stop()
        finally:
            await client.close()
        return client.load(f"closed loop, {connections} connections", end - start, cpu)

    return run(go())


def open_loop(
    host: str,
    port: int,
    source: Source,
    *,
    rate: float = 500.0,
    seconds: float = 10.0,
    connections: int = 64,
    warm_up: float = 2.0,
    drain: float = 5.0,
    meter: Meter | None = None,
) -> Load:
    """Requests due at ``rate`` per second for ``seconds``; answers awaited ``drain`` s more."""

    async def go() -> Load:
        client = _Client(host, port, source)
        await client.connect(connections)
        try:
            if warm_up > 0:
                await _paced(client, rate, warm_up, drain)
            client.recording = True
            if meter is not None:
                meter.start()
            cpu = time.process_time()
            start, end, unanswered = await _paced(client, rate, seconds, drain)
            cpu = time.process_time() - cpu
            if meter is not None:
                meter.stop()
        finally:
            await client.close()
        shape = f"open loop, {rate:,.0f}/s due, {connections} connections"
        return client.load(shape, end - start, cpu, unanswered)

    return run(go())


async def _paced(
    client: _Client, rate: float, seconds: float, drain: float
) -> tuple[float, float, int]:
    """Send ``rate * seconds`` requests, each when it falls due: (start, last answer, cut)."""
    queue: asyncio.Queue[float | None] = asyncio.Queue()
    n = round(rate * seconds)
    start = time.perf_counter() + 0.005
    cut = start + seconds + drain
    left = 0
    last = start

    async def dispatch() -> None:
        k = 0
        while k < n:
            now = time.perf_counter()
            while k < n and start + k / rate <= now:
                queue.put_nowait(start + k / rate)
                k += 1
            if k < n:
                await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))
        for _ in client.connections:
            queue.put_nowait(None)

    async def worker(i: int) -> None:
        nonlocal left, last
        while (due := await queue.get()) is not None:
            if time.perf_counter() >= cut:
                left += 1
                if client.recording:
                    client.latencies.append(cut - due)  # a lower bound: it never went out
                continue
            await client.send(i, due)
            last = max(last, time.perf_counter())

    await asyncio.gather(dispatch(), *(worker(i) for i in range(len(client.connections))))
    return start, last, left


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop when it is installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def loop_name() -> str:
    from importlib.util import find_spec

    if find_spec("uvloop") is None:
        return "asyncio"
    from importlib.metadata import version

    return f"uvloop {version('uvloop')}"
