"""Timer (a drop-in for threading.Timer, on the scheduler) and PeriodicTimer."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from typing import Any, Literal

import pytest

import threadkit
import threadkit.futures as tf
from conftest import wait_until

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def pool() -> Iterator[tf.ThreadPoolExecutor]:
    with tf.ThreadPoolExecutor(4, thread_name_prefix="timer-test") as executor:
        yield executor


@pytest.fixture
def sched(pool: tf.ThreadPoolExecutor) -> Iterator[threadkit.Scheduler]:
    """A scheduler whose timer calls run on the test's own pool (no threads left behind)."""
    scheduler = threadkit.Scheduler(executor=pool)
    yield scheduler
    scheduler.shutdown()


@pytest.fixture
def clock() -> Iterator[threadkit.MockClock]:
    with threadkit.use_clock(threadkit.MockClock()) as mock:
        assert isinstance(mock, threadkit.MockClock)
        yield mock


class Inline(Executor):
    """Runs each call at once in the submitting thread (deterministic under a MockClock)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


# -- Timer: the stdlib's surface --------------------------------------------------------------


def test_timer_calls_the_function_with_its_arguments(sched: threadkit.Scheduler) -> None:
    got: list[object] = []
    done = threadkit.Event()

    def call(*a: object, **k: object) -> None:
        got.append((a, k))
        done.set()

    t = threadkit.Timer(0.01, call, [1, 2], {"x": 3}, scheduler=sched)
    assert (t.interval, t.args, t.kwargs) == (0.01, [1, 2], {"x": 3})
    assert not t.is_alive()
    t.start()
    assert done.wait(10)
    t.join(10)
    assert got == [((1, 2), {"x": 3})]
    assert t.fired
    assert not t.is_alive()
    assert t.finished.is_set()


def test_timer_start_twice_and_join_before_start_raise(sched: threadkit.Scheduler) -> None:
    t = threadkit.Timer(3600, print, scheduler=sched)
    with pytest.raises(RuntimeError, match="cannot join thread before it is started"):
        t.join()
    t.start()
    with pytest.raises(RuntimeError, match="threads can only be started once"):
        t.start()
    assert t.cancel()


def test_timer_defaults_and_names(sched: threadkit.Scheduler) -> None:
    t = threadkit.Timer(1, print, scheduler=sched)
    assert t.args == []
    assert t.kwargs == {}
    assert t.daemon is threading.current_thread().daemon
    assert t.name.startswith("Timer-")
    assert t.ident is None
    t.name = "renamed"
    t.daemon = True
    assert (t.name, t.daemon) == ("renamed", True)
    assert "renamed" in repr(t)
    t.start()
    with pytest.raises(RuntimeError, match="cannot set daemon status of active thread"):
        t.daemon = False
    t.cancel()


def test_cancel_before_start_prevents_the_call(sched: threadkit.Scheduler) -> None:
    ran: list[int] = []
    t = threadkit.Timer(0, ran.append, [1], scheduler=sched)
    assert t.cancel() is True
    t.start()
    t.join(10)
    assert not t.is_alive()
    assert t.finished.is_set()
    assert ran == []


def test_cancel_true_means_never_called(sched: threadkit.Scheduler) -> None:
    """Race cancel() against the call firing: True must mean it never ran (CPython's
    Timer.run checks the flag, then calls: a window in which both can happen)."""
    ran: set[int] = set()
    timers = [threadkit.Timer(0, ran.add, [i], scheduler=sched) for i in range(400)]
    prevented: set[int] = set()
    for i, t in enumerate(timers):
        t.start()
        if t.cancel():
            prevented.add(i)
    for t in timers:
        t.join(10)
        assert not t.is_alive()
        assert t.finished.is_set()
    assert not (ran & prevented)
    assert ran | prevented == set(range(400))


def test_cancel_of_a_running_call_is_false_and_join_waits_for_it(
    sched: threadkit.Scheduler,
) -> None:
    started, release = threadkit.Event(), threadkit.Event()

    def block() -> None:
        started.set()
        release.wait(10)

    t = threadkit.Timer(0, block, scheduler=sched)
    t.start()
    assert started.wait(10)
    assert t.cancel() is False
    assert t.finished.is_set()  # set, as the stdlib's cancel() sets it
    assert t.is_alive()
    t.join(0.01)
    assert t.is_alive()  # join waits for the call, not for the flag
    release.set()
    t.join(10)
    assert not t.is_alive()


def test_restart_makes_a_timer_reusable(
    clock: threadkit.MockClock, pool: tf.ThreadPoolExecutor
) -> None:
    ran = threadkit.Semaphore(0)
    with threadkit.Scheduler(executor=Inline()) as s:
        t = threadkit.Timer(10, ran.release, scheduler=s)
        t.start()
        assert t.remaining() == 10
        clock.advance(4)
        assert t.remaining() == 6
        t.restart()  # pending: moved to 10 s from now
        clock.advance(9)
        assert not t.fired
        assert t.remaining() == 1
        clock.advance(1)
        assert _fired(t)  # (a call: mypy would keep t.fired narrowed to False)
        assert ran.acquire(timeout=0)
        assert t.remaining() is None
        assert t.finished.is_set()
        t.restart(interval=5)  # after it fired: again
        assert not t.fired
        assert not t.finished.is_set()
        assert t.is_alive()
        clock.advance(5)
        assert ran.acquire(timeout=0)
        assert t.interval == 5
        fresh = threadkit.Timer(1, ran.release, scheduler=s)
        fresh.restart()  # never started: starts it
        clock.advance(1)
        assert ran.acquire(timeout=0)


def test_negative_interval_runs_at_once_and_nan_is_refused(sched: threadkit.Scheduler) -> None:
    done = threadkit.Event()
    t = threadkit.Timer(-5, done.set, scheduler=sched)
    t.start()
    assert done.wait(10)
    t.join(10)
    bad = threadkit.Timer(math.nan, print, scheduler=sched)
    with pytest.raises(ValueError, match="interval must be a number, not NaN"):
        bad.start()
    assert not bad.is_alive()
    with pytest.raises(ValueError, match="NaN"):
        t.restart(math.nan)


def test_subclass_overriding_run_works_as_a_thread_would(sched: threadkit.Scheduler) -> None:
    """The common recipe for a repeating timer: run() loops on finished.wait(interval)."""

    class RepeatTimer(threadkit.Timer):
        def run(self) -> None:
            while not self.finished.wait(self.interval):
                self.function(*self.args, **self.kwargs)

    ticks = threadkit.Semaphore(0)
    t = RepeatTimer(0.001, ticks.release, scheduler=sched)
    t.start()
    for _ in range(3):
        assert ticks.acquire(timeout=10)
    t.cancel()
    t.join(10)
    assert not t.is_alive()


def test_timers_due_at_the_same_time_keep_their_order_through_restart_and_cancel(
    clock: threadkit.MockClock,
) -> None:
    ran: list[int] = []
    with threadkit.Scheduler() as s:
        timers = [threadkit.Timer(5, ran.append, [i], scheduler=s) for i in range(4)]
        for t in timers:
            t.start()
        timers[0].restart()  # the same time again: now behind the others
        assert timers[2].cancel()
        clock.advance(5)
        assert ran == [1, 3, 0]
        assert [t.is_alive() for t in timers] == [False] * 4


def test_timers_left_out_of_the_heap_by_start_run_in_time_order(
    clock: threadkit.MockClock,
) -> None:
    """start() leaves a timer that is not the new earliest out of the heap, for the
    scheduler thread to put in when it wakes: the calls still run in time order, equal
    times in start order (with a call_later among them), also behind a cancelled (dead)
    first time and across a restart and a cancel of one of them."""
    ran: list[str] = []
    with threadkit.Scheduler() as s:

        def timer(interval: float, name: str) -> threadkit.Timer:
            t = threadkit.Timer(interval, ran.append, [name], scheduler=s)
            t.start()
            return t

        first = timer(10, "first")  # the earliest: in the heap, the thread wakes for it
        late = timer(30, "late")
        for name in ("tie-a", "tie-b"):
            timer(10, name)  # due with the first: behind it, in start order
        timer(20, "mid")
        s.call_later(20, ran.append, "handle")  # pushed after "mid": runs after it
        gone = timer(25, "gone")
        assert s.statistics().pending == 7
        assert gone.cancel()
        assert first.cancel()  # the earliest time in the heap is now a dead one
        late.restart(1)  # now the earliest
        assert s.statistics().pending == 5
        clock.advance(1)
        assert ran == ["late"]
        clock.advance(9)
        assert ran == ["late", "tie-a", "tie-b"]
        clock.advance(10)
        assert ran == ["late", "tie-a", "tie-b", "mid", "handle"]
        # Left out while the thread sleeps until the first of them: taken in when it wakes.
        ran.clear()
        for interval, name in ((5, "p"), (6, "q"), (5, "r"), (7, "s")):
            timer(interval, name)
        clock.advance(7)
        assert ran == ["p", "r", "q", "s"]
        assert s.statistics().pending == 0


def test_restart_after_shutdown_raises_and_leaves_the_timer_as_it_was(
    clock: threadkit.MockClock,
) -> None:
    ran: list[int] = []
    s = threadkit.Scheduler()
    done = threadkit.Timer(1, ran.append, [1], scheduler=s)
    done.start()
    clock.advance(1)
    pending = threadkit.Timer(5, ran.append, [2], scheduler=s)
    pending.start()
    s.shutdown()
    for t in (done, pending):
        with pytest.raises(RuntimeError, match="after shutdown"):
            t.restart()
        assert t.finished.is_set()  # (restart used to clear it first: wait() hung)
        assert not t.is_alive()
    assert ran == [1]


def test_shutdown_cancels_the_timers_left_out_of_the_heap(clock: threadkit.MockClock) -> None:
    ran: list[int] = []
    s = threadkit.Scheduler()
    timers = [threadkit.Timer(5 + i, ran.append, [i], scheduler=s) for i in range(3)]
    for t in timers:
        t.start()
    s.shutdown()
    clock.advance(10)
    assert ran == []
    assert all(t.finished.is_set() and not t.is_alive() for t in timers)
    assert [t.cancel() for t in timers] == [False] * 3
    assert s.statistics().pending == 0


def test_a_cancel_among_equal_timers_takes_out_that_timer(clock: threadkit.MockClock) -> None:
    class Job(threadkit.Timer):  # a user's subclass with value equality
        def __eq__(self, other: object) -> bool:
            return isinstance(other, Job) and self.interval == other.interval

        __hash__ = object.__hash__

    ran: list[str] = []
    with threadkit.Scheduler() as s:
        a, b, c = (Job(5, ran.append, [name], scheduler=s) for name in "abc")
        for t in (a, b, c):
            t.start()
        assert c.cancel()  # c, not the first timer equal to it
        clock.advance(5)
        assert ran == ["a", "b"]
        assert s.statistics().pending == 0


def test_a_run_assigned_after_the_class_statement_is_called_at_start(
    sched: threadkit.Scheduler,
) -> None:
    calls: list[str] = []

    class Late(threadkit.Timer):
        pass

    def run(self: threadkit.Timer) -> None:
        calls.append("late run")

    Late.run = run  # type: ignore[method-assign]  # (as mock.patch.object would)
    t = Late(60, calls.append, ["never"], scheduler=sched)
    t.start()
    t.join(10)
    assert calls == ["late run"]  # called at start(), as a thread's run() would be


def test_a_subclass_of_a_subclass_gets_its_run_called_at_start(
    sched: threadkit.Scheduler,
) -> None:
    calls: list[str] = []

    class Looping(threadkit.Timer):
        def run(self) -> None:
            calls.append("looping")

    class Plain(Looping):
        run = threadkit.Timer.run  # back to the plain call: scheduled as usual

    a = Looping(60, calls.append, ["never"], scheduler=sched)
    a.start()
    a.join(10)
    assert calls == ["looping"]
    b = Plain(60, calls.append, ["plain"], scheduler=sched)
    b.start()
    remaining = b.remaining()
    assert remaining is not None
    assert remaining > 50
    assert b.cancel()


def test_a_failing_timer_goes_to_threading_excepthook(
    sched: threadkit.Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooked: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", hooked.append)
    t = threadkit.Timer(0, lambda: 1 / 0, scheduler=sched)
    t.start()
    t.join(10)
    wait_until(lambda: hooked, what="the excepthook")
    assert hooked[0].exc_type is ZeroDivisionError
    assert not t.is_alive()


def test_timers_are_not_threads(sched: threadkit.Scheduler) -> None:
    before = threading.active_count()
    timers = [threadkit.Timer(3600, print, scheduler=sched) for _ in range(2000)]
    for t in timers:
        t.start()
    assert threading.active_count() <= before + 1  # the scheduler thread only
    assert sched.statistics().pending == 2000
    assert all(t.cancel() for t in timers)
    assert sched.statistics().pending == 0


def _fired(t: threadkit.Timer) -> bool:
    return t.fired


def _running(timer: threadkit.PeriodicTimer) -> bool:
    return timer.running


def _run(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.timeout(120)
def test_exit_waits_for_a_non_daemon_timer_and_drops_a_daemon_one() -> None:
    done = _run(
        """
        import threadkit
        threadkit.Timer(0.2, print, ["non-daemon ran"]).start()
        t = threadkit.Timer(3600, print, ["daemon ran"])
        t.daemon = True
        t.start()
        print("main done")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["main done", "non-daemon ran"]
    assert done.stderr == ""


