"""TaskGroup: structured concurrency for threads."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError
from typing import Any

import pytest

import threadkit
import threadkit.futures
from conftest import Workers, wait_for_waiters, wait_until
from threadkit import Event, TaskGroup

pytestmark = pytest.mark.timeout(30)


class TestTaskGroup:
    def test_results_and_join_on_exit(self) -> None:
        with TaskGroup(name="sums") as tg:
            tasks = [tg.start(sum, [i, i]) for i in range(5)]
        assert all(t.done() for t in tasks)
        assert [t.result() for t in tasks] == [0, 2, 4, 6, 8]
        assert tasks[0].name == "sums-task-1"
        assert repr(tg) == "<threadkit.TaskGroup 'sums': 0 running>"

    def test_first_failure_cancels_siblings_and_all_are_raised(self) -> None:
        blocked = Event()
        never = Event()

        def fail(message: str) -> None:
            assert blocked.wait(10)
            raise ValueError(message)

        def wait_forever() -> None:
            blocked.set()
            never.wait()

        tasks = []

        def run() -> None:
            with TaskGroup(name="g") as tg:
                tasks.append(tg.start(wait_forever))
                tg.start(fail, "boom")

        with pytest.raises(ExceptionGroup, match=r"^1 task\(s\) of 'g' failed") as info:
            run()
        sibling = tasks[0]
        assert [str(e) for e in info.value.exceptions] == ["boom"]
        assert isinstance(sibling.exception(), CancelledError)

    def test_several_failures_are_grouped(self) -> None:
        def fail(n: int) -> None:
            raise KeyError(n)

        def run() -> None:
            with TaskGroup() as tg:
                for n in range(3):
                    tg.start(fail, n)

        with pytest.raises(ExceptionGroup) as info:
            run()
        assert sorted(e.args[0] for e in info.value.exceptions) == [0, 1, 2]

    def test_the_block_raising_cancels_the_tasks(self) -> None:
        never = Event()
        tasks = []

        def run() -> None:
            with TaskGroup() as tg:
                tasks.append(tg.start(never.wait))
                wait_for_waiters(never, 1)
                raise RuntimeError("in the block")

        with pytest.raises(ExceptionGroup) as info:
            run()
        assert [str(e) for e in info.value.exceptions] == ["in the block"]
        assert isinstance(tasks[0].exception(), CancelledError)

    def test_cancel_scope_stops_everything_quietly(self) -> None:
        never = Event()
        with TaskGroup() as tg:
            for _ in range(3):
                tg.start(never.wait)
            wait_for_waiters(never, 3)
            tg.cancel_scope.cancel()
            never.wait()  # the block itself is cancelled too
        assert tg.cancel_scope.cancelled_caught

    def test_enclosing_scope_cancels_the_tasks(self) -> None:
        never = Event()
        with threadkit.CancelScope() as outer:
            with TaskGroup() as tg:
                task = tg.start(never.wait)
                wait_for_waiters(never, 1)
                outer.cancel()
                never.wait()
        assert outer.cancelled_caught
        assert isinstance(task.exception(), CancelledError)

    def test_deadline_of_the_enclosing_scope(self) -> None:
        with threadkit.move_on_after(0.05) as scope:
            with TaskGroup() as tg:
                task = tg.start(threadkit.sleep, 10)
        assert scope.cancelled_caught
        assert isinstance(task.exception(), CancelledError)

    def test_limit_bounds_concurrency(self) -> None:
        gate = Event()
        running = 0
        peak = 0
        lock = threading.Lock()

        def work() -> None:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            gate.wait(10)
            with lock:
                running -= 1

        with TaskGroup(limit=2) as tg:
            tg.start(work)
            tg.start(work)
            assert tg.try_start(work) is False
            with Workers(lambda: tg.start(work)):  # blocks for a slot
                wait_until(
                    lambda: tg._slots is not None and tg._slots.statistics().threads_waiting == 1
                )
                gate.set()
        assert peak == 2

    def test_start_after_the_block_ended(self) -> None:
        with TaskGroup(name="done") as tg:
            pass
        with pytest.raises(
            RuntimeError, match=r"^TaskGroup 'done' has ended: it cannot start tasks$"
        ):
            tg.start(print)

    @pytest.mark.parametrize(
        ("limit", "exc"), [(0, ValueError), (1.5, TypeError), (True, TypeError)]
    )
    def test_bad_limit(self, limit: object, exc: type[Exception]) -> None:
        with pytest.raises(exc, match=r"^limit must be"):
            TaskGroup(limit=limit)  # type: ignore[arg-type]

    def test_tasks_can_start_siblings(self) -> None:
        with TaskGroup() as tg:

            def parent() -> int:
                return tg.start(sum, [2, 3]).result(10)

            task = tg.start(parent)
        assert task.result() == 5

    def test_task_result_timeout(self) -> None:
        gate = Event()
        with TaskGroup() as tg:
            task = tg.start(gate.wait, 10)
            with pytest.raises(TimeoutError, match=r"did not finish within 0.01 seconds$"):
                task.result(0.01)
            gate.set()
        assert task.result() is True


class TestTaskGroupRegressions:
    def test_tasks_get_the_groups_scopes_whoever_starts_them(self) -> None:
        never = Event()

        def fail() -> None:
            wait_for_waiters(never, 1)
            raise ValueError("x")

        def run() -> None:
            with TaskGroup() as tg:
                with threadkit.CancelScope(shield=True):  # shield in the block: irrelevant
                    tg.start(never.wait)
                tg.start(fail)

        with pytest.raises(ExceptionGroup):
            run()

    def test_a_scope_that_ended_does_not_follow_the_task(self) -> None:
        with TaskGroup() as tg:
            with threadkit.move_on_after(0.01):
                task = tg.start(threadkit.sleep, 0.05)
        assert task.exception() is None

    def test_start_from_an_unrelated_thread_is_covered_by_the_outer_scope(self) -> None:
        never = Event()
        with threadkit.CancelScope() as outer:
            with TaskGroup() as tg:
                with Workers(lambda: tg.start(never.wait)):
                    pass
                wait_for_waiters(never, 1)
                outer.cancel()
        assert outer.cancelled_caught

    def test_keyboard_interrupt_in_the_block_is_raised_as_is(self) -> None:
        never = Event()

        def run() -> None:
            with TaskGroup() as tg:
                tg.start(never.wait)
                wait_for_waiters(never, 1)
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            run()
        assert threadkit._core.current_scopes() == []

    def test_interrupted_while_joining_leaves_no_scope_behind(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        never = Event()
        calls = []
        real = TaskGroup._join_all

        def interrupted(self: TaskGroup) -> None:
            calls.append(1)
            if len(calls) == 1:
                raise KeyboardInterrupt
            real(self)

        monkeypatch.setattr(TaskGroup, "_join_all", interrupted)

        def run() -> None:
            with TaskGroup() as tg:
                tg.start(never.wait)
                wait_for_waiters(never, 1)

        with pytest.raises(KeyboardInterrupt):
            run()
        assert threadkit._core.current_scopes() == []

    def test_a_task_whose_thread_cannot_start(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def refuse(self: threading.Thread) -> None:
            raise RuntimeError("can't start new thread")

        with pytest.raises(ExceptionGroup):  # noqa: PT012
            with TaskGroup() as tg:
                monkeypatch.setattr(threading.Thread, "start", refuse)
                with pytest.raises(RuntimeError, match=r"^can't start new thread$"):
                    tg.start(print)
                monkeypatch.undo()

    def test_a_thread_cannot_join_itself(self) -> None:
        def self_join() -> str:
            try:
                threading.current_thread().join()
            except RuntimeError as exc:
                return str(exc)
            return "joined"

        t = threadkit.Thread(target=self_join)
        t.start()
        assert t.result(10) == "cannot join current thread"


@pytest.mark.timeout(30)
def test_a_backend_task_started_after_the_group_was_cancelled_is_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The group is cancelled (a sibling failed) while its block waits for a task whose
    # future does not end at once when cancelled (a remote one, say); another thread then
    # starts a task: it was missed by the cancellation (the group's futures had been
    # cancelled already) and ran to its end, holding the block.
    pool = threadkit.futures.ThreadPoolExecutor(2)
    remote: threadkit.futures.Future[bool] = threadkit.futures.Future()
    assert remote.set_running_or_notify_cancel()  # (running elsewhere: cancel() refuses)

    class Backend:
        def submit(self, fn: Any, /, *args: Any) -> Any:
            return remote if fn is None else pool.submit(fn, *args)

    calls: list[str] = []
    cancel_all = TaskGroup._cancel_all

    def counted(self: TaskGroup, reason: str) -> None:
        cancel_all(self, reason)
        calls.append(reason)

    monkeypatch.setattr(TaskGroup, "_cancel_all", counted)
    started = threading.Event()
    never = Event()
    late: list[threadkit.Task[bool]] = []

    def other_thread() -> None:
        assert started.wait(10)
        wait_for_waiters(stubborn._done, 1)  # the block waits for it
        tg._cancel_all("a sibling failed")  # (what a failing task's future does)
        wait_until(lambda: len(calls) == 2)  # the block's wait was cancelled, and so
        late.append(tg.start(never.wait, 10))  # the group's futures: then this starts
        late[0]._done.wait(10)
        remote.set_result(True)  # the remote task ends

    with Workers(other_thread):
        with TaskGroup(backend=Backend()) as tg:
            stubborn: threadkit.Task[bool] = tg.start(None)  # type: ignore[arg-type]  # (remote)
            started.set()
    with pytest.raises(CancelledError):
        late[0].result()
    assert not never.is_set()
    pool.shutdown()
