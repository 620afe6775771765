"""Scheduler: one thread over a heap; MockClock stepping through due wake-ups and autojump."""

from __future__ import annotations

import gc
import math
import threading
import warnings
from collections.abc import Iterator

import pytest

import threadkit
import threadkit.futures as tf
from conftest import wait_until

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def clock() -> Iterator[threadkit.MockClock]:
    with threadkit.use_clock(threadkit.MockClock()) as mock:
        assert isinstance(mock, threadkit.MockClock)
        yield mock


@pytest.fixture
def sched() -> Iterator[threadkit.Scheduler]:
    scheduler = threadkit.Scheduler()
    yield scheduler
    scheduler.shutdown()


# -- MockClock -----------------------------------------------------------------------------


def test_advance_steps_through_due_wakeups_in_order(clock: threadkit.MockClock) -> None:
    seen: list[tuple[str, float]] = []
    clock.call_at(3.0, lambda: seen.append(("c", clock.now())))
    clock.call_at(1.0, lambda: seen.append(("a", clock.now())))

    def b() -> None:
        seen.append(("b", clock.now()))
        clock.call_at(2.5, lambda: seen.append(("b2", clock.now())))  # within this advance

    clock.call_at(2.0, b)
    clock.advance(10)
    assert seen == [("a", 1.0), ("b", 2.0), ("b2", 2.5), ("c", 3.0)]
    assert clock.now() == 10.0


def test_advance_rejects_negative_and_nan() -> None:
    clock = threadkit.MockClock()
    for bad in (-1.0, math.nan):
        with pytest.raises(ValueError, match="seconds must be a non-negative number"):
            clock.advance(bad)


def test_autojump_moves_time_while_every_thread_waits(clock: threadkit.MockClock) -> None:
    clock.autojump_threshold = 0.005
    try:
        threadkit.sleep(3600)  # an hour of virtual time, at once
        assert clock.now() >= 3600
    finally:
        clock.autojump_threshold = math.inf


def test_autojump_threshold_rejects_negative() -> None:
    with pytest.raises(ValueError, match="autojump_threshold must be >= 0"):
        threadkit.MockClock(autojump_threshold=-1)


# -- Scheduler -----------------------------------------------------------------------------


def test_calls_run_in_time_order_on_the_scheduler_thread(
    clock: threadkit.MockClock, sched: threadkit.Scheduler
) -> None:
    seen: list[tuple[str, float, str]] = []

    def note(tag: str) -> None:
        seen.append((tag, clock.now(), threading.current_thread().name))

    sched.call_later(5, note, "five")
    sched.call_at(1, note, "one")
    sched.call_later(3, note, tag="three")
    clock.advance(4)
    assert [(t, w) for t, w, _ in seen] == [("one", 1.0), ("three", 3.0)]
    clock.advance(1)
    assert [t for t, _, _ in seen] == ["one", "three", "five"]
    assert {name for _, _, name in seen} == {"threadkit-scheduler"}
    stats = sched.statistics()
    assert (stats.pending, stats.fired, stats.running) == (0, 3, True)


def test_a_day_of_timers_in_virtual_time(
    clock: threadkit.MockClock, sched: threadkit.Scheduler
) -> None:
    hits: list[float] = []

    def every_minute() -> None:
        hits.append(clock.now())
        sched.call_later(60, every_minute)

    sched.call_later(60, every_minute)
    clock.advance(24 * 3600)
    assert len(hits) == 24 * 60
    assert hits == [60.0 * k for k in range(1, 24 * 60 + 1)]


def test_an_earlier_call_wakes_the_sleeping_scheduler(sched: threadkit.Scheduler) -> None:
    far = threading.Event()
    sched.call_later(3600, far.set)
    wait_until(lambda: sched._queue, what="the scheduler asleep until the far call")
    near = threading.Event()
    threading.Thread(target=sched.call_later, args=(0.01, near.set)).start()
    assert near.wait(10)  # not an hour (cpython issue 64325)
    assert not far.is_set()


def test_cancel_is_true_only_while_scheduled(
    clock: threadkit.MockClock, sched: threadkit.Scheduler
) -> None:
    ran: list[str] = []
    h1 = sched.call_later(1, ran.append, "h1")
    h2 = sched.call_later(2, ran.append, "h2")
    assert h1.state() == "scheduled"
    assert h1.cancel() is True
    assert h1.cancel() is False
    assert sched.cancel(h1) is False
    assert h1.cancelled()
    assert h1.state() == "cancelled"
    clock.advance(5)
    assert ran == ["h2"]
    assert h2.cancel() is False
    assert h2.state() == "done"
    assert sched.statistics().cancelled == 1
    assert "h1" not in repr(h1)  # the call was dropped
    assert repr(h2).startswith("<TimerHandle")


