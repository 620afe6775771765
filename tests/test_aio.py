"""threadkit.aio: the awaitable twins, the select bridge, to_thread, the portal, DeadlockError.

Coroutines run with ``asyncio.run`` in the test's thread (or in a helper thread, for a loop
beside plain threads). Threads synchronise with the coroutines through ``statistics()``
(``wait_for_waiters``: a waiting coroutine is an arm in the primitive's wait queue), never
through sleeps.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import math
import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

import threadkit
import threadkit.futures
from conftest import STRESS, Workers, wait_for_waiters, wait_until
from threadkit import aio

pytestmark = pytest.mark.timeout(30)

_T = TypeVar("_T")

RECV = "threads_waiting_receive"
SEND = "threads_waiting_send"


def run(coro_fn: Callable[[], Awaitable[_T]]) -> _T:
    async def main() -> _T:
        return await coro_fn()

    return asyncio.run(main())


def channel(capacity: float) -> tuple[threadkit.Sender[Any], threadkit.Receiver[Any]]:
    return threadkit.open_channel(capacity)


@pytest.fixture(params=[0, 1, math.inf], ids=["rendezvous", "bounded", "unbounded"])
def capacity(request: pytest.FixtureRequest) -> float:
    return request.param  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------
# Channels


class TestChannels:
    def test_recv_takes_an_item_that_is_there_without_waiting(self) -> None:
        tx, rx = channel(math.inf)
        with tx, rx:
            tx.send(1)
            assert run(lambda: aio.recv(rx)) == 1

    def test_recv_waits_for_a_thread_to_send(self, capacity: float) -> None:
        tx, rx = channel(capacity)
        with tx, rx:

            def producer() -> None:
                wait_for_waiters(rx, 1, field=RECV)
                tx.send("item")

            with Workers(producer):
                assert run(lambda: aio.recv(rx)) == "item"
            assert rx.statistics().threads_waiting_receive == 0

    @pytest.mark.parametrize("side", ["recv", "send"])
    def test_a_rendezvous_done_before_its_end_is_closed_stands(self, side: str) -> None:
        # A thread hands the item over to the waiting coroutine (or takes its item), then
        # closes the coroutine's own end before the loop runs it again: the hand-over
        # happened (the thread's call returned), so the coroutine gets the item (or its send
        # returns) instead of ChannelClosed (the item was lost, or reported unsent).
        tx, rx = channel(0)
        other: list[object] = []

        async def main() -> object:
            end: Any = rx.clone() if side == "recv" else tx.clone()
            waiting = end.recv_async() if side == "recv" else end.send_async("item")
            task = asyncio.ensure_future(waiting)

            def other_side() -> None:
                if side == "recv":
                    wait_for_waiters(rx, 1, field=RECV)
                    tx.send("item", timeout=10)
                else:
                    wait_for_waiters(tx, 1, field=SEND)
                    other.append(rx.recv(timeout=10))
                end.close()

            await asyncio.sleep(0)  # (the task starts and waits)
            thread = threading.Thread(target=other_side)
            thread.start()
            thread.join(10)  # (the loop is held meanwhile: the task resumes only after)
            return await task

        with tx, rx:
            got = run(main)
        assert (got, other) == (("item", []) if side == "recv" else (None, ["item"]))

    @pytest.mark.parametrize("cap", [0, 1], ids=["rendezvous", "bounded"])
    def test_send_waits_for_a_thread_to_receive(self, cap: int) -> None:
        tx, rx = channel(cap)
        with tx, rx:
            if cap:
                tx.send("filler")

            def consumer() -> list[object]:
                wait_for_waiters(tx, 1, field=SEND)
                return [rx.recv() for _ in range(cap + 1)]

            with Workers(consumer) as workers:
                run(lambda: aio.send(tx, "item"))
            assert workers.results == [["filler", "item"] if cap else ["item"]]

    def test_unbounded_send_does_not_wait(self) -> None:
        tx, rx = channel(math.inf)
        with tx, rx:
            run(lambda: aio.send(tx, 5))
            assert rx.recv() == 5

    def test_recv_raises_end_of_channel_when_the_senders_close_while_waiting(
        self, capacity: float
    ) -> None:
        tx, rx = channel(capacity)
        with rx:

            def closer() -> None:
                wait_for_waiters(rx, 1, field=RECV)
                tx.close()

            with Workers(closer), pytest.raises(threadkit.EndOfChannel):
                run(lambda: aio.recv(rx))

    def test_send_on_a_closed_channel_hands_the_item_back(self) -> None:
        tx, rx = channel(0)
        with tx:

            def closer() -> None:
                wait_for_waiters(tx, 1, field=SEND)
                rx.close()

            with Workers(closer), pytest.raises(threadkit.ChannelClosed) as info:
                run(lambda: aio.send(tx, "kept"))
            assert info.value.item == "kept"

    def test_recv_timeout(self, capacity: float) -> None:
        tx, rx = channel(capacity)
        with tx, rx:
            with pytest.raises(TimeoutError, match=r"^timed out waiting on select$"):
                run(lambda: aio.recv(rx, timeout=0.01))
            assert rx.statistics().threads_waiting_receive == 0

    def test_timeout_is_checked(self) -> None:
        tx, rx = channel(1)
        with tx, rx, pytest.raises(ValueError, match="timeout"):
            run(lambda: aio.recv(rx, timeout=-1))

    def test_coroutines_of_one_loop_pass_items_to_each_other(self) -> None:
        tx, rx = channel(0)
        with tx, rx:

            async def main() -> list[int]:
                async def producer() -> None:
                    for i in range(50):
                        await aio.send(tx, i)

                task = asyncio.create_task(producer())
                got = [await aio.recv(rx) for _ in range(50)]
                await task
                return got

            assert run(main) == list(range(50))


# --------------------------------------------------------------------------------------------
# The select bridge


class TestSelect:
    def test_select_returns_the_ready_operation(self) -> None:
        tx1, rx1 = channel(math.inf)
        tx2, rx2 = channel(math.inf)
        with tx1, rx1, tx2, rx2:
            tx2.send("b")
            assert run(lambda: aio.select(rx1.recv_op(), rx2.recv_op())) == (1, "b")

    def test_select_over_kinds_woken_by_a_thread(self) -> None:
        tx, rx = channel(math.inf)
        event = threadkit.Event()
        with tx, rx:

            def setter() -> None:
                wait_until(lambda: event.statistics().threads_waiting == 1)
                event.set()

            with Workers(setter):
                got = run(lambda: aio.select(rx.recv_op(), event.wait_op()))
            assert got == (1, True)
            assert rx.statistics().threads_waiting_receive == 0  # the other arm is gone

    def test_only_one_operation_takes_effect(self) -> None:
        tx1, rx1 = channel(math.inf)
        tx2, rx2 = channel(math.inf)
        with tx1, rx1, tx2, rx2:
            tx1.send(1)
            tx2.send(2)
            index, value = run(lambda: aio.select(rx1.recv_op(), rx2.recv_op()))
            left = rx2 if index == 0 else rx1
            assert left.try_recv() == 3 - value

    def test_select_on_after_fires_at_its_deadline(self) -> None:
        tx, rx = channel(1)
        with tx, rx:
            index, _ = run(lambda: aio.select(rx.recv_op(), threadkit.after(0.01)))
            assert index == 1

    def test_select_timeout_and_argument_checks(self) -> None:
        with pytest.raises(TimeoutError):
            run(lambda: aio.select(threadkit.never(), timeout=0))
        with pytest.raises(ValueError, match=r"^select\(\) needs at least one operation$"):
            run(aio.select)
        with pytest.raises(TypeError, match=r"^select operation 0 must be a SelectOp"):
            run(lambda: aio.select(object()))  # type: ignore[arg-type]

    def test_exception_of_an_operation_names_it(self) -> None:
        tx, rx = channel(1)
        tx.close()
        with rx, pytest.raises(threadkit.EndOfChannel) as info:
            run(lambda: aio.select(rx.recv_op()))
        assert "raised by select operation 0" in str(info.value.__notes__)

    def test_an_operation_raising_while_registering_passes_a_wake_up_on(self) -> None:
        sem = threadkit.Semaphore(0)

        class Raising(threadkit.SelectOp[None]):
            def try_select(self) -> tuple[bool, None]:
                return False, None

            def register(self, arm: Any) -> bool:
                sem.release()  # fires the semaphore's arm, registered first
                raise RuntimeError("cannot register")

        with pytest.raises(RuntimeError, match="cannot register"):
            run(lambda: aio.select(sem.acquire_op(), Raising(), biased=True))
        assert sem.value == 1  # not taken
        assert sem.statistics().threads_waiting == 0

    def test_perform_any_select_op(self) -> None:
        sem = threadkit.Semaphore(0)

        def release() -> None:
            wait_for_waiters(sem, 1)
            sem.release()

        with Workers(release):
            assert run(lambda: aio.perform(sem.acquire_op())) is True
        assert sem.value == 0

    def test_virtual_clock_times_out_when_advanced(self) -> None:
        clock = threadkit.MockClock()
        tx, rx = channel(1)
        with tx, rx, threadkit.use_clock(clock):

            def advance() -> None:
                wait_for_waiters(rx, 1, field=RECV)
                clock.advance(5)

            with Workers(advance), pytest.raises(TimeoutError):
                run(lambda: aio.recv(rx, timeout=5))


# --------------------------------------------------------------------------------------------
# Events and futures


class TestEvent:
    def test_wait_returns_true_once_a_thread_sets_it(self) -> None:
        event = threadkit.Event()

        def setter() -> None:
            wait_for_waiters(event, 1)
            event.set()

        with Workers(setter):
            assert run(lambda: aio.wait(event)) is True

    def test_wait_timeout_returns_false(self) -> None:
        event = threadkit.Event()
        assert run(lambda: aio.wait(event, timeout=0.01)) is False
        assert run(lambda: aio.wait(event, timeout=-1)) is False  # as Event.wait
        event.set()
        assert run(lambda: aio.wait(event, timeout=-1)) is True

    def test_many_tasks_and_threads_wait_on_one_event(self) -> None:
        event = threadkit.Event()

        async def main() -> list[bool]:
            return list(await asyncio.gather(*(aio.wait(event) for _ in range(5))))

        def setter() -> None:
            wait_for_waiters(event, 7)
            event.set()

        with Workers(event.wait, event.wait, setter):
            assert run(main) == [True] * 5


class TestFuture:
    def test_result_of_a_future_set_by_a_thread(self) -> None:
        future: threadkit.futures.Future[int] = threadkit.futures.Future()

        def setter() -> None:
            wait_until(lambda: future._tk_done is not None and len(future._tk_done) == 1)
            future.set_result(42)

        with Workers(setter):
            assert run(lambda: aio.result(future)) == 42

    def test_result_raises_what_the_call_raised_or_cancellation(self) -> None:
        failed: threadkit.futures.Future[int] = threadkit.futures.Future()
        failed.set_exception(KeyError("k"))
        with pytest.raises(KeyError):
            run(lambda: aio.result(failed))
        cancelled: threadkit.futures.Future[int] = threadkit.futures.Future()
        cancelled.cancel()
        with pytest.raises(concurrent.futures.CancelledError):
            run(lambda: aio.result(cancelled))

    def test_result_of_a_pool_task(self) -> None:
        with threadkit.futures.ThreadPoolExecutor(1) as pool:
            future = pool.submit(sum, [1, 2, 3])
            assert run(lambda: aio.result(future)) == 6

    def test_result_timeout_leaves_the_future_alone(self) -> None:
        future: threadkit.futures.Future[int] = threadkit.futures.Future()
        with pytest.raises(TimeoutError):
            run(lambda: aio.result(future, timeout=0.01))
        assert future.state() == "pending"


# --------------------------------------------------------------------------------------------
# Locks


class TestLocks:
    @pytest.mark.parametrize(
        "make",
        [threadkit.Mutex, lambda: threadkit.Semaphore(1), lambda: threadkit.BoundedSemaphore(1)],
        ids=["Mutex", "Semaphore", "BoundedSemaphore"],
    )
    def test_tasks_and_threads_exclude_each_other(self, make: Callable[[], Any]) -> None:
        lock = make()
        inside = [0]
        most = [0]
        guard = threading.Lock()

        def enter() -> None:
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])

        def leave() -> None:
            with guard:
                inside[0] -= 1

        rounds = 200 * STRESS

        async def task() -> None:
            for _ in range(rounds):
                async with aio.locked(lock):
                    enter()
                    await asyncio.sleep(0)
                    leave()

        async def main() -> None:
            await asyncio.gather(task(), task(), task())

        def thread() -> None:
            for _ in range(rounds):
                with lock:
                    enter()
                    leave()

        with Workers(thread, thread, lambda: asyncio.run(main())):
            run(main)
        assert most[0] == 1
        assert not lock.locked() if isinstance(lock, threadkit.Mutex) else lock.value == 1

    def test_locked_returns_the_lock_and_releases_on_error(self) -> None:
        mutex = threadkit.Mutex()

        async def main() -> None:
            async with aio.locked(mutex) as held:
                assert held is mutex
                assert mutex.owner is threading.current_thread()
                raise KeyError("inside")

        with pytest.raises(KeyError):
            run(main)
        assert not mutex.locked()

    def test_acquire_timeout_returns_false(self) -> None:
        sem = threadkit.Semaphore(0)
        assert run(lambda: aio.acquire(sem, timeout=0.01)) is False
        assert sem.statistics().threads_waiting == 0

    def test_a_task_waits_for_another_task_of_its_loop(self) -> None:
        mutex = threadkit.Mutex()
        order: list[str] = []

        async def main() -> None:
            await aio.acquire(mutex)
            order.append("first")

            async def second() -> None:
                async with aio.locked(mutex):
                    order.append("second")

            task = asyncio.create_task(second())
            while mutex.statistics().threads_waiting == 0:
                await asyncio.sleep(0)
            order.append("release")
            aio.release(mutex)
            await task

        run(main)
        assert order == ["first", "release", "second"]

    def test_release_by_another_task_is_allowed_only_through_the_owner_thread(self) -> None:
        mutex = threadkit.Mutex()
        run(lambda: aio.acquire(mutex))
        # asyncio.run's thread still owns it (the loop ran here): a plain release works.
        mutex.release()
        assert not mutex.locked()

    def test_generic_lockable(self) -> None:
        class Gate:
            def __init__(self) -> None:
                self.sem = threadkit.Semaphore(1)
                self.released = 0

            def acquire_op(self) -> threadkit.SelectOp[bool]:
                return self.sem.acquire_op()

            def release(self) -> None:
                self.released += 1
                self.sem.release()

        gate = Gate()

        async def main() -> None:
            async with aio.locked(gate):
                assert gate.sem.value == 0

        run(main)
        assert gate.released == 1
        assert gate.sem.value == 1

    def test_holding_an_op_until_release(self) -> None:
        sem = threadkit.Semaphore(1)
        tx, rx = channel(math.inf)

        async def main() -> None:
            async with aio.holding(sem.acquire_op(), sem.release) as value:
                assert value is True
                assert sem.value == 0
                with pytest.raises(TimeoutError):
                    await aio.perform(sem.acquire_op(), timeout=0.01)

        run(main)
        assert sem.value == 1
        with tx, rx:
            tx.send("x")

            async def taken() -> object:
                async with aio.holding(rx.recv_op(), lambda: None) as item:
                    return item

            assert run(taken) == "x"

    def test_holding_the_modes_of_an_rwlock_beside_a_thread(self) -> None:
        from threadkit._rwlock import RWLock

        rw = RWLock()
        order: list[str] = []

        def reader() -> None:
            with rw.read():
                order.append("thread read")

        async def main() -> None:
            async with aio.holding(rw.write_op(), rw.release_write):
                thread = threadkit.Thread(target=reader)
                thread.start()
                await aio.to_thread(wait_for_waiters, rw, 1)
                order.append("task wrote")
            await aio.to_thread(thread.join)
            async with aio.holding(rw.read_op(), rw.release_read):
                order.append("task read")

        run(main)
        assert order == ["task wrote", "thread read", "task read"]
        assert rw.statistics().writer is None


class TestDeadlock:
    """Mixing a blocking and an awaited acquire of one Mutex in one thread (aiologic #38)."""

    def test_blocking_acquire_while_a_task_of_this_loop_holds_it(self) -> None:
        mutex = threadkit.Mutex()

        async def main() -> None:
            async with aio.locked(mutex):
                mutex.acquire()

        with pytest.raises(
            threadkit.DeadlockError,
            match=r"task .*, of the event loop running in thread .* holds this Mutex; acquiring "
            r"it again in that thread would deadlock",
        ):
            run(main)
        assert not mutex.locked()

    def test_blocking_acquire_in_another_task_of_the_loop(self) -> None:
        mutex = threadkit.Mutex()

        async def main() -> None:
            await aio.acquire(mutex)
            try:

                async def other() -> None:
                    mutex.acquire()  # blocks the loop's thread: the holder could never run

                await asyncio.create_task(other())
            finally:
                aio.release(mutex)

        with pytest.raises(threadkit.DeadlockError, match=re.escape("holds this Mutex")):
            run(main)

    def test_await_while_this_thread_holds_it_by_a_blocking_acquire(self) -> None:
        mutex = threadkit.Mutex()

        async def main() -> None:
            with mutex:
                await aio.acquire(mutex)

        with pytest.raises(
            threadkit.DeadlockError,
            match=r"holds this Mutex by a blocking acquire\(\); a task of the event loop",
        ):
            run(main)
        assert not mutex.locked()

    def test_await_twice_in_one_task(self) -> None:
        mutex = threadkit.Mutex()

        async def main() -> None:
            async with aio.locked(mutex), aio.locked(mutex):
                pass

        with pytest.raises(threadkit.DeadlockError, match=r"already holds this Mutex"):
            run(main)
        assert not mutex.locked()

    def test_another_thread_is_not_a_deadlock(self) -> None:
        mutex = threadkit.Mutex()
        acquired = threadkit.Event()
        done = threadkit.Event()

        def holder() -> None:
            with mutex:
                acquired.set()
                done.wait()

        async def main() -> bool:
            acquired.wait()
            task = asyncio.create_task(aio.acquire(mutex))
            while mutex.statistics().threads_waiting == 0:
                await asyncio.sleep(0)
            done.set()
            return await task

        with Workers(holder):
            assert run(main) is True
        mutex.release()


# --------------------------------------------------------------------------------------------
# Cancellation of the awaiting task


class TestCancellation:
    def test_cancelled_recv_takes_nothing_and_leaves_no_arm(self, capacity: float) -> None:
        tx, rx = channel(capacity)
        with tx, rx:

            async def main() -> None:
                task = asyncio.create_task(aio.recv(rx))
                while rx.statistics().threads_waiting_receive == 0:
                    await asyncio.sleep(0)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

            run(main)
            assert rx.statistics().threads_waiting_receive == 0
            if capacity:
                tx.send("next")
                assert rx.recv() == "next"

    def test_cancelled_after_a_rendezvous_hand_over_returns_the_item(self) -> None:
        tx, rx = channel(0)
        with tx, rx:

            async def main() -> object:
                task = asyncio.create_task(aio.recv(rx))
                while rx.statistics().threads_waiting_receive == 0:
                    await asyncio.sleep(0)
                tx.try_send("handed")  # fires the arm: the sender is done with the item
                task.cancel()  # before the task could run again
                return await task

            assert run(main) == "handed"

    def test_the_cancellation_is_delivered_at_the_next_wait(self) -> None:
        tx, rx = channel(0)
        got: list[object] = []
        with tx, rx:

            async def consumer() -> None:
                while True:
                    got.append(await aio.recv(rx))

            async def main() -> None:
                task = asyncio.create_task(consumer())
                while rx.statistics().threads_waiting_receive == 0:
                    await asyncio.sleep(0)
                tx.try_send("handed")
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert task.cancelled()

            run(main)
            assert got == ["handed"]
            assert rx.statistics().threads_waiting_receive == 0

    def test_a_withdrawn_cancellation_is_not_delivered_again(self) -> None:
        tx, rx = channel(0)
        with tx, rx:

            async def consumer() -> str:
                item = await aio.recv(rx)
                asyncio.current_task().uncancel()  # type: ignore[union-attr]  # as timeout() does
                for _ in range(3):
                    await asyncio.sleep(0)
                return f"{item} and went on"

            async def main() -> str:
                task = asyncio.create_task(consumer())
                while rx.statistics().threads_waiting_receive == 0:
                    await asyncio.sleep(0)
                tx.try_send("handed")
                task.cancel()
                return await task

            assert run(main) == "handed and went on"

    def test_cancelled_send_after_hand_over_reports_it_sent(self) -> None:
        tx, rx = channel(0)
        with tx, rx:

            async def main() -> None:
                task = asyncio.create_task(aio.send(tx, "sent"))
                while tx.statistics().threads_waiting_send == 0:
                    await asyncio.sleep(0)
                assert rx.try_recv() == "sent"
                task.cancel()
                await task  # it returns (no CancelledError): the item went

            run(main)

    def test_cancelled_acquire_after_a_wake_up_keeps_the_lock_consistent(self) -> None:
        sem = threadkit.Semaphore(0)

        async def main() -> None:
            task = asyncio.create_task(aio.acquire(sem))
            while sem.statistics().threads_waiting == 0:
                await asyncio.sleep(0)
            sem.release()  # fires the arm
            task.cancel()
            try:
                took = await task
            except asyncio.CancelledError:
                took = False
            assert sem.value == (0 if took else 1)

        run(main)

    def test_timeouts_under_load_lose_and_duplicate_nothing(self, capacity: float) -> None:
        # Coroutines receive with short timeouts (many are cancelled around a hand-over)
        # while a thread sends; every item is received exactly once.
        n = 300 * STRESS
        tx, rx = channel(capacity)
        got: list[int] = []

        async def consumer() -> None:
            while True:
                try:
                    async with asyncio.timeout(0.0005):
                        got.append(await aio.recv(rx))
                except TimeoutError:
                    continue
                except threadkit.EndOfChannel:
                    return

        async def main() -> None:
            await asyncio.gather(*(consumer() for _ in range(4)))

        def producer() -> None:
            with tx:
                for i in range(n):
                    tx.send(i)

        with rx, Workers(producer):
            run(main)
        assert sorted(got) == list(range(n))

    def test_sends_with_timeouts_report_exactly_what_went(self) -> None:
        n = 300 * STRESS
        tx, rx = channel(0)
        sent: list[int] = []

        async def producer() -> None:
            i = 0
            while i < n:
                try:
                    async with asyncio.timeout(0.0005):
                        await aio.send(tx, i)
                except TimeoutError:
                    continue
                sent.append(i)
                i += 1
            tx.close()

        with rx, Workers(lambda: list(rx)) as workers:
            run(producer)
        assert workers.results == [sent] == [list(range(n))]


# --------------------------------------------------------------------------------------------
# to_thread


class TestToThread:
    def test_returns_and_raises_what_fn_does(self) -> None:
        def add(a: int, b: int = 0) -> int:
            return a + b

        missing: dict[str, int] = {}
        assert run(lambda: aio.to_thread(add, 1, b=2)) == 3
        with pytest.raises(KeyError):
            run(lambda: aio.to_thread(missing.__getitem__, "missing"))

    def test_runs_in_another_thread_with_the_task_context(self) -> None:
        var: contextvars.ContextVar[str] = contextvars.ContextVar("var")

        async def main() -> tuple[bool, str]:
            var.set("task's")
            return await aio.to_thread(
                lambda: (threading.current_thread() is not threading.main_thread(), var.get())
            )

        assert run(main) == (True, "task's")

    def test_cancelling_the_task_cancels_the_thread_scope(self) -> None:
        seen: list[threadkit.Cancelled] = []
        blocked = threadkit.Event()

        def fn() -> None:
            blocked.set()
            try:
                threadkit.Event().wait()  # would wait forever
            except threadkit.Cancelled as exc:
                seen.append(exc)
                raise

        async def main() -> None:
            task = asyncio.create_task(aio.to_thread(fn))
            await aio.wait(blocked)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        run(main)
        assert len(seen) == 1
        assert seen[0].reason == "the task awaiting to_thread() was cancelled"

    def test_the_await_waits_for_the_thread_to_end(self) -> None:
        gate = threadkit.Event()
        stages: list[str] = []

        def fn() -> None:
            try:
                threadkit.Event().wait()
            except threadkit.Cancelled:
                stages.append("cancelled")
                with threadkit.CancelScope(shield=True):
                    gate.wait()  # keeps running after the cancellation
                stages.append("ended")
                raise

        started = threadkit.Event()

        async def main() -> None:
            def go() -> None:
                started.set()
                fn()

            task = asyncio.create_task(aio.to_thread(go))
            await aio.wait(started)
            task.cancel()
            while not stages:
                await asyncio.sleep(0)
            task.cancel()  # a second cancellation does not end the wait either
            for _ in range(5):
                await asyncio.sleep(0)
            assert not task.done()
            gate.set()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert stages == ["cancelled", "ended"]

        run(main)


# --------------------------------------------------------------------------------------------
# Portal and from_thread


async def double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


async def fail() -> None:
    raise KeyError("from the loop")


class TestPortal:
    @pytest.mark.parametrize("how", ["result", "exception"])
    def test_settling_a_future_cancelled_meanwhile_is_a_no_op(self, how: str) -> None:
        # Portal.run's thread cancels the future (its scope fired) between the loop's look
        # at done() and its set_result(): that raised InvalidStateError in the loop's
        # callback, before it set the event the caller waits on (the caller hung, 3.13t).
        from threadkit import _aio

        class CancelledMeanwhile(threadkit.futures.Future[int]):
            def done(self) -> bool:
                self.cancel()  # (as the caller's thread does, just after the look)
                return False

        future = CancelledMeanwhile()
        if how == "result":
            _aio._settle_result(future, 1)
        else:
            _aio._settle_exception(future, KeyError("k"))
        assert future.cancelled()

    def test_run_and_run_sync(self) -> None:
        with aio.start_portal() as portal:
            assert portal.run(double, 21) == 42
            assert portal.run(double(4)) == 8
            assert portal.run_sync(asyncio.get_running_loop) is portal.loop
            with pytest.raises(KeyError):
                portal.run(fail)
            with pytest.raises(ZeroDivisionError):
                portal.run_sync(lambda: 1 / 0)

    def test_submit_returns_a_threadkit_future_whose_cancel_cancels_the_task(self) -> None:
        started = threadkit.Event()
        cancelled = threadkit.Event()

        async def forever() -> None:
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

        with aio.start_portal() as portal:
            assert portal.submit(double, 5).result(timeout=10) == 10
            future = portal.submit(forever)
            assert isinstance(future, threadkit.futures.Future)
            started.wait()
            assert future.cancel()
            assert cancelled.wait(timeout=10)

    def test_timeout_cancels_the_task_and_waits_for_it(self) -> None:
        stages: list[str] = []

        async def slow() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                stages.append("ended")

        with aio.start_portal() as portal:
            with pytest.raises(TimeoutError):
                portal.run(slow, timeout=0.01)
            assert stages == ["ended"]

    def test_a_cancel_scope_cancels_the_task(self) -> None:
        started = threadkit.Event()
        stages: list[str] = []

        async def forever() -> None:
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                stages.append("task cancelled")
                raise

        with aio.start_portal() as portal, threadkit.CancelScope() as scope:

            def canceller() -> None:
                started.wait()
                scope.cancel()

            with Workers(canceller):
                portal.run(forever)
        assert scope.cancelled_caught
        assert stages == ["task cancelled"]

    def test_run_in_the_loops_own_thread_is_a_deadlock(self) -> None:
        async def main() -> None:
            aio.Portal(asyncio.get_running_loop()).run(double, 1)

        with pytest.raises(threadkit.DeadlockError, match=r"would wait for itself"):
            run(main)

    def test_run_on_a_closed_loop(self) -> None:
        loop = asyncio.new_event_loop()
        loop.close()
        with pytest.raises(RuntimeError, match="is closed"):
            aio.Portal(loop).run(double, 1)

    def test_from_thread_in_a_to_thread_call_finds_the_loop(self) -> None:
        def in_thread() -> int:
            return aio.from_thread.run(double, 21) + aio.from_thread.run_sync(lambda: 0)

        assert run(lambda: aio.to_thread(in_thread)) == 42

    def test_from_thread_with_an_explicit_loop(self) -> None:
        with aio.start_portal() as portal:
            assert aio.from_thread.run(double(2), loop=portal.loop) == 4

    def test_from_thread_needs_a_loop(self) -> None:
        with pytest.raises(RuntimeError, match=r"^no event loop to run on"):
            aio.from_thread.run(double, 1)
        with pytest.raises(TypeError, match="namespace"):
            aio.from_thread()


# --------------------------------------------------------------------------------------------
# Threads and event loops at once


def test_threads_and_two_event_loops_share_one_channel(capacity: float) -> None:
    n = 400 * STRESS
    tx, rx = channel(capacity)
    txs = [tx.clone() for _ in range(3)]
    rxs = [rx.clone() for _ in range(3)]
    tx.close()
    rx.close()
    received: list[int] = []
    guard = threading.Lock()

    def keep(items: list[int]) -> None:
        with guard:
            received.extend(items)

    def thread_producer(end: threadkit.Sender[int], items: range) -> Callable[[], None]:
        def go() -> None:
            with end:
                for i in items:
                    end.send(i)

        return go

    def thread_consumer(end: threadkit.Receiver[int]) -> Callable[[], None]:
        def go() -> None:
            with end:
                keep(list(end))

        return go

    def loop(
        send_end: threadkit.Sender[int], items: range, recv_end: threadkit.Receiver[int]
    ) -> Callable[[], None]:
        async def producer() -> None:
            with send_end:
                for i in items:
                    await aio.send(send_end, i)

        async def consumer(end: threadkit.Receiver[int]) -> None:
            got = []
            try:
                while True:
                    got.append(await aio.recv(end))
            except threadkit.EndOfChannel:
                keep(got)

        async def main() -> None:
            other = recv_end.clone()
            with recv_end, other:
                await asyncio.gather(producer(), consumer(recv_end), consumer(other))

        return lambda: asyncio.run(main())

    third = n // 3
    with Workers(
        thread_producer(txs[0], range(third)),
        thread_consumer(rxs[0]),
        loop(txs[1], range(third, 2 * third), rxs[1]),
        loop(txs[2], range(2 * third, n), rxs[2]),
    ):
        pass
    assert sorted(received) == list(range(n))


def test_public_names() -> None:
    public = {name for name in vars(aio) if not name.startswith("_")} - {"annotations"}
    assert set(aio.__all__) == public
    assert {"Portal", "from_thread", "holding", "locked", "recv", "to_thread", "wait"} <= public
    assert aio.Portal.__module__ == "threadkit.aio"
