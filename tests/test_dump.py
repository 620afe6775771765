"""threadkit.diagnostics: dump(), cooperative wait tracking, the dump signal."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
from collections.abc import Iterator

import pytest

import threadkit
from conftest import wait_for_waiters, wait_until
from threadkit import diagnostics
from threadkit._core import _hooks
from threadkit.diagnostics import _dump

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def tracking() -> Iterator[None]:
    diagnostics.enable_dump()
    try:
        yield
    finally:
        diagnostics.disable_dump()


def _parked_on(obj: object) -> int:
    with _dump._lock:
        return sum(1 for record in _dump._parked.values() if record.owner is obj)


def _blocked_on_event_here(event: threadkit.Event) -> None:
    event.wait()


@pytest.mark.usefixtures("tracking")
def test_a_thread_blocked_on_an_event_shows_the_event_and_its_stack() -> None:
    event = threadkit.Event()
    thread = threading.Thread(target=_blocked_on_event_here, args=(event,), name="waiter-1")
    thread.start()
    try:
        wait_for_waiters(event, 1)
        wait_until(lambda: _parked_on(event) == 1, what="the park recorded")
        text = diagnostics.dump()
    finally:
        event.set()
        thread.join()
    assert f"Thread 'waiter-1' (ident {thread.ident}, daemon=False)" in text
    assert f"on <threadkit.Event at {id(event):#x}: unset, 1 waiting" in text, text
    assert "_blocked_on_event_here" in text
    assert "event.wait()" in text
    # woken: the record is gone
    wait_until(lambda: _parked_on(event) == 0, what="the record cleared")
    assert "blocked for" not in diagnostics.dump()


@pytest.mark.usefixtures("tracking")
def test_the_holder_of_a_mutex_is_named() -> None:
    mutex = threadkit.Mutex()
    out = io.StringIO()
    with mutex:
        thread = threading.Thread(target=mutex.acquire, kwargs={"timeout": 10}, name="mx")
        thread.start()
        wait_for_waiters(mutex, 1)
        wait_until(lambda: _parked_on(mutex) == 1, what="the park recorded")
        text = diagnostics.dump(out)
    thread.join()  # it acquired the mutex once released, and exited holding it
    assert out.getvalue() == text
    me = threading.current_thread()
    assert f"held by {me.name!r} (ident {me.ident})" in text
    assert "  times out in " in text
    assert "deadlock" not in text


def test_abba_deadlock_is_reported_as_a_cycle() -> None:
    m1, m2 = threadkit.Mutex(), threadkit.Mutex()
    both_hold = threadkit.Barrier(2)

    def take(first: threadkit.Mutex, second: threadkit.Mutex) -> None:
        with first:
            both_hold.wait()
            if second.acquire(timeout=20):
                second.release()

    diagnostics.enable_dump()
    a = threadkit.Thread(target=take, args=(m1, m2), name="thread-A")
    b = threadkit.Thread(target=take, args=(m2, m1), name="thread-B")
    try:
        a.start()
        b.start()
        wait_for_waiters(m1, 1)
        wait_for_waiters(m2, 1)
        wait_until(lambda: _parked_on(m1) == 1 and _parked_on(m2) == 1, what="both parked")
        text = diagnostics.dump()
    finally:
        a.cancel()  # A gives up (Cancelled), releasing m1: B then finishes
        a.join()
        b.join()
        diagnostics.disable_dump()
    cycles = [line for line in text.splitlines() if line.startswith("deadlock: ")]
    assert len(cycles) == 1, text
    la, lb = _dump._label(m1), _dump._label(m2)
    assert cycles[0] in (
        f"deadlock: thread-A -> {lb} -> thread-B -> {la} -> thread-A",
        f"deadlock: thread-B -> {la} -> thread-A -> {lb} -> thread-B",
    )
    assert "held by 'thread-B'" in text
    assert "held by 'thread-A'" in text


def test_dump_without_enabling_lists_threads() -> None:
    assert not diagnostics.dump_enabled()
    event = threadkit.Event()
    thread = threading.Thread(target=event.wait, name="idle-1", daemon=True)
    thread.start()
    try:
        wait_for_waiters(event, 1)
        text = diagnostics.dump()
    finally:
        event.set()
        thread.join()
    me = threading.current_thread()
    assert f"Thread {me.name!r} (ident {me.ident}, daemon={me.daemon}) (this thread)" in text
    assert f"Thread 'idle-1' (ident {thread.ident}, daemon=True)" in text
    assert "enable_dump()" in text
    assert "blocked for" not in text
    assert not _hooks.enabled


def test_enable_and_disable_are_idempotent_and_leave_no_listener() -> None:
    diagnostics.enable_dump()
    diagnostics.enable_dump()
    assert diagnostics.dump_enabled()
    assert _hooks._listeners.count(_dump._listener) == 1
    diagnostics.disable_dump()
    diagnostics.disable_dump()
    assert not diagnostics.dump_enabled()
    assert not _hooks.enabled
    assert _hooks._listeners == ()


@pytest.mark.usefixtures("tracking")
def test_a_timed_out_wait_is_cleared() -> None:
    event = threadkit.Event()
    assert not event.wait(0.001)
    assert _parked_on(event) == 0
    assert _dump._parked == {}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.usefixtures("tracking")
def test_the_dump_signal_prints_the_dump(capsys: pytest.CaptureFixture[str]) -> None:
    restore = diagnostics.install_dump_signal(signal.SIGUSR1)
    try:
        assert signal.getsignal(signal.SIGUSR1) is not signal.SIG_DFL
        os.kill(os.getpid(), signal.SIGUSR1)
        err: list[str] = []

        def printed() -> bool:
            err.append(capsys.readouterr().err)
            return "threadkit dump" in "".join(err)

        wait_until(printed, what="the dump on stderr")
    finally:
        restore()
    assert "(this thread)" in "".join(err)
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_dump_signal_writes_to_a_file() -> None:
    out = io.StringIO()
    previous = signal.getsignal(signal.SIGUSR1)
    restore = diagnostics.install_dump_signal(signal.SIGUSR1, out)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        wait_until(lambda: "threadkit dump" in out.getvalue(), what="the dump")
    finally:
        restore()
    assert signal.getsignal(signal.SIGUSR1) is previous
    assert "(this thread)" in out.getvalue()


@pytest.mark.usefixtures("tracking")
def test_the_readers_of_an_rwlock_are_named_to_a_writer() -> None:
    rw = threadkit.RWLock()

    def write() -> None:
        with rw.write(10):
            pass

    with rw.read():
        thread = threading.Thread(target=write)
        thread.start()
        wait_for_waiters(rw, 1, field="threads_waiting_write")
        wait_until(lambda: _parked_on(rw) == 1, what="the park recorded")
        text = diagnostics.dump()
    thread.join()
    me = threading.current_thread()
    assert f"held by {me.name!r} (ident {me.ident})" in text


@pytest.mark.usefixtures("tracking")
def test_a_joined_thread_is_named() -> None:
    event = threadkit.Event()
    target = threadkit.Thread(target=event.wait, name="joined-1")
    joined: list[bool] = []

    def join() -> None:
        target.join()  # a threadkit wait, in a cancel scope or not
        joined.append(True)

    joiner = threading.Thread(target=join, name="joiner-1")
    target.start()
    joiner.start()
    try:
        wait_until(lambda: _parked_on(target) == 1, what="the join recorded")
        text = diagnostics.dump()
    finally:
        event.set()
        joiner.join()
        target.join()
    assert joined == [True]
    assert f"waiting for the end of 'joined-1' (ident {target.ident})" in text


@pytest.mark.usefixtures("tracking")
def test_a_join_in_a_cycle_is_reported() -> None:
    # 'holder' holds a Mutex and joins 'taker', which waits for that Mutex: a deadlock.
    mutex = threadkit.Mutex()
    holding = threadkit.Event()

    def take() -> None:
        holding.wait()
        with mutex:
            pass

    taker = threadkit.Thread(target=take, name="taker")

    def hold_and_join() -> None:
        with mutex:
            holding.set()
            taker.join()

    holder = threadkit.Thread(target=hold_and_join, name="holder")
    taker.start()
    holder.start()
    try:
        wait_until(lambda: _parked_on(taker) == 1 and _parked_on(mutex) == 1, what="both wait")
        text = diagnostics.dump()
    finally:
        taker.cancel()  # its acquire ends with Cancelled: the cycle breaks
        holder.join(10)
        taker.join(10)
    assert f"waiting for the end of 'taker' (ident {taker.ident})" in text
    (cycle,) = [line for line in text.splitlines() if line.startswith("deadlock: ")]
    # (the cycle is written from its lowest thread ident: either thread may come first)
    assert "holder -> join of 'taker' -> taker" in cycle
    assert "taker -> Mutex at " in cycle
    assert not holder.is_alive()