@pytest.mark.timeout(120)
def test_exit_waits_for_a_running_call_a_restarted_round_and_any_scheduler() -> None:
    done = _run(
        """
        import threading, threadkit
        started = threading.Event()
        rounds = []
        def call():
            rounds.append(1)
            started.set()
            threading.Event().wait(0.3)  # still running when the main thread ends
            print("call", len(rounds), "finished")
            if len(rounds) == 1:
                t.restart(0.1)  # a new round, scheduled while this call runs
        t = threadkit.Timer(0.01, call)
        t.start()
        mine = threadkit.Scheduler()
        threadkit.Timer(0.2, print, ["on my scheduler"], scheduler=mine).start()
        gone = threadkit.Timer(3600, print, ["cancelled"])
        gone.start()
        gone.cancel()  # the exit does not wait for it
        started.wait(10)
        print("main done")
        """
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "main done"
    assert sorted(lines[1:]) == ["call 1 finished", "call 2 finished", "on my scheduler"]
    assert done.stderr == ""


# -- PeriodicTimer ----------------------------------------------------------------------------


def test_fixed_rate_runs_on_a_grid(clock: threadkit.MockClock) -> None:
    seen: list[float] = []
    with threadkit.Scheduler() as s:
        timer = threadkit.PeriodicTimer(
            10, lambda: seen.append(clock.now()), scheduler=s, executor=Inline()
        )
        timer.start()
        assert timer.running
        clock.advance(35)
        timer.stop()
        clock.advance(100)
    assert seen == [10.0, 20.0, 30.0]
    stats = timer.statistics()
    assert (stats.runs, stats.completed, stats.overruns, stats.running) == (3, 3, 0, 0)
    assert not _running(timer)  # (a call: mypy would keep timer.running narrowed to True)
    assert timer.join(0)


@pytest.mark.parametrize(
    ("policy", "skipped", "delayed"), [("skip", 4, 0), ("delay", 3, 1), ("burst", 0, 4)]
)
def test_overrun_policies(
    clock: threadkit.MockClock,
    pool: tf.ThreadPoolExecutor,
    policy: str,
    skipped: int,
    delayed: int,
) -> None:
    with threadkit.Scheduler() as s:
        release = threadkit.Event()
        started = threadkit.Semaphore(0)
        first = [True]

        def run() -> None:
            started.release()
            if first[0]:
                first[0] = False
                release.wait(10)

        timer = threadkit.PeriodicTimer(
            1,
            run,
            on_overrun=policy,  # type: ignore[arg-type]
            scheduler=s,
            executor=pool,
        )
        timer.start()
        clock.advance(1)
        assert started.acquire(timeout=10)
        clock.advance(4)  # four ticks while the first run is blocked: overruns
        stats = timer.statistics()
        assert (stats.overruns, stats.skipped, stats.delayed) == (4, skipped, delayed)
        release.set()
        for _ in range(delayed):  # held-back runs start as soon as the blocked one ends
            assert started.acquire(timeout=10)
        wait_until(lambda: timer.statistics().running == 0, what="the runs to end")
        timer.stop()
        assert timer.join(10)
        assert timer.statistics().runs == 1 + delayed


def _blocking_run() -> tuple[Callable[[], None], threadkit.Semaphore, threadkit.Event]:
    """A run that counts its start on a semaphore, then blocks until the event is set.

    Its wait's timeout is on the test's MockClock: far beyond any advance() of the tests
    (a 10 s one expired inside advance(100), and the run then ended at whatever virtual
    time the stepping had reached when its thread got to run: a flaky extra tick).
    """
    started, release = threadkit.Semaphore(0), threadkit.Event()

    def run() -> None:
        started.release()
        release.wait(1_000_000)

    return run, started, release


def test_max_concurrent_lets_runs_overlap(
    clock: threadkit.MockClock, pool: tf.ThreadPoolExecutor
) -> None:
    run, started, release = _blocking_run()
    with threadkit.Scheduler() as s:
        timer = threadkit.PeriodicTimer(1, run, max_concurrent=2, scheduler=s, executor=pool)
        timer.start()
        clock.advance(1)
        clock.advance(1)
        assert started.acquire(timeout=10)
        assert started.acquire(timeout=10)
        clock.advance(1)
        stats = timer.statistics()
        assert (stats.running, stats.overruns) == (2, 1)
        timer.stop()
        assert not timer.join(0)  # runs still going
        release.set()
        assert timer.join(10)


def test_fixed_delay_waits_after_each_run_ends(
    clock: threadkit.MockClock, pool: tf.ThreadPoolExecutor
) -> None:
    run, started, release = _blocking_run()
    with threadkit.Scheduler() as s:
        timer = threadkit.PeriodicTimer(10, run, mode="fixed_delay", scheduler=s, executor=pool)
        timer.start()
        clock.advance(10)
        assert started.acquire(timeout=10)
        clock.advance(100)  # no tick while the run goes: no overrun in this mode
        release.set()
        wait_until(lambda: timer.statistics().completed == 1, what="the first run to end")
        wait_until(lambda: s.statistics().pending == 1, what="the next run scheduled")
        clock.advance(9.5)
        assert timer.statistics().runs == 1
        clock.advance(0.5)
        assert started.acquire(timeout=10)
        stats = timer.statistics()
        assert (stats.runs, stats.overruns) == (2, 0)
        timer.stop()
        assert timer.join(10)


def test_jitter_moves_runs_later_within_the_fraction(clock: threadkit.MockClock) -> None:
    seen: list[float] = []
    with threadkit.use_random(random.Random(5)), threadkit.Scheduler() as s:
        timer = threadkit.PeriodicTimer(
            10, lambda: seen.append(clock.now()), jitter=0.5, scheduler=s, executor=Inline()
        )
        timer.start()
        clock.advance(100)
        timer.stop()
    assert len(seen) in (9, 10)
    offsets = [t - 10 * (k + 1) for k, t in enumerate(seen)]
    assert all(0 <= off < 5 for off in offsets)
    assert len(set(offsets)) > 1  # not all the same: really random


def test_a_failing_run_is_counted_and_the_series_goes_on(clock: threadkit.MockClock) -> None:
    errors: list[BaseException] = []
    with threadkit.Scheduler() as s:
        timer = threadkit.PeriodicTimer(
            1, lambda: 1 / 0, on_error=errors.append, scheduler=s, executor=Inline()
        )
        timer.start()
        clock.advance(3)
        timer.stop()
    assert [type(e) for e in errors] == [ZeroDivisionError] * 3
    assert timer.statistics().failures == 3


def test_restart_and_start_twice(clock: threadkit.MockClock) -> None:
    seen: list[float] = []
    with threadkit.Scheduler() as s:
        timer = threadkit.PeriodicTimer(
            10, lambda: seen.append(clock.now()), scheduler=s, executor=Inline()
        )
        timer.start()
        with pytest.raises(RuntimeError, match="already started"):
            timer.start()
        clock.advance(15)
        timer.restart(interval=4)  # the grid starts over from now (15)
        clock.advance(9)
        timer.stop()
    assert seen == [10.0, 19.0, 23.0]


@pytest.mark.timeout(60)
def test_restart_from_two_threads_at_once(
    clock: threadkit.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # restart() was stop() then start(), each under the lock on its own: another thread's
    # whole restart() between the two made this one's start() raise "already started".
    # start() is made to let another thread restart the timer first (what a thread switch
    # there did); restart() must not depend on it.
    seen: list[float] = []
    start = threadkit.PeriodicTimer.start
    racing: list[threading.Thread] = []

    def start_after_another_restart(self: threadkit.PeriodicTimer) -> None:
        if not racing and self.running is False and seen == []:
            racing.append(threading.Thread(target=self.restart))
            racing[0].start()
            racing[0].join(10)
        start(self)

    with threadkit.Scheduler() as s:
        timer = threadkit.PeriodicTimer(
            10, lambda: seen.append(clock.now()), scheduler=s, executor=Inline()
        )
        timer.start()
        monkeypatch.setattr(threadkit.PeriodicTimer, "start", start_after_another_restart)
        try:
            timer.restart()
            timer.restart()
            assert timer.running
            assert s.statistics().pending == 1  # one series, one pending tick
            clock.advance(10)
        finally:
            timer.stop()
    assert seen == [10.0]


def test_scheduler_call_every(clock: threadkit.MockClock, pool: tf.ThreadPoolExecutor) -> None:
    ran = threadkit.Semaphore(0)
    with threadkit.Scheduler(executor=pool) as s:
        timer = s.call_every(5, ran.release)
        clock.advance(5)
        assert ran.acquire(timeout=10)
        timer.stop()
        assert timer.join(10)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"interval": 0}, ValueError, "interval must be a finite number > 0"),
        ({"interval": math.inf}, ValueError, "interval must be a finite number > 0"),
        ({"interval": "1"}, TypeError, "interval must be a number"),
        ({"mode": "sometimes"}, ValueError, "mode must be one of"),
        ({"on_overrun": "panic"}, ValueError, "on_overrun must be one of"),
        ({"max_concurrent": 0}, ValueError, "max_concurrent must be >= 1"),
        ({"max_concurrent": 1.5}, TypeError, "max_concurrent must be an int"),
        ({"jitter": 1.0}, ValueError, "jitter must be a fraction"),
    ],
)
def test_periodic_timer_bad_arguments(kwargs: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {"interval": 1, **kwargs}
    interval = args.pop("interval")
    with pytest.raises(error, match=match):
        threadkit.PeriodicTimer(interval, print, **args)


@pytest.mark.timeout(120)
def test_exit_gives_a_stuck_timer_call_its_deadline_then_reports_it() -> None:
    done = _run(
        """
        import threading
        import threadkit
        threadkit.exit.set_default_deadline(0.5)
        threadkit.Timer(0.05, threading.Event().wait).start()  # stuck forever in its call
        threadkit.Timer(0.1, print, ["second ran"]).start()  # runs anyway (hand-off)
        print("main done")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["main done", "second ran"]
    assert "did not stop in time" in done.stderr
    assert "in _call" in done.stderr  # the stuck call's stack, reported


def test_join_from_the_timers_own_call_raises_as_thread_join(sched: threadkit.Scheduler) -> None:
    seen: list[BaseException] = []
    t = threadkit.Timer(0, lambda: None, scheduler=sched)

    def call() -> None:
        try:
            t.join(1)
        except RuntimeError as exc:
            seen.append(exc)

    t.function = call
    t.start()
    t.join(10)
    assert [str(e) for e in seen] == ["cannot join current thread"]


@pytest.mark.parametrize(("mode", "policy"), [("fixed_delay", "skip"), ("fixed_delay", "delay")])
def test_restart_while_a_run_goes_keeps_the_series_alive(
    clock: threadkit.MockClock,
    pool: tf.ThreadPoolExecutor,
    mode: Literal["fixed_rate", "fixed_delay"],
    policy: Literal["skip", "delay", "burst"],
) -> None:
    run, started, release = _blocking_run()
    with threadkit.Scheduler() as s:
        timer = threadkit.PeriodicTimer(
            1,
            run,
            mode=mode,
            on_overrun=policy,
            scheduler=s,
            executor=pool,
        )
        timer.start()
        clock.advance(1)
        assert started.acquire(timeout=10)  # the first run blocks
        timer.restart()
        clock.advance(1)  # the new round's first tick: the old run still goes
        release.set()
        wait_until(lambda: timer.statistics().running == 0, what="the old run to end")
        clock.advance(5)
        wait_until(lambda: timer.statistics().runs >= 2, what="a run after the restart")
        timer.stop()
        assert timer.join(10)
