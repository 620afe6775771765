"""Tests for threadkit._sync: Event, Semaphore, BoundedSemaphore, Condition, Barrier, Mutex.

Threads synchronise on the primitives' own ``statistics()`` (``wait_for_waiters``), never on
sleeps. Timeouts that must expire are short real ones or virtual ones on a ``MockClock``.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest

import threadkit
from conftest import (
    STRESS,
    Workers,
    error_message,
    run_in_threads,
    wait_for_waiters,
    wait_until,
)
from threadkit import (
    Barrier,
    BarrierStatistics,
    BoundedSemaphore,
    Condition,
    ConditionStatistics,
    Event,
    EventStatistics,
    Mutex,
    MutexStatistics,
    Semaphore,
    SemaphoreStatistics,
)
from threadkit._core import MockClock, use_clock

pytestmark = pytest.mark.timeout(20)

ADDR = r"0x[0-9a-f]+"
NAN = math.nan


def re_full(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern, text) is not None


# --------------------------------------------------------------------------------------------
# Event


class TestEvent:
    def test_starts_unset_and_set_sets(self) -> None:
        ev = Event()
        assert ev.is_set() is False
        ev.set()
        assert ev.is_set() is True
        assert ev.wait() is True
        assert ev.wait(0) is True
        ev.clear()
        assert ev.is_set() is False

    def test_wait_timeout_returns_false(self) -> None:
        ev = Event()
        assert ev.wait(0.01) is False
        assert ev.wait(0) is False
        assert ev.statistics().threads_waiting == 0

    def test_negative_timeout_does_not_block(self) -> None:
        assert Event().wait(-1) is False
        assert Event().wait_and_clear(-1) is False

    def test_nan_timeout_raises(self) -> None:
        ev = Event()
        with pytest.raises(ValueError, match=r"^timeout must be a number, not NaN$"):
            ev.wait(NAN)
        with pytest.raises(ValueError, match=r"^timeout must be a number, not NaN$"):
            ev.wait_and_clear(NAN)
        assert ev.statistics().threads_waiting == 0

    def test_set_wakes_every_waiter(self) -> None:
        ev = Event()
        with Workers(*([lambda: ev.wait(10)] * 3)) as w:
            wait_for_waiters(ev, 3)
            ev.set()
        assert w.results == [True, True, True]
        assert ev.is_set()

    def test_waiters_see_set_even_if_cleared_at_once_gh_57711(self) -> None:
        # https://github.com/python/cpython/issues/57711: a set() followed by clear() must
        # still wake every thread already waiting, with True.
        ev = Event()
        with Workers(*([ev.wait] * 3)) as w:
            wait_for_waiters(ev, 3)
            ev.set()
            ev.clear()
        assert w.results == [True, True, True]
        assert ev.is_set() is False

    def test_wait_and_clear_returns_true_and_clears_a_set_flag(self) -> None:
        ev = Event()
        ev.set()
        assert ev.wait_and_clear(timeout=0) is True
        assert ev.is_set() is False
        assert ev.wait_and_clear(timeout=0) is False

    def test_wait_and_clear_each_set_releases_exactly_one_consumer(self) -> None:
        ev = Event()
        consumed: list[int] = []

        def consumer(i: int) -> Callable[[], None]:
            def run() -> None:
                assert ev.wait_and_clear(timeout=10) is True
                consumed.append(i)

            return run

        workers = Workers(consumer(0), consumer(1), consumer(2))
        # Line the consumers up one by one so the FIFO order is known.
        for k, thread in enumerate(workers.threads):
            thread.start()
            wait_for_waiters(ev, k + 1)
        assert ev.statistics() == EventStatistics(is_set=False, threads_waiting=3)
        for remaining in (2, 1, 0):
            ev.set()
            # The consumer is taken off the queue by set() itself, and the flag left clear.
            assert ev.statistics() == EventStatistics(is_set=False, threads_waiting=remaining)
            wait_until(lambda: len(consumed) == 3 - remaining, what="a consumer to finish")
            assert ev.is_set() is False
        workers.join()
        assert consumed == [0, 1, 2]

    def test_set_wakes_all_waiters_and_one_consumer(self) -> None:
        ev = Event()
        with Workers(lambda: ev.wait(10), lambda: ev.wait_and_clear(10)) as w:
            wait_for_waiters(ev, 2)
            ev.set()
            assert ev.is_set() is False  # the consumer took it
        assert w.results == [True, True]

    def test_wait_and_clear_times_out(self) -> None:
        ev = Event()
        assert ev.wait_and_clear(0.01) is False
        assert ev.statistics() == EventStatistics(is_set=False, threads_waiting=0)

    def test_statistics(self) -> None:
        ev = Event()
        assert ev.statistics() == EventStatistics(is_set=False, threads_waiting=0)
        with Workers(ev.wait, ev.wait_and_clear):
            wait_for_waiters(ev, 2)
            assert ev.statistics() == EventStatistics(is_set=False, threads_waiting=2)
            ev.set()  # wakes the waiter and the consumer
        assert ev.statistics() == EventStatistics(is_set=False, threads_waiting=0)
        ev.set()
        assert ev.statistics() == EventStatistics(is_set=True, threads_waiting=0)

    def test_repr_shows_state(self) -> None:
        ev = Event()
        assert repr(ev) == f"<threadkit.Event at {id(ev):#x}: unset>"
        assert re_full(rf"<threadkit\.Event at {ADDR}: unset>", repr(ev))
        ev.set()
        assert re_full(rf"<threadkit\.Event at {ADDR}: set>", repr(ev))
        ev.clear()
        with Workers(ev.wait):
            wait_for_waiters(ev, 1)
            assert re_full(rf"<threadkit\.Event at {ADDR}: unset, 1 waiting>", repr(ev))
            ev.set()


# --------------------------------------------------------------------------------------------
# Semaphore


class TestSemaphore:
    def test_negative_initial_value_raises(self) -> None:
        with pytest.raises(ValueError, match=r"^semaphore initial value must be >= 0$"):
            Semaphore(-1)

    def test_max_value_below_initial_value_raises(self) -> None:
        with pytest.raises(
            ValueError,
            match=r"^max_value must be >= the initial value: max_value 2 < value 3$",
        ):
            Semaphore(3, max_value=2)

    def test_timeout_on_non_blocking_acquire_raises(self) -> None:
        s = Semaphore(1)
        with pytest.raises(ValueError, match=r"^can't specify timeout for non-blocking acquire$"):
            s.acquire(False, timeout=1)
        assert s.value == 1

    def test_acquire_more_than_max_value_raises_instead_of_blocking_forever(self) -> None:
        s = Semaphore(2, max_value=2)
        with pytest.raises(
            ValueError, match=r"^acquire\(n=3\) can never succeed: n > max_value 2$"
        ):
            s.acquire(n=3)
        assert s.value == 2
        assert s.statistics().threads_waiting == 0

    def test_private_value_reads_like_the_stdlib(self) -> None:
        s = Semaphore(7)
        s.release(4)
        assert s._value == s.value == 11 == threading.Semaphore(11)._value

    @pytest.mark.parametrize("n", [0, -1])
    def test_acquire_or_release_fewer_than_one_raises(self, n: int) -> None:
        s = Semaphore(3)
        with pytest.raises(ValueError, match=r"^n must be one or more$"):
            s.acquire(n=n)
        with pytest.raises(ValueError, match=r"^n must be one or more$"):
            s.release(n)
        assert s.value == 3

    @pytest.mark.parametrize(
        ("stdlib", "ours"),
        [
            (lambda: threading.Semaphore(-1), lambda: Semaphore(-1)),
            (
                lambda: threading.Semaphore(1).acquire(False, timeout=1),
                lambda: Semaphore(1).acquire(False, timeout=1),
            ),
            (lambda: threading.Semaphore(1).release(0), lambda: Semaphore(1).release(0)),
        ],
        ids=["negative-value", "non-blocking-timeout", "release-zero"],
    )
    def test_messages_are_the_stdlibs(
        self, stdlib: Callable[[], object], ours: Callable[[], object]
    ) -> None:
        expected = error_message(stdlib, ValueError)
        with pytest.raises(ValueError, match=rf"^{re.escape(expected)}$"):
            ours()

    def test_bounded_release_past_max_value_names_the_counts(self) -> None:
        s = Semaphore(7, max_value=7)
        msg = (
            r"^Semaphore released too many times: release\(1\) would raise value to 8 "
            r"> max_value 7$"
        )
        with pytest.raises(ValueError, match=msg):
            s.release()
        msg = (
            r"^Semaphore released too many times: release\(4\) would raise value to 11 "
            r"> max_value 7$"
        )
        with pytest.raises(ValueError, match=msg):
            s.release(4)
        assert s.value == 7

    def test_seed_notebook_trap_unbounded_counts_past_start_bounded_raises(self) -> None:
        # The seed notebook: Semaphore(7) released 4 times with nothing acquired reads 11.
        std = threading.Semaphore(7)
        ours_unbounded = Semaphore(7)
        for _ in range(4):
            std.release()
            ours_unbounded.release()
        assert std._value == 11
        assert ours_unbounded.value == 11  # drop-in: same behaviour by default

        bounded = Semaphore(7, max_value=7)
        for _ in range(4):
            with pytest.raises(ValueError, match=r"^Semaphore released too many times: "):
                bounded.release()
        assert bounded.value == 7

    def test_value_properties(self) -> None:
        s = Semaphore(3)
        assert (s.value, s.initial_value, s.max_value) == (3, 3, None)
        assert s.acquire() is True
        assert s.acquire(n=2) is True
        assert (s.value, s.initial_value, s.max_value) == (0, 3, None)
        s.release(3)
        assert s.value == 3
        b = Semaphore(1, max_value=5)
        assert (b.value, b.initial_value, b.max_value) == (1, 1, 5)
        b.release(4)
        assert b.value == 5

    def test_default_value_is_one(self) -> None:
        s = Semaphore()
        assert s.value == 1
        assert s.acquire(False) is True
        assert s.acquire(False) is False

    def test_context_manager_acquires_and_releases(self) -> None:
        s = Semaphore(2)
        with s as got:
            assert got is True
            assert s.value == 1
        assert s.value == 2

    def test_non_blocking_acquire_returns_false_when_empty(self) -> None:
        s = Semaphore(0)
        assert s.acquire(False) is False
        assert s.acquire(blocking=False, n=2) is False
        assert s.statistics().threads_waiting == 0

    def test_negative_timeout_does_not_block(self) -> None:
        s = Semaphore(0)
        assert s.acquire(timeout=-1) is False
        assert s.acquire(timeout=-1, n=2) is False
        assert s.statistics().threads_waiting == 0

    def test_acquire_times_out(self) -> None:
        s = Semaphore(0)
        assert s.acquire(timeout=0.01) is False
        assert s.statistics().threads_waiting == 0

    def test_nan_timeout_raises(self) -> None:
        s = Semaphore(1)
        with pytest.raises(ValueError, match=r"^timeout must be a number, not NaN$"):
            s.acquire(timeout=NAN)
        assert s.value == 1

    def test_acquire_n_is_all_or_nothing(self) -> None:
        s = Semaphore(2)
        assert s.acquire(n=3, timeout=0.01) is False
        assert s.value == 2
        assert s.acquire(False, n=3) is False
        assert s.value == 2

    def test_acquire_n_succeeds_when_another_thread_releases(self) -> None:
        s = Semaphore(2)
        with Workers(lambda: s.acquire(n=3, timeout=10)) as w:
            wait_for_waiters(s, 1)
            assert s.value == 2  # nothing taken while it waits
            s.release()
        assert w.results == [True]
        assert s.value == 0

    def test_release_n_wakes_waiters_it_can_satisfy(self) -> None:
        s = Semaphore(0)
        with Workers(*([lambda: s.acquire(timeout=10)] * 3)) as w:
            wait_for_waiters(s, 3)
            s.release(3)
        assert w.results == [True, True, True]
        assert s.value == 0

    def test_waiters_are_woken_in_fifo_order(self) -> None:
        s = Semaphore(0)
        order: list[int] = []

        def waiter(i: int) -> Callable[[], None]:
            def run() -> None:
                assert s.acquire(timeout=10)
                order.append(i)

            return run

        workers = Workers(*(waiter(i) for i in range(4)))
        for k, thread in enumerate(workers.threads):
            thread.start()
            wait_for_waiters(s, k + 1)
        for k in range(4):
            s.release()
            wait_until(lambda: len(order) == k + 1, what="the next waiter")
        workers.join()
        assert order == [0, 1, 2, 3]

    @pytest.mark.timeout(20)
    def test_timed_out_head_waiter_passes_units_to_waiters_behind_it(self) -> None:
        # The head of the queue wants 3 units and only 2 are there. When it gives up, the
        # waiter behind it, which wants 1, can be served and must be woken: nothing else
        # will ever wake it.
        clock = MockClock()
        s = Semaphore(0)
        with use_clock(clock):
            workers = Workers(
                lambda: s.acquire(n=3, timeout=5), lambda: s.acquire(n=1, timeout=100)
            )
            workers.threads[0].start()
            wait_for_waiters(s, 1)
            workers.threads[1].start()
            wait_for_waiters(s, 2)
            s.release(2)
            assert s.statistics().threads_waiting == 2  # FIFO: the head needs 3
            clock.advance(5)  # the head times out
            try:
                workers.threads[0].join(10)
                assert workers.results[0] is False
                # Nothing but the timed-out head can hand the 2 units on.
                wait_until(
                    lambda: not workers.threads[1].is_alive(),
                    timeout=5,
                    what="the waiter behind the timed-out head to be served",
                )
            finally:
                clock.advance(95)  # let it time out if it was left behind
                workers.join()
        assert workers.results == [False, True]
        assert s.value == 1

    def test_huge_value_needs_no_huge_allocation(self) -> None:
        s = Semaphore(10**9)
        assert s.value == 10**9
        for _ in range(2000):  # through the lock-free part and into the reserve
            assert s.acquire()
        assert s.value == 10**9 - 2000
        assert s.acquire(n=10**6) is True
        assert s.value == 10**9 - 2000 - 10**6
        s.release(10**6 + 2000)
        assert s.value == 10**9
        assert s.acquire(n=10**9) is True
        assert s.value == 0
        assert s.acquire(False) is False
        s.release(10**9)
        assert s.value == 10**9

    def test_huge_bounded_value_reports_over_release(self) -> None:
        s = BoundedSemaphore(10**9)
        assert s.acquire(n=5)
        s.release(5)
        with pytest.raises(
            ValueError,
            match=(
                r"^Semaphore released too many times: release\(1\) would raise value to "
                r"1000000001 > max_value 1000000000$"
            ),
        ):
            s.release()
        assert s.value == 10**9

    def test_statistics(self) -> None:
        s = Semaphore(1, max_value=4)
        assert s.statistics() == SemaphoreStatistics(
            value=1, initial_value=1, max_value=4, threads_waiting=0
        )
        s.acquire()
        with Workers(lambda: s.acquire(timeout=10)):
            wait_for_waiters(s, 1)
            assert s.statistics() == SemaphoreStatistics(
                value=0, initial_value=1, max_value=4, threads_waiting=1
            )
            s.release()
        assert s.statistics() == SemaphoreStatistics(0, 1, 4, 0)

    def test_repr(self) -> None:
        s = Semaphore(3)
        assert re_full(rf"<threadkit\.Semaphore at {ADDR}: value=3>", repr(s))
        assert repr(s).startswith(f"<threadkit.Semaphore at {id(s):#x}:")
        b = Semaphore(0, max_value=1)
        with Workers(lambda: b.acquire(timeout=10)):
            wait_for_waiters(b, 1)
            assert re_full(rf"<threadkit\.Semaphore at {ADDR}: value=0/1, 1 waiting>", repr(b))
            b.release()

    @pytest.mark.timeout(30)
    def test_stress_never_more_holders_than_units(self) -> None:
        s = Semaphore(2)
        guard = threading.Lock()
        holders = 0
        most = 0
        rounds = 500 * STRESS

        def work() -> None:
            nonlocal holders, most
            for i in range(rounds):
                if i % 3 == 0:
                    ok = s.acquire(timeout=10)
                elif i % 3 == 1:
                    ok = s.acquire()
                else:
                    ok = s.acquire(n=1, blocking=True, timeout=None)
                assert ok
                with guard:
                    holders += 1
                    most = max(most, holders)
                    assert holders <= 2
                with guard:
                    holders -= 1
                s.release()

        run_in_threads(work, 8)
        assert most <= 2
        assert most >= 1
        assert s.value == 2
        assert s.statistics().threads_waiting == 0

    @pytest.mark.timeout(30)
    def test_stress_acquire_n_conserves_units(self) -> None:
        s = Semaphore(5)
        rounds = 300 * STRESS

        def work(n: int) -> Callable[[], None]:
            def run() -> None:
                for _ in range(rounds):
                    assert s.acquire(n=n, timeout=10)
                    s.release(n)

            return run

        with Workers(work(1), work(2), work(3), work(5), work(1), work(4)):
            pass
        assert s.value == 5
        assert s.statistics().threads_waiting == 0


class TestBoundedSemaphore:
    def test_is_a_semaphore_bounded_by_its_initial_value(self) -> None:
        b = BoundedSemaphore(3)
        assert isinstance(b, Semaphore)
        assert (b.value, b.initial_value, b.max_value) == (3, 3, 3)

    def test_over_release_raises(self) -> None:
        b = BoundedSemaphore(1)
        msg = (
            r"^Semaphore released too many times: release\(1\) would raise value to 2 "
            r"> max_value 1$"
        )
        with pytest.raises(ValueError, match=msg):
            b.release()
        assert b.acquire()
        b.release()
        with pytest.raises(ValueError, match=msg):
            b.release()
        assert b.value == 1

    def test_message_starts_with_the_stdlib_one(self) -> None:
        expected = error_message(threading.BoundedSemaphore(1).release, ValueError)
        with pytest.raises(ValueError, match=rf"^{re.escape(expected)}: "):
            BoundedSemaphore(1).release()

    def test_default_value_is_one(self) -> None:
        b = BoundedSemaphore()
        assert (b.value, b.max_value) == (1, 1)

    def test_negative_value_raises(self) -> None:
        with pytest.raises(ValueError, match=r"^semaphore initial value must be >= 0$"):
            BoundedSemaphore(-1)

    def test_repr_shows_bound(self) -> None:
        b = BoundedSemaphore(3)
        b.acquire()
        assert re_full(rf"<threadkit\.BoundedSemaphore at {ADDR}: value=2/3>", repr(b))

    def test_statistics(self) -> None:
        b = BoundedSemaphore(2)
        b.acquire()
        assert b.statistics() == SemaphoreStatistics(1, 2, 2, 0)


# --------------------------------------------------------------------------------------------
# Condition

LOCK_FACTORIES: list[Callable[[], Any]] = [
    Mutex,
    threading.Lock,
    threading.RLock,
    threadkit.RLock,
    lambda: None,
]
LOCK_IDS = ["Mutex", "threading.Lock", "threading.RLock", "threadkit.RLock", "default"]


class TestCondition:
    def test_wait_without_lock_raises(self) -> None:
        c = Condition()
        with pytest.raises(RuntimeError, match=r"^cannot wait on un-acquired lock$"):
            c.wait()
        with pytest.raises(RuntimeError, match=r"^cannot wait on un-acquired lock$"):
            c.wait(0)
        with pytest.raises(RuntimeError, match=r"^cannot wait on un-acquired lock$"):
            c.wait_for(lambda: False)
        assert c.statistics().threads_waiting == 0

    @pytest.mark.parametrize("timeout", [0, -1, 0.01])
    def test_wait_for_without_lock_raises_even_with_expired_timeout(self, timeout: float) -> None:
        # threading.Condition.wait_for calls wait() at least once when the predicate is
        # false, so misuse is reported whatever the timeout.
        std = threading.Condition()
        with pytest.raises(RuntimeError, match=r"^cannot wait on un-acquired lock$"):
            std.wait_for(lambda: False, timeout=timeout)
        c = Condition()
        with pytest.raises(RuntimeError, match=r"^cannot wait on un-acquired lock$"):
            c.wait_for(lambda: False, timeout=timeout)

    def test_notify_without_lock_raises(self) -> None:
        c = Condition()
        with pytest.raises(RuntimeError, match=r"^cannot notify on un-acquired lock$"):
            c.notify()
        with pytest.raises(RuntimeError, match=r"^cannot notify on un-acquired lock$"):
            c.notify_all()

    def test_wait_times_out(self) -> None:
        c = Condition()
        with c:
            assert c.wait(0.01) is False
            assert c.wait(-1) is False
            assert c.wait(0) is False
        assert c.statistics().threads_waiting == 0

    def test_nan_timeout_raises_and_leaves_no_waiter(self) -> None:
        c = Condition()
        with c:
            with pytest.raises(ValueError, match=r"^timeout must be a number, not NaN$"):
                c.wait(NAN)
        assert c.statistics().threads_waiting == 0

    def test_notify_n_wakes_n(self) -> None:
        c = Condition()
        woken: list[bool] = []

        def waiter() -> None:
            with c:
                woken.append(c.wait(10))

        with Workers(*([waiter] * 4)):
            wait_for_waiters(c, 4)
            with c:
                c.notify(2)
                assert c.statistics().threads_waiting == 2
            wait_until(lambda: len(woken) == 2, what="two waiters to finish")
            assert c.statistics().threads_waiting == 2
            with c:
                c.notify_all()
                assert c.statistics().threads_waiting == 0
        assert woken == [True] * 4

    def test_notify_wakes_oldest_first(self) -> None:
        c = Condition()
        order: list[int] = []

        def waiter(i: int) -> Callable[[], None]:
            def run() -> None:
                with c:
                    assert c.wait(10)
                    order.append(i)

            return run

        workers = Workers(*(waiter(i) for i in range(3)))
        for k, thread in enumerate(workers.threads):
            thread.start()
            wait_for_waiters(c, k + 1)
        for k in range(3):
            with c:
                c.notify()
            wait_until(lambda: len(order) == k + 1, what="the next waiter")
        workers.join()
        assert order == [0, 1, 2]

    def test_notify_with_no_waiters_is_a_no_op(self) -> None:
        c = Condition()
        with c:
            c.notify()
            c.notify(5)
            c.notify_all()
        assert c.statistics().threads_waiting == 0

    def test_wait_for_returns_predicate_value(self) -> None:
        c = Condition()
        with c:
            assert c.wait_for(lambda: 42) == 42
            assert c.wait_for(lambda: 0, timeout=0) == 0
            assert c.wait_for(lambda: "", timeout=0.01) == ""

    def test_wait_for_wakes_when_predicate_becomes_true(self) -> None:
        c = Condition()
        state = {"ready": False, "checks": 0}

        def predicate() -> bool:
            state["checks"] += 1
            return bool(state["ready"])

        def waiter() -> object:
            with c:
                return c.wait_for(predicate, timeout=10)

        with Workers(waiter) as w:
            wait_for_waiters(c, 1)
            with c:
                c.notify()  # a spurious wake-up: the predicate is still false
            wait_for_waiters(c, 1)
            wait_until(lambda: state["checks"] >= 2, what="the predicate to be re-checked")
            with c:
                state["ready"] = True
                c.notify()
        assert w.results == [True]

    @pytest.mark.parametrize("make_lock", LOCK_FACTORIES, ids=LOCK_IDS)
    def test_works_with_lock(self, make_lock: Callable[[], Any]) -> None:
        lock = make_lock()
        c = Condition(lock)
        items: list[int] = []

        def consumer() -> object:
            with c:
                assert c.wait_for(lambda: items, timeout=10)
                return items.pop()

        with Workers(consumer) as w:
            wait_for_waiters(c, 1)
            with c:
                items.append(7)
                c.notify()
        assert w.results == [7]
        if lock is not None:
            assert c.statistics() == ConditionStatistics(threads_waiting=0, lock=lock)

    @pytest.mark.parametrize("make_lock", [threading.RLock, threadkit.RLock])
    def test_recursively_held_rlock_is_fully_released_while_waiting(
        self, make_lock: Callable[[], Any]
    ) -> None:
        lock = make_lock()
        c = Condition(lock)

        def waiter() -> str:
            with c, c:  # held twice
                assert c.wait(10)
                return repr(lock)

        with Workers(waiter) as w:
            wait_for_waiters(c, 1)
            # Another thread can take the lock: the waiter released both levels.
            assert lock.acquire(timeout=5)
            try:
                c.notify()
            finally:
                lock.release()
        # Both levels were restored once the wait returned.
        assert "count=2" in str(w.results[0])
        assert lock.acquire(False)
        lock.release()

    def test_mutex_is_released_while_waiting_and_owned_after(self) -> None:
        m = Mutex()
        c = Condition(m)

        def waiter() -> bool:
            with c:
                assert c.wait(10)
                return m.owner is threading.current_thread()

        with Workers(waiter) as w:
            wait_for_waiters(c, 1)
            # wait() queues itself, then releases the mutex: released before it parks.
            wait_until(lambda: m.owner is None, what="the waiter to release the mutex")
            with c:
                c.notify()
        assert w.results == [True]
        assert m.locked() is False

    def test_virtual_timeout(self) -> None:
        clock = MockClock()
        c = Condition()

        def waiter() -> bool:
            with c:
                return c.wait(timeout=30)

        with use_clock(clock), Workers(waiter) as w:
            wait_for_waiters(c, 1)
            wait_until(lambda: clock.pending() == 1, what="the wake-up to be registered")
            clock.advance(29)
            assert c.statistics().threads_waiting == 1
            clock.advance(1)
        assert w.results == [False]

    def test_statistics_and_repr(self) -> None:
        lock = threading.Lock()
        c = Condition(lock)
        assert c.statistics() == ConditionStatistics(threads_waiting=0, lock=lock)
        assert repr(c) == f"<Condition({lock!r}, 0)>"


# --------------------------------------------------------------------------------------------
# Barrier


class TestBarrier:
    @pytest.mark.parametrize("parties", [0, -1])
    def test_fewer_than_one_party_raises(self, parties: int) -> None:
        with pytest.raises(ValueError, match=r"^parties must be (>= 1|> 0)$"):
            Barrier(parties)

    def test_all_parties_pass_with_distinct_indices(self) -> None:
        b = Barrier(3)
        results = run_in_threads(lambda: b.wait(10), 3)
        assert sorted(results) == [0, 1, 2]  # type: ignore[type-var]
        assert b.statistics() == BarrierStatistics(parties=3, n_waiting=0, broken=False)

    def test_action_runs_once_per_trip(self) -> None:
        calls: list[str] = []
        b = Barrier(3, action=lambda: calls.append(threading.current_thread().name))
        run_in_threads(lambda: b.wait(10), 3)
        assert len(calls) == 1
        run_in_threads(lambda: b.wait(10), 3)  # it is reusable
        assert len(calls) == 2

    def test_abort_breaks_waiters(self) -> None:
        b = Barrier(3)

        def waiter() -> str:
            with pytest.raises(threadkit.BrokenBarrierError):
                b.wait(10)
            return "broken"

        with Workers(waiter, waiter) as w:
            wait_for_waiters(b, 2)
            b.abort()
        assert w.results == ["broken", "broken"]
        assert b.broken is True
        with pytest.raises(threading.BrokenBarrierError):
            b.wait(10)

    def test_broken_barrier_error_is_the_stdlib_class(self) -> None:
        assert threadkit.BrokenBarrierError is threading.BrokenBarrierError

    def test_timeout_breaks_it(self) -> None:
        b = Barrier(2)
        with pytest.raises(threading.BrokenBarrierError):
            b.wait(timeout=0.01)
        assert b.broken is True
        assert b.statistics() == BarrierStatistics(2, 0, True)

    def test_default_timeout_breaks_it(self) -> None:
        b = Barrier(2, timeout=0.01)
        with pytest.raises(threading.BrokenBarrierError):
            b.wait()
        assert b.broken is True

    def test_virtual_timeout_breaks_every_waiter(self) -> None:
        clock = MockClock()
        b = Barrier(3)

        def waiter() -> bool:
            try:
                b.wait(timeout=60)
            except threading.BrokenBarrierError:
                return True
            return False

        with use_clock(clock), Workers(waiter, waiter) as w:
            wait_for_waiters(b, 2)
            wait_until(lambda: clock.pending() == 2, what="both wake-ups to be registered")
            clock.advance(60)
        assert w.results == [True, True]
        assert b.broken

    def test_reset_breaks_waiters_then_barrier_is_usable(self) -> None:
        b = Barrier(2)

        def waiter() -> bool:
            try:
                b.wait(10)
            except threading.BrokenBarrierError:
                return True
            return False

        with Workers(waiter) as w:
            wait_for_waiters(b, 1)
            b.reset()
        assert w.results == [True]
        assert b.broken is False
        assert sorted(run_in_threads(lambda: b.wait(10), 2)) == [0, 1]  # type: ignore[type-var]

    def test_a_cancelled_party_breaks_the_barrier(self) -> None:
        # Without it the other parties would wait for a party that left (forever, with no
        # timeout), as the stdlib's do for a party interrupted by KeyboardInterrupt.
        b = Barrier(3)
        scope = threadkit.CancelScope()

        def cancelled_party() -> str:
            with scope:
                b.wait()
            return "cancelled" if scope.cancelled_caught else "passed"

        def other_party() -> str:
            try:
                b.wait()  # no timeout
            except threading.BrokenBarrierError:
                return "broken"
            return "passed"

        with Workers(cancelled_party, other_party) as w:
            wait_for_waiters(b, 2)
            scope.cancel()
        assert w.results == ["cancelled", "broken"]
        assert b.broken
        with pytest.raises(threading.BrokenBarrierError):
            b.wait(10)

    def test_failing_action_breaks_the_barrier(self) -> None:
        def action() -> None:
            raise KeyError("action")

        b = Barrier(2, action=action)

        def waiter() -> str:
            try:
                b.wait(10)
            except KeyError:
                return "action raised"
            except threading.BrokenBarrierError:
                return "broken"
            return "passed"

        results = run_in_threads(waiter, 2)
        assert sorted(results) == ["action raised", "broken"]  # type: ignore[type-var]
        assert b.broken

    def test_statistics_and_properties(self) -> None:
        b = Barrier(3)
        assert (b.parties, b.n_waiting, b.broken) == (3, 0, False)
        with Workers(lambda: b.wait(10), lambda: b.wait(10)):
            wait_for_waiters(b, 2)
            assert b.statistics() == BarrierStatistics(parties=3, n_waiting=2, broken=False)
            assert b.n_waiting == 2
            b.wait(10)

    def test_repr(self) -> None:
        b = Barrier(3)
        assert re_full(rf"<threadkit\.Barrier at {ADDR}: waiters=0/3>", repr(b))

        def waiter() -> None:
            with pytest.raises(threading.BrokenBarrierError):
                b.wait(10)

        with Workers(waiter):
            wait_for_waiters(b, 1)
            assert re_full(rf"<threadkit\.Barrier at {ADDR}: waiters=1/3>", repr(b))
            b.reset()
        b.abort()
        assert re_full(rf"<threadkit\.Barrier at {ADDR}: broken>", repr(b))


# --------------------------------------------------------------------------------------------
# Mutex


def _held_elsewhere(m: Mutex, name: str = "holder") -> tuple[threading.Thread, threading.Event]:
    """Start a thread that takes ``m`` and holds it until the returned event is set."""
    acquired = threading.Event()
    done = threading.Event()

    def hold() -> None:
        with m:
            acquired.set()
            done.wait(10)

    thread = threading.Thread(target=hold, name=name, daemon=True)
    thread.start()
    assert acquired.wait(10)
    return thread, done


class TestMutex:
    def test_acquire_release_and_locked(self) -> None:
        m = Mutex()
        assert m.locked() is False
        assert m.acquire() is True
        assert m.locked() is True
        m.release()
        assert m.locked() is False
        with m as got:
            assert got is True
            assert m.locked()
        assert not m.locked()

    def test_owner_is_the_holding_thread(self) -> None:
        m = Mutex()

        def owner() -> threading.Thread | None:
            return m.owner

        assert owner() is None
        with m:
            assert owner() is threading.current_thread()
        assert owner() is None
        thread, done = _held_elsewhere(m)
        try:
            assert owner() is thread
        finally:
            done.set()
            thread.join(10)
        assert owner() is None

    def test_release_by_other_thread_names_both_threads(self) -> None:
        m = Mutex()
        thread, done = _held_elsewhere(m, "holder")
        try:

            def other() -> None:
                with pytest.raises(
                    RuntimeError,
                    match=(
                        r"^cannot release a Mutex held by thread 'holder' \(ident \d+\) "
                        r"from thread 'other' \(ident \d+\)$"
                    ),
                ):
                    m.release()

            with Workers(other, names=["other"]):
                pass
            assert m.owner is thread  # still held by the holder
        finally:
            done.set()
            thread.join(10)

    def test_release_unheld_raises(self) -> None:
        m = Mutex()
        stdlib = error_message(threading.Lock().release, RuntimeError)  # Lock's own words
        with pytest.raises(RuntimeError, match=rf"^{re.escape(stdlib)}$"):
            m.release()

    def test_reacquire_by_owner_raises_deadlock_error(self) -> None:
        m = Mutex()
        assert issubclass(threadkit.DeadlockError, RuntimeError)
        with m:
            with pytest.raises(
                threadkit.DeadlockError,
                match=(
                    r"^thread 'MainThread' \(ident \d+\) already holds this Mutex; acquiring it "
                    r"again would deadlock \(use RLock for a re-entrant lock\)$"
                ),
            ):
                m.acquire()
            with pytest.raises(threadkit.DeadlockError):
                m.acquire(timeout=1)
            assert m.owner is threading.current_thread()
        assert not m.locked()

    def test_owner_that_exited_is_reported_and_not_inherited(self) -> None:
        # Ownership is the Thread, not its ident: Linux hands a dead thread's ident to the
        # next thread at once, and that thread must not find itself owning the Mutex.
        m = Mutex()
        leaker = threadkit.Thread(target=m.acquire, name="leaker")
        leaker.start()
        leaker.join(10)
        assert m.locked()
        assert m.owner is leaker
        assert not leaker.is_alive()
        assert re.search(r"locked by thread 'leaker' \(ident \d+, exited\)>$", repr(m))

        def newcomer() -> None:
            assert m.acquire(False) is False  # not DeadlockError: it never held it
            with pytest.raises(RuntimeError, match=r"held by thread 'leaker' .*exited"):
                m.release()

        with Workers(newcomer, names=["newcomer"]):
            pass
        assert m.owner is leaker

    def test_non_blocking_reacquire_by_owner_returns_false_like_lock(self) -> None:
        m, lock = Mutex(), threading.Lock()
        with m, lock:
            assert m.acquire(False) is lock.acquire(False) is False
            assert m.owner is threading.current_thread()
        assert not m.locked()

    def test_timeout_with_non_blocking_raises(self) -> None:
        m = Mutex()
        with pytest.raises(ValueError, match=r"^can't specify a timeout for a non-blocking call$"):
            m.acquire(False, 1)
        assert not m.locked()

    def test_negative_timeout_other_than_minus_one_raises(self) -> None:
        m = Mutex()
        stdlib = error_message(lambda: threading.Lock().acquire(timeout=-2), ValueError)
        with pytest.raises(ValueError, match=rf"^{re.escape(stdlib)}$"):
            m.acquire(timeout=-2)
        assert not m.locked()

    def test_nan_timeout_raises(self) -> None:
        with pytest.raises(ValueError, match=r"^timeout must be a number, not NaN$"):
            Mutex().acquire(timeout=NAN)

    def test_timeout_above_timeout_max_raises(self) -> None:
        with pytest.raises(OverflowError, match=r"^timeout value is too large$"):
            Mutex().acquire(timeout=threading.TIMEOUT_MAX + 1)

    def test_acquire_times_out_while_held_elsewhere(self) -> None:
        m = Mutex()
        thread, done = _held_elsewhere(m)
        try:
            assert m.acquire(timeout=0.01) is False
            assert m.acquire(False) is False
            assert m.acquire(timeout=0) is False
            assert m.statistics().threads_waiting == 0
        finally:
            done.set()
            thread.join(10)
        assert m.acquire(timeout=10) is True
        m.release()

    def test_waiter_gets_it_on_release(self) -> None:
        m = Mutex()
        m.acquire()

        def waiter() -> bool:
            got = m.acquire(timeout=10)
            owned = m.owner is threading.current_thread()
            m.release()
            return got and owned

        with Workers(waiter) as w:
            wait_for_waiters(m, 1)
            m.release()
        assert w.results == [True]
        assert not m.locked()

    def test_waiters_get_it_in_fifo_order(self) -> None:
        m = Mutex()
        order: list[int] = []
        m.acquire()

        def waiter(i: int) -> Callable[[], None]:
            def run() -> None:
                with m:
                    order.append(i)

            return run

        workers = Workers(*(waiter(i) for i in range(3)))
        for k, thread in enumerate(workers.threads):
            thread.start()
            wait_for_waiters(m, k + 1)
        m.release()
        workers.join()
        assert order == [0, 1, 2]

    def test_condition_over_mutex(self) -> None:
        m = Mutex()
        c = Condition(m)
        box: list[str] = []

        def consumer() -> str:
            with c:
                c.wait_for(lambda: box, timeout=10)
                return box.pop()

        with Workers(consumer) as w:
            wait_for_waiters(c, 1)
            with c:
                box.append("item")
                c.notify()
        assert w.results == ["item"]

    def test_statistics(self) -> None:
        m = Mutex()
        assert m.statistics() == MutexStatistics(locked=False, owner=None, threads_waiting=0)
        m.acquire()

        def waiter() -> None:
            assert m.acquire(timeout=10)
            m.release()

        with Workers(waiter):
            wait_for_waiters(m, 1)
            assert m.statistics() == MutexStatistics(
                locked=True, owner=threading.current_thread(), threads_waiting=1
            )
            m.release()
        assert m.statistics() == MutexStatistics(False, None, 0)

    def test_repr(self) -> None:
        m = Mutex()
        assert re_full(rf"<threadkit\.Mutex at {ADDR}: unlocked>", repr(m))
        with m:
            assert re_full(
                rf"<threadkit\.Mutex at {ADDR}: locked by thread 'MainThread' \(ident \d+\)>",
                repr(m),
            )

    @pytest.mark.timeout(30)
    def test_stress_mutual_exclusion(self) -> None:
        m = Mutex()
        inside = 0
        total = 0
        rounds = 500 * STRESS

        def work() -> None:
            nonlocal inside, total
            for i in range(rounds):
                assert m.acquire(timeout=10) if i % 2 else m.acquire()
                inside += 1
                assert inside == 1
                total += 1
                inside -= 1
                m.release()

        run_in_threads(work, 6)
        assert total == 6 * rounds
        assert not m.locked()
