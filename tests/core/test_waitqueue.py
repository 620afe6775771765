"""Tests for threadkit._core._waitqueue: FIFO parking, deadlines, and wake-up/timeout races."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

import pytest

from conftest import STRESS, Workers, wait_until
from threadkit._core import (
    QUEUED,
    TIMED_OUT,
    WOKEN,
    CancelScope,
    MockClock,
    Waiter,
    WaitQueue,
    _hooks,
    _primitives,
    _waitqueue,
    get_clock,
    spin_until,
    use_clock,
)

pytestmark = pytest.mark.timeout(20)


def _park_in_thread(q: WaitQueue, deadline: float | None = None) -> tuple[Workers, list[Waiter]]:
    """Start a thread that queues itself on ``q`` and parks; return it and its waiter."""
    box: list[Waiter] = []

    def run() -> bool:
        with q.lock:
            waiter = q.enqueue()
            box.append(waiter)
        return q.park(waiter, deadline)

    return Workers(run).start(), box


def test_new_queue_is_empty() -> None:
    q = WaitQueue("owner")
    assert len(q) == 0
    assert not q
    assert q.owner == "owner"
    assert repr(q) == "<WaitQueue of 0 for 'owner'>"
    with q.lock:
        assert q.unpark() == 0
        assert q.unpark_all() == 0


def test_unpark_wakes_oldest_first() -> None:
    q = WaitQueue()
    parked = []
    for k in range(4):
        # Line the threads up one at a time so their order is known.
        parked.append(_park_in_thread(q))
        # (its box too: the thread fills it just after it queues itself)
        wait_until(lambda: len(q) == k + 1 and parked[-1][1], what="the next thread to queue")
    waiters = [box[0] for _, box in parked]
    assert list(q) == waiters
    with q.lock:
        assert q.unpark(1, value="first") == 1
    assert list(q) == waiters[1:]
    assert (waiters[0].state, waiters[0].value) == (WOKEN, "first")
    with q.lock:
        assert q.unpark(2) == 2
    assert list(q) == waiters[3:]
    assert [w.state for w in waiters[:3]] == [WOKEN] * 3
    with q.lock:
        assert q.unpark_all(value="all") == 1
    assert waiters[3].value == "all"
    assert not q
    for workers, _ in parked:
        workers.join()
        assert workers.results == [True]


def test_enqueue_front_goes_to_the_head() -> None:
    q = WaitQueue()
    first, first_box = _park_in_thread(q)
    wait_until(lambda: len(q) == 1 and first_box, what="the first thread to queue")
    box: list[Waiter] = []

    def jump() -> bool:
        with q.lock:
            waiter = q.enqueue(front=True)
            box.append(waiter)
        return q.park(waiter, None)

    with Workers(jump):
        wait_until(lambda: len(q) == 2 and box, what="the second thread to queue")
        assert list(q) == [box[0], first_box[0]]
        with q.lock:
            q.unpark_all()
    first.join()


def test_park_with_past_deadline_returns_false_at_once() -> None:
    q = WaitQueue()
    with q.lock:
        waiter = q.enqueue()
    assert len(q) == 1
    assert q.park(waiter, get_clock().now() - 1) is False
    assert len(q) == 0
    assert waiter.state == TIMED_OUT
    assert waiter.lock.locked()  # the parker is left acquired, ready for the next wait


def test_park_with_past_deadline_on_mock_clock_returns_false_at_once() -> None:
    q = WaitQueue()
    with use_clock(MockClock(10.0)) as clock:
        with q.lock:
            waiter = q.enqueue()
        assert q.park(waiter, clock.now()) is False
    assert len(q) == 0
    assert waiter.state == TIMED_OUT
    assert waiter.lock.locked()


def test_park_times_out_with_real_deadline() -> None:
    q = WaitQueue()
    with q.lock:
        waiter = q.enqueue()
    assert q.park(waiter, get_clock().now() + 0.01) is False
    assert len(q) == 0
    assert waiter.lock.locked()


def test_wake_up_before_park_is_not_lost() -> None:
    q = WaitQueue()
    with q.lock:
        waiter = q.enqueue()
        assert q.unpark() == 1  # woken before it even parked
    assert q.park(waiter, None) is True
    assert waiter.lock.locked()


def test_a_thread_reuses_its_waiter() -> None:
    q = WaitQueue()
    with q.lock:
        first = q.enqueue()
    assert q.park(first, get_clock().now()) is False
    with q.lock:
        second = q.enqueue()
        q.unpark()
    assert q.park(second, None) is True
    assert second is first
    assert second.generation >= 2


def test_virtual_deadline_expires_on_advance() -> None:
    clock = MockClock()
    q = WaitQueue()
    with use_clock(clock):
        workers, box = _park_in_thread(q, deadline=5.0)
        wait_until(lambda: clock.pending() == 1, what="the wake-up to be registered")
        clock.advance(4.5)
        assert len(q) == 1
        clock.advance(0.5)
        workers.join()
    assert workers.results == [False]
    assert box[0].state == TIMED_OUT
    assert len(q) == 0


@pytest.mark.timeout(60)
def test_wake_up_racing_a_timeout_is_never_lost() -> None:
    # One long-lived thread parks again and again with a deadline that expires about when
    # the main thread unparks it. Whoever wins, the outcome must be consistent: park()
    # reports True exactly when unpark() took the waiter off the queue, the queue ends
    # empty, and the parker is acquired again (or the next wait would return at once).
    q = WaitQueue()
    rounds = 500 * STRESS
    enqueued: queue.SimpleQueue[Waiter] = queue.SimpleQueue()
    outcome: queue.SimpleQueue[bool] = queue.SimpleQueue()
    go = threading.Event()

    def parker() -> None:
        for i in range(rounds):
            delay = (i % 11) * 0.00003
            with q.lock:
                waiter = q.enqueue()
            enqueued.put(waiter)
            outcome.put(q.park(waiter, get_clock().now() + delay))
            go.wait()
            go.clear()

    mismatches = []
    with Workers(parker):
        for i in range(rounds):
            waiter = enqueued.get(timeout=10)
            for _ in range((i * 37) % 8000):  # jitter: land before, at or after the deadline
                pass
            with q.lock:
                woken = q.unpark()
            result = outcome.get(timeout=10)
            if result != (woken == 1) or len(q) != 0 or not waiter.lock.locked():
                mismatches.append((i, woken, result, len(q), waiter.lock.locked()))
            go.set()
    assert mismatches == []


def test_wait_for_checks_under_the_lock_and_after_each_wake_up() -> None:
    q = WaitQueue("wait_for")
    state = {"n": 0}
    assert q.wait_for(lambda: True, None)  # ready at once: no wait
    assert q.wait_for(lambda: state["n"] >= 2, get_clock().now()) is False  # passed

    def bump() -> None:
        for _ in range(2):
            with q.lock:
                state["n"] += 1
                q.unpark_all()  # the first wake-up finds it not ready yet: waits again

    def when_parked_bump() -> None:
        wait_until(lambda: len(q) == 1)
        bump()

    t = threading.Thread(target=when_parked_bump)
    t.start()
    assert q.wait_for(lambda: state["n"] >= 2, None)
    t.join(10)


def test_a_wait_cancelled_as_it_times_out_holds_its_parker_again() -> None:
    # The timed wait ran out; before it took the queue's lock to say so, its scope was
    # cancelled, which released the parker: park() raised Cancelled with the parker still
    # released (a caller that did not abandon() would find its next wait ended at once).
    import threadkit
    from threadkit._core import _primitives as _p

    in_window, go_on = threading.Event(), threading.Event()

    class HeldAtTheDeadline:
        """The system clock; the waiting thread is held once its deadline has passed."""

        virtual = False

        def __init__(self) -> None:
            self.deadline = float("inf")

        def now(self) -> float:
            t = _p.monotonic()
            if threading.current_thread().name == "waiting" and t >= self.deadline:
                if not in_window.is_set():
                    in_window.set()
                    assert go_on.wait(10)
            return t

        def call_at(self, deadline: float, callback: object) -> None:
            raise RuntimeError("not virtual")

    clock = HeldAtTheDeadline()
    q = WaitQueue("owner")
    scope = threadkit.CancelScope()
    seen: dict[str, object] = {}

    def waiting() -> None:
        with q.lock:
            waiter = q.enqueue()
        clock.deadline = _p.monotonic() + 0.05
        with scope:
            try:
                q.park(waiter, clock.deadline)
            except BaseException as exc:
                seen["raised"] = type(exc).__name__
                seen["parker held"] = waiter.lock.locked()  # (before any abandon())
                raise

    with use_clock(clock):
        t = threading.Thread(target=waiting, name="waiting")
        t.start()
        assert in_window.wait(10)  # timed out, not yet back under the queue's lock
        scope.cancel()  # releases the parker
        go_on.set()
        t.join(10)
    assert seen == {"raised": "Cancelled", "parker held": True}


def test_a_tick_leaves_the_waiter_queued_and_the_next_park_takes_a_wake_up() -> None:
    q = WaitQueue()
    with q.lock:
        first = q.enqueue()
    with q.lock:
        q.append(Waiter())  # (another waiter behind it, never parked)
    assert q.park(first, get_clock().now() - 1, stay=True) is False
    assert q[0] is first  # still queued, in its place
    assert first.state == QUEUED
    assert first.busy  # (not free for a signal handler's wait: it is still queued)
    with q.lock:
        assert q.unpark(1) == 1  # a wake-up between two parks is not lost
    assert q.park(first, None) is True
    assert first.lock.locked()
    assert not first.busy


def test_a_tick_then_a_give_up_withdraws_the_waiter() -> None:
    q = WaitQueue()
    with q.lock:
        waiter = q.enqueue()
    assert q.park(waiter, get_clock().now() + 0.005, stay=True) is False
    q.abandon(waiter)
    assert len(q) == 0
    assert waiter.lock.locked()


def test_a_scope_deadline_ends_a_staying_wait_out_of_the_queue() -> None:
    import threadkit

    q = WaitQueue()
    with threadkit.CancelScope(deadline=get_clock().now() + 0.005):
        with q.lock:
            waiter = q.enqueue()
        with pytest.raises(threadkit.Cancelled):
            q.park(waiter, get_clock().now() + 10, stay=True)  # the scope's comes first
    assert len(q) == 0  # no tick: the waiter is out, as for any Cancelled
    assert waiter.lock.locked()


def test_staying_needs_a_real_clock() -> None:
    q = WaitQueue()
    with use_clock(MockClock(10.0)) as clock:
        with q.lock:
            waiter = q.enqueue()
        with pytest.raises(RuntimeError, match="real clock"):
            q.park(waiter, clock.now() + 1, stay=True)
    assert len(q) == 0  # withdrawn on the way out
    assert waiter.lock.locked()


# -- spinning before parking (spin_until) ----------------------------------------------------


@pytest.fixture
def spin(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Set how long spin_until spins (the default depends on the machine's CPUs), with two
    free claims (a list of the test's own: earlier tests' spins cannot have left one)."""
    monkeypatch.setattr(_waitqueue, "_spin_claims", [0.0, 0.0])
    return lambda seconds: monkeypatch.setattr(_waitqueue, "SPIN", seconds)


