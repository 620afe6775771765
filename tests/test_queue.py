"""Tests for threadkit.queue: Queue, LifoQueue, PriorityQueue, SimpleQueue.

CPython's own queue tests run against these classes in the conformance suite
(``../shared/conformance/run.py``); these tests cover what that suite does not: the messages,
``shutdown()`` on every Python, the additions (iteration, ``get_many``, ``peek``, a settable
``maxsize``, ``statistics()``, the select operations) and stress. Threads synchronise on the
queues' own ``statistics()``, never on sleeps.
"""

from __future__ import annotations

import gc
import math
import queue as stdqueue
import random
import re
import sys
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

import threadkit.queue as tq
from conftest import STRESS, Workers, error_message, wait_for_waiters, wait_until
from threadkit._core import MockClock, _hooks, get_clock, run_select, use_clock
from threadkit.queue import (
    Empty,
    Full,
    LifoQueue,
    PriorityQueue,
    Queue,
    QueueStatistics,
    ShutDown,
    SimpleQueue,
    SimpleQueueStatistics,
)

pytestmark = pytest.mark.timeout(20)

ADDR = r"0x[0-9a-f]+"
NEGATIVE_TIMEOUT = r"^'timeout' must be a non-negative number$"
NAN_TIMEOUT = r"^timeout must be a number, not NaN$"
QUEUE_KINDS = [Queue, LifoQueue, PriorityQueue]


def select(ops: list[Any], deadline: float | None = None, default: bool = False) -> Any:
    """Run ``run_select`` over ``ops`` in the given order (biased), as threadkit.select will."""
    return run_select(ops, deadline, default, True, random.Random(0))


def expect(
    exc: type[BaseException], fn: Callable[..., object], *args: Any, **kwargs: Any
) -> Callable[[], str]:
    """A thread body: ``fn(*args, **kwargs)`` must raise ``exc``; return the class name."""

    def run() -> str:
        with pytest.raises(exc):
            fn(*args, **kwargs)
        return exc.__name__

    return run


def waiting(q: Any, what: str, n: int) -> None:
    """Block until ``n`` threads wait to ``what`` ("get", "put", "join") on ``q``."""
    wait_until(
        lambda: getattr(q.statistics(), f"threads_waiting_{what}") == n,
        what=f"{n} threads waiting to {what} on {q!r}",
    )


# --------------------------------------------------------------------------------------------
# The module


class TestModule:
    def test_has_every_name_of_the_stdlib_module(self) -> None:
        stdlib_names = {"Empty", "Full", "ShutDown", "Queue", "LifoQueue", "PriorityQueue"}
        stdlib_names |= {"SimpleQueue"}
        assert stdlib_names <= set(tq.__all__)
        public = {name for name in dir(tq) if not name.startswith("_")} - {"annotations"}
        assert sorted(tq.__all__) == sorted(public)

    def test_empty_and_full_are_the_stdlib_classes(self) -> None:
        assert Empty is stdqueue.Empty
        assert Full is stdqueue.Full

    def test_shutdown_is_the_stdlib_class_where_it_exists(self) -> None:
        if sys.version_info >= (3, 13):
            assert ShutDown is stdqueue.ShutDown
        else:
            assert ShutDown.__module__ == "threadkit.queue"
        assert ShutDown.__bases__ == (Exception,)
        # The stdlib's docstring (before 3.13, threadkit's own class adds an example to it).
        assert (ShutDown.__doc__ or "").startswith("Raised when put/get with shut-down queue.")

    def test_classes_say_threadkit_queue(self) -> None:
        for cls in (*QUEUE_KINDS, SimpleQueue, QueueStatistics, SimpleQueueStatistics):
            assert cls.__module__ == "threadkit.queue"

    def test_classes_are_generic(self) -> None:
        q: Queue[int] = Queue[int]()
        q.put(1)
        assert q.get() == 1
        assert SimpleQueue[str] is not None
        assert LifoQueue[int] is not None
        assert PriorityQueue[int] is not None


# --------------------------------------------------------------------------------------------
# Queue (and what LifoQueue and PriorityQueue share with it)


@pytest.fixture(params=QUEUE_KINDS, ids=lambda cls: cls.__name__)
def kind(request: pytest.FixtureRequest) -> type[Queue[Any]]:
    cls: type[Queue[Any]] = request.param
    return cls


