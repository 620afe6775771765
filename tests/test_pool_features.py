"""threadkit.futures beyond the stdlib: per-task deadlines, interrupting a running task,
shutdown reports, worker lifetime, chunked and lazy map, gather/any_of and @threaded.

test_pool.py covers the drop-in behaviour, the bounded queue and its on_full policies.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import functools
import gc
import itertools
import logging
import math
import queue
import threading
import time
import types
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import threadkit
import threadkit.futures as tf
import threadkit.queue as tq
from conftest import STRESS, Workers, wait_for_waiters, wait_until
from threadkit import _pool
from threadkit._core import _hooks, _waitqueue
from threadkit._core import _primitives as _p

pytestmark = pytest.mark.timeout(30)


class Payload:
    """A result object a weak reference can follow."""

    def __init__(self, n: int) -> None:
        self.n = n


def _assert_freed(ref: weakref.ref[Payload]) -> None:
    """The consumer dropped its result: nothing else may keep it (as the stdlib's
    test_free_reference). The worker may hold it a moment longer; and on the free-threaded
    build an object made in a worker and dropped last by another thread is freed when its
    owner merges the count (or at the next gc), so each check collects first."""
    wait_until(lambda: gc.collect() >= 0 and ref() is None, what="the result to be freed")


def _thread_name() -> str:
    return threading.current_thread().name


def _blocking_call(kind: str) -> tuple[Callable[[], object], Callable[[], None]]:
    """A threadkit call that blocks until released, and its release."""
    if kind == "event":
        event = threadkit.Event()
        return lambda: event.wait(), event.set  # noqa: PLW0108 (no timeout param: see submit)
    if kind == "sleep":
        return lambda: threadkit.sleep(3600), lambda: None
    if kind == "queue":
        q: tq.Queue[int] = tq.Queue()
        return lambda: q.get(), lambda: q.put_nowait(0)  # noqa: PLW0108
    tx, rx = threadkit.open_channel(0)

    def close() -> None:
        tx.close()
        rx.close()

    return lambda: rx.recv(), close  # noqa: PLW0108


class TestDeadlines:
    def test_a_pool_keyword_the_function_takes_too_is_refused(self) -> None:
        # With the stdlib's pool, submit(ev.wait, timeout=1) passes timeout to ev.wait; here
        # it would be the task's deadline: the ambiguity is an error, not a silent change.
        event = threadkit.Event()
        with tf.ThreadPoolExecutor(1) as pool:
            with pytest.raises(TypeError, match=r"^submit\(timeout=\.\.\.\) is the pool's"):
                pool.submit(event.wait, timeout=1)
            with pytest.raises(TypeError, match=r"Event\.wait\(\) takes 'timeout' too"):
                pool.submit(event.wait, timeout=1)
            # Bound with functools.partial, the function's own is no longer ambiguous.
            event.set()
            own = functools.partial(event.wait, timeout=1)
            assert pool.submit(own, timeout=5).result(10) is True

    def test_a_pool_keyword_for_a_function_taking_any_keyword_is_refused(self) -> None:
        def takes_any(*args: object, **kwargs: object) -> dict[str, object]:
            return kwargs

        with tf.ThreadPoolExecutor(1) as pool:
            with pytest.raises(TypeError, match=r"takes_any\(\) takes any keyword"):
                pool.submit(takes_any, timeout=5)
            with pytest.raises(TypeError, match=r"takes_any\(\) takes any keyword"):
                pool.submit(takes_any, deadline=5.0)
            with pytest.raises(TypeError, match=r"takes_any\(\) takes any keyword"):
                pool.submit(takes_any, name="task")
            # Its own keyword through functools.partial; the task's name from submit.
            own = functools.partial(takes_any, timeout=3)
            assert pool.submit(own, name="mine").result(10) == {"timeout": 3}
            assert pool.submit(takes_any, x=1).result(10) == {"x": 1}  # no pool keyword

    @pytest.mark.parametrize("kind", ["event", "sleep", "queue", "channel"])
    def test_a_running_task_times_out_at_its_deadline(self, kind: str) -> None:
        call, release = _blocking_call(kind)
        with tf.ThreadPoolExecutor(1, thread_name_prefix="dl") as pool:
            future = pool.submit(call, timeout=0.05, name="blocked")
            with pytest.raises(TimeoutError) as info:
                future.result(10)
            assert str(info.value) == "task 'blocked' did not finish by its deadline"
            assert isinstance(info.value.__cause__, threadkit.Cancelled)
            assert future.state() == "finished"
            # The worker unwound and takes the next task.
            assert pool.submit(_thread_name).result(10) == "dl_0"
            release()

    def test_the_default_name_is_the_functions(self) -> None:
        def waits_forever() -> bool:
            return threadkit.Event().wait()

        with tf.ThreadPoolExecutor(1) as pool:
            future = pool.submit(waits_forever, timeout=0.01)
            message = f"task {waits_forever.__qualname__!r} did not finish by its deadline"
            with pytest.raises(TimeoutError, match=f"^{message}$"):
                future.result(10)

    def test_a_deadline_on_a_mock_clock(self) -> None:
        clock = threadkit.MockClock()
        with threadkit.use_clock(clock), tf.ThreadPoolExecutor(1) as pool:
            future = pool.submit(threadkit.sleep, 3600, deadline=clock.now() + 5, name="nap")
            wait_until(lambda: clock.pending() == 1, what="the task to sleep")  # its wake-up
            clock.advance(4)
            assert future.state() == "running"
            clock.advance(1)
            with pytest.raises(TimeoutError, match=r"^task 'nap' did not finish by its deadline$"):
                future.result()

    def test_the_earlier_of_timeout_and_deadline_wins(self) -> None:
        clock = threadkit.MockClock()
        with threadkit.use_clock(clock), tf.ThreadPoolExecutor(1) as pool:
            future = pool.submit(
                threadkit.sleep, 3600, timeout=100, deadline=clock.now() + 5, name="nap"
            )
            wait_until(lambda: clock.pending() == 1, what="the task to sleep")
            clock.advance(5)
            with pytest.raises(TimeoutError, match=r"did not finish by its deadline$"):
                future.result()

    def test_a_task_that_expires_while_queued_never_runs(self) -> None:
        clock = threadkit.MockClock()
        gate = threadkit.Event()
        ran: list[str] = []
        with threadkit.use_clock(clock), tf.ThreadPoolExecutor(1) as pool:
            blocker = pool.submit(gate.wait)
            wait_until(blocker.running)
            late = pool.submit(ran.append, "late", deadline=clock.now() + 5, name="late")
            unnamed = pool.submit(ran.append, "unnamed", timeout=5)
            in_time = pool.submit(ran.append, "in time", timeout=10)
            clock.advance(5)
            gate.set()
            with pytest.raises(TimeoutError, match=r"^task 'late' expired before it ran$"):
                late.result()
            with pytest.raises(TimeoutError, match=r"^task 'list\.append' expired before it ran$"):
                unnamed.result()
            assert in_time.result() is None
        assert ran == ["in time"]

    def test_bad_timeout_and_deadline(self) -> None:
        with tf.ThreadPoolExecutor(1) as pool:
            with pytest.raises(ValueError, match=r"^timeout must be >= 0, not -1$"):
                pool.submit(print, timeout=-1)
            with pytest.raises(ValueError, match=r"^deadline must be a number, not NaN$"):
                pool.submit(print, deadline=math.nan)
            assert pool.stats().queued == 0
            assert pool.stats().workers == 0  # nothing was submitted


class TestInterrupt:
    def test_interrupting_a_task_blocked_in_threadkit(self) -> None:
        gate = threadkit.Event()
        unwound = threadkit.Event()
        where: list[str] = []

        def blocked() -> bool:
            where.append(_thread_name())
            try:
                return gate.wait()
            except threadkit.Cancelled:
                unwound.set()
                raise

        with tf.ThreadPoolExecutor(1, thread_name_prefix="ir") as pool:
            future = pool.submit(blocked)
            wait_for_waiters(gate, 1)
            with threadkit.TaskGroup() as tg:
                waiting = tg.start(lambda: cf.wait([future], timeout=10))
                wait_until(lambda: future._waiters, what="cf.wait to wait")
                assert future.cancel(interrupt=True)
            assert future.cancelled()
            assert future.state() == "cancelled"
            assert waiting.result().done == {future}
            with pytest.raises(tf.CancelledError):
                future.result(0)
            assert unwound.wait(10)
            # The worker moved on: the next task runs, on the same thread.
            assert pool.submit(_thread_name).result(10) == where[0] == "ir_0"
            assert pool.stats().workers == 1
        assert not gate.is_set()

    def test_plain_cancel_of_a_running_task_is_refused(self) -> None:
        gate = threadkit.Event()
        with tf.ThreadPoolExecutor(1) as pool:
            future = pool.submit(gate.wait)
            wait_until(future.running)
            assert not future.cancel()
            assert future.state() == "running"
            gate.set()
            assert future.result(10) is True
            assert not future.cancel(interrupt=True)  # finished: too late either way

    def test_interrupting_a_queued_task_cancels_it(self) -> None:
        gate = threadkit.Event()
        ran: list[int] = []
        with tf.ThreadPoolExecutor(1) as pool:
            blocker = pool.submit(gate.wait)
            queued = pool.submit(ran.append, 1)
            wait_until(blocker.running)
            assert queued.cancel(interrupt=True)
            gate.set()
        assert queued.cancelled()
        assert ran == []

    def test_a_task_in_a_foreign_call_runs_on_and_its_result_is_dropped(self) -> None:
        stuck: queue.SimpleQueue[str] = queue.SimpleQueue()  # its get() is C: no threadkit
        with tf.ThreadPoolExecutor(1) as pool:
            future = pool.submit(stuck.get)
            wait_until(future.running)
            assert future.cancel(interrupt=True)
            with pytest.raises(tf.CancelledError):
                future.result(0)
            stuck.put("late")
            after = pool.submit(stuck.qsize)  # runs once the stuck call has returned
            assert after.result(10) == 0
        assert future.cancelled()


class TestShutdownReport:
    def test_cancel_running_reaches_a_task_a_worker_has_just_taken(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A worker had taken the task off the queue and not yet recorded it (a moment):
        # the shutdown's drain did not see it, and its interrupt skipped that worker, so
        # the task ran on. The worker is held right after its pop.
        popped, go_on = threading.Event(), threading.Event()

        class HeldAfterAPop(collections.deque):  # type: ignore[type-arg]
            def popleft(self) -> Any:
                item = super().popleft()
                if threading.current_thread().name.startswith("held") and not go_on.is_set():
                    popped.set()
                    assert go_on.wait(10)
                return item

        pool = tf.ThreadPoolExecutor(1, thread_name_prefix="held")
        pool._core.work = HeldAfterAPop()  # (before the first worker starts)
        never = threadkit.Event()
        future = pool.submit(never.wait, 10)
        assert popped.wait(10)
        from threadkit import _pool
        from threadkit._core import _primitives

        def yield_then_let_go(seconds: float) -> None:  # the shutdown waits for the worker
            go_on.set()
            _primitives.sleep(seconds)

        proxy = types.SimpleNamespace(**{**vars(_primitives), "sleep": yield_then_let_go})
        monkeypatch.setattr(_pool, "_p", proxy)
        report = pool.shutdown(wait=True, cancel_futures=True, cancel_running=True, timeout=10)
        go_on.set()  # (had the shutdown not waited for it)
        assert (report.interrupted, report.running) == (1, ())
        assert future.cancelled()
        assert not never.is_set()

    def test_a_stuck_task_is_reported_when_the_timeout_passes(self) -> None:
        stuck: queue.SimpleQueue[None] = queue.SimpleQueue()
        pool = tf.ThreadPoolExecutor(1, thread_name_prefix="stuck")
        future = pool.submit(stuck.get, name="stuck-get")
        wait_until(future.running)
        start = time.monotonic()
        try:
            report = pool.shutdown(timeout=0.2)
            elapsed = time.monotonic() - start
        finally:
            stuck.put(None)
        final = pool.shutdown()
        assert elapsed < 5
        assert not report.finished
        assert (report.cancelled, report.interrupted) == (0, 0)
        (task,) = report.running
        assert (task.name, task.thread) == ("stuck-get", "stuck_0")
        assert task.future is future
        assert "not Python code" in task.stack
        assert "stuck-get" in str(report)
        assert "stuck_0" in str(report)
        assert final.finished
        assert final.running == ()
        assert future.result(0) is None

    def test_the_stack_starts_at_the_tasks_function(self) -> None:
        gate = threadkit.Event()

        def waiting_for_the_gate() -> bool:
            return gate.wait()

        pool = tf.ThreadPoolExecutor(1, thread_name_prefix="st")
        future = pool.submit(waiting_for_the_gate)
        wait_for_waiters(gate, 1)
        try:
            report = pool.shutdown(timeout=0.05)
        finally:
            gate.set()
        assert pool.shutdown().finished
        assert not report.finished
        (task,) = report.running
        assert task.name == waiting_for_the_gate.__qualname__
        first = task.stack.splitlines()[0]
        assert first.startswith(f'  File "{__file__}"')
        assert first.endswith("in waiting_for_the_gate")
        assert "_pool.py" not in task.stack  # the worker's own frames are left out
        assert f"in thread st_0:\n{first}" in str(report)
        assert future.result(0) is True

    def test_cancel_running_interrupts_the_running_tasks(self) -> None:
        gate = threadkit.Event()
        pool = tf.ThreadPoolExecutor(2)
        running = [pool.submit(gate.wait) for _ in range(2)]
        queued = pool.submit(sum, [1, 2])
        wait_for_waiters(gate, 2)
        report = pool.shutdown(cancel_running=True, timeout=10)
        assert report.finished
        assert (report.cancelled, report.interrupted, report.running) == (0, 2, ())
        assert all(f.cancelled() for f in running)
        assert queued.result(0) == 3  # not cancel_futures: queued work still runs
        assert not gate.is_set()
        assert str(report) == "the pool shut down: every worker has exited"

    def test_cancel_futures_and_cancel_running_lose_nothing(self) -> None:
        gate = threadkit.Event()
        pool = tf.ThreadPoolExecutor(3, max_queue=50)
        running = [pool.submit(gate.wait) for _ in range(3)]
        wait_for_waiters(gate, 3)
        queued = [pool.submit(pow, 2, n) for n in range(20)]
        report = pool.shutdown(cancel_futures=True, cancel_running=True, timeout=10)
        every: list[tf.Future[Any]] = [*running, *queued]
        assert report.finished
        assert all(f.done() for f in every)
        assert report.cancelled == sum(f.cancelled() for f in queued) == len(queued)
        assert report.interrupted == sum(f.cancelled() for f in running) == len(running)

    def test_queued_work_runs_to_the_end_without_cancel_futures(self) -> None:
        gate = threadkit.Event()
        pool = tf.ThreadPoolExecutor(2)
        running = [pool.submit(gate.wait) for _ in range(2)]
        queued = [pool.submit(pow, 3, n) for n in range(30)]
        wait_for_waiters(gate, 2)
        early = pool.shutdown(wait=False)
        gate.set()
        report = pool.shutdown()
        assert (early.cancelled, early.interrupted) == (0, 0)
        assert report.finished
        assert [f.result(0) for f in running] == [True, True]
        assert [f.result(0) for f in queued] == [3**n for n in range(30)]

    def test_shutdown_runs_the_queue_when_a_worker_retires_after_its_max_tasks(self) -> None:
        # The worker retires (max_tasks_per_worker) while the pool shuts down, with work
        # still queued: a replacement must run it, and shutdown(wait=True) wait for it.
        gate = threadkit.Event()
        pool = tf.ThreadPoolExecutor(1, max_tasks_per_worker=1)
        first = pool.submit(gate.wait)
        queued = [pool.submit(pow, 2, n) for n in range(3)]
        wait_until(first.running)
        pool.shutdown(wait=False)
        gate.set()
        report = pool.shutdown()
        assert report.finished
        assert first.result(0) is True
        assert [f.state() for f in queued] == ["finished"] * len(queued)
        assert [f.result(0) for f in queued] == [2**n for n in range(3)]

    def test_an_unfinished_report_does_not_say_every_worker_exited(self) -> None:
        gate = threadkit.Event()
        pool = tf.ThreadPoolExecutor(1, initializer=gate.wait)  # the worker is not in a task
        future = pool.submit(int, "7")
        wait_for_waiters(gate, 1)
        try:
            report = pool.shutdown(timeout=0.05)
        finally:
            gate.set()
        assert pool.shutdown().finished
        assert future.result(0) == 7
        assert not report.finished
        assert report.running == ()
        assert "every worker has exited" not in str(report)

    def test_no_worker_thread_remains_after_shutdown(self) -> None:
        gate = threadkit.Event()
        pool = tf.ThreadPoolExecutor(4, thread_name_prefix="gone", min_workers=2)
        futures = [pool.submit(gate.wait) for _ in range(4)]
        wait_for_waiters(gate, 4)
        threads = pool._threads
        assert len(threads) == 4
        gate.set()
        report = pool.shutdown()
        assert report.finished
        assert all(f.result(0) for f in futures)
        assert not any(t.is_alive() for t in threads)
        assert pool._threads == set()
        assert pool.stats().workers == 0
        assert not [t for t in threading.enumerate() if t.name.startswith("gone_")]


class TestWorkerLifetime:
    def test_min_workers_start_with_the_pool(self) -> None:
        with tf.ThreadPoolExecutor(4, thread_name_prefix="min", min_workers=3) as pool:
            assert pool.stats() == tf.PoolStatistics(3, 0, 3, 0, 0, 0, 0)
            assert sorted(t.name for t in pool._threads) == ["min_0", "min_1", "min_2"]
            assert pool.submit(_thread_name).result(10) in {"min_0", "min_1", "min_2"}
            assert pool.stats().workers == 3  # an idle worker took it: none was added

    def test_idle_workers_exit_down_to_min_workers(self) -> None:
        gate = threadkit.Event()
        with tf.ThreadPoolExecutor(
            4, thread_name_prefix="idle", min_workers=1, idle_timeout=0.05
        ) as pool:
            futures = [pool.submit(gate.wait) for _ in range(4)]
            wait_for_waiters(gate, 4)
            first = {t.name for t in pool._threads}
            assert pool.stats().workers == 4
            gate.set()
            assert all(f.result(10) for f in futures)
            wait_until(lambda: pool.stats().workers == 1, what="idle workers to exit")
            # A new burst starts new workers, under new names.
            gate.clear()
            again = [pool.submit(gate.wait) for _ in range(2)]
            wait_for_waiters(gate, 2)
            names = {t.name for t in pool._threads}
            gate.set()
            assert all(f.result(10) for f in again)
        assert first == {"idle_0", "idle_1", "idle_2", "idle_3"}
        assert len(names) == 2
        assert len(names - first) == 1
        assert names - first <= {"idle_4"}

    def test_min_workers_stay_through_idle_timeouts(self) -> None:
        clock = threadkit.MockClock()
        gate = threadkit.Event()
        with (
            threadkit.use_clock(clock),
            tf.ThreadPoolExecutor(3, min_workers=1, idle_timeout=10) as pool,
        ):
            parked = pool._core.parked
            futures = [pool.submit(gate.wait) for _ in range(3)]
            wait_for_waiters(gate, 3)
            gate.set()
            assert all(f.result() for f in futures)
            wait_until(lambda: len(parked) == 3, what="three idle workers")
            clock.advance(9)
            assert pool.stats().workers == 3  # not idle long enough yet
            clock.advance(1)
            wait_until(lambda: pool.stats().workers == 1, what="idle workers to exit")
            for _ in range(3):  # the one left idles again and again, and stays
                wait_until(lambda: len(parked) == 1, what="the min worker to wait again")
                clock.advance(10)
            wait_until(lambda: len(parked) == 1, what="the min worker to wait again")
            assert pool.stats().workers == 1
            assert pool.submit(sum, [4, 5]).result() == 9

    def test_an_idle_min_worker_never_times_out(self) -> None:
        # With idle_timeout=0 an idle worker above min_workers exits at once; one that
        # min_workers keeps must wait for work, not wake up again and again (a busy loop).
        events: list[tuple[str, object]] = []

        def listener(event: str, obj: object, detail: object) -> None:
            if isinstance(obj, str) and obj == "ThreadPoolExecutor workers" and len(events) < 1000:
                events.append((event, detail))

        _hooks.add_listener(listener)
        try:
            with tf.ThreadPoolExecutor(1, min_workers=1, idle_timeout=0) as pool:
                wait_until(lambda: events, what="the worker to wait for work")
                assert pool.submit(sum, [1, 1]).result(10) == 2
                wait_until(lambda: len(pool._core.parked) == 1, what="the worker to wait")
                assert pool.stats().workers == 1
        finally:
            _hooks.remove_listener(listener)
        assert [e for e in events if e[0] == "timeout"] == []

    def test_a_worker_is_replaced_after_max_tasks(self) -> None:
        with tf.ThreadPoolExecutor(1, thread_name_prefix="mt", max_tasks_per_worker=2) as pool:
            one_by_one = [pool.submit(_thread_name).result(10) for _ in range(6)]
        assert pool.stats().completed == 6
        assert one_by_one == [f"mt_{i // 2}" for i in range(6)]

    def test_queued_work_goes_to_the_replacement(self) -> None:
        gate = threadkit.Event()
        with tf.ThreadPoolExecutor(1, thread_name_prefix="mq", max_tasks_per_worker=3) as pool:
            blocker = pool.submit(gate.wait)
            wait_until(blocker.running)
            queued = [pool.submit(_thread_name) for _ in range(7)]
            gate.set()
            names = [f.result(10) for f in queued]
        assert pool.stats().completed == 8
        assert names == [f"mq_{(i + 1) // 3}" for i in range(7)]

    def test_a_retired_min_worker_is_replaced_at_once(self) -> None:
        with tf.ThreadPoolExecutor(
            2, thread_name_prefix="rm", min_workers=2, max_tasks_per_worker=1
        ) as pool:
            before = {t.name for t in pool._threads}
            ran_on = pool.submit(_thread_name).result(10)
            wait_until(lambda: ran_on not in {t.name for t in pool._threads})
            wait_until(lambda: pool.stats().workers == 2, what="the replacement")
            wait_until(lambda: all(t.is_alive() for t in pool._threads), what="it to start")
            after = {t.name for t in pool._threads}
        assert before == {"rm_0", "rm_1"}
        assert ran_on in before
        assert after == before - {ran_on} | {"rm_2"}

    def test_shutdown_while_a_replacement_worker_starts(self) -> None:
        # A retiring worker (max_tasks_per_worker) registers its replacement under the
        # pool's lock and starts it after; a shutdown that comes in between must not fail.
        for _ in range(300 * STRESS):
            pool = tf.ThreadPoolExecutor(1, min_workers=1, max_tasks_per_worker=1)
            assert pool.submit(int, "1").result(10) == 1
            assert pool.shutdown().finished

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"min_workers": 1.0}, r"^min_workers must be an int or None, not float$"),
            (
                {"max_tasks_per_worker": "3"},
                r"^max_tasks_per_worker must be an int or None, not str$",
            ),
            (
                {"max_tasks_per_worker": True},
                r"^max_tasks_per_worker must be an int or None, not bool$",
            ),
            ({"idle_timeout": "1"}, r"^idle_timeout must be a number or None, not str$"),
        ],
    )
    def test_bad_argument_types(self, kwargs: dict[str, object], message: str) -> None:
        with pytest.raises(TypeError, match=message):
            tf.ThreadPoolExecutor(2, **kwargs)  # type: ignore[arg-type]

    def test_nan_idle_timeout(self) -> None:
        with pytest.raises(ValueError, match=r"^idle_timeout must be a number, not NaN$"):
            tf.ThreadPoolExecutor(2, idle_timeout=math.nan)


def _double(x: int) -> int:
    return 2 * x


def _fail_at(bad: int) -> Callable[[int], int]:
    def fn(x: int) -> int:
        if x == bad:
            raise ValueError(x)
        return 2 * x

    return fn


class TestMap:
    def test_a_large_input_is_chunked_and_stays_in_order(self) -> None:
        n = 1000
        with tf.ThreadPoolExecutor(2) as pool:
            assert list(pool.map(_double, range(n))) == [2 * x for x in range(n)]
        tasks = pool.stats().completed  # (after shutdown: every worker has counted its own)
        assert 2 <= tasks <= 4 * 2 + 1  # about four chunks per worker, not one task an item

    @pytest.mark.parametrize(("n", "kwargs"), [(999, {}), (1000, {"chunksize": 1})])
    def test_one_task_per_item(self, n: int, kwargs: dict[str, Any]) -> None:
        with tf.ThreadPoolExecutor(2) as pool:
            assert list(pool.map(_double, range(n), **kwargs)) == [2 * x for x in range(n)]
        assert pool.stats().completed == n

    def test_several_iterables_and_an_explicit_chunksize(self) -> None:
        with tf.ThreadPoolExecutor(3) as pool:
            got = list(pool.map(pow, range(50), itertools.repeat(2), chunksize=7))
        assert pool.stats().completed == -(-50 // 7)
        assert got == [x**2 for x in range(50)]

    @pytest.mark.parametrize(
        ("n", "bad", "chunksize"),
        [(10, 6, None), (2000, 1234, None), (2000, 0, None), (2000, 1999, None), (60, 25, 7)],
    )
    def test_an_exception_comes_in_its_items_place(
        self, n: int, bad: int, chunksize: int | None
    ) -> None:
        got: list[int] = []
        with tf.ThreadPoolExecutor(3) as pool:
            with pytest.raises(ValueError, match=rf"^{bad}$") as info:  # noqa: PT012
                for value in pool.map(_fail_at(bad), range(n), chunksize=chunksize):
                    got.append(value)
        assert info.value.args == (bad,)
        assert got == [2 * x for x in range(bad)]

    @pytest.mark.parametrize("chunksize", [1, 10])
    def test_closing_the_iterator_early_cancels_what_has_not_started(self, chunksize: int) -> None:
        gate = threadkit.Event()
        started: list[int] = []

        def fn(x: int) -> int:
            started.append(x)
            if x == chunksize:  # the first item of the second task
                gate.wait()
            return x

        with tf.ThreadPoolExecutor(1) as pool:
            results = pool.map(fn, range(5 * chunksize), chunksize=chunksize)
            assert next(results) == 0
            wait_for_waiters(gate, 1)
            results.close()
            gate.set()
        assert started == list(range(2 * chunksize))

    @pytest.mark.parametrize(
        "how",
        [
            pytest.param({}, id="map"),
            pytest.param({"chunksize": 3}, id="map-chunked"),
            pytest.param({"buffersize": 2}, id="map-buffered"),
            pytest.param({"ordered": False}, id="map-unordered"),
        ],
    )
    def test_free_reference(self, how: dict[str, object]) -> None:
        with tf.ThreadPoolExecutor(2) as pool:
            seen = 0
            for obj in pool.map(Payload, range(10), **how):  # type: ignore[arg-type]
                ref = weakref.ref(obj)
                del obj
                _assert_freed(ref)
                seen += 1
        assert seen == 10

    @pytest.mark.parametrize("ordered", [True, False])
    def test_free_reference_auto_chunked(self, ordered: bool) -> None:
        n = 1000
        with tf.ThreadPoolExecutor(2) as pool:
            values = []
            for obj in pool.map(Payload, range(n), ordered=ordered):
                values.append(obj.n)
                ref = weakref.ref(obj)
                del obj
                if values[-1] % 100 == 0:  # a sample: gc.collect() is slow on free-threaded
                    _assert_freed(ref)
            assert pool.stats().completed < n  # it was chunked
        assert sorted(values) == list(range(n))
        if ordered:
            assert values == list(range(n))

    @pytest.mark.parametrize("n", [10, 1000])
    def test_free_reference_imap_unordered(self, n: int) -> None:
        with tf.ThreadPoolExecutor(2) as pool:
            values = []
            for obj in pool.imap_unordered(Payload, range(n)):
                values.append(obj.n)
                ref = weakref.ref(obj)
                del obj
                if values[-1] % 100 == 0:  # a sample: gc.collect() is slow on free-threaded
                    _assert_freed(ref)
        assert sorted(values) == list(range(n))

    def test_a_waited_for_result_is_freed_without_the_cycle_collector(self) -> None:
        # The stdlib frees a result as soon as the consumer drops it, by reference counting
        # alone (cpython issue 14406); a reference cycle would keep it until a gc pass.
        gate = threadkit.Event()

        def payload_after_gate() -> Payload:
            gate.wait()
            return Payload(1)

        gc.collect()
        gc.disable()
        try:
            with tf.ThreadPoolExecutor(1) as pool:
                future = pool.submit(payload_after_gate)
                with pytest.raises(TimeoutError):
                    future.result(timeout=0)  # not ready: this thread waited for it
                gate.set()
                ref = weakref.ref(future.result(10))
                del future
                # On the free-threaded build the worker that made the result frees it when it
                # next runs (it merges the counts other threads dropped): give it a task.
                wait_until(
                    lambda: pool.submit(int).result(10) == 0 and ref() is None,
                    timeout=2,
                    what="the result to be freed",
                )
        finally:
            gc.enable()

    def test_buffersize_takes_the_input_lazily(self) -> None:
        pulled: list[int] = []

        def source() -> Iterator[int]:
            for n in itertools.count():
                pulled.append(n)
                yield n

        with tf.ThreadPoolExecutor(2) as pool:
            results = pool.map(_double, source(), buffersize=3)
            assert len(pulled) == 3
            assert list(itertools.islice(results, 5)) == [0, 2, 4, 6, 8]
            assert len(pulled) <= 5 + 3
            results.close()
            in_flight = len(pulled)
        assert len(pulled) == in_flight  # closed: nothing more is taken
        assert pool.stats().completed <= in_flight

    def test_imap_unordered_with_buffersize_on_an_endless_input(self) -> None:
        with tf.ThreadPoolExecutor(2) as pool:
            results = pool.imap_unordered(_double, itertools.count(), buffersize=4)
            first = list(itertools.islice(results, 6))
            results.close()
        assert len(set(first)) == 6
        assert all(x % 2 == 0 and x < 2 * (6 + 4) for x in first)

    @pytest.mark.parametrize("unordered", ["map", "imap_unordered"])
    def test_unordered_results_come_as_they_complete(self, unordered: str) -> None:
        gate = threadkit.Event()

        def fn(x: int) -> int:
            if x == 0:
                gate.wait()
            return x

        with tf.ThreadPoolExecutor(2) as pool:
            if unordered == "map":
                results = pool.map(fn, range(4), ordered=False)
            else:
                results = pool.imap_unordered(fn, range(4))
            later = sorted(itertools.islice(results, 3))  # item 0 cannot finish yet
            gate.set()
            rest = list(results)
        assert later == [1, 2, 3]
        assert rest == [0]

    def test_unordered_raises_an_exception_when_its_item_completes(self) -> None:
        with tf.ThreadPoolExecutor(1) as pool:
            got: list[int] = []
            with pytest.raises(ValueError, match=r"^3$") as info:  # noqa: PT012
                for value in pool.imap_unordered(_fail_at(3), range(6), chunksize=1):
                    got.append(value)
        assert info.value.args == (3,)
        assert got == [0, 2, 4]  # one worker: they complete in order

    def test_timeout_bounds_the_iteration(self) -> None:
        gate = threadkit.Event()
        with tf.ThreadPoolExecutor(1) as pool:
            results = pool.map(lambda _: gate.wait(), range(3), timeout=0.05)
            with pytest.raises(TimeoutError):
                next(results)
            gate.set()

    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"chunksize": 0}, ValueError, r"^chunksize must be >= 1\.$"),
            ({"chunksize": 2.0}, TypeError, r"^chunksize must be an int or None, not float$"),
            ({"chunksize": True}, TypeError, r"^chunksize must be an int or None, not bool$"),
            ({"buffersize": 0}, ValueError, r"^buffersize must be None or > 0$"),
            ({"buffersize": "2"}, TypeError, r"^buffersize must be an integer or None$"),
        ],
    )
    def test_bad_chunksize_and_buffersize(
        self, kwargs: dict[str, object], error: type[Exception], message: str
    ) -> None:
        with tf.ThreadPoolExecutor(1) as pool:
            with pytest.raises(error, match=message):
                pool.map(_double, range(3), **kwargs)  # type: ignore[arg-type]
            with pytest.raises(error, match=message):
                pool.imap_unordered(_double, range(3), **kwargs)  # type: ignore[arg-type]
            assert pool.stats().completed == 0


class TestFutureStates:
    def test_state_and_now_through_a_tasks_life(self) -> None:
        gate = threadkit.Event()
        with tf.ThreadPoolExecutor(1) as pool:
            running = pool.submit(gate.wait)
            pending = pool.submit(int, "12")
            failing = pool.submit(int, "x")
            dropped = pool.submit(int, "3")
            wait_until(running.running)
            assert dropped.cancel()
            states = [f.state() for f in (running, pending, failing, dropped)]
            assert states == ["running", "pending", "pending", "cancelled"]
            live: list[tuple[tf.Future[Any], str]] = [(running, "running"), (pending, "pending")]
            for future, state in live:
                with pytest.raises(tf.InvalidStateError, match=rf"^result_now\(\) on a {state} "):
                    future.result_now()
                with pytest.raises(
                    tf.InvalidStateError, match=rf"^exception_now\(\) on a {state} "
                ):
                    future.exception_now()
            with pytest.raises(tf.CancelledError):
                dropped.result_now()
            with pytest.raises(tf.CancelledError):
                dropped.exception_now()
            gate.set()
            assert pending.result(10) == 12
            failing.exception(10)
        assert [f.state() for f in (running, pending, failing)] == ["finished"] * 3
        assert running.result_now() is True
        assert running.exception_now() is None
        with pytest.raises(ValueError, match=r"invalid literal"):
            failing.result_now()
        assert isinstance(failing.exception_now(), ValueError)
        assert dropped.state() == "cancelled"

    def test_done_op_selects_the_future_that_finished(self) -> None:
        gate = threadkit.Event()
        with tf.ThreadPoolExecutor(2) as pool:
            slow = pool.submit(gate.wait)
            fast = pool.submit(int, "5")
            assert threadkit.select(slow.done_op(), fast.done_op(), timeout=10) == (1, fast)
            assert not slow.done()
            gate.set()
            assert threadkit.select(slow.done_op(), timeout=10) == (0, slow)

    @pytest.mark.parametrize("make", ["then", "gather", "any_of"])
    def test_a_cancelled_derived_future_is_done_for_wait_and_as_completed(self, make: str) -> None:
        # No executor runs these futures: their cancel() must tell wait()'s waiters itself
        # (wait() counted it as not done, and without a timeout waited forever).
        source: tf.Future[int] = tf.Future()
        makers: dict[str, Callable[[], tf.Future[Any]]] = {
            "then": lambda: source.then(str),
            "gather": lambda: tf.gather(source),
            "any_of": lambda: tf.any_of(source),
        }
        derived = makers[make]()
        assert derived.cancel()
        for wait in (tf.wait, cf.wait):
            done, not_done = wait([derived], timeout=10)
            assert (done, not_done) == ({derived}, set())
        assert list(cf.as_completed([derived], timeout=10)) == [derived]
        if not source.done():  # (gather cancels its inputs with it)
            source.set_result(1)  # and it stays done once its source ends
        assert cf.wait([derived], timeout=10).not_done == set()

    def test_then_on_a_pool_future(self) -> None:
        with tf.ThreadPoolExecutor(1) as pool:
            chained = pool.submit(pow, 2, 10).then(str)
            assert chained.result(10) == "1024"


class TestGatherAndAnyOf:
    def test_gather_keeps_the_input_order(self) -> None:
        futures: list[tf.Future[int]] = [tf.Future() for _ in range(3)]
        both = tf.gather(*futures)
        for n in (2, 0):
            futures[n].set_result(n * 10)
            assert not both.done()
        futures[1].set_result(10)
        assert both.result(0) == [0, 10, 20]

    def test_gather_pool_futures(self) -> None:
        with tf.ThreadPoolExecutor(3) as pool:
            gathered = tf.gather(*(pool.submit(pow, 2, n) for n in range(8)))
            assert gathered.result(10) == [2**n for n in range(8)]
        assert tf.gather().result(0) == []

    def test_gather_fails_with_the_first_exception_without_waiting(self) -> None:
        gate = threadkit.Event()
        with tf.ThreadPoolExecutor(2) as pool:
            blocked = pool.submit(gate.wait)
            failing = pool.submit(int, "x")
            gathered = tf.gather(blocked, failing)
            with pytest.raises(ValueError, match=r"invalid literal"):
                gathered.result(10)
            assert gathered.exception(0) is failing.exception(0)
            assert not blocked.done()
            gate.set()
            assert blocked.result(10) is True

    def test_gather_is_cancelled_when_an_input_is(self) -> None:
        a: tf.Future[int] = tf.Future()
        b: tf.Future[int] = tf.Future()
        both = tf.gather(a, b)
        assert a.cancel()
        assert both.cancelled()
        with pytest.raises(tf.CancelledError):
            both.result(0)

    def test_gather_leaves_the_other_inputs_alone_when_one_is_cancelled(self) -> None:
        # gather's docstring: "it fails as soon as one fails ... or is cancelled (then it
        # is cancelled), without waiting for the others, which go on".
        a: tf.Future[int] = tf.Future()
        b: tf.Future[int] = tf.Future()
        both = tf.gather(a, b)
        a.cancel()
        assert both.cancelled()
        assert not b.cancelled()
        b.set_result(2)
        assert b.result(0) == 2

    def test_cancelling_gather_cancels_its_inputs(self) -> None:
        gate = threadkit.Event()
        with tf.ThreadPoolExecutor(1) as pool:
            running = pool.submit(gate.wait)
            queued = pool.submit(print)
            wait_until(running.running)
            gathered = tf.gather(running, queued)
            assert gathered.cancel()
            assert queued.cancelled()
            assert not running.cancelled()  # started: a plain cancel() cannot stop it
            gate.set()
            assert running.result(10) is True

    def test_any_of_ends_as_the_first(self) -> None:
        gate = threadkit.Event()
        with tf.ThreadPoolExecutor(2) as pool:
            slow = pool.submit(gate.wait)
            fast = pool.submit(pow, 3, 3)
            assert tf.any_of(slow, fast).result(10) == 27
            failing = pool.submit(int, "x")
            with pytest.raises(ValueError, match=r"invalid literal"):
                tf.any_of(slow, failing).result(10)
            gate.set()
        a: tf.Future[int] = tf.Future()
        b: tf.Future[int] = tf.Future()
        first = tf.any_of(a, b)
        b.cancel()
        assert first.cancelled()
        a.set_result(1)  # a later one changes nothing
        assert first.cancelled()

    def test_any_of_needs_a_future(self) -> None:
        with pytest.raises(ValueError, match=r"^any_of\(\) needs at least one future$"):
            tf.any_of()


class TestThreaded:
    def test_each_call_runs_in_a_new_thread(self) -> None:
        @tf.threaded
        def where(x: int) -> tuple[threading.Thread, int]:
            return threading.current_thread(), 2 * x

        first, second = where(1), where(2)
        assert isinstance(first, tf.Future)
        (t1, v1), (t2, v2) = first.result(10), second.result(10)
        t1.join(10)
        t2.join(10)
        assert (v1, v2) == (2, 4)
        assert t1 is not t2
        assert threading.current_thread() not in (t1, t2)
        assert t1.name == t2.name == where.__qualname__
        assert not t1.daemon

    def test_name_and_daemon(self) -> None:
        @tf.threaded(name="helper", daemon=True)
        def me() -> threading.Thread:
            return threading.current_thread()

        thread = me().result(10)
        thread.join(10)
        assert (thread.name, thread.daemon) == ("helper", True)

    def test_on_an_executor(self) -> None:
        gate = threadkit.Event()
        pool = tf.ThreadPoolExecutor(1, thread_name_prefix="deco")

        @tf.threaded(executor=pool, name="job")
        def job(x: int) -> tuple[str, int]:
            gate.wait()
            return _thread_name(), x

        future = job(3)
        wait_for_waiters(gate, 1)
        try:
            report = pool.shutdown(timeout=0.05)
        finally:
            gate.set()
        assert pool.shutdown().finished
        assert future.result(0) == ("deco_0", 3)
        assert [task.name for task in report.running] == ["job"]

    @pytest.mark.parametrize("on_pool", [False, True])
    def test_interrupting_a_call(self, on_pool: bool) -> None:
        gate = threadkit.Event()
        unwound = threadkit.Event()
        threads: list[threading.Thread] = []
        pool = tf.ThreadPoolExecutor(1)

        def body() -> bool:
            threads.append(threading.current_thread())
            try:
                return gate.wait()
            except threadkit.Cancelled:
                unwound.set()
                raise

        call = tf.threaded(executor=pool)(body) if on_pool else tf.threaded(body)
        future = call()
        wait_for_waiters(gate, 1)
        assert future.cancel(interrupt=True)
        assert unwound.wait(10)
        pool.shutdown()
        threads[0].join(10)
        assert future.cancelled()
        assert not threads[0].is_alive()
        assert not gate.is_set()


class TestReviewFixes:
    def test_a_task_inherits_the_submitters_cancel_scope(self) -> None:
        with tf.ThreadPoolExecutor(1) as pool:
            with threadkit.CancelScope() as scope:
                future = pool.submit(threadkit.Event().wait)
                wait_until(future.running)
                scope.cancel("done with it")
            with pytest.raises(tf.CancelledError):
                future.result(10)
            assert pool.submit(int).result(10) == 0  # the worker went on

    def test_caller_runs_lets_the_callers_cancellation_through(self) -> None:
        gate = threadkit.Event()
        with tf.ThreadPoolExecutor(1, max_queue=1, on_full="caller_runs") as pool:
            busy = pool.submit(gate.wait)
            wait_until(busy.running, what="the worker to take the first task")
            pool.submit(int)  # the queue is full now
            with threadkit.CancelScope() as scope:
                scope.cancel()
                pool.submit(threadkit.Event().wait)  # runs here: Cancelled unwinds the caller
                pytest.fail("the caller's cancellation was swallowed")  # pragma: no cover
            gate.set()
            assert pool.stats().rejected == 1
        assert scope.cancelled_caught

    def test_a_user_cancelled_future_dropped_at_shutdown_is_seen_by_wait(self) -> None:
        gate = threadkit.Event()
        pool = tf.ThreadPoolExecutor(1)
        pool.submit(gate.wait)
        queued = pool.submit(int)
        assert queued.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        done, _ = cf.wait([queued], timeout=10)
        gate.set()
        pool.shutdown()
        assert done == {queued}

    def test_then_on_a_cancelled_chain_logs_nothing(self, caplog: pytest.LogCaptureFixture) -> None:
        source: tf.Future[int] = tf.Future()
        chained = source.then(lambda x: x + 1)
        assert chained.cancel()
        source.set_result(1)
        assert chained.cancelled()
        assert "exception calling callback" not in caplog.text

    def test_shutdown_waits_on_the_threadkit_clock_and_can_be_cancelled(self) -> None:
        gate = threadkit.Event()
        clock = threadkit.MockClock()
        with threadkit.use_clock(clock):
            pool = tf.ThreadPoolExecutor(1)
            stuck = pool.submit(gate.wait)
            wait_until(stuck.running)
            with threadkit.TaskGroup() as tg:
                task = tg.start(lambda: pool.shutdown(timeout=30))
                wait_until(lambda: len(pool._core.exits) == 1, what="shutdown to wait")
                clock.advance(30)  # virtual time: the timeout passes at once
            report = task.result()
            assert not report.finished
            assert [t.future for t in report.running] == [stuck]
            with threadkit.CancelScope() as scope:
                scope.cancel()
                pool.shutdown(timeout=30)  # a cancellation point, like every threadkit wait
            assert scope.cancelled_caught
            gate.set()
            assert pool.shutdown().finished


class TestSpinning:
    """An idle worker spins a moment for the next task, and result() for a result, before
    parking (_waitqueue.spin_until): the sequential round trip without two wake-ups."""

    @pytest.fixture(autouse=True)
    def long_spins(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # An hour: only what the test does ends a spin (never the spin's own time); and
        # room for every thread to spin, whatever the machine's CPUs.
        monkeypatch.setattr(_waitqueue, "SPIN", 3600.0)
        monkeypatch.setattr(_waitqueue, "_spin_claims", [0.0] * 8)

    def test_an_idle_worker_spins_and_is_handed_the_next_task(self) -> None:
        with tf.ThreadPoolExecutor(4) as pool:
            core = pool._core
            first = pool.submit(_thread_name).result(10)
            wait_until(lambda: core.spinner is not None, what="the worker to spin")
            assert not core.parked  # spinning, not parked
            second = pool.submit(_thread_name)  # handed to the spinner: nobody woken
            assert second.result(10) == first
            assert pool.stats().workers == 1

    def test_one_worker_spins_and_the_others_park(self) -> None:
        gate = threadkit.Event()
        with tf.ThreadPoolExecutor(3) as pool:
            core = pool._core
            futures = [pool.submit(gate.wait) for _ in range(3)]
            wait_for_waiters(gate, 3)
            gate.set()
            assert all(f.result(10) for f in futures)
            wait_until(lambda: len(core.parked) == 2, what="two workers to park")
            wait_until(lambda: core.spinner is not None, what="the third to spin")
            # Two tasks: the first is handed to the spinner, the second wakes a parked one.
            gate.clear()
            more = [pool.submit(gate.wait) for _ in range(2)]
            wait_for_waiters(gate, 2)
            assert len(core.parked) == 1
            assert core.spinner is None
            gate.set()
            assert all(f.result(10) for f in more)
            assert pool.stats().workers == 3

    def test_a_spin_that_runs_out_parks_the_worker(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(_waitqueue, "SPIN", 0.001)
        with tf.ThreadPoolExecutor(2) as pool:
            core = pool._core
            assert pool.submit(int).result(10) == 0
            wait_until(lambda: len(core.parked) == 1, what="the worker to park")
            assert core.spinner is None
            assert pool.submit(int).result(10) == 0  # woken from its park as before

    def test_shutdown_ends_a_spin_at_once(self) -> None:
        pool = tf.ThreadPoolExecutor(2)
        try:
            assert pool.submit(int).result(10) == 0
            wait_until(lambda: pool._core.spinner is not None, what="the worker to spin")
        finally:
            report = pool.shutdown(wait=True, timeout=10)  # (not after the hour's spin)
        assert report.finished
        assert not any(t.is_alive() for t in pool._threads)

    def test_a_task_handed_to_a_spin_that_ends_at_that_moment_runs(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with tf.ThreadPoolExecutor(1) as pool:
            handed: list[tf.Future[int]] = []

            def spin_until(ready: Callable[[], object], limit: float | None = None) -> bool:
                if not handed:  # the spin "runs out" just after a submit handed it a task
                    with Workers(lambda: handed.append(pool.submit(int))):
                        pass
                    return False
                return real(ready, limit)

            real = _waitqueue.spin_until
            monkeypatch.setattr(_pool, "spin_until", spin_until)
            assert pool.submit(int).result(10) == 0
            wait_until(lambda: bool(handed), what="the task handed to the spinner")
            assert handed[0].result(10) == 0
            assert pool.stats().workers == 1

    @pytest.mark.parametrize("handed_first", [False, True])
    def test_a_worker_that_raises_as_it_spins_leaves_no_task_behind(
        self, monkeypatch: pytest.MonkeyPatch, handed_first: bool
    ) -> None:
        raised = threading.Event()
        handed: list[tf.Future[int]] = []
        real = _p.yield_thread

        def yield_thread() -> None:  # any exception in the spin: a trace function's, say
            if threading.current_thread().name.startswith("dies_") and not raised.is_set():
                if handed_first:  # a submit hands the spinner a task, then it dies
                    with Workers(lambda: handed.append(pool.submit(int))):
                        pass
                raised.set()
                raise RuntimeError("injected")
            real()

        monkeypatch.setattr(_p, "yield_thread", yield_thread)
        monkeypatch.setattr(logging.getLogger("concurrent.futures"), "disabled", True)
        with tf.ThreadPoolExecutor(2, thread_name_prefix="dies") as pool:
            assert pool.submit(int).result(10) == 0
            assert raised.wait(10)
            if handed_first:
                assert handed[0].result(10) == 0  # the dead spinner's task got a worker
            else:
                wait_until(lambda: pool.stats().workers == 0, what="the worker to die")
                assert pool._core.spinner is None  # not left as the spinner
            assert pool.submit(int).result(10) == 0

    def test_result_spins_and_returns_unparked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        spinning = threading.Event()
        real = _p.yield_thread

        def yield_thread() -> None:
            spinning.set()
            real()

        monkeypatch.setattr(_p, "yield_thread", yield_thread)
        future: tf.Future[int] = tf.Future()

        def finish() -> None:
            assert spinning.wait(10)
            future.set_result(7)

        with Workers(finish):
            assert future.result() == 7
        assert future._tk_done is None  # no wait queue was made: it never parked

    def test_a_timeout_bounds_the_spin(self) -> None:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            tf.Future().result(timeout=0.01)
        with pytest.raises(TimeoutError):
            tf.Future().exception(timeout=0.01)
        assert time.monotonic() - start < 10  # (not the hour's spin)

    def test_a_cancelled_scope_is_not_kept_waiting_by_a_spin(self) -> None:
        start = time.monotonic()
        with threadkit.CancelScope() as scope:
            scope.cancel()
            tf.Future().result()
        assert scope.cancelled_caught
        assert time.monotonic() - start < 10  # (not the hour's spin)

    def test_a_cancellation_during_the_spin_is_raised_by_the_park(self) -> None:
        future: tf.Future[int] = tf.Future()
        start = time.monotonic()
        with threadkit.CancelScope(timeout=0.05) as scope:
            future.result()  # spins to the scope's deadline, then the park raises
        assert scope.cancelled_caught
        assert time.monotonic() - start < 10  # (not the hour's spin)
