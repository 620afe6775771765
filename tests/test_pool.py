"""threadkit.futures: the ThreadPoolExecutor drop-in and Future's additions.

CPython's own tests for the executor, wait/as_completed, shutdown, initializer and Future
run against threadkit in the conformance suite; these cover what that suite does not.
"""

from __future__ import annotations

import concurrent.futures as cf
import gc
import queue
import threading
from typing import Any

import pytest

import threadkit
import threadkit.futures as tf
from conftest import wait_until

pytestmark = pytest.mark.timeout(30)


class TestExecutor:
    def test_submit_map_and_context_manager(self) -> None:
        with tf.ThreadPoolExecutor(2, thread_name_prefix="tk") as pool:
            futures = [pool.submit(pow, 2, n) for n in range(10)]
            assert [f.result(10) for f in futures] == [2**n for n in range(10)]
            assert list(pool.map(abs, [-1, -2, 3])) == [1, 2, 3]
            names = {f.result() for f in [pool.submit(lambda: threading.current_thread().name)]}
        assert all(isinstance(f, cf.Future) for f in futures)
        assert names <= {"tk_0", "tk_1"}

    def test_the_stdlib_lists_are_made_on_first_use_and_still_work(self) -> None:
        f: tf.Future[int] = tf.Future()
        assert "_tk_waiters" not in vars(f)
        assert "_done_callbacks" not in vars(f)
        seen: list[Any] = []
        f.add_done_callback(seen.append)
        f.add_done_callback(seen.append)
        out: list[Any] = []
        waiter = threading.Thread(target=lambda: out.append(cf.wait([f], timeout=10)))
        waiter.start()
        wait_until(lambda: len(f._waiters) == 1)  # the stdlib's wait() registered on it
        assert f._waiters is f._waiters
        f.set_result(3)
        waiter.join(10)
        assert out
        assert out[0].done == {f}
        assert not out[0].not_done
        assert f._waiters == []
        assert seen == [f, f]

    def test_works_with_the_stdlib_wait_and_as_completed(self) -> None:
        with tf.ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(sum, [n, n]) for n in range(5)]
            done, not_done = cf.wait(futures, timeout=10)
            assert (len(done), len(not_done)) == (5, 0)
            assert sorted(f.result() for f in cf.as_completed(futures)) == [0, 2, 4, 6, 8]

    def test_messages(self) -> None:
        with pytest.raises(ValueError, match=r"^max_workers must be greater than 0$"):
            tf.ThreadPoolExecutor(0)
        with pytest.raises(TypeError, match=r"^initializer must be a callable$"):
            tf.ThreadPoolExecutor(1, initializer=3)  # type: ignore[arg-type]
        pool = tf.ThreadPoolExecutor(1)
        pool.shutdown()
        with pytest.raises(RuntimeError, match=r"^cannot schedule new futures after shutdown$"):
            pool.submit(print)

    def test_shutdown_cancel_futures_loses_nothing(self) -> None:
        gate = threadkit.Event()
        pool = tf.ThreadPoolExecutor(1)
        running = pool.submit(gate.wait, 10)
        queued = [pool.submit(print) for _ in range(5)]
        wait_until(running.running)
        with threadkit.TaskGroup() as tg:
            tg.start(lambda: pool.shutdown(True, cancel_futures=True))
            wait_until(lambda: all(f.cancelled() for f in queued))
            gate.set()
        assert running.result() is True
        every: list[tf.Future[Any]] = [running, *queued]
        assert all(f.done() for f in every)

    def test_initializer_failure_breaks_the_pool(self, caplog: pytest.LogCaptureFixture) -> None:
        def fail() -> None:
            raise ValueError("no")

        pool = tf.ThreadPoolExecutor(1, initializer=fail)
        future = pool.submit(print)
        with pytest.raises(tf.BrokenThreadPool):
            future.result(10)
        with pytest.raises(tf.BrokenThreadPool, match=r"^A thread initializer failed"):
            pool.submit(print)
        pool.shutdown()
        assert "Exception in initializer" in caplog.text

    def test_idle_workers_are_reused(self) -> None:
        with tf.ThreadPoolExecutor(4) as pool:
            for _ in range(20):
                pool.submit(print, end="").result(10)
            assert len(pool._threads) == 1

    def test_collected_executor_stops_its_workers(self) -> None:
        pool = tf.ThreadPoolExecutor(2)
        pool.submit(print, end="").result(10)
        threads = list(pool._threads)
        with pytest.warns(ResourceWarning, match=r"was collected without shutdown\(\)"):
            del pool  # the last reference: collected (and its finalizer run) here
        for thread in threads:
            thread.join(10)
        assert not any(t.is_alive() for t in threads)

    def test_a_shut_down_executor_is_collected_quietly(self) -> None:
        import warnings

        pool = tf.ThreadPoolExecutor(1)
        pool.submit(int).result(10)
        pool.shutdown()
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            del pool
            gc.collect()