class _Looks:
    """A ``ready`` for spin_until: counts its looks, true once ``go`` is set."""

    def __init__(self) -> None:
        self.count = 0
        self.looked = threading.Event()  # set at the first look
        self.go = False

    def __call__(self) -> bool:
        self.count += 1
        self.looked.set()
        return self.go


def _spin_in_thread_until_made_ready() -> bool:
    """spin_until in this thread, made ready by another thread once it has looked."""
    ready = _Looks()

    def make_ready() -> None:
        assert ready.looked.wait(10)
        ready.go = True

    with Workers(make_ready):
        return spin_until(ready)


def test_spin_until_sees_another_thread_make_it_ready(spin: Callable[[float], None]) -> None:
    spin(3600.0)  # only the other thread's change ends this spin
    assert _spin_in_thread_until_made_ready() is True
    assert _waitqueue._spin_claims == [0.0, 0.0]  # its claim given back


def test_spin_until_gives_up_when_its_time_is_up(spin: Callable[[float], None]) -> None:
    spin(0.5)
    ready = _Looks()
    assert spin_until(ready) is False
    assert ready.count >= 2  # it looked again before giving up
    assert _waitqueue._spin_claims == [0.0, 0.0]


def test_spin_until_looks_once_without_a_spin(spin: Callable[[float], None]) -> None:
    spin(0.0)  # (one CPU)
    ready = _Looks()
    assert spin_until(ready) is False
    ready.go = True
    assert spin_until(ready) is True
    assert ready.count == 2