def test_many_cancelled_calls_are_compacted_away(
    clock: threadkit.MockClock, sched: threadkit.Scheduler
) -> None:
    ran: list[int] = []
    handles = [sched.call_later(1 + i, ran.append, i) for i in range(300)]
    for h in handles[:250]:
        assert h.cancel()
    assert len(sched._heap) < 300  # compacted, not only marked
    assert sched.statistics().pending == 50
    clock.advance(400)
    assert ran == list(range(250, 300))


def test_calls_due_at_the_same_time_run_in_the_order_scheduled(
    clock: threadkit.MockClock, sched: threadkit.Scheduler
) -> None:
    ran: list[int] = []
    when = clock.now() + 5
    handles = [sched.call_at(when, ran.append, i) for i in range(6)]
    assert handles[0].cancel()  # the first due then: the next takes its place
    assert handles[3].cancel()  # one queued behind it
    assert not handles[3].cancel()
    assert sched.statistics().pending == 4
    sched.call_at(when, ran.append, 6)
    sched.call_at(when - 1, ran.append, -1)
    clock.advance(5)
    assert ran == [-1, 1, 2, 4, 5, 6]
    assert sched.statistics().pending == 0
    assert [h.state() for h in handles] == [
        "cancelled",
        "done",
        "done",
        "cancelled",
        "done",
        "done",
    ]


