"""Tests for threadkit._coordination: once/OnceValue, WaitGroup, CountDownLatch, Notify, Watch
and CapacityLimiter.

Threads synchronise on the objects' own ``statistics()`` (``wait_for_waiters``), never on
sleeps. Timeouts that must expire are short real ones or virtual ones on a ``MockClock``.
The blocking calls share one table of cases (``CASES``) for what every blocking call must do:
time out, reject bad timeouts, be a cancellation point, and stay usable after a cancelled wait.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest

import threadkit
from conftest import STRESS, Workers, wait_for_waiters, wait_until
from core.test_cancel import in_scope
from threadkit import Cancelled, CancelScope, DeadlockError, WouldBlock
from threadkit._coordination import (
    CapacityLimiter,
    CapacityLimiterStatistics,
    CountDownLatch,
    CountDownLatchStatistics,
    Notify,
    NotifyStatistics,
    OnceStatistics,
    OnceValue,
    WaitGroup,
    WaitGroupStatistics,
    Watch,
    WatchStatistics,
    once,
)
from threadkit._core import MockClock, use_clock

pytestmark = pytest.mark.timeout(30)

ADDR = r"0x[0-9a-f]+"


def start_in_order(obj: Any, *fns: Callable[[], object]) -> Workers:
    """Start a thread for each of ``fns``, each once the one before waits on ``obj``."""
    workers = Workers(*fns)
    for k, thread in enumerate(workers.threads):
        thread.start()
        wait_for_waiters(obj, k + 1)
    return workers


def select1(op: threadkit.SelectOp[Any], timeout: float | None = None) -> Any:
    """Select on one operation; return its value."""
    index, value = threadkit.select(op, timeout=timeout)
    assert index == 0
    return value


# --------------------------------------------------------------------------------------------
# The blocking calls, one table
#
# Each case makes a fresh object and returns (block(timeout), waiting(n), release(), object):
# ``block`` blocks until ``release()`` makes it possible (True) or ``timeout`` passes (False).

Case = tuple[Callable[[float | None], object], Callable[[int], None], Callable[[], None], Any]


def _waitgroup() -> Case:
    wg = WaitGroup()
    wg.add(1)
    return wg.wait, lambda n: wait_for_waiters(wg, n), wg.done, wg


def _latch() -> Case:
    latch = CountDownLatch(1)
    return latch.wait, lambda n: wait_for_waiters(latch, n), latch.count_down, latch


def _notify() -> Case:
    n = Notify()
    return n.wait, lambda k: wait_for_waiters(n, k), n.notify_one, n


def _watch_changed() -> Case:
    w = Watch(0)
    return (
        lambda timeout: w.wait_changed(timeout, since=0),
        lambda n: wait_for_waiters(w, n),
        lambda: w.set(1),
        w,
    )


def _watch_for() -> Case:
    w = Watch(0)

    def block(timeout: float | None) -> bool:
        try:
            return w.wait_for(lambda v: v == 2, timeout) == 2
        except TimeoutError:
            return False

    return block, lambda n: wait_for_waiters(w, n), lambda: w.set(2), w


def _limiter() -> Case:
    limiter = CapacityLimiter(1)
    limiter.acquire_on_behalf_of("main")
    return (
        lambda timeout: limiter.acquire_on_behalf_of("worker", timeout),
        lambda n: wait_for_waiters(limiter, n),
        lambda: limiter.release_on_behalf_of("main"),
        limiter,
    )


def _selected(
    make: Callable[[], Case], op: Callable[[Any], threadkit.SelectOp[Any]]
) -> Callable[[], Case]:
    """The same case, blocking in a select on the object's operation instead."""

    def make_select() -> Case:
        _, waiting, release, obj = make()

        def select(timeout: float | None) -> bool:
            try:
                threadkit.select(op(obj), timeout=timeout)
            except TimeoutError:
                return False
            return True

        return select, waiting, release, obj

    return make_select


CASES: dict[str, Callable[[], Case]] = {
    "WaitGroup.wait": _waitgroup,
    "CountDownLatch.wait": _latch,
    "Notify.wait": _notify,
    "Watch.wait_changed": _watch_changed,
    "Watch.wait_for": _watch_for,
    "CapacityLimiter.acquire": _limiter,
    "WaitGroup.wait_op": _selected(_waitgroup, lambda wg: wg.wait_op()),
    "CountDownLatch.wait_op": _selected(_latch, lambda latch: latch.wait_op()),
    "Notify.wait_op": _selected(_notify, lambda n: n.wait_op()),
    "Watch.wait_changed_op": _selected(_watch_changed, lambda w: w.wait_changed_op(since=0)),
    "CapacityLimiter.acquire_op": _selected(
        _limiter, lambda limiter: limiter.acquire_on_behalf_of_op("worker")
    ),
}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]()