def test_spin_until_stops_at_the_callers_limit(spin: Callable[[float], None]) -> None:
    spin(3600.0)
    ready = _Looks()
    assert spin_until(ready, 0.0) is False
    start = time.monotonic()
    assert spin_until(ready, 0.01) is False
    assert time.monotonic() - start < 10  # (not the hour)


def test_spin_until_spins_in_a_scope(spin: Callable[[float], None]) -> None:
    spin(3600.0)
    with CancelScope():
        assert _spin_in_thread_until_made_ready() is True


def test_spin_until_looks_once_in_a_cancelled_scope(spin: Callable[[float], None]) -> None:
    spin(3600.0)  # the park that follows raises Cancelled: no spin first
    ready = _Looks()
    with CancelScope() as scope:
        scope.cancel()
        assert spin_until(ready) is False
    assert ready.count == 1


def test_a_cancellation_ends_the_spin_at_the_next_look(spin: Callable[[float], None]) -> None:
    spin(3600.0)
    ready = _Looks()

    def cancel_once_it_looked() -> None:
        assert ready.looked.wait(10)
        scope.cancel()

    with CancelScope() as scope, Workers(cancel_once_it_looked):
        assert spin_until(ready) is False  # (not after the hour)
    assert ready.count >= 1


def test_spin_until_stops_at_its_scopes_deadline(spin: Callable[[float], None]) -> None:
    spin(3600.0)
    ready = _Looks()
    start = time.monotonic()
    with CancelScope(deadline=get_clock().now() + 0.01):
        assert spin_until(ready) is False
    assert time.monotonic() - start < 10  # (not the hour)
    assert ready.count >= 1