def test_cancelled_calls_due_at_the_same_time_are_compacted_away(
    clock: threadkit.MockClock, sched: threadkit.Scheduler
) -> None:
    ran: list[int] = []
    handles = [sched.call_later(1 + i // 100, ran.append, i) for i in range(300)]
    for h in handles[:250]:
        assert h.cancel()
    assert len(sched._heap) < 300  # compacted: one copy of a time per live call
    assert sched.statistics().pending == 50
    clock.advance(10)
    assert ran == list(range(250, 300))


def test_a_failing_call_goes_to_on_error_and_the_scheduler_goes_on(
    clock: threadkit.MockClock,
) -> None:
    errors: list[tuple[threadkit.TimerHandle, BaseException]] = []
    ran: list[int] = []
    with threadkit.Scheduler(on_error=lambda h, e: errors.append((h, e))) as s:
        bad = s.call_later(1, lambda: 1 / 0)
        s.call_later(2, ran.append, 2)
        clock.advance(3)
        assert ran == [2]
        assert [(h, type(e)) for h, e in errors] == [(bad, ZeroDivisionError)]
        assert s.statistics().errors == 1


def test_without_on_error_a_failure_goes_to_threading_excepthook(
    clock: threadkit.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooked: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", hooked.append)
    with threadkit.Scheduler() as s:
        s.call_later(1, lambda: 1 / 0)
        clock.advance(1)
    assert [h.exc_type for h in hooked] == [ZeroDivisionError]
    assert hooked[0].thread is not None
    assert hooked[0].thread.name == "threadkit-scheduler"


def test_a_misfire_is_reported_and_not_run(sched: threadkit.Scheduler) -> None:
    misfires: list[tuple[threadkit.TimerHandle, float]] = []
    done = threading.Event()
    ran: list[str] = []

    def on_misfire(h: threadkit.TimerHandle, late: float) -> None:
        misfires.append((h, late))
        done.set()

    with threadkit.Scheduler(misfire_grace=1.0, on_misfire=on_misfire) as s:
        now = threadkit.MockClock().now()  # (any number: the system clock is far later)
        late = s.call_at(now, ran.append, "late")
        assert done.wait(10)
    assert ran == []
    assert misfires[0][0] is late
    assert misfires[0][1] > 1.0
    assert late.state() == "misfired"
    assert s.statistics().misfires == 1


def test_a_misfire_warns_by_default() -> None:
    with pytest.warns(RuntimeWarning, match="misfired"):
        with threadkit.Scheduler(misfire_grace=0.0) as s:
            s.call_at(-100.0, print, "never")


def test_calls_go_to_the_executor(clock: threadkit.MockClock) -> None:
    names: list[str] = []
    got = threading.Event()

    def call() -> None:
        names.append(threading.current_thread().name)
        got.set()

    with tf.ThreadPoolExecutor(1, thread_name_prefix="elsewhere") as pool:
        with threadkit.Scheduler(executor=pool) as s:
            s.call_later(1, call)
            clock.advance(1)
            assert got.wait(10)
    assert names[0].startswith("elsewhere")


def test_shutdown_cancels_pending_calls_and_refuses_new_ones() -> None:
    s = threadkit.Scheduler()
    h = s.call_later(3600, print, "never")
    s.shutdown()
    s.shutdown()  # idempotent
    assert h.state() == "cancelled"
    assert h.cancel() is False
    with pytest.raises(RuntimeError, match="cannot schedule new calls after shutdown"):
        s.call_later(1, print)
    assert s.statistics().running is False


def test_leaving_the_with_block_runs_what_is_pending_first() -> None:
    ran = threading.Event()
    with threadkit.Scheduler() as s:
        s.call_later(0.01, ran.set)
    assert ran.is_set()


def test_bad_arguments_are_named() -> None:
    with threadkit.Scheduler() as s:
        with pytest.raises(ValueError, match="delay must be >= 0"):
            s.call_later(-1, print)
        with pytest.raises(ValueError, match="delay must be >= 0"):
            s.call_later(math.nan, print)
        with pytest.raises(ValueError, match="when must be a number"):
            s.call_at(math.nan, print)
    with pytest.raises(ValueError, match="misfire_grace"):
        threadkit.Scheduler(misfire_grace=-1)


def test_a_scheduler_dropped_without_shutdown_warns_and_its_thread_ends() -> None:
    s = threadkit.Scheduler()
    s.call_later(3600, print, "never")
    thread = s._thread
    assert thread is not None
    queue = s._queue
    wait_until(lambda: queue, what="the scheduler thread asleep (holding it weakly)")
    del s
    with pytest.warns(ResourceWarning, match="without shutdown"):
        gc.collect()
    thread.join(10)
    assert not thread.is_alive()


def test_the_thread_ends_soon_after_its_last_pending_call_is_cancelled() -> None:
    # It slept until the cancelled call's time (an hour); it is woken to count down its
    # idle second instead, and ends.
    with threadkit.Scheduler() as s:
        handle = s.call_later(3600, print, "never")
        thread = s._thread
        assert thread is not None
        queue = s._queue
        wait_until(lambda: queue, what="the scheduler thread asleep")
        assert handle.cancel() is True
        thread.join(10)
        assert not thread.is_alive()
        assert s.statistics().running is False


def test_default_scheduler_is_one_object() -> None:
    assert threadkit.default_scheduler() is threadkit.default_scheduler()
    assert "threadkit.Scheduler" in repr(threadkit.default_scheduler())


def test_a_blocking_call_hands_the_timekeeping_to_a_fresh_thread() -> None:
    started, release, other = threading.Event(), threading.Event(), threading.Event()

    def block() -> None:
        started.set()
        release.wait(20)

    with threadkit.Scheduler(handoff_after=0.02) as s:
        s.call_later(0, block)
        assert started.wait(10)
        s.call_later(0, other.set)  # due now, while the first call still blocks
        assert other.wait(10)
        assert not release.is_set()
        assert s.statistics().handoffs >= 1
        release.set()


def test_handoff_after_must_be_positive() -> None:
    for bad in (0, -1, math.inf, math.nan):
        with pytest.raises(ValueError, match="handoff_after must be None or a finite number > 0"):
            threadkit.Scheduler(handoff_after=bad)


def test_shutdown_ends_the_timers_it_cancels() -> None:
    s = threadkit.Scheduler()
    t = threadkit.Timer(3600, print, scheduler=s)
    t.start()
    s.shutdown()
    assert not t.is_alive()
    assert t.finished.is_set()
    t.join(1)
    assert s._waited == 0  # the exit would not wait for it


def test_shutdown_from_one_of_its_own_calls_returns() -> None:
    done = threading.Event()
    s = threadkit.Scheduler(handoff_after=0.05)

    def call() -> None:
        s.shutdown()
        done.set()

    s.call_later(0, call)
    assert done.wait(10)  # the call's shutdown() did not wait for its own thread
    s.shutdown()  # (from here: waits for the thread and the watchdog)
    assert not s.statistics().running


def test_a_call_due_at_once_on_a_mock_clock_does_not_deadlock(
    clock: threadkit.MockClock, sched: threadkit.Scheduler
) -> None:
    ran = threading.Event()
    sched.call_later(0, ran.set)
    sched.call_at(clock.now(), print, end="")
    assert ran.wait(10)


def test_a_second_blocking_call_is_handed_off_too() -> None:
    """After a hand-off, the blocked thread returning must not hide the next blocked call
    from the watchdog."""
    first_in, second_in, release, later = (threading.Event() for _ in range(4))
    with threadkit.Scheduler(handoff_after=0.02) as s:

        def first() -> None:
            first_in.set()
            release.wait(0.2)  # blocks past a hand-off, then returns while `second` blocks

        def second() -> None:
            second_in.set()
            release.wait(20)

        s.call_later(0, first)
        assert first_in.wait(10)
        s.call_later(0, second)
        assert second_in.wait(10)
        s.call_later(0.3, later.set)  # due while `second` still blocks
        assert later.wait(10)
        assert not release.is_set()
        assert s.statistics().handoffs >= 2
        release.set()


def test_a_misfire_warning_turned_into_an_error_does_not_end_the_scheduler() -> None:
    hooked: list[BaseException | None] = []
    ran = threading.Event()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(threading, "excepthook", lambda args: hooked.append(args.exc_value))
        with threadkit.Scheduler(misfire_grace=5.0) as s:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                s.call_at(-100.0, print, "never")
                s.call_later(0, ran.set)
                assert ran.wait(10)
    assert [type(e) for e in hooked] == [RuntimeWarning]


@pytest.mark.parametrize("how", ["Timer.start", "call_later"])
def test_a_call_scheduled_after_the_idle_thread_ended_starts_a_new_one(
    monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A call scheduled and cancelled while the idle thread is between its wait and its
    last look leaves a dead time in the heap: the thread ends anyway, and the next call,
    due later than that dead time, must still get a thread (it used to wait forever)."""
    from threadkit import _scheduler

    monkeypatch.setattr(_scheduler, "_IDLE_EXIT", 0.05)
    idle_exit = _scheduler.Scheduler._idle_exit
    in_window: list[bool] = []

    def window(self: threadkit.Scheduler, token: int) -> bool:
        if not in_window:  # the thread's park has timed out; it has not taken the lock yet
            in_window.append(True)
            assert self.call_later(0.01, print, "never").cancel()
        return idle_exit(self, token)

    monkeypatch.setattr(_scheduler.Scheduler, "_idle_exit", window)
    s = threadkit.Scheduler()
    try:
        first = threadkit.Event()
        s.call_later(0.001, first.set)
        assert first.wait(10)
        wait_until(lambda: in_window and s._thread is None)  # the idle thread ended
        fired = threadkit.Event()
        if how == "Timer.start":
            threadkit.Timer(0.05, fired.set, scheduler=s).start()
        else:
            s.call_later(0.05, fired.set)
        assert fired.wait(10)
    finally:
        s.shutdown()


def test_calls_an_executor_drops_before_they_run_end_cancelled() -> None:
    """A call handed to an executor that then cancels it unrun (shutdown with
    cancel_futures) never runs: its entry ends cancelled, instead of staying "running" with
    join() waiting forever and interpreter exit waiting for it."""
    pool = tf.ThreadPoolExecutor(1)
    release = threading.Event()
    busy = threading.Event()

    def block() -> None:
        busy.set()
        release.wait(10)

    pool.submit(block)
    assert busy.wait(10)
    s = threadkit.Scheduler(executor=pool)
    try:
        ran: list[str] = []
        handle = s.call_later(0.001, ran.append, "handle")
        timer = threadkit.Timer(0.001, ran.append, ["timer"], scheduler=s)
        timer.start()
        wait_until(lambda: pool.stats().queued == 2)  # both taken and handed to the pool
        assert handle.state() == "running"
        assert timer.is_alive()
        pool.shutdown(wait=False, cancel_futures=True)
        assert handle.state() == "cancelled"
        timer.join(10)
        assert not timer.is_alive()
        assert timer.finished.is_set()
        assert s._waited == 0  # the exit does not wait for the dropped call
        assert s.statistics().cancelled == 2
        release.set()
        pool.shutdown(wait=True)
        assert ran == []
    finally:
        release.set()
        s.shutdown()