class TestBlockingCalls:
    def test_release_wakes_the_blocked_thread(self, case: Case) -> None:
        block, waiting, release, _ = case
        with Workers(lambda: block(10)) as w:
            waiting(1)
            release()
        assert w.results == [True]
        waiting(0)

    def test_timeout_returns_false_and_leaves_no_waiter(self, case: Case) -> None:
        block, waiting, _, _ = case
        assert block(0) is False
        assert block(0.01) is False
        waiting(0)

    @pytest.mark.parametrize(
        ("timeout", "exc", "message"),
        [
            (-1, ValueError, r"^timeout must be >= 0, not -1$"),
            (math.nan, ValueError, r"^timeout must be a number, not NaN$"),
            ("1", TypeError, r"^timeout must be a number or None, not str$"),
        ],
    )
    def test_bad_timeout(self, case: Case, timeout: Any, exc: type, message: str) -> None:
        block, waiting, _, _ = case
        with pytest.raises(exc, match=message):
            block(timeout)
        waiting(0)

    def test_times_out_in_virtual_time(self, case: Case) -> None:
        block, waiting, _, _ = case
        clock = MockClock()
        with use_clock(clock), Workers(lambda: block(5)) as w:
            waiting(1)
            clock.advance(4.9)
            assert w.threads[0].is_alive()
            clock.advance(0.2)
        assert w.results == [False]

    def test_cancel_while_blocked(self, case: Case) -> None:
        block, waiting, _, _ = case
        scopes: list[CancelScope] = []
        with Workers(in_scope(lambda: block(None), scopes)) as w:
            waiting(1)
            scopes[0].cancel("stop")
        assert w.results == ["cancelled"]
        assert scopes[0].cancelled_caught
        waiting(0)

    def test_cancel_before_blocking(self, case: Case) -> None:
        block, waiting, _, _ = case
        with CancelScope() as scope:
            scope.cancel()
            block(None)
        assert scope.cancelled_caught
        waiting(0)

    def test_still_works_after_a_cancelled_wait(self, case: Case) -> None:
        block, waiting, release, _ = case
        scopes: list[CancelScope] = []
        with Workers(in_scope(lambda: block(None), scopes)):
            waiting(1)
            scopes[0].cancel()
        with Workers(lambda: block(10)) as w:
            waiting(1)
            release()
        assert w.results == [True]

    def test_deadline_of_the_scope_ends_the_wait(self, case: Case) -> None:
        block, waiting, _, _ = case
        with threadkit.move_on_after(0.01) as scope:
            block(None)
        assert scope.cancelled_caught
        waiting(0)


# --------------------------------------------------------------------------------------------
# once / OnceValue