def test_spin_until_looks_once_while_hooks_listen(spin: Callable[[float], None]) -> None:
    spin(3600.0)  # the listeners see a wait as a park: none is hidden in a spin
    ready = _Looks()

    def listener(*_: object) -> None:
        pass

    _hooks.add_listener(listener)
    try:
        assert spin_until(ready) is False
    finally:
        _hooks.remove_listener(listener)
    assert ready.count == 1


def test_spin_until_spins_on_no_more_threads_than_cpus(spin: Callable[[float], None]) -> None:
    spin(3600.0)
    ready = _Looks()
    fresh = time.perf_counter() + 3600  # (never lapsing while the test runs)
    _waitqueue._spin_claims[:] = [fresh, fresh]  # two spinners on two CPUs already
    assert spin_until(ready) is False
    assert ready.count == 1
    assert _waitqueue._spin_claims == [fresh, fresh]  # theirs, untouched


def test_a_claim_left_behind_lapses(spin: Callable[[float], None]) -> None:
    # A claim that an exception (from a signal handler) or a fork left behind.
    spin(3600.0)
    lapsed = time.perf_counter() - 2 * _waitqueue._CLAIM_LAPSES
    _waitqueue._spin_claims[:] = [lapsed, lapsed]
    assert _spin_in_thread_until_made_ready() is True
    assert 0.0 in _waitqueue._spin_claims


def test_spin_until_gives_its_claim_back_when_ready_raises(
    spin: Callable[[float], None],
) -> None:
    spin(3600.0)

    def ready() -> bool:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        spin_until(ready)
    assert _waitqueue._spin_claims == [0.0, 0.0]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, 50e-6), ("0", 0.0), ("120", 120e-6), ("2.5", 2.5e-6), ("5000", 5e-3)],
)
def test_the_spin_is_set_by_threadkit_spin_us(
    monkeypatch: pytest.MonkeyPatch, value: str | None, seconds: float
) -> None:
    monkeypatch.setattr(_primitives, "cpu_count", lambda: 2)
    if value is None:
        monkeypatch.delenv("THREADKIT_SPIN_US", raising=False)
    else:
        monkeypatch.setenv("THREADKIT_SPIN_US", value)
    assert _primitives.spin_setting(50e-6) == pytest.approx(seconds)
    monkeypatch.setattr(_primitives, "cpu_count", lambda: 1)
    assert _primitives.spin_setting(50e-6) == 0.0  # one CPU: never


@pytest.mark.parametrize("value", ["fast", "nan", "-1", "5001", "inf", ""])
def test_a_bad_threadkit_spin_us_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("THREADKIT_SPIN_US", value)
    with pytest.raises(ValueError, match="THREADKIT_SPIN_US must be a number of microseconds"):
        _primitives.spin_setting(50e-6)


def test_the_explorer_turns_spinning_off() -> None:
    from threadkit.testing import _models

    before = _waitqueue.SPIN
    with _models.patch():
        assert _waitqueue.SPIN == 0.0
    assert before == _waitqueue.SPIN