class TestFuture:
    def test_state_and_now(self) -> None:
        f: tf.Future[int] = tf.Future()
        assert f.state() == "pending"
        with pytest.raises(cf.InvalidStateError, match=r"^result_now\(\) on a pending future$"):
            f.result_now()
        with pytest.raises(cf.InvalidStateError, match=r"^exception_now\(\) on a pending future$"):
            f.exception_now()
        f.set_exception(KeyError("k"))
        assert f.state() == "finished"
        assert isinstance(f.exception_now(), KeyError)
        with pytest.raises(KeyError):
            f.result_now()
        g: tf.Future[int] = tf.Future()
        g.cancel()
        assert g.state() == "cancelled"

    def test_done_op_in_select(self) -> None:
        with tf.ThreadPoolExecutor(1) as pool:
            gate = threadkit.Event()
            f = pool.submit(gate.wait, 10)
            assert threadkit.select(f.done_op(), default=True) == (-1, None)
            with threadkit.TaskGroup() as tg:
                task = tg.start(lambda: threadkit.select(f.done_op(), timeout=10))
                gate.set()
            assert task.result() == (0, f)

    def test_then(self) -> None:
        with tf.ThreadPoolExecutor(2) as pool:
            assert pool.submit(sum, [1, 2]).then(lambda x: x * 10).result(10) == 30
            failing = pool.submit(int, "x").then(lambda x: x + 1)
            with pytest.raises(ValueError, match=r"invalid literal"):
                failing.result(10)
            raising = pool.submit(abs, -1).then(lambda x: 1 / (x - 1))
            with pytest.raises(ZeroDivisionError):
                raising.result(10)
        pending: tf.Future[int] = tf.Future()
        chained = pending.then(lambda x: x)
        pending.cancel()
        assert chained.cancelled()

    def test_result_in_a_cancelled_scope(self) -> None:
        f: tf.Future[int] = tf.Future()
        with threadkit.move_on_after(0.01) as scope:
            threadkit.select(f.done_op())
        assert scope.cancelled_caught