class TestOnce:
    def test_calls_fn_once_and_returns_its_value(self) -> None:
        calls: list[int] = []

        def fn() -> list[int]:
            calls.append(1)
            return calls

        value = OnceValue(fn)
        assert value.done() is False
        assert value.statistics() == OnceStatistics("pending", 0)
        assert value.get() is calls
        assert value() is calls
        assert calls == [1]
        assert value.done() is True
        assert value.statistics() == OnceStatistics("done", 0)

    def test_decorator(self) -> None:
        @once
        def settings() -> dict[str, int]:
            """The settings."""
            return {"workers": 4}

        assert isinstance(settings, OnceValue)
        assert settings.__name__ == "settings"  # type: ignore[attr-defined]
        assert settings.__doc__ == "The settings."
        assert not hasattr(settings, "__wrapped__")  # fn is not kept alive once done
        assert settings() == {"workers": 4}
        assert settings() is settings()

    def test_concurrent_callers_wait_for_the_first_and_see_one_call(self) -> None:
        gate = threadkit.Event()
        calls: list[str] = []

        def fn() -> object:
            calls.append(threading.current_thread().name)
            gate.wait()
            return object()

        value = OnceValue(fn)
        with Workers(*([value.get] * 4)) as w:
            wait_until(lambda: value.statistics().state == "running")
            wait_for_waiters(value, 3)
            assert value.done() is False
            gate.set()
        assert len(calls) == 1
        assert all(r is w.results[0] for r in w.results)
        assert w.results[0] is not None

    def test_an_exception_is_raised_to_every_caller(self) -> None:
        calls = 0

        class BoomError(ValueError):
            pass

        def fn() -> int:
            nonlocal calls
            calls += 1
            exc = BoomError("boom", 42)
            exc.detail = "why"  # type: ignore[attr-defined]
            exc.add_note("a note")
            raise exc

        value = OnceValue(fn)
        with pytest.raises(BoomError) as first:
            value.get()
        original = first.value
        assert original.__cause__ is None  # the caller that ran fn gets the original
        for _ in range(3):
            with pytest.raises(BoomError) as later:
                value()
            exc = later.value
            assert exc is not original
            assert exc.__cause__ is original
            assert exc.args == ("boom", 42)
            assert exc.detail == "why"  # type: ignore[attr-defined]
            assert exc.__notes__ == ["a note"]
            exc.add_note("mine")  # a copy's notes are its own
        assert original.__notes__ == ["a note"]
        assert calls == 1
        assert value.done() is True
        assert value.statistics() == OnceStatistics("failed", 0)

    def test_the_traceback_of_the_original_does_not_grow(self) -> None:
        value = OnceValue(lambda: 1 // 0)
        with pytest.raises(ZeroDivisionError) as first:
            value.get()
        tb = first.value.__traceback__
        for _ in range(5):
            with pytest.raises(ZeroDivisionError):
                value.get()
        assert first.value.__traceback__ is tb

    def test_concurrent_callers_all_get_the_exception(self) -> None:
        gate = threadkit.Event()

        def fn() -> None:
            gate.wait()
            raise KeyError("missing")

        value = OnceValue(fn)
        caught: list[BaseException] = []

        def call() -> None:
            try:
                value.get()
            except KeyError as exc:
                caught.append(exc)

        with Workers(call, call, call):
            wait_for_waiters(value, 2)
            gate.set()
        assert len(caught) == 3
        originals = [e for e in caught if e.__cause__ is None]
        assert len(originals) == 1
        assert all(e.__cause__ is originals[0] for e in caught if e is not originals[0])

    def test_an_exception_that_cannot_be_copied_is_raised_itself(self) -> None:
        class OddError(Exception):
            def __init__(self, a: int, b: int) -> None:
                super().__init__(a)  # args=(a,): copy.copy cannot rebuild it

        def fn() -> None:
            raise OddError(1, 2)

        value = OnceValue(fn)
        with pytest.raises(OddError) as first:
            value.get()
        with pytest.raises(OddError) as again:
            value.get()
        assert again.value is first.value

    def test_a_call_from_inside_fn_raises_deadlock_error(self) -> None:
        value: OnceValue[int]

        def fn() -> int:
            return value.get() + 1

        value = OnceValue(fn)
        me = threading.current_thread()
        message = (
            rf"^thread {me.name!r} \(ident {me.ident}\) called this OnceValue from inside its "
            r"own fn; waiting for itself would deadlock$"
        )
        with pytest.raises(DeadlockError, match=message):
            value.get()
        with pytest.raises(DeadlockError) as again:  # it is fn's outcome now, as any error
            value.get()
        assert isinstance(again.value.__cause__, DeadlockError)

    def test_a_cancelled_first_caller_lets_the_next_run_fn(self) -> None:
        gate = threadkit.Event()
        calls: list[int] = []

        def fn() -> int:
            calls.append(1)
            if len(calls) == 1:
                gate.wait()  # the first call blocks here, a cancellation point
            return len(calls)

        value = OnceValue(fn)
        scopes: list[CancelScope] = []
        runner = Workers(in_scope(value.get, scopes))
        runner.start()
        wait_for_waiters(gate, 1)
        with Workers(value.get) as waiter:
            wait_for_waiters(value, 1)
            scopes[0].cancel()
        runner.join()
        assert runner.results == ["cancelled"]
        assert waiter.results == [2]
        assert value.get() == 2
        assert calls == [1, 1]

    def test_cancel_a_waiting_caller(self) -> None:
        gate = threadkit.Event()
        value = OnceValue(lambda: gate.wait(10) and "ok")
        scopes: list[CancelScope] = []
        with Workers(value.get) as runner:
            wait_for_waiters(gate, 1)
            with Workers(in_scope(value.get, scopes)) as waiter:
                wait_for_waiters(value, 1)
                scopes[0].cancel()
            assert waiter.results == ["cancelled"]
            assert value.statistics() == OnceStatistics("running", 0)
            gate.set()
        assert runner.results == ["ok"]

    def test_wait_op(self) -> None:
        gate = threadkit.Event()
        value = OnceValue(lambda: gate.wait(10) and 7)
        with pytest.raises(TimeoutError):
            select1(value.wait_op(), timeout=0.01)
        assert value.statistics().state == "pending"  # the op does not call fn
        with Workers(lambda: select1(value.wait_op(), timeout=10)) as selector:
            wait_for_waiters(value, 1)
            with Workers(value.get) as runner:
                wait_for_waiters(gate, 1)
                gate.set()
        assert selector.results == [7]
        assert runner.results == [7]
        assert select1(value.wait_op()) == 7

    def test_wait_op_raises_what_fn_raised(self) -> None:
        value = OnceValue(lambda: 1 // 0)
        with pytest.raises(ZeroDivisionError) as first:
            value.get()
        with pytest.raises(ZeroDivisionError) as selected:
            select1(value.wait_op())
        assert selected.value.__cause__ is first.value
        assert not hasattr(first.value, "__notes__")  # select's note went on the copy

    def test_a_copy_that_shares_the_originals_state_gets_its_own(self) -> None:
        class SharedStateError(Exception):
            def __copy__(self) -> SharedStateError:  # as tblib's reduce (dask installs it) copies
                dup = type(self)(*self.args)
                dup.__dict__ = self.__dict__
                return dup

        def fail() -> None:
            raise SharedStateError("boom")

        value = OnceValue(fail)
        with pytest.raises(SharedStateError) as first:
            value.get()
        with pytest.raises(SharedStateError) as selected:
            select1(value.wait_op())
        assert selected.value.__cause__ is first.value
        assert selected.value.__notes__[0].startswith("raised by select operation 0")
        assert not hasattr(first.value, "__notes__")

    def test_bad_input(self) -> None:
        with pytest.raises(TypeError, match=r"^fn must be callable, not int$"):
            OnceValue(42)  # type: ignore[arg-type]

    def test_repr(self) -> None:
        @once
        def answer() -> int:
            return 42

        assert re.fullmatch(rf"<threadkit\.\S*OnceValue at {ADDR}: .*answer pending>", repr(answer))
        answer()
        assert repr(answer).endswith("answer done>")


# --------------------------------------------------------------------------------------------
# WaitGroup


class TestWaitGroup:
    def test_add_done_wait(self) -> None:
        wg = WaitGroup()
        assert wg.wait(0) is True  # zero to start with
        wg.add(2)
        assert wg.count == 2
        assert wg.wait(0) is False
        wg.done()
        wg.done()
        assert wg.count == 0
        assert wg.wait() is True
        assert wg.statistics() == WaitGroupStatistics(0, 0)

    def test_wait_blocks_until_the_counter_is_zero(self) -> None:
        wg = WaitGroup()
        wg.add(2)
        with Workers(wg.wait, wg.wait) as w:
            wait_for_waiters(wg, 2)
            wg.done()
            assert wg.statistics() == WaitGroupStatistics(1, 2)
            wg.done()
        assert w.results == [True, True]

    def test_a_waiter_that_saw_zero_returns_true_even_if_add_follows(self) -> None:
        wg = WaitGroup()
        wg.add(1)
        with Workers(wg.wait) as w:
            wait_for_waiters(wg, 1)
            wg.done()
            wg.add(1)  # reused at once
        assert w.results == [True]
        assert wg.count == 1

    def test_go_counts_the_thread_in_and_out(self) -> None:
        gate = threadkit.Event()
        wg = WaitGroup()
        threads = [wg.go(gate.wait, 10, name=f"go-{i}") for i in range(3)]
        assert isinstance(threads[0], threadkit.Thread)
        assert threads[0].name == "go-0"
        assert wg.count == 3
        gate.set()
        assert wg.wait(10) is True
        assert [t.result(10) for t in threads] == [True, True, True]
        assert wg.count == 0

    def test_go_calls_done_when_fn_raises(self, monkeypatch: pytest.MonkeyPatch) -> None:
        reported: list[type[BaseException] | None] = []
        monkeypatch.setattr(threading, "excepthook", lambda args: reported.append(args.exc_type))
        wg = WaitGroup()
        thread = wg.go(lambda: 1 // 0)
        assert wg.wait(10) is True
        with pytest.raises(ZeroDivisionError):
            thread.result(10)
        assert reported == [ZeroDivisionError]

    def test_go_runs_fn_in_the_scopes_of_the_caller(self) -> None:
        ev = threadkit.Event()

        def body() -> str:
            try:
                ev.wait()
            except Cancelled:
                return "cancelled"
            return "set"

        wg = WaitGroup()
        with CancelScope() as scope:
            thread = wg.go(body)
            wait_for_waiters(ev, 1)
            scope.cancel()
        assert wg.wait(10) is True
        assert thread.result(10) == "cancelled"

    def test_negative_counter_raises_and_leaves_it_unchanged(self) -> None:
        wg = WaitGroup()
        with pytest.raises(
            RuntimeError,
            match=r"^negative WaitGroup counter: add\(-1\) with the counter at 0 "
            r"\(done\(\) called more often than add\(\)\)$",
        ):
            wg.done()
        wg.add(1)
        with pytest.raises(RuntimeError, match=r"^negative WaitGroup counter: add\(-2\)"):
            wg.add(-2)
        assert wg.count == 1

    @pytest.mark.parametrize("delta", ["1", 1.0, True, None])
    def test_add_takes_an_int(self, delta: Any) -> None:
        wg = WaitGroup()
        with pytest.raises(TypeError, match=rf"^delta must be an int, not {type(delta).__name__}$"):
            wg.add(delta)
        assert wg.count == 0

    def test_wait_op(self) -> None:
        wg = WaitGroup()
        wg.add(1)
        assert threadkit.select(wg.wait_op(), default=True) == (-1, None)
        with Workers(lambda: select1(wg.wait_op(), timeout=10)) as w:
            wait_for_waiters(wg, 1)
            wg.done()
        assert w.results == [True]
        assert select1(wg.wait_op()) is True

    def test_repr(self) -> None:
        wg = WaitGroup()
        wg.add(3)
        assert re.fullmatch(rf"<threadkit\.\S*WaitGroup at {ADDR}: count=3>", repr(wg))
        wg.add(-3)
        assert repr(wg).endswith(": count=0>")


# --------------------------------------------------------------------------------------------
# CountDownLatch


class TestCountDownLatch:
    def test_counts_down_to_open(self) -> None:
        latch = CountDownLatch(2)
        assert latch.count == 2
        latch.count_down()
        assert latch.wait(0) is False
        assert latch.statistics() == CountDownLatchStatistics(1, 0)
        latch.count_down()
        assert latch.wait(0) is True
        latch.count_down()  # at zero: nothing
        assert latch.count == 0
        assert latch.wait() is True

    def test_zero_is_open(self) -> None:
        assert CountDownLatch(0).wait(0) is True

    def test_opening_wakes_every_waiter(self) -> None:
        latch = CountDownLatch(3)
        with Workers(*([latch.wait] * 3)) as w:
            wait_for_waiters(latch, 3)
            latch.count_down()
            latch.count_down()
            assert latch.statistics() == CountDownLatchStatistics(1, 3)
            latch.count_down()
        assert w.results == [True, True, True]

    def test_count_downs_from_many_threads(self) -> None:
        n = 8 * 50 * STRESS
        latch = CountDownLatch(n)

        def count() -> None:
            for _ in range(n // 8):
                latch.count_down()

        with Workers(latch.wait, *([count] * 8)) as w:
            pass
        assert latch.count == 0
        assert w.results[0] is True

    def test_bad_count(self) -> None:
        with pytest.raises(ValueError, match=r"^count must be >= 0, not -1$"):
            CountDownLatch(-1)
        with pytest.raises(TypeError, match=r"^count must be an int, not float$"):
            CountDownLatch(1.5)  # type: ignore[arg-type]

    def test_wait_op(self) -> None:
        latch = CountDownLatch(1)
        with Workers(lambda: select1(latch.wait_op(), timeout=10)) as w:
            wait_for_waiters(latch, 1)
            latch.count_down()
        assert w.results == [True]

    def test_repr(self) -> None:
        latch = CountDownLatch(2)
        assert re.fullmatch(rf"<threadkit\.\S*CountDownLatch at {ADDR}: count=2>", repr(latch))
        with Workers(latch.wait):
            wait_for_waiters(latch, 1)
            assert repr(latch).endswith(": count=2, 1 waiting>")
            latch.count_down()
            latch.count_down()


# --------------------------------------------------------------------------------------------
# Notify


class TestNotify:
    def test_an_early_notify_one_is_stored_once(self) -> None:
        n = Notify()
        n.notify_one()
        n.notify_one()
        assert n.statistics() == NotifyStatistics(permit=True, threads_waiting=0)
        assert n.wait(0) is True
        assert n.wait(0) is False
        assert n.statistics() == NotifyStatistics(permit=False, threads_waiting=0)

    def test_notify_one_wakes_the_oldest_waiter(self) -> None:
        n = Notify()
        woken: list[int] = []

        def waiter(i: int) -> Callable[[], None]:
            def run() -> None:
                assert n.wait(10)
                woken.append(i)

            return run

        workers = start_in_order(n, waiter(0), waiter(1))
        n.notify_one()
        wait_until(lambda: woken == [0])
        assert n.statistics() == NotifyStatistics(permit=False, threads_waiting=1)
        n.notify_one()
        workers.join()
        assert woken == [0, 1]

    def test_notify_all_wakes_every_waiter_and_stores_nothing(self) -> None:
        n = Notify()
        n.notify_all()  # nobody waits: nothing stored
        assert n.statistics().permit is False
        with Workers(*([lambda: n.wait(10)] * 3)) as w:
            wait_for_waiters(n, 3)
            n.notify_all()
        assert w.results == [True, True, True]
        assert n.wait(0) is False

    @pytest.mark.timeout(120)
    def test_a_notification_racing_a_cancellation_is_neither_lost_nor_doubled(self) -> None:
        for _ in range(30 * STRESS):
            n = Notify()
            scopes: list[CancelScope] = []
            with Workers(in_scope(n.wait, scopes)) as w:
                wait_for_waiters(n, 1)
                with Workers(scopes[0].cancel):
                    n.notify_one()
            woke = w.results == [True]
            assert woke or w.results == ["cancelled"]
            assert n.statistics() == NotifyStatistics(permit=not woke, threads_waiting=0)

    def test_wait_op(self) -> None:
        n1, n2 = Notify(), Notify()
        n2.notify_one()
        assert threadkit.select(n1.wait_op(), n2.wait_op()) == (1, True)
        assert n2.statistics().permit is False
        with Workers(lambda: threadkit.select(n1.wait_op(), n2.wait_op(), timeout=10)) as w:
            wait_for_waiters(n1, 1)
            n1.notify_one()
        assert w.results == [(0, True)]
        assert n1.statistics() == NotifyStatistics(permit=False, threads_waiting=0)
        assert n2.statistics() == NotifyStatistics(permit=False, threads_waiting=0)

    def test_a_select_that_ended_does_not_take_a_notification(self) -> None:
        n, ev = Notify(), threadkit.Event()
        with Workers(lambda: threadkit.select(n.wait_op(), ev.wait_op(), timeout=10)) as w:
            wait_for_waiters(n, 1)
            ev.set()
        assert w.results == [(1, True)]
        n.notify_one()  # the select's arm is gone: the permit is stored
        assert n.statistics() == NotifyStatistics(permit=True, threads_waiting=0)

    def test_repr(self) -> None:
        n = Notify()
        assert re.fullmatch(rf"<threadkit\.\S*Notify at {ADDR}: no permit>", repr(n))
        n.notify_one()
        assert repr(n).endswith(": permit>")


# --------------------------------------------------------------------------------------------
# Watch


class TestWatch:
    def test_value_and_version(self) -> None:
        w: Watch[str] = Watch("a")
        assert w.get() == "a"
        assert w.version == 0
        assert w.get_with_version() == ("a", 0)
        w.set("b")
        assert w.get_with_version() == ("b", 1)
        assert w.modify(lambda v: v + "c") == "bc"
        assert w.get_with_version() == ("bc", 2)
        assert w.statistics() == WatchStatistics(version=2, threads_waiting=0)

    def test_modify_that_raises_changes_nothing(self) -> None:
        w = Watch(1)
        with pytest.raises(ZeroDivisionError):
            w.modify(lambda v: v // 0)
        assert w.get_with_version() == (1, 0)
        w.set(2)  # the writer lock was released
        assert w.version == 1

    def test_modify_is_atomic(self) -> None:
        w = Watch(0)
        n = 200 * STRESS

        def add() -> None:
            for _ in range(n):
                w.modify(lambda v: v + 1)

        with Workers(*([add] * 8)):
            pass
        assert w.get_with_version() == (8 * n, 8 * n)

    def test_set_or_modify_inside_modify_raises_deadlock_error(self) -> None:
        w = Watch(1)
        message = (
            r"^set\(\) or modify\(\) called from inside modify\(\)'s fn on the same Watch "
            r"would deadlock: return the new value from fn instead$"
        )

        def set_inside(v: int) -> int:
            w.set(v + 1)
            return v

        with pytest.raises(DeadlockError, match=message):
            w.modify(set_inside)
        with pytest.raises(DeadlockError, match=message):
            w.modify(lambda v: w.modify(lambda u: u))
        assert w.get_with_version() == (1, 0)

    def test_wait_changed_since_a_version(self) -> None:
        w = Watch(0)
        w.set(1)
        assert w.wait_changed(0, since=0) is True  # already past it
        assert w.wait_changed(0, since=1) is False
        assert w.wait_changed(0) is False  # since=None: the version now
        with Workers(lambda: w.wait_changed(10)) as workers:
            wait_for_waiters(w, 1)
            w.set(2)
        assert workers.results == [True]

    def test_a_reader_that_tracks_its_version_misses_no_change(self) -> None:
        w = Watch(0)
        last = 50 * STRESS
        seen: list[int] = []

        def reader() -> None:
            value, version = w.get_with_version()
            while value != last:
                assert w.wait_changed(10, since=version)
                value, version = w.get_with_version()
                seen.append(value)

        with Workers(reader):
            wait_for_waiters(w, 1)
            for i in range(1, last + 1):
                w.set(i)
        assert seen[-1] == last
        assert seen == sorted(seen)  # values may be skipped, never seen out of order

    def test_since_must_not_be_in_the_future(self) -> None:
        w = Watch(0)
        with pytest.raises(ValueError, match=r"^since=1 is newer than the current version 0$"):
            w.wait_changed(since=1)
        with pytest.raises(TypeError, match=r"^since must be an int, not str$"):
            w.wait_changed(since="0")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"^since=3 is newer"):
            w.wait_changed_op(since=3)

    def test_wait_for_checks_the_current_value_first(self) -> None:
        w = Watch(5)
        assert w.wait_for(lambda v: v > 3, timeout=0) == 5

    def test_wait_for_returns_the_value_that_satisfied_pred(self) -> None:
        w = Watch(0)
        calls: list[int] = []

        def pred(v: int) -> bool:
            calls.append(v)
            assert w.statistics().version >= 0  # called without the lock held
            return v >= 3

        with Workers(lambda: w.wait_for(pred, timeout=10)) as workers:
            for i in (1, 2, 3):
                wait_for_waiters(w, 1)
                w.set(i)
        assert workers.results == [3]
        assert calls == [0, 1, 2, 3]

    def test_wait_for_times_out(self) -> None:
        w = Watch(0)
        with pytest.raises(
            TimeoutError, match=r"^the value did not satisfy the predicate within 0.01 s$"
        ):
            w.wait_for(bool, timeout=0.01)
        assert w.statistics().threads_waiting == 0

    def test_wait_changed_op(self) -> None:
        w = Watch("a")
        op = w.wait_changed_op()  # since: the version now
        assert threadkit.select(op, default=True) == (-1, None)
        with Workers(lambda: select1(op, timeout=10)) as workers:
            wait_for_waiters(w, 1)
            w.set("b")
        assert workers.results == [("b", 1)]
        assert select1(w.wait_changed_op(since=0)) == ("b", 1)

    def test_repr(self) -> None:
        w = Watch(0)
        w.set(1)
        assert re.fullmatch(rf"<threadkit\.\S*Watch at {ADDR}: version 1>", repr(w))


# --------------------------------------------------------------------------------------------
# CapacityLimiter


class TestCapacityLimiter:
    def test_acquire_and_release(self) -> None:
        limiter = CapacityLimiter(2)
        assert limiter.acquire() is True
        me = threading.current_thread()
        assert limiter.statistics() == CapacityLimiterStatistics(1, 2, [me], 0)
        assert (limiter.borrowed_tokens, limiter.available_tokens) == (1, 1)
        limiter.release()
        assert (limiter.borrowed_tokens, limiter.available_tokens) == (0, 2)
        with limiter:
            assert limiter.borrowed_tokens == 1
        assert limiter.borrowed_tokens == 0

    def test_a_borrower_holds_at_most_one_token(self) -> None:
        limiter = CapacityLimiter(5)
        limiter.acquire()
        message = r"^this borrower is already holding one of this CapacityLimiter's tokens$"
        with pytest.raises(RuntimeError, match=message):
            limiter.acquire()
        with pytest.raises(RuntimeError, match=message):
            limiter.acquire_nowait()
        with pytest.raises(RuntimeError, match=message[:-1]):  # (and select's note)
            select1(limiter.acquire_op())
        assert limiter.borrowed_tokens == 1

    def test_release_without_a_token(self) -> None:
        limiter = CapacityLimiter(1)
        message = r"^this borrower isn't holding any of this CapacityLimiter's tokens$"
        with pytest.raises(RuntimeError, match=message):
            limiter.release()
        limiter.acquire_on_behalf_of("job")
        with pytest.raises(RuntimeError, match=message):
            limiter.release()  # the thread is not the borrower
        limiter.release_on_behalf_of("job")

    def test_on_behalf_of(self) -> None:
        limiter = CapacityLimiter(2)
        limiter.acquire_on_behalf_of("a")
        limiter.acquire_on_behalf_of_nowait("b")
        with pytest.raises(WouldBlock, match=r"^no token of this CapacityLimiter is free$"):
            limiter.acquire_on_behalf_of_nowait("c")
        with pytest.raises(RuntimeError, match="already holding"):
            limiter.acquire_on_behalf_of("a")
        assert sorted(limiter.statistics().borrowers) == ["a", "b"]  # type: ignore[type-var]
        limiter.release_on_behalf_of("a")
        assert limiter.acquire_on_behalf_of("c", timeout=0) is True

    def test_a_borrower_waits_once(self) -> None:
        limiter = CapacityLimiter(1)
        limiter.acquire_on_behalf_of("a")
        with Workers(lambda: limiter.acquire_on_behalf_of("b", timeout=10)) as w:
            wait_for_waiters(limiter, 1)
            with pytest.raises(RuntimeError, match=r"^this borrower is already waiting for a "):
                limiter.acquire_on_behalf_of("b", timeout=0)
            limiter.release_on_behalf_of("a")
        assert w.results == [True]

    def test_acquire_nowait(self) -> None:
        limiter = CapacityLimiter(1)
        limiter.acquire_nowait()

        def other_thread() -> None:
            with pytest.raises(WouldBlock):
                limiter.acquire_nowait()

        with Workers(other_thread):
            pass
        limiter.release()

    def test_waiters_get_tokens_in_fifo_order(self) -> None:
        limiter = CapacityLimiter(1)
        order: list[int] = []

        def worker(i: int) -> Callable[[], None]:
            def run() -> None:
                with limiter:
                    order.append(i)

            return run

        limiter.acquire()
        workers = start_in_order(limiter, worker(0), worker(1), worker(2))
        limiter.release()
        workers.join()
        assert order == [0, 1, 2]

    def test_a_released_token_is_handed_to_the_waiter(self) -> None:
        limiter = CapacityLimiter(1)
        limiter.acquire()
        with Workers(limiter.acquire, names=["waiter"]) as w:
            wait_for_waiters(limiter, 1)
            limiter.release()
            # Handed over before the waiter runs: the releasing thread cannot barge.
            assert [t.name for t in limiter.statistics().borrowers] == ["waiter"]  # type: ignore[attr-defined]
            with pytest.raises(WouldBlock):
                limiter.acquire_nowait()
        assert w.results == [True]
        limiter.release_on_behalf_of(w.threads[0])

    def test_raising_total_tokens_wakes_waiters(self) -> None:
        limiter = CapacityLimiter(1)
        limiter.acquire()
        with Workers(
            lambda: limiter.acquire_on_behalf_of("x", 10),
            lambda: limiter.acquire_on_behalf_of("y", 10),
        ) as w:
            wait_for_waiters(limiter, 2)
            limiter.total_tokens = 3
        assert w.results == [True, True]
        assert limiter.statistics().borrowed_tokens == 3
        assert limiter.available_tokens == 0

    def test_lowering_total_tokens_below_borrowed(self) -> None:
        limiter = CapacityLimiter(3)
        for b in "abc":
            limiter.acquire_on_behalf_of(b)
        limiter.total_tokens = 1
        assert (limiter.borrowed_tokens, limiter.available_tokens) == (3, 0)
        limiter.release_on_behalf_of("a")
        limiter.release_on_behalf_of("b")
        with pytest.raises(WouldBlock):
            limiter.acquire_nowait()
        limiter.release_on_behalf_of("c")
        assert limiter.available_tokens == 1

    def test_infinite_total(self) -> None:
        limiter = CapacityLimiter(math.inf)
        for i in range(100):
            limiter.acquire_on_behalf_of(i)
        assert limiter.available_tokens == math.inf

    @pytest.mark.parametrize(
        ("total", "exc", "message"),
        [
            (0, ValueError, r"^total_tokens must be >= 1, not 0$"),
            (1.5, TypeError, r"^total_tokens must be an int or math.inf, not 1.5$"),
            (True, TypeError, r"^total_tokens must be an int or math.inf, not True$"),
            ("2", TypeError, r"^total_tokens must be an int or math.inf, not '2'$"),
        ],
    )
    def test_bad_total_tokens(self, total: Any, exc: type, message: str) -> None:
        with pytest.raises(exc, match=message):
            CapacityLimiter(total)
        limiter = CapacityLimiter(2)
        with pytest.raises(exc, match=message):
            limiter.total_tokens = total
        assert limiter.total_tokens == 2

    @pytest.mark.timeout(120)
    def test_a_token_racing_a_cancellation_goes_to_exactly_one_place(self) -> None:
        for _ in range(30 * STRESS):
            limiter = CapacityLimiter(1)
            limiter.acquire_on_behalf_of("main")
            scopes: list[CancelScope] = []
            with Workers(in_scope(lambda: limiter.acquire_on_behalf_of("w"), scopes)) as w:
                wait_for_waiters(limiter, 1)
                with Workers(scopes[0].cancel):
                    limiter.release_on_behalf_of("main")
            got = w.results == [True]
            assert got or w.results == ["cancelled"]
            stats = limiter.statistics()
            assert stats.borrowers == (["w"] if got else [])
            assert stats.threads_waiting == 0

    def test_acquire_op(self) -> None:
        limiter = CapacityLimiter(1)
        assert select1(limiter.acquire_op()) is True
        assert limiter.statistics().borrowers == [threading.current_thread()]
        with Workers(lambda: select1(limiter.acquire_on_behalf_of_op("s"), timeout=10)) as w:
            wait_for_waiters(limiter, 1)
            limiter.release()
        assert w.results == [True]
        assert limiter.statistics().borrowers == ["s"]

    def test_a_select_that_ended_does_not_take_a_token(self) -> None:
        limiter = CapacityLimiter(1)
        limiter.acquire()
        ev = threadkit.Event()
        with Workers(lambda: threadkit.select(limiter.acquire_op(), ev.wait_op(), timeout=10)) as w:
            wait_for_waiters(limiter, 1)
            ev.set()
        assert w.results == [(1, True)]
        limiter.release()
        assert limiter.statistics() == CapacityLimiterStatistics(0, 1, [], 0)

    def test_repr(self) -> None:
        limiter = CapacityLimiter(3)
        limiter.acquire()
        assert re.fullmatch(
            rf"<threadkit\.\S*CapacityLimiter at {ADDR}: 1/3 borrowed>", repr(limiter)
        )
        limiter.release()
