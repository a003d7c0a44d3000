"""What the API's workers and its routing process say to each other over their Unix socket.

A frame is a 4-byte big-endian length and a pickle (protocol 5). A worker sends one frame per
lead: ``(request id, policy revision, lead)``. The routing process answers each group with one
frame per worker: ``[(request id, True, RouteResult) | (request id, False, error), ...]`` (one
pickle per group, so what the decisions of a group share is sent once).

Pickle is safe here because both ends are leadrelay processes of one ``leadrelay serve`` and
the socket lives in a directory only its user can open (``tempfile.mkdtemp``: mode 0700).
"""

from __future__ import annotations

import pickle
import struct
from typing import Any

from sqlalchemy.exc import DBAPIError

_LENGTH = struct.Struct("!I")
HEADER = _LENGTH.size


def frame(message: Any) -> bytes:
    body = pickle.dumps(message, protocol=5)
    return _LENGTH.pack(len(body)) + body


def take_frames(buffer: bytearray) -> list[Any]:
    """The whole frames at the start of ``buffer``, unpickled; they are cut from it."""
    messages: list[Any] = []
    start = 0
    while len(buffer) - start >= HEADER:
        (size,) = _LENGTH.unpack_from(buffer, start)
        end = start + HEADER + size
        if len(buffer) < end:
            break
        messages.append(pickle.loads(memoryview(buffer)[start + HEADER : end]))
        start = end
    if start:
        del buffer[:start]
    return messages


def portable(exc: Exception) -> Exception:
    """``exc`` as it can cross the socket, keeping what the API answers by: its class for a
    leadrelay or database error (a database that is down is still a 503 with Retry-After), its
    problems, its first line. Anything else becomes a RuntimeError with its text (a 500, as it
    would be in the worker); the routing process logs its traceback."""
    try:
        pickle.loads(pickle.dumps(exc, protocol=5))
        return exc
    except Exception:
        pass
    if isinstance(exc, DBAPIError):
        orig = exc.orig if exc.orig is not None else exc
        line = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        return type(exc)(
            exc.statement, None, RuntimeError(line),
            connection_invalidated=exc.connection_invalidated,
        )  # fmt: skip
    return RuntimeError(f"routing failed: {type(exc).__name__}: {exc}")