class TestBackpressure:
    def _pool(self, on_full: str) -> tuple[tf.ThreadPoolExecutor, threadkit.Event, cf.Future[bool]]:
        """One worker, busy behind a gate, and one task queued: the queue (max 1) is full."""
        gate = threadkit.Event()
        pool = tf.ThreadPoolExecutor(1, max_queue=1, on_full=on_full)  # type: ignore[arg-type]
        running = pool.submit(gate.wait, 10)
        wait_until(running.running)
        pool.submit(print, end="")
        return pool, gate, running

    def test_block_waits_for_room(self) -> None:
        pool, gate, _ = self._pool("block")
        with threadkit.TaskGroup() as tg:
            task = tg.start(lambda: pool.submit(sum, [1, 2]))
            wait_until(lambda: len(pool._core.room) == 1)
            gate.set()
        assert task.result().result(10) == 3
        pool.shutdown()

    def test_block_is_a_cancellation_point(self) -> None:
        pool, gate, _ = self._pool("block")
        with threadkit.move_on_after(0.02) as scope:
            pool.submit(print)
        assert scope.cancelled_caught
        gate.set()
        pool.shutdown()

    def test_raise(self) -> None:
        pool, gate, _ = self._pool("raise")
        with pytest.raises(queue.Full, match=r"^the pool's queue is full \(max_queue=1\)$"):
            pool.submit(print)
        gate.set()
        pool.shutdown()

    def test_caller_runs(self) -> None:
        pool, gate, _ = self._pool("caller_runs")
        f = pool.submit(lambda: threading.current_thread().name)
        assert f.result(0) == threading.current_thread().name
        gate.set()
        pool.shutdown()

    def test_discard_oldest_cancels_its_future(self) -> None:
        gate = threadkit.Event()
        pool = tf.ThreadPoolExecutor(1, max_queue=1, on_full="discard_oldest")
        running = pool.submit(gate.wait, 10)
        wait_until(running.running)
        oldest = pool.submit(print, end="")
        newest = pool.submit(sum, [2, 2])
        assert oldest.cancelled()
        gate.set()
        assert newest.result(10) == 4
        pool.shutdown()

    def test_discard_oldest_counts_only_what_it_discarded(self) -> None:
        # The queue looked full under the pool's lock, but a worker (which takes tasks
        # without that lock) emptied it before the oldest could be discarded: nothing was
        # discarded, so nothing is counted as rejected (it was counted).
        class FullOnce(int):
            full_once = True

            def __gt__(self, length: object) -> bool:  # `len(work) < max_queue`
                if self.full_once:  # as just before a worker took the last task
                    self.full_once = False
                    return False
                return int(self) > length  # type: ignore[operator]

        gate = threadkit.Event()
        pool = tf.ThreadPoolExecutor(1, max_queue=1, on_full="discard_oldest")
        running = pool.submit(gate.wait, 10)
        wait_until(running.running)
        pool._max_queue = FullOnce(1)
        queued = pool.submit(sum, [2, 2])  # finds the queue "full", and nothing to discard
        assert pool.stats().rejected == 0
        assert not queued.cancelled()
        newest = pool.submit(sum, [3, 3])  # (really full now: this one discards `queued`)
        assert queued.cancelled()
        assert pool.stats().rejected == 1
        gate.set()
        assert newest.result(10) == 6
        pool.shutdown()

    def test_shutdown_wakes_a_blocked_submit(self) -> None:
        pool, gate, _ = self._pool("block")

        def submit() -> str:
            try:
                pool.submit(print)
            except RuntimeError as exc:
                return str(exc)
            return "queued"

        with threadkit.TaskGroup() as tg:
            task = tg.start(submit)
            wait_until(lambda: len(pool._core.room) == 1)
            pool.shutdown(wait=False)
            gate.set()
        assert task.result() == "cannot schedule new futures after shutdown"
        pool.shutdown()

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"max_queue": 0}, r"^max_queue must be >= 1 or None, not 0$"),
            ({"max_tasks_per_worker": 0}, r"^max_tasks_per_worker must be >= 1 or None, not 0$"),
            ({"min_workers": 2}, r"^min_workers \(2\) must not exceed max_workers \(1\)$"),
            ({"idle_timeout": -1}, r"^idle_timeout must be >= 0, not -1$"),
            ({"on_full": "drop"}, r"^on_full must be one of 'block', 'raise', 'caller_runs', "),
        ],
    )
    def test_bad_arguments(self, kwargs: dict[str, object], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            tf.ThreadPoolExecutor(1, **kwargs)  # type: ignore[arg-type]


class TestStats:
    def test_counts(self) -> None:
        gate = threadkit.Event()
        pool = tf.ThreadPoolExecutor(1, max_queue=1, on_full="raise")
        assert pool.stats() == tf.PoolStatistics(0, 0, 0, 0, 0, 0, 0)
        pool.submit(print, end="").result(10)
        running = pool.submit(gate.wait, 10)
        wait_until(running.running)
        pool.submit(print, end="")
        with pytest.raises(queue.Full):
            pool.submit(print)
        s = pool.stats()
        assert (s.workers, s.active, s.idle) == (1, 1, 0)
        assert (s.queued, s.completed, s.rejected) == (1, 1, 1)
        gate.set()
        pool.shutdown()
        assert pool.stats().completed == 3
