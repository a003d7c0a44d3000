"""The collector pause around loops that keep every decision (bulk, simulation, policy diff)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from leadrelay.gc_pause import collector_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_is_on_again_after_an_error_in_the_block() -> None:
    with pytest.raises(ValueError, match="boom"), collector_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_blocks_in_threads_leave_it_on_whichever_ends_last() -> None:
    inner_started, outer_done = threading.Event(), threading.Event()
    seen: list[bool] = []

    def inner() -> None:
        with collector_paused():  # begins while the outer block holds it off
            inner_started.set()
            outer_done.wait(5)
            seen.append(gc.isenabled())  # the outer block ended first and turned it on

    with collector_paused():
        thread = threading.Thread(target=inner)
        thread.start()
        assert inner_started.wait(5)
    outer_done.set()
    thread.join(5)
    assert seen == [True]
    assert gc.isenabled()
