"""Cancel scopes: origin, plumbing and deadlines, and every blocking call as a cancellation point.

For each blocking call: cancelled before it blocks, while it is blocked, and racing with its
completion (the item or permit ends up in exactly one place). Threads synchronise on the
primitives' ``statistics()``, never on sleeps.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import threadkit
import threadkit.queue as tq
from conftest import STRESS, Workers, wait_for_waiters, wait_until
from threadkit import Cancelled, CancelScope, MockClock

pytestmark = pytest.mark.timeout(30)


def in_scope(block: Callable[[], object], scopes: list[CancelScope]) -> Callable[[], object]:
    """A thread body: run ``block`` inside a new scope, appended to ``scopes``."""

    def run() -> object:
        with CancelScope() as scope:
            scopes.append(scope)
            return block()
        return "cancelled"

    return run


# Each case: (name, make) -> (block, waiting(n), release()). ``block`` blocks until
# ``release()`` makes it possible; ``waiting(n)`` waits until n threads block in it.
Case = tuple[
    Callable[[], object], Callable[[int], None], Callable[[], object], Callable[[], object]
]


def _event() -> Case:
    ev = threadkit.Event()
    return ev.wait, lambda n: wait_for_waiters(ev, n), ev.set, ev.is_set


def _semaphore() -> Case:
    sem = threadkit.Semaphore(0)
    return sem.acquire, lambda n: wait_for_waiters(sem, n), sem.release, lambda: sem.value


def _mutex() -> Case:
    m = threadkit.Mutex()
    m.acquire()
    return m.acquire, lambda n: wait_for_waiters(m, n), m.release, m.locked


def _condition() -> Case:
    cv = threadkit.Condition()

    def wait() -> bool:
        with cv:
            return cv.wait()

    def notify() -> None:
        with cv:
            cv.notify()

    return wait, lambda n: wait_for_waiters(cv, n), notify, lambda: None


def _queue_get() -> Case:
    q: tq.Queue[int] = tq.Queue()
    return q.get, lambda n: wait_for_waiters(q, n), lambda: q.put(1), q.qsize


def _queue_put() -> Case:
    q: tq.Queue[int] = tq.Queue(maxsize=1)
    q.put(0)
    return (lambda: q.put(1)), lambda n: wait_for_waiters(q, n), q.get, q.qsize


# Channel ends the cases open; closed after each test (the autouse fixture below).
_ENDS: list[Any] = []


@pytest.fixture(autouse=True)
def _close_ends() -> Iterator[None]:
    yield
    while _ENDS:
        _ENDS.pop().close()


def _channel(capacity: float) -> Callable[[], Case]:
    def make() -> Case:
        tx, rx = threadkit.open_channel(capacity)
        _ENDS.extend((tx, rx))

        def release() -> None:
            # A rendezvous send waits for a receiver: if the receiver was cancelled, the
            # item stays with the sender (TimeoutError), which is the one place it may be.
            try:
                tx.send(1, timeout=None if capacity else 0.2)
            except TimeoutError:
                assert capacity == 0

        return (
            rx.recv,
            lambda n: wait_for_waiters(rx, n, field="threads_waiting_receive"),
            release,
            lambda: rx.statistics().buffer_used,
        )

    return make


def _select() -> Case:
    tx, rx = threadkit.open_channel(math.inf)
    _ENDS.extend((tx, rx))
    ev = threadkit.Event()
    return (
        lambda: threadkit.select(rx.recv_op(), ev.wait_op()),
        lambda n: wait_for_waiters(rx, n, field="threads_waiting_receive"),
        lambda: tx.send(1),
        lambda: rx.statistics().buffer_used,
    )


CASES = {
    "Event.wait": _event,
    "Semaphore.acquire": _semaphore,
    "Mutex.acquire": _mutex,
    "Condition.wait": _condition,
    "Queue.get": _queue_get,
    "Queue.put": _queue_put,
    "recv(0)": _channel(0),
    "recv(4)": _channel(4),
    "recv(inf)": _channel(math.inf),
    "select": _select,
}


@pytest.fixture(params=sorted(CASES))
def name(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def case(name: str) -> Case:
    return CASES[name]()


class TestCancellationPoints:
    def test_cancel_while_blocked(self, case: Case) -> None:
        block, waiting, _release, _ = case
        scopes: list[CancelScope] = []
        with Workers(in_scope(block, scopes)) as w:
            waiting(1)
            scopes[0].cancel("stop")
        assert w.results == ["cancelled"]
        assert scopes[0].cancelled_caught
        waiting(0)  # no waiter left registered

    def test_cancel_before_blocking(self, case: Case) -> None:
        block, waiting, _, _ = case

        def run() -> object:
            with CancelScope() as scope:
                scope.cancel()
                block()
            return scope.cancelled_caught

        with Workers(run) as w:
            pass
        assert w.results == [True]
        waiting(0)

    def test_primitive_still_works_after_a_cancelled_wait(self, case: Case) -> None:
        block, waiting, release, _ = case
        scopes: list[CancelScope] = []
        with Workers(in_scope(block, scopes)):
            waiting(1)
            scopes[0].cancel()
        with Workers(block) as w:  # a plain waiter, served by the next release
            waiting(1)
            release()
        assert w.errors == []

    @pytest.mark.timeout(120)
    def test_cancel_and_release_in_either_order_and_racing(self, name: str) -> None:
        """Cancel first: the call raises Cancelled and what is released afterwards stays
        for the next taker. Release first: the call completes (its scope catches nothing).
        Both at once: one or the other, never both and never neither. (A Condition's notify
        and a rendezvous are not kept: for them only the outcome is checked.)"""
        for i in range(30 * STRESS):
            block, waiting, release, _ = CASES[name]()
            scopes: list[CancelScope] = []
            order = i % 3
            with Workers(in_scope(block, scopes)) as w:
                waiting(1)
                if order == 0:
                    scopes[0].cancel()
                    waiting(0)
                    release()
                elif order == 1:
                    release()
                    scopes[0].cancel()
                else:
                    go = threading.Barrier(2)

                    def at_the_barrier_cancel() -> None:
                        go.wait()
                        scopes[0].cancel()

                    with Workers(at_the_barrier_cancel):
                        go.wait()
                        release()
            waiting(0)
            cancelled = w.results == ["cancelled"]
            if order == 0:
                assert cancelled
            elif order == 1:
                assert not cancelled
            if cancelled and name not in {"Condition.wait", "recv(0)"}:
                with Workers(block) as again:  # what was released is still there
                    pass
                assert again.errors == []


class TestScopes:
    def test_nested_outer_cancel_passes_through_inner(self) -> None:
        with CancelScope() as outer:
            with CancelScope() as inner:
                outer.cancel()
                with pytest.raises(Cancelled) as info:
                    threadkit.checkpoint()
                assert info.value.scope is outer
                assert info.value.source == "parent"
                raise info.value
        assert outer.cancelled_caught
        assert not inner.cancelled_caught

    def test_shield_keeps_outer_cancellation_out(self) -> None:
        with CancelScope() as outer:
            outer.cancel()
            with CancelScope(shield=True) as shielded:
                threadkit.checkpoint()  # does not raise
                threadkit.sleep(0)  # does not raise either
            assert not shielded.cancelled_caught
            threadkit.checkpoint()
        assert outer.cancelled_caught

    def test_shielded_thread_is_not_woken_by_outer_cancel(self) -> None:
        ev = threadkit.Event()
        scopes: list[CancelScope] = []

        def run() -> bool:
            with CancelScope() as outer:
                scopes.append(outer)
                with CancelScope(shield=True):
                    return ev.wait(10)
            return False

        with Workers(run) as w:
            wait_for_waiters(ev, 1)
            scopes[0].cancel()
            ev.set()
        assert w.results == [True]

    def test_child_never_extends_parent_deadline(self) -> None:
        clock = MockClock()
        with threadkit.use_clock(clock):
            with CancelScope(timeout=1):
                with CancelScope(timeout=100):
                    assert threadkit.current_deadline() == 1.0
        assert threadkit.current_deadline() == math.inf

    def test_deadline_in_virtual_time(self) -> None:
        clock = MockClock()
        with threadkit.use_clock(clock):
            ev = threadkit.Event()
            caught: list[bool] = []

            def run() -> None:
                with CancelScope(timeout=5) as scope:
                    ev.wait()
                caught.append(scope.cancelled_caught)

            with Workers(run):
                wait_for_waiters(ev, 1)
                clock.advance(4.9)
                assert caught == []
                clock.advance(0.2)
            assert caught == [True]

    def test_deadline_message_and_source(self) -> None:
        with CancelScope(timeout=0) as scope:
            with pytest.raises(Cancelled, match=r"its deadline passed$") as info:
                threadkit.checkpoint()
            assert info.value.source == "deadline"
            raise info.value
        assert scope.cancelled_caught

    def test_call_timeout_earlier_than_scope_deadline_returns_false(self) -> None:
        with CancelScope(timeout=10) as scope:
            assert threadkit.Event().wait(0.01) is False
        assert not scope.cancelled_caught

    def test_fail_after_raises_timeout_error(self) -> None:
        with pytest.raises(TimeoutError, match=r"^the block did not finish within 0.01 seconds$"):
            with threadkit.fail_after(0.01):
                threadkit.sleep(10)

    def test_fail_after_explicit_cancel_is_not_a_timeout(self) -> None:
        with threadkit.fail_after(10) as scope:
            scope.cancel()
            threadkit.checkpoint()
        assert scope.cancelled_caught

    def test_move_on_after(self) -> None:
        with threadkit.move_on_after(0.01) as scope:
            threadkit.Event().wait()
        assert scope.cancelled_caught

    def test_cancelled_is_not_an_exception(self) -> None:
        assert issubclass(Cancelled, BaseException)
        assert not issubclass(Cancelled, Exception)

    def test_scope_enters_once_and_exits_in_order(self) -> None:
        scope = CancelScope()
        with scope:
            pass
        with pytest.raises(RuntimeError, match=r"^a CancelScope can be entered only once$"):
            scope.__enter__()

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"timeout": -1}, r"^timeout must be >= 0, not -1$"),
            ({"deadline": math.nan}, r"^deadline must be a number, not NaN$"),
        ],
    )
    def test_bad_arguments(self, kwargs: dict[str, Any], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            CancelScope(**kwargs)

    def test_sleep_validates(self) -> None:
        with pytest.raises(ValueError, match=r"^seconds must be >= 0, not -1$"):
            threadkit.sleep(-1)

    def test_checkpoint_outside_any_scope_is_free(self) -> None:
        threadkit.checkpoint()
        assert threadkit.current_deadline() == math.inf

    def test_repr(self) -> None:
        scope = CancelScope(shield=True)
        assert repr(scope) == "<threadkit.CancelScope active shielded>"
        scope.cancel()
        assert repr(scope) == "<threadkit.CancelScope cancelled shielded>"

    def test_an_operation_that_need_not_block_completes_in_a_cancelled_scope(self) -> None:
        """Calls check for cancellation when they would block; checkpoint() always does."""
        sem = threadkit.Semaphore(1)
        with CancelScope() as scope:
            scope.cancel()
            assert sem.acquire()
            threadkit.checkpoint()
        assert scope.cancelled_caught
        assert sem.value == 0


class TestAWakeUpBeforeTheCheck:
    """Cancelled between queuing and parking, while a wake-up came: the operation completed.

    A rendezvous (a capacity-0 channel) hands its item over as it wakes the waiter: a
    cancellation that then raised lost a sent item (or reported a taken one as not sent).
    The window is made wide by holding the thread in its scope's deadline check.
    """

    @staticmethod
    def _race(
        monkeypatch: pytest.MonkeyPatch,
        waiting: Callable[[Any, Any], object],
        other_side: Callable[[Any, Any], object],
    ) -> list[object]:
        """Run ``waiting(tx, rx)`` in a cancel scope on a thread held just before its
        cancellation check; cancel the scope, run ``other_side(tx, rx)`` here, let the
        thread go on; return what ``waiting`` returned (nothing if it raised)."""
        from threadkit._core import _cancel

        at_check, go_on = threading.Event(), threading.Event()
        notice = _cancel._ThreadState.notice

        def held(self: Any) -> None:
            if threading.current_thread().name == "waiting" and not go_on.is_set():
                at_check.set()
                assert go_on.wait(10)
            notice(self)

        monkeypatch.setattr(_cancel._ThreadState, "notice", held)
        tx, rx = threadkit.open_channel(0)
        scope = CancelScope()
        out: list[object] = []

        def run() -> None:
            with scope:
                out.append(waiting(tx, rx))

        t = threading.Thread(target=run, name="waiting")
        t.start()
        assert at_check.wait(10)  # queued (or its arm registered), not yet parked
        scope.cancel()
        other_side(tx, rx)
        go_on.set()
        t.join(10)
        tx.close()
        rx.close()
        return out

    @pytest.mark.parametrize("how", ["recv", "recv_op"])
    def test_a_cancelled_receiver_still_gets_the_item_handed_to_it(
        self, monkeypatch: pytest.MonkeyPatch, how: str
    ) -> None:
        def receive(tx: Any, rx: Any) -> object:
            return rx.recv() if how == "recv" else threadkit.select(rx.recv_op())[1]

        # tx.send() returns: the receiver took the item
        assert self._race(monkeypatch, receive, lambda tx, rx: tx.send("item")) == ["item"]

    def test_a_cancelled_sender_whose_item_was_taken_returns(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        taken: list[object] = []
        sent = self._race(
            monkeypatch, lambda tx, rx: tx.send("item"), lambda tx, rx: taken.append(rx.recv(10))
        )
        assert (taken, sent) == (["item"], [None])


class TestCLocks:
    def test_acquire_honours_the_scope_deadline(self) -> None:
        lock = threadkit.Lock()
        lock.acquire()
        with threadkit.move_on_after(0.02) as scope:
            threadkit.acquire(lock)
        assert scope.cancelled_caught
        lock.release()

    def test_acquire_with_an_earlier_timeout_returns_false(self) -> None:
        lock = threadkit.RLock()
        with Workers(lock.acquire) as w:
            pass
        assert w.results == [True]  # held by a finished thread: never released
        with CancelScope(timeout=10) as scope:
            assert threadkit.acquire(lock, timeout=0.01) is False
        assert not scope.cancelled_caught

    def test_acquire_is_a_cancellation_point_on_entry(self) -> None:
        lock = threadkit.Lock()
        with CancelScope() as scope:
            scope.cancel()
            threadkit.acquire(lock)
        assert scope.cancelled_caught
        assert not lock.locked()

    def test_acquire_outside_a_scope_is_plain(self) -> None:
        lock = threadkit.Lock()
        assert threadkit.acquire(lock)
        assert threadkit.acquire(lock, timeout=0) is False
        lock.release()


class TestCancelledOp:
    def test_fires_when_cancelled_from_another_thread(self) -> None:
        scope = CancelScope()
        tx, rx = threadkit.open_channel(math.inf)
        _ENDS.extend((tx, rx))
        with Workers(lambda: threadkit.select(rx.recv_op(), scope.cancelled_op(), timeout=10)) as w:
            wait_for_waiters(rx, 1, field="threads_waiting_receive")
            scope.cancel()
        assert w.results == [(1, scope)]
        assert rx.statistics().threads_waiting_receive == 0

    def test_already_cancelled_fires_at_once(self) -> None:
        scope = CancelScope()
        scope.cancel()
        assert threadkit.select(scope.cancelled_op(), default=True) == (0, scope)

    def test_fires_at_the_deadline_in_virtual_time(self) -> None:
        clock = MockClock()
        with threadkit.use_clock(clock):
            scope = CancelScope(deadline=5.0)
            with Workers(lambda: threadkit.select(scope.cancelled_op())) as w:
                wait_until(lambda: clock.pending() >= 1)
                clock.advance(5.0)
        assert w.results == [(0, scope)]
        assert scope.cancel_called


class TestReviewRegressions:
    """Found by review: each would hang or corrupt state."""

    def test_deadline_passed_before_a_blocking_call(self) -> None:
        with CancelScope(timeout=0) as scope:
            threadkit.Event().wait(timeout=5)  # used to deadlock noticing the deadline
        assert scope.cancelled_caught
        with CancelScope(timeout=0) as scope:
            threadkit.select(threadkit.never(), timeout=5)
        assert scope.cancelled_caught

    def test_deadline_passed_while_a_task_computes(self) -> None:
        def task() -> None:
            deadline = time.monotonic() + 0.05
            while time.monotonic() < deadline:  # computing, not at a cancellation point
                pass
            threadkit.sleep(5)

        with pytest.raises(TimeoutError):
            with threadkit.fail_after(0.02), threadkit.TaskGroup() as tg:
                tg.start(task)

    def test_out_of_order_exit_recovers(self) -> None:
        a = CancelScope()
        b = CancelScope()
        a.__enter__()
        b.__enter__()
        with pytest.raises(RuntimeError, match=r"^CancelScope exited out of order"):
            a.__exit__(None, None, None)
        a.cancel()
        b.__exit__(None, None, None)
        threadkit.checkpoint()  # a no longer applies
        assert threadkit.current_deadline() == math.inf

    def test_condition_on_a_mutex_keeps_its_lock_when_cancelled(self) -> None:
        m = threadkit.Mutex()
        cv = threadkit.Condition(m)
        with CancelScope() as scope, cv:
            scope.cancel()
            cv.wait()
        assert scope.cancelled_caught
        assert not m.locked()