class TestQueue:
    def test_fifo_order_and_sizes(self) -> None:
        q: Queue[int] = Queue(3)
        assert (q.qsize(), q.empty(), q.full()) == (0, True, False)
        for i in (1, 3, 2):
            q.put(i)
        assert (q.qsize(), q.empty(), q.full()) == (3, False, True)
        assert [q.get(), q.get_nowait(), q.get(timeout=1)] == [1, 3, 2]
        assert q.queue is not None
        assert len(q.queue) == 0

    def test_nowait_and_timeouts_raise_full_and_empty(self, kind: type[Queue[int]]) -> None:
        q = kind(1)
        with pytest.raises(Empty):
            q.get_nowait()
        with pytest.raises(Empty):
            q.get(timeout=0.01)
        with pytest.raises(Empty):
            q.get(block=False, timeout=-1)  # the timeout is ignored, as in the stdlib
        q.put_nowait(1)
        with pytest.raises(Full):
            q.put_nowait(2)
        with pytest.raises(Full):
            q.put(2, timeout=0.01)
        with pytest.raises(Full):
            q.put(2, block=False, timeout=-1)
        assert q.statistics().threads_waiting == 0

    def test_negative_timeout_raises_the_stdlib_message(self, kind: type[Queue[int]]) -> None:
        q = kind(2)
        with pytest.raises(ValueError, match=NEGATIVE_TIMEOUT):
            q.put(1, timeout=-1)  # checked even when there is room, as in the stdlib
        q.put(1)
        with pytest.raises(ValueError, match=NEGATIVE_TIMEOUT):
            q.get(timeout=-1)  # checked even when there is an item
        assert q.qsize() == 1
        std: stdqueue.Queue[int] = stdqueue.Queue(2)
        assert error_message(lambda: std.get(timeout=-1), ValueError) == error_message(
            lambda: q.get(timeout=-1), ValueError
        )

    def test_unbounded_put_ignores_a_negative_timeout(self) -> None:
        q: Queue[int] = Queue()
        q.put(1, timeout=-1)  # the stdlib never looks at it either
        assert q.get() == 1

    def test_nan_timeout_raises(self) -> None:
        q: Queue[int] = Queue(1)
        with pytest.raises(ValueError, match=NAN_TIMEOUT):
            q.get(timeout=math.nan)
        q.put(1)
        with pytest.raises(ValueError, match=NAN_TIMEOUT):
            q.put(2, timeout=math.nan)

    def test_task_done_too_many_times(self) -> None:
        q: Queue[int] = Queue()
        with pytest.raises(ValueError, match=r"^task_done\(\) called too many times$"):
            q.task_done()
        q.put(1)
        q.get()
        q.task_done()
        with pytest.raises(ValueError, match=r"^task_done\(\) called too many times$"):
            q.task_done()
        assert q.unfinished_tasks == 0

    def test_join_waits_for_every_task_done(self) -> None:
        q: Queue[int] = Queue()
        q.join()  # nothing unfinished: returns at once
        q.put(1)
        q.put(2)
        with Workers(q.join, q.join):
            waiting(q, "join", 2)
            q.get()
            q.task_done()
            assert q.statistics().threads_waiting_join == 2
            q.get()
            q.task_done()
        assert q.statistics() == QueueStatistics(0, 0, 0, False, 0, 0, 0)

    def test_blocked_get_is_woken_by_put(self, kind: type[Queue[str]]) -> None:
        q = kind()
        with Workers(q.get, lambda: q.get(timeout=10)) as w:
            wait_for_waiters(q, 2)
            q.put("a")
            q.put("b")
        assert sorted(w.results) == ["a", "b"]  # type: ignore[type-var]

    def test_blocked_put_is_woken_by_get(self, kind: type[Queue[str]]) -> None:
        q = kind(1)
        q.put("a")
        with Workers(lambda: q.put("b"), lambda: q.put("c", timeout=10)):
            waiting(q, "put", 2)
            got = [q.get()]
            wait_until(lambda: q.qsize() == 1 and q.statistics().threads_waiting_put == 1)
            got.append(q.get())
            got.append(q.get())
        assert sorted(got) == ["a", "b", "c"]
        assert q.unfinished_tasks == 3

    def test_blocked_putters_are_served_in_order(self) -> None:
        q: Queue[int] = Queue(1)
        q.put(0)
        with Workers(lambda: q.put(1)):
            waiting(q, "put", 1)
            with Workers(lambda: q.put(2)):
                waiting(q, "put", 2)
                assert [q.get(), q.get(), q.get()] == [0, 1, 2]

    def test_virtual_timeout(self) -> None:
        clock = MockClock()
        q: Queue[int] = Queue(1)
        with use_clock(clock), Workers(expect(Empty, q.get, timeout=30)) as w:
            wait_for_waiters(q, 1)
            wait_until(lambda: clock.pending() == 1, what="the wake-up to be registered")
            clock.advance(29)
            assert q.statistics().threads_waiting_get == 1
            clock.advance(1)
        assert w.results == ["Empty"]

    def test_an_item_that_arrives_as_the_timeout_expires_is_taken(self) -> None:
        clock = MockClock()
        q: Queue[int] = Queue()
        with use_clock(clock), Workers(lambda: q.get(timeout=5)) as w:
            wait_for_waiters(q, 1)
            q.put(7)
            clock.advance(5)
        assert w.results == [7]

    # shutdown(), 3.13's semantics on every Python

    def test_shutdown_makes_puts_raise_and_gets_drain(self, kind: type[Queue[int]]) -> None:
        q = kind()
        q.put(1)
        assert q.statistics().shut_down is False
        q.shutdown()
        assert q.is_shutdown is True
        with pytest.raises(ShutDown):
            q.put(2)
        with pytest.raises(ShutDown):
            q.put_nowait(2)
        assert q.get() == 1
        for get in (q.get, q.get_nowait, lambda: q.get(timeout=1), lambda: q.get_many(2)):
            with pytest.raises(ShutDown):
                get()
        q.task_done()
        q.join()

    def test_shutdown_immediate_drains_and_counts_done(self, kind: type[Queue[int]]) -> None:
        q = kind()
        for i in range(3):
            q.put(i)
        q.get()  # taken, not done: join() must still wait for it
        q.shutdown(immediate=True)
        assert (q.qsize(), q.unfinished_tasks) == (0, 1)
        with pytest.raises(ShutDown):
            q.get_nowait()
        with Workers(q.join):
            waiting(q, "join", 1)
            q.task_done()
        with pytest.raises(ValueError, match=r"^task_done\(\) called too many times$"):
            q.task_done()

    def test_shutdown_immediate_releases_join(self) -> None:
        q: Queue[int] = Queue()
        q.put(1)
        q.put(2)
        with Workers(q.join):
            waiting(q, "join", 1)
            q.shutdown(immediate=True)
        assert q.unfinished_tasks == 0

    def test_shutdown_wakes_blocked_getters_and_putters(self, kind: type[Queue[int]]) -> None:
        empty, full = kind(), kind(1)
        full.put(0)
        with Workers(
            expect(ShutDown, empty.get),
            expect(ShutDown, empty.get, timeout=10),
            expect(ShutDown, empty.get_many, 3),
            expect(ShutDown, full.put, 1),
            expect(ShutDown, full.put, 1, timeout=10),
        ) as w:
            wait_for_waiters(empty, 3)
            wait_for_waiters(full, 2)
            empty.shutdown()
            full.shutdown()
        assert w.results == ["ShutDown"] * 5
        assert full.get() == 0  # not immediate: the item stays to be drained

    def test_shutdown_is_idempotent_and_may_become_immediate(self) -> None:
        q: Queue[int] = Queue()
        q.put(1)
        q.shutdown()
        q.shutdown()
        assert q.qsize() == 1
        q.shutdown(immediate=True)
        assert q.qsize() == 0
        q.shutdown(immediate=False)
        assert q.is_shutdown is True

    def test_immediate_shutdown_releases_items_without_the_lock(self) -> None:
        q: Queue[object] = Queue()
        held: list[bool] = []

        class Probe:
            def __del__(self) -> None:
                held.append(q.mutex.locked())

        q.put(Probe())
        q.shutdown(immediate=True)
        gc.collect()
        assert held == [False]

    # iteration

    def test_iteration_yields_until_shut_down_and_drained(self, kind: type[Queue[int]]) -> None:
        q = kind()
        for i in (2, 1, 3):
            q.put(i)
        q.shutdown()
        assert sorted(q) == [1, 2, 3]

    def test_iteration_blocks_and_ends_at_shutdown(self) -> None:
        q: Queue[int] = Queue()
        with Workers(lambda: list(q)) as w:
            wait_for_waiters(q, 1)
            q.put(1)
            q.put(2)
            wait_until(lambda: q.qsize() == 0 and q.statistics().threads_waiting_get == 1)
            q.shutdown()
        assert w.results == [[1, 2]]

    def test_iteration_ends_at_once_on_immediate_shutdown(self) -> None:
        q: Queue[int] = Queue()
        q.put(1)
        q.shutdown(immediate=True)
        assert list(q) == []

    # get_many

    def test_get_many_takes_up_to_max_items(self, kind: type[Queue[int]]) -> None:
        q = kind()
        for i in (3, 1, 2):
            q.put(i)
        first = q.get_many(2)
        assert len(first) == 2
        assert sorted(first + q.get_many(5)) == [1, 2, 3]
        assert q.unfinished_tasks == 3

    def test_get_many_keeps_get_order(self) -> None:
        q: Queue[int] = Queue()
        lifo: LifoQueue[int] = LifoQueue()
        prio: PriorityQueue[int] = PriorityQueue()
        for each in (q, lifo, prio):
            for i in (2, 3, 1):
                each.put(i)
        assert q.get_many(3) == [2, 3, 1]
        assert lifo.get_many(3) == [1, 3, 2]
        assert prio.get_many(3) == [1, 2, 3]

    def test_get_many_blocks_for_the_first_item(self) -> None:
        q: Queue[int] = Queue()
        with Workers(lambda: q.get_many(10)) as w:
            wait_for_waiters(q, 1)
            q.put(1)
        assert w.results == [[1]]

    def test_get_many_timeout_raises_empty(self) -> None:
        q: Queue[int] = Queue()
        with pytest.raises(Empty):
            q.get_many(3, timeout=0)
        with pytest.raises(Empty):
            q.get_many(3, timeout=0.01)
        assert q.statistics().threads_waiting_get == 0

    def test_get_many_validates_its_arguments(self) -> None:
        q: Queue[int] = Queue()
        q.put(1)
        with pytest.raises(ValueError, match=r"^max_items must be >= 1, not 0$"):
            q.get_many(0)
        with pytest.raises(TypeError, match=r"^max_items must be an int, not float$"):
            q.get_many(2.0)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"^timeout must be >= 0, not -1$"):
            q.get_many(1, timeout=-1)
        with pytest.raises(ValueError, match=r"^timeout must be a number, not NaN$"):
            q.get_many(1, timeout=math.nan)
        assert q.qsize() == 1

    def test_get_many_wakes_a_putter_per_freed_slot(self) -> None:
        q: Queue[int] = Queue(2)
        q.put(0)
        q.put(0)
        with Workers(lambda: q.put(1), lambda: q.put(1), lambda: q.put(1)):
            waiting(q, "put", 3)
            assert q.get_many(5) == [0, 0]
            wait_until(lambda: q.qsize() == 2 and q.statistics().threads_waiting_put == 1)
            assert q.get_many(1) == [1]
        assert q.get_many(5) == [1, 1]

    # peek

    def test_peek_returns_the_next_item_without_taking_it(self) -> None:
        q: Queue[int] = Queue()
        q.put(1)
        q.put(2)
        assert q.peek() == 1
        assert q.qsize() == 2
        assert q.get() == 1

    def test_peek_on_an_empty_queue(self) -> None:
        q: Queue[int] = Queue()
        with pytest.raises(Empty):
            q.peek()
        q.put(1)
        q.shutdown()
        assert q.peek() == 1
        q.get()
        with pytest.raises(ShutDown):
            q.peek()

    # maxsize

    def test_growing_maxsize_wakes_the_putters_that_fit(self) -> None:
        q: Queue[int] = Queue(1)
        q.put(0)
        with Workers(lambda: q.put(1), lambda: q.put(2), lambda: q.put(3)):
            waiting(q, "put", 3)
            q.maxsize = 3
            wait_until(lambda: q.qsize() == 3, what="two putters to finish")
            assert q.statistics().threads_waiting_put == 1
            q.maxsize = 0  # unbounded: everyone fits
        assert q.qsize() == 4
        assert q.maxsize == 0

    def test_shrinking_maxsize_keeps_items_and_blocks_puts(self) -> None:
        q: Queue[int] = Queue(3)
        for i in range(3):
            q.put(i)
        q.maxsize = 1
        assert q.full()
        with pytest.raises(Full):
            q.put_nowait(3)
        with Workers(lambda: q.put(3)):
            waiting(q, "put", 1)
            assert q.get() == 0
            assert q.get() == 1  # one item left: still full for maxsize 1
            assert q.statistics().threads_waiting_put == 1
            assert q.get() == 2
        assert q.get() == 3

    def test_maxsize_set_before_init_by_a_subclass(self) -> None:
        class Preset(Queue[int]):
            def __init__(self) -> None:
                self.maxsize = 5
                super().__init__(self.maxsize)

        assert Preset().maxsize == 5

    # statistics and repr

    def test_statistics_and_repr(self) -> None:
        q: Queue[int] = Queue(2)
        assert q.statistics() == QueueStatistics(
            qsize=0,
            maxsize=2,
            unfinished_tasks=0,
            shut_down=False,
            threads_waiting_get=0,
            threads_waiting_put=0,
            threads_waiting_join=0,
        )
        assert re.fullmatch(
            rf"<threadkit\.queue\.Queue at {ADDR}: 0/2 items, 0 unfinished>", repr(q)
        )
        with Workers(q.get):
            wait_for_waiters(q, 1)
            assert q.statistics().threads_waiting_get == 1
            assert repr(q).endswith(": 0/2 items, 0 unfinished, 1 waiting to get>")
            q.put(1)
        q.put(2)
        q.put(3)
        with Workers(lambda: q.put(4)):
            waiting(q, "put", 1)
            stats = q.statistics()
            assert (stats.qsize, stats.unfinished_tasks, stats.threads_waiting) == (2, 3, 1)
            assert repr(q).endswith(": 2/2 items, 3 unfinished, 1 waiting to put>")
            q.get()
        q.shutdown()
        assert q.statistics().shut_down is True
        assert re.fullmatch(
            rf"<threadkit\.queue\.Queue at {ADDR}: 2/2 items, 4 unfinished, shut down>", repr(q)
        )
        assert repr(LifoQueue()).startswith("<threadkit.queue.LifoQueue at 0x")

    def test_repr_does_not_take_the_lock(self) -> None:
        q: Queue[int] = Queue()
        with q.mutex:
            assert "0 items" in repr(q)

    # the stdlib's public attributes and subclass hooks

    def test_public_attributes(self) -> None:
        q: Queue[int] = Queue(4)
        assert type(q.mutex) is type(threading.Lock())
        q.put(1)
        with q.mutex:  # the stdlib idiom for looking at (or clearing) the container
            assert list(q.queue) == [1]
            assert q.unfinished_tasks == 1

    def test_subclass_with_its_own_container(self) -> None:
        class SetQueue(Queue[int]):
            """Drops duplicates: the storage hooks are all its own."""

            def _init(self, maxsize: int) -> None:
                self.queue: set[int] = set()

            def _qsize(self) -> int:
                return len(self.queue)

            def _put(self, item: int) -> None:
                self.queue.add(item)

            def _get(self) -> int:
                return self.queue.pop()

            def _peek(self) -> int:
                return min(self.queue)

        q = SetQueue(2)
        q.put(1)
        q.put(1)
        q.put(2)
        assert q.full()
        assert q.peek() == 1
        with Workers(lambda: q.put(3)):
            waiting(q, "put", 1)
            assert q.get() in (1, 2)
        assert q.qsize() == 2
        assert q.unfinished_tasks == 4  # one per put, as in the stdlib

    def test_failing_hooks_leave_the_queue_consistent(self) -> None:
        class Failing(Queue[int]):
            fail = False

            def _put(self, item: int) -> None:
                if self.fail:
                    raise RuntimeError("put failed")
                super()._put(item)

            def _get(self) -> int:
                if self.fail:
                    raise RuntimeError("get failed")
                return super()._get()

        q = Failing(1)
        q.fail = True
        with pytest.raises(RuntimeError, match=r"^put failed$"):
            q.put(1)
        assert (q.qsize(), q.unfinished_tasks) == (0, 0)
        q.fail = False
        q.put(1)
        q.fail = True
        with pytest.raises(RuntimeError, match=r"^get failed$"):
            q.get()
        q.fail = False
        assert q.get() == 1
        assert q.statistics().threads_waiting == 0

    def test_shutdown_wakes_everyone_even_if_a_get_hook_raises(self) -> None:
        class FailingGet(Queue[int]):
            def _get(self) -> int:
                raise RuntimeError("get failed")

        q = FailingGet(1)
        q.put(0)
        with Workers(expect(ShutDown, q.put, 1)) as w:
            waiting(q, "put", 1)
            with pytest.raises(RuntimeError, match=r"^get failed$"):
                q.shutdown(immediate=True)
        assert w.results == ["ShutDown"]

    def test_a_woken_putter_whose_put_fails_passes_the_slot_on(self) -> None:
        class FailOnce(Queue[int]):
            fail_next = False

            def _put(self, item: int) -> None:
                if self.fail_next:
                    self.fail_next = False
                    raise RuntimeError("put failed")
                super()._put(item)

        q = FailOnce(1)
        q.put(0)
        errors: list[str] = []

        def failing_put() -> None:
            with pytest.raises(RuntimeError):
                q.put(1)
            errors.append("failed")

        with Workers(failing_put):
            waiting(q, "put", 1)
            with Workers(lambda: q.put(2)):
                waiting(q, "put", 2)
                q.fail_next = True
                assert q.get() == 0  # wakes the first putter, whose _put fails
        assert errors == ["failed"]
        assert q.get() == 2  # the second putter got the slot

    @pytest.mark.parametrize("make", [Queue, SimpleQueue])
    def test_an_interrupted_getter_passes_its_wake_up_on(self, make: Callable[[], Any]) -> None:
        # A getter woken by put() that is then interrupted (KeyboardInterrupt from a signal
        # handler; here a hook listener raising at the same point) must hand the wake-up to
        # the next getter, or the item would sit in the queue with a getter asleep.
        q = make()

        class Interrupt(BaseException):
            pass

        def listener(event: str, obj: object, detail: object) -> None:
            if event == "wake" and obj is q and threading.current_thread().name == "first":
                raise Interrupt

        def first() -> str:
            with pytest.raises(Interrupt):
                q.get()
            return "interrupted"

        _hooks.add_listener(listener)
        try:
            with Workers(first, names=["first"]) as w1:
                wait_for_waiters(q, 1)
                with Workers(q.get, names=["second"]) as w2:
                    wait_for_waiters(q, 2)
                    q.put("item")
        finally:
            _hooks.remove_listener(listener)
        assert w1.results == ["interrupted"]
        assert w2.results == ["item"]

    # select operations (threadkit._core.run_select; threadkit.select is built on it)

    def test_get_op_and_put_op_when_ready(self) -> None:
        q: Queue[str] = Queue(1)
        assert select([q.put_op("a")]) == (0, None)
        assert select([q.put_op("b")], default=True) == (-1, None)
        assert select([q.get_op()]) == (0, "a")
        assert select([q.get_op()], default=True) == (-1, None)
        assert q.unfinished_tasks == 1

    def test_an_op_not_taken_has_no_effect(self) -> None:
        a: Queue[str] = Queue()
        b: Queue[str] = Queue(1)
        a.put("x")
        assert select([a.get_op(), b.put_op("y")]) == (0, "x")  # biased: the first ready one
        assert b.qsize() == 0
        assert b.unfinished_tasks == 0
        a.put("x")
        assert select([b.put_op("y"), a.get_op()]) == (0, None)
        assert a.qsize() == 1

    def test_blocking_select_takes_from_the_queue_that_gets_an_item(self) -> None:
        a: Queue[str] = Queue()
        b: Queue[str] = Queue()
        with Workers(lambda: select([a.get_op(), b.get_op()])) as w:
            wait_for_waiters(a, 1)
            wait_for_waiters(b, 1)
            b.put("y")
        assert w.results == [(1, "y")]
        assert a.statistics().threads_waiting == 0
        assert b.statistics().threads_waiting == 0
        a.put("x")
        assert a.get_nowait() == "x"  # the losing arm left nothing behind

    def test_blocking_select_put_op(self) -> None:
        q: Queue[str] = Queue(1)
        q.put("a")
        with Workers(lambda: select([q.put_op("b")])) as w:
            waiting(q, "put", 1)
            assert q.get() == "a"
        assert w.results == [(0, None)]
        assert q.get_nowait() == "b"

    def test_a_fired_select_is_skipped_by_the_next_put(self) -> None:
        a: Queue[str] = Queue()
        b: Queue[str] = Queue()
        with Workers(lambda: select([a.get_op(), b.get_op()])) as w:
            wait_for_waiters(a, 1)
            with Workers(a.get) as plain:
                waiting(a, "get", 2)
                b.put("y")  # the select fires on b
                wait_until(lambda: w.results[0] is not None, what="the select to return")
                a.put("x")  # goes to the plain getter, not to the select's stale arm
        assert w.results == [(1, "y")]
        assert plain.results == ["x"]

    def test_select_raises_shutdown(self) -> None:
        q: Queue[int] = Queue()
        with Workers(expect(ShutDown, select, [q.get_op()])):
            wait_for_waiters(q, 1)
            q.shutdown()
        with pytest.raises(ShutDown):
            select([q.put_op(1)])

    def test_select_deadline(self) -> None:
        q: Queue[int] = Queue()
        with pytest.raises(TimeoutError):
            select([q.get_op()], deadline=get_clock().now() + 0.01)
        assert q.statistics().threads_waiting == 0
        assert repr(q.get_op()).endswith(".get_op()")

    # stress

    @pytest.mark.parametrize("maxsize", [0, 8])
    def test_mpmc_stress_loses_and_duplicates_nothing(
        self, kind: type[Queue[int]], maxsize: int
    ) -> None:
        q = kind(maxsize)
        producers, consumers, per_producer = 4, 4, 500 * STRESS
        received: list[list[int]] = [[] for _ in range(consumers)]

        def produce(start: int) -> Callable[[], None]:
            def run() -> None:
                for i in range(start, start + per_producer):
                    q.put(i, timeout=10) if i % 3 else q.put(i)

            return run

        def consume(index: int) -> Callable[[], None]:
            def run() -> None:
                mine = received[index]
                if index == 0:
                    for item in q:
                        mine.append(item)
                        q.task_done()
                    return
                while True:
                    try:
                        items = q.get_many(3) if index == 1 else [q.get(timeout=10)]
                    except ShutDown:
                        return
                    mine.extend(items)
                    for _ in items:
                        q.task_done()

            return run

        with Workers(*(consume(i) for i in range(consumers))):
            with Workers(*(produce(p * per_producer) for p in range(producers))):
                pass
            q.join()
            q.shutdown()
        everything = Counter(item for mine in received for item in mine)
        assert everything == Counter(range(producers * per_producer))
        assert q.statistics() == QueueStatistics(0, maxsize, 0, True, 0, 0, 0)

    def test_get_nowait_never_blocks_when_an_item_is_taken_meanwhile(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[Callable[[Queue[int]], int]] = [
            lambda q: q.get_nowait(),
            lambda q: q.get(timeout=0),
        ]
        for call in calls:
            q: Queue[int] = Queue()
            q.put(1)
            real = q._get_locked

            def thief(q: Queue[int] = q, real: Any = real) -> tuple[bool, int | None]:
                # A lock-free get takes the item between _qsize() and _get(), once.
                q.queue.popleft()
                monkeypatch.setattr(q, "_get_locked", real)
                return False, None

            monkeypatch.setattr(q, "_pop_lock_free", lambda: (False, None))  # lost a race...
            monkeypatch.setattr(q, "_get_locked", thief)  # ...and another
            with pytest.raises(Empty):
                call(q)

    @pytest.mark.parametrize("timeout", [-1, math.nan])
    def test_bad_timeout_rejected_even_with_an_item_there(self, timeout: float) -> None:
        q: Queue[int] = Queue()
        q.put(1)
        with pytest.raises(ValueError, match=NEGATIVE_TIMEOUT if timeout == -1 else NAN_TIMEOUT):
            q.get(timeout=timeout)
        assert q.get(block=False, timeout=-1) == 1  # ignored when not blocking, as in the stdlib

    def test_lock_free_get_only_for_the_default_container(self) -> None:
        class Custom(Queue[int]):
            def _get(self) -> int:
                return int(self.queue.popleft())

        assert Queue()._lock_free_get
        assert not LifoQueue()._lock_free_get
        assert not PriorityQueue()._lock_free_get
        assert not Custom()._lock_free_get

    def test_a_subclass_put_hook_alone_is_honoured(self) -> None:
        class Tenfold(Queue[int]):
            def _put(self, item: int) -> None:
                self.queue.append(item * 10)

        q = Tenfold()
        assert not q._lock_free_get
        q.put(1)
        assert q.get_nowait() == 10

    def test_a_subclass_index_error_still_propagates(self) -> None:
        class Broken(Queue[int]):
            def _get(self) -> int:
                raise IndexError("from the subclass")

        q = Broken()
        q.put(1)
        with pytest.raises(IndexError, match=r"^from the subclass$"):
            q.get()
        with pytest.raises(IndexError, match=r"^from the subclass$"):
            q.get_many(2)

    @pytest.mark.timeout(120)
    def test_lock_free_gets_race_the_locked_paths(self) -> None:
        """get(), get_many(), peek() and shutdown(immediate) under the mutex tolerate items
        taken by lock-free gets between reading the size and taking (each item once)."""
        rounds = 200 * STRESS
        for _ in range(rounds):
            q: Queue[int] = Queue()
            for i in range(20):
                q.put(i)
            taken: list[list[int]] = [[], [], []]

            def fast(out: list[int]) -> None:
                while True:
                    try:
                        out.append(q.get(timeout=0))
                    except (Empty, ShutDown):
                        return

            def many(out: list[int]) -> None:
                while True:
                    try:
                        q.peek()
                        out.extend(q.get_many(3, timeout=0))
                    except (Empty, ShutDown):
                        return

            with Workers(lambda: fast(taken[0]), lambda: fast(taken[1]), lambda: many(taken[2])):
                q.shutdown(immediate=True)
            got = sorted(x for out in taken for x in out)
            assert len(got) == len(set(got))
            assert set(got) <= set(range(20))
            assert q.qsize() == 0


class TestLifoQueue:
    def test_last_in_first_out(self) -> None:
        q: LifoQueue[int] = LifoQueue()
        for i in (1, 2, 3):
            q.put(i)
        assert q.peek() == 3
        assert [q.get(), q.get(), q.get()] == [3, 2, 1]
        assert q.queue == []

    def test_blocked_get_and_shutdown(self) -> None:
        q: LifoQueue[int] = LifoQueue()
        with Workers(lambda: list(q)) as w:
            wait_for_waiters(q, 1)
            q.put(1)
            wait_until(q.empty)
            q.shutdown()
        assert w.results == [[1]]


class TestPriorityQueue:
    def test_smallest_first(self) -> None:
        q: PriorityQueue[tuple[int, str]] = PriorityQueue()
        for entry in ((2, "b"), (3, "c"), (1, "a")):
            q.put(entry)
        assert q.peek() == (1, "a")
        assert q.get_many(2) == [(1, "a"), (2, "b")]
        assert q.get() == (3, "c")

    def test_get_op_takes_the_smallest(self) -> None:
        q: PriorityQueue[int] = PriorityQueue()
        for i in (5, 2, 9):
            q.put(i)
        assert select([q.get_op()]) == (0, 2)
        assert q.queue[0] == 5


# --------------------------------------------------------------------------------------------
# SimpleQueue


class TestSimpleQueue:
    def test_basic_operations(self) -> None:
        q: SimpleQueue[int] = SimpleQueue()
        assert (q.empty(), q.qsize()) == (True, 0)
        q.put(1)
        q.put(2, block=False, timeout=-5)  # ignored, as in the stdlib
        q.put_nowait(3)
        assert (q.empty(), q.qsize()) == (False, 3)
        assert [q.get(), q.get_nowait(), q.get(timeout=1)] == [1, 2, 3]
        with pytest.raises(Empty):
            q.get_nowait()
        with pytest.raises(Empty):
            q.get(timeout=0.01)
        with pytest.raises(Empty):
            q.get(False, -1)

    def test_timeout_messages(self) -> None:
        q: SimpleQueue[int] = SimpleQueue()
        q.put(1)
        with pytest.raises(ValueError, match=NEGATIVE_TIMEOUT):
            q.get(timeout=-1)
        with pytest.raises(ValueError, match=NAN_TIMEOUT):
            q.get(timeout=math.nan)
        std: stdqueue.SimpleQueue[int] = stdqueue.SimpleQueue()
        assert error_message(lambda: std.get(timeout=-1), ValueError) == error_message(
            lambda: q.get(timeout=-1), ValueError
        )
        assert q.qsize() == 1

    def test_blocked_get_is_woken_by_put(self) -> None:
        q: SimpleQueue[str] = SimpleQueue()
        with Workers(q.get, lambda: q.get(timeout=10)) as w:
            wait_for_waiters(q, 2)
            q.put("a")
            q.put("b")
        assert sorted(w.results) == ["a", "b"]  # type: ignore[type-var]
        assert q.statistics() == SimpleQueueStatistics(0, False, 0)

    def test_virtual_timeout(self) -> None:
        clock = MockClock()
        q: SimpleQueue[int] = SimpleQueue()
        with use_clock(clock), Workers(expect(Empty, q.get, timeout=3)):
            wait_for_waiters(q, 1)
            wait_until(lambda: clock.pending() == 1, what="the wake-up to be registered")
            clock.advance(3)
        assert q.statistics().threads_waiting == 0

    def test_put_from_del_during_put_does_not_deadlock(self) -> None:
        # bpo-14976, after CPython's test_reentrancy: the garbage collector may run a
        # __del__ that puts while put() is running.
        q: SimpleQueue[int] = SimpleQueue()
        counter = iter(range(10**9))
        results: list[int] = []

        class Circular:
            def __init__(self) -> None:
                self.circular = self

            def __del__(self) -> None:
                q.put(next(counter))

        while True:
            o = Circular()
            q.put(next(counter))
            del o
            results.append(q.get())
            if results[-1] >= 2000:
                break
        assert results == list(range(2001))

    def test_put_reentered_while_waking_a_getter(self) -> None:
        # A put that wakes a getter holds the queue's lock; a __del__ (here: a hook listener
        # called at that very point) that puts again must not deadlock.
        q: SimpleQueue[str] = SimpleQueue()
        reentered: list[bool] = []

        def listener(event: str, obj: object, detail: object) -> None:
            if event == "unpark" and obj is q and not reentered:
                reentered.append(True)
                q.put("from listener")

        with Workers(q.get, q.get) as w:
            wait_for_waiters(q, 2)
            _hooks.add_listener(listener)
            try:
                q.put("first")
                wait_until(lambda: q.statistics().threads_waiting == 0)
            finally:
                _hooks.remove_listener(listener)
        assert reentered == [True]
        assert sorted(w.results) == ["first", "from listener"]  # type: ignore[type-var]

    def test_shutdown(self) -> None:
        q: SimpleQueue[int] = SimpleQueue()
        q.put(1)
        q.shutdown()
        assert q.is_shutdown is True
        with pytest.raises(ShutDown):
            q.put(2)
        assert q.get() == 1
        with pytest.raises(ShutDown):
            q.get()
        with pytest.raises(ShutDown):
            q.get_nowait()
        q.shutdown(immediate=True)
        assert q.statistics() == SimpleQueueStatistics(0, True, 0)

    def test_shutdown_immediate_discards_items(self) -> None:
        q: SimpleQueue[int] = SimpleQueue()
        q.put(1)
        q.shutdown(immediate=True)
        assert q.qsize() == 0
        with pytest.raises(ShutDown):
            q.get(timeout=1)
        q.shutdown()  # stays immediate
        assert list(q) == []

    def test_shutdown_wakes_blocked_getters(self) -> None:
        q: SimpleQueue[int] = SimpleQueue()
        with Workers(
            expect(ShutDown, q.get),
            expect(ShutDown, q.get, timeout=10),
        ) as w:
            wait_for_waiters(q, 2)
            q.shutdown()
        assert w.results == ["ShutDown", "ShutDown"]

    def test_iteration_ends_at_shutdown(self) -> None:
        q: SimpleQueue[int] = SimpleQueue()
        with Workers(lambda: list(q)) as w:
            wait_for_waiters(q, 1)
            q.put(1)
            q.put(2)
            wait_until(q.empty)
            q.shutdown()
        assert w.results == [[1, 2]]

    def test_get_op(self) -> None:
        a: SimpleQueue[str] = SimpleQueue()
        b: SimpleQueue[str] = SimpleQueue()
        assert select([a.get_op()], default=True) == (-1, None)
        with Workers(lambda: select([a.get_op(), b.get_op()])) as w:
            wait_for_waiters(a, 1)
            wait_for_waiters(b, 1)
            b.put("y")
        assert w.results == [(1, "y")]
        assert a.qsize() == 0
        a.put("x")
        assert select([b.get_op(), a.get_op()]) == (1, "x")
        a.shutdown()
        with pytest.raises(ShutDown):
            select([a.get_op()])

    def test_statistics_and_repr(self) -> None:
        q: SimpleQueue[int] = SimpleQueue()
        assert re.fullmatch(rf"<threadkit\.queue\.SimpleQueue at {ADDR}: 0 items>", repr(q))
        with Workers(q.get):
            wait_for_waiters(q, 1)
            assert q.statistics() == SimpleQueueStatistics(
                qsize=0, shut_down=False, threads_waiting_get=1
            )
            assert repr(q).endswith(": 0 items, 1 waiting to get>")
            q.put(1)
        q.put(2)
        q.shutdown()
        assert repr(q).endswith(": 1 items, shut down>")

    def test_mpmc_stress_loses_and_duplicates_nothing(self) -> None:
        q: SimpleQueue[int] = SimpleQueue()
        producers, consumers, per_producer = 4, 4, 1000 * STRESS
        received: list[list[int]] = [[] for _ in range(consumers)]

        def produce(start: int) -> Callable[[], None]:
            def run() -> None:
                for i in range(start, start + per_producer):
                    q.put(i)

            return run

        def consume(index: int) -> Callable[[], None]:
            def run() -> None:
                mine = received[index]
                if index % 2:
                    mine.extend(q)
                    return
                while True:
                    try:
                        mine.append(q.get(timeout=10))
                    except ShutDown:
                        return

            return run

        with Workers(*(consume(i) for i in range(consumers))):
            with Workers(*(produce(p * per_producer) for p in range(producers))):
                pass
            wait_until(q.empty, what="the consumers to drain the queue")
            q.shutdown()
        everything = Counter(item for mine in received for item in mine)
        assert everything == Counter(range(producers * per_producer))
