"""The processes ``leadrelay serve`` starts stop with it, even when it is killed outright.

Its routing process and, with ``--workers N``, uvicorn's workers are its children. Killed
(SIGKILL: no shutdown code of it runs), it cannot stop them, and they would run on: holding
database connections, the port, the routing socket. Each watches its parent instead and, when
the parent is gone, sends itself SIGTERM: the same graceful stop a SIGTERM from outside gives.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading


def stop_with_parent() -> bool:
    """Send this process SIGTERM when the process that started it (multiprocessing) is gone;
    False, and nothing watched, when there is no such parent. Install the SIGTERM handler
    first: the parent may be gone already."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return False

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="leadrelay-parent-watch", daemon=True).start()
    return True


def parent_gone() -> bool:
    """The process that started this one has ended (False when there is none)."""
    parent = multiprocessing.parent_process()
    return parent is not None and not parent.is_alive()
