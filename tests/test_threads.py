"""Tests for threadkit._threads: Thread's result/exception/statistics and deprecated aliases."""

from __future__ import annotations

import math
import re
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import CancelledError

import pytest

import threadkit
from conftest import current, wait_until
from threadkit import Condition, Event, Thread, ThreadStatistics

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def hook_calls(monkeypatch: pytest.MonkeyPatch) -> list[threading.ExceptHookArgs]:
    """Replace ``threading.excepthook`` by one that records its calls."""
    calls: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", calls.append)
    return calls


class TestThread:
    def test_is_a_threading_thread(self) -> None:
        seen: list[threading.Thread] = []
        t = Thread(target=lambda: seen.append(threading.current_thread()))
        assert isinstance(t, threading.Thread)
        t.start()
        t.join(10)
        assert seen == [t]

    def test_result_returns_target_return_value(self) -> None:
        t = Thread(target=lambda a, b=0: a + b, args=(40,), kwargs={"b": 2})
        t.start()
        assert t.result(timeout=10) == 42
        assert t.result() == 42  # again, once finished
        assert t.exception() is None

    def test_result_is_none_when_target_returns_nothing_or_no_target(self) -> None:
        t = Thread(target=lambda: None)
        t.start()
        assert t.result(10) is None
        empty = Thread()
        empty.start()
        assert empty.result(10) is None

    def test_result_reraises_and_exception_returns_what_target_raised(
        self, hook_calls: list[threading.ExceptHookArgs]
    ) -> None:
        error = ValueError("boom")

        def fail() -> None:
            raise error

        t = Thread(target=fail)
        t.start()
        with pytest.raises(ValueError, match=r"^boom$") as exc:
            t.result(timeout=10)
        assert exc.value is error
        assert t.exception(timeout=10) is error
        assert len(hook_calls) == 1

    def test_excepthook_still_called_when_target_raises(
        self, hook_calls: list[threading.ExceptHookArgs]
    ) -> None:
        def fail() -> None:
            raise KeyError("lost")

        t = Thread(target=fail, name="failing")
        t.start()
        t.join(10)
        assert len(hook_calls) == 1
        args = hook_calls[0]
        assert args.exc_type is KeyError
        assert isinstance(args.exc_value, KeyError)
        assert args.exc_value is t.exception()
        assert args.thread is t

    def test_excepthook_not_called_when_target_returns(
        self, hook_calls: list[threading.ExceptHookArgs]
    ) -> None:
        t = Thread(target=lambda: 1)
        t.start()
        assert t.result(10) == 1
        assert hook_calls == []

    def test_result_of_subclass_overriding_run(self) -> None:
        class Worker(Thread):
            def __init__(self, n: int) -> None:
                super().__init__(name="sub")
                self.n = n

            def run(self) -> int:  # type: ignore[override]  # typeshed says None
                return self.n * 2

        w = Worker(21)
        w.start()
        assert w.result(timeout=10) == 42

    def test_result_of_subclass_whose_run_raises(
        self, hook_calls: list[threading.ExceptHookArgs]
    ) -> None:
        class Failing(Thread):
            def run(self) -> None:
                raise OSError("from run")

        t = Failing()
        t.start()
        with pytest.raises(OSError, match=r"^from run$"):
            t.result(timeout=10)
        assert [c.exc_type for c in hook_calls] == [OSError]

    def test_result_timeout_raises_while_thread_blocked(self) -> None:
        ev = Event()
        t = Thread(target=ev.wait, name="blocked")
        t.start()
        try:
            with pytest.raises(
                TimeoutError, match=r"^thread 'blocked' did not finish within 0\.01 seconds$"
            ):
                t.result(timeout=0.01)
            with pytest.raises(
                TimeoutError, match=r"^thread 'blocked' did not finish within 0 seconds$"
            ):
                t.exception(timeout=0)
            assert t.is_alive()
        finally:
            ev.set()
        assert t.result(timeout=10) is True
        assert not t.is_alive()

    @pytest.mark.parametrize(
        ("timeout", "message"),
        [
            (-1, r"^timeout must be >= 0, not -1$"),
            (math.nan, r"^timeout must be a number, not NaN$"),
        ],
    )
    def test_result_rejects_negative_and_nan_timeouts(self, timeout: float, message: str) -> None:
        t = Thread(target=int)
        t.start()
        with pytest.raises(ValueError, match=message):
            t.result(timeout)
        with pytest.raises(ValueError, match=message):
            t.exception(timeout)
        assert t.result(timeout=10) == 0

    def test_start_without_init_raises_the_stdlib_error(self) -> None:
        class NoInit(Thread):
            def __init__(self) -> None:  # forgets super().__init__(), as in CPython's test
                pass

        with pytest.raises(RuntimeError, match=r"^thread.__init__\(\) not called$"):
            NoInit().start()

    def test_starting_twice_raises(self) -> None:
        t = Thread(target=lambda: 1)
        t.start()
        with pytest.raises(RuntimeError, match=r"^threads can only be started once$"):
            t.start()
        assert t.result(10) == 1

    def test_result_before_start_raises(self) -> None:
        t = Thread(target=lambda: 1)
        with pytest.raises(RuntimeError, match=r"^cannot join thread before it is started$"):
            t.result()
        with pytest.raises(RuntimeError, match=r"^cannot join thread before it is started$"):
            t.exception()

    def test_statistics_follow_the_lifecycle(self) -> None:
        ev = Event()
        t = Thread(target=ev.wait, name="stats", daemon=True)
        assert t.statistics() == ThreadStatistics(
            name="stats", ident=None, state="initial", daemon=True, raised=False
        )
        t.start()
        try:
            assert t.statistics() == ThreadStatistics("stats", t.ident, "started", True, False)
        finally:
            ev.set()
        t.join(10)
        assert t.statistics() == ThreadStatistics("stats", t.ident, "stopped", True, False)

    def test_statistics_record_that_target_raised(
        self, hook_calls: list[threading.ExceptHookArgs]
    ) -> None:
        def fail() -> None:
            raise RuntimeError("x")

        t = Thread(target=fail, name="raiser")
        t.start()
        t.join(10)
        stats = t.statistics()
        assert (stats.state, stats.raised) == ("stopped", True)
        assert len(hook_calls) == 1


# --------------------------------------------------------------------------------------------
# Deprecated camelCase spellings: the stdlib's exact warnings.


def _thread() -> Thread:
    return Thread(name="old")


def _condition_notify_all() -> None:
    c = Condition()
    with c:
        c.notifyAll()


def _stdlib_notify_all() -> None:
    c = threading.Condition()
    with c:
        c.notifyAll()


DEPRECATED: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
    (
        "currentThread() is deprecated, use current_thread() instead",
        threadkit.currentThread,
        threading.currentThread,
    ),
    (
        "activeCount() is deprecated, use active_count() instead",
        threadkit.activeCount,
        threading.activeCount,
    ),
    (
        "isSet() is deprecated, use is_set() instead",
        lambda: Event().isSet(),
        lambda: threading.Event().isSet(),
    ),
    (
        "notifyAll() is deprecated, use notify_all() instead",
        _condition_notify_all,
        _stdlib_notify_all,
    ),
    (
        "setDaemon() is deprecated, set the daemon attribute instead",
        lambda: _thread().setDaemon(True),
        lambda: threading.Thread().setDaemon(True),
    ),
    (
        "isDaemon() is deprecated, get the daemon attribute instead",
        lambda: _thread().isDaemon(),
        lambda: threading.Thread().isDaemon(),
    ),
    (
        "getName() is deprecated, get the name attribute instead",
        lambda: _thread().getName(),
        lambda: threading.Thread().getName(),
    ),
    (
        "setName() is deprecated, set the name attribute instead",
        lambda: _thread().setName("new"),
        lambda: threading.Thread().setName("new"),
    ),
]


@pytest.mark.parametrize(
    ("message", "ours", "stdlib"), DEPRECATED, ids=[m.split("(")[0] for m, _, _ in DEPRECATED]
)
def test_deprecated_names_warn_with_stdlib_message(
    message: str, ours: Callable[[], object], stdlib: Callable[[], object]
) -> None:
    pattern = rf"^{re.escape(message)}$"
    with pytest.warns(DeprecationWarning, match=pattern) as record:
        ours()
    assert len(record) == 1
    # The text is the standard library's, on this Python version.
    with pytest.warns(DeprecationWarning, match=pattern) as std_record:
        stdlib()
    assert [str(w.message) for w in record] == [str(w.message) for w in std_record]


def test_deprecated_functions_still_work() -> None:
    with pytest.deprecated_call():
        assert threadkit.currentThread() is threading.current_thread()
    with pytest.deprecated_call():
        assert threadkit.activeCount() == threading.active_count()
    ev = Event()
    ev.set()
    with pytest.deprecated_call():
        assert ev.isSet() is True


def test_deprecation_warning_points_at_the_caller() -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        threadkit.currentThread()
        Event().isSet()
        _condition_notify_all()
    assert [w.filename for w in record] == [__file__] * 3


class TestThreadCancel:
    def test_cancel_a_thread_stuck_in_queue_get(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import threadkit.queue

        hooked: list[object] = []
        monkeypatch.setattr(threading, "excepthook", hooked.append)
        q: threadkit.queue.Queue[int] = threadkit.queue.Queue()
        t = Thread(target=q.get, name="stuck")
        t.start()
        wait_until(lambda: q.statistics().threads_waiting_get == 1)
        assert not t.cancelled
        t.cancel("shutting down")
        assert current(t, "cancelled")
        t.join(10)
        assert not t.is_alive()
        with pytest.raises(CancelledError, match=r"^thread 'stuck' was cancelled$") as info:
            t.result()
        assert isinstance(info.value.__cause__, threadkit.Cancelled)
        assert "(shutting down)" in str(info.value.__cause__)
        with pytest.raises(CancelledError):
            t.exception()
        assert hooked == []  # a cancelled thread is not an error for the excepthook
        assert q.statistics().threads_waiting_get == 0

    def test_cancel_before_start(self) -> None:
        ev = Event()
        t = Thread(target=ev.wait)
        t.cancel()
        t.start()
        t.join(10)
        assert not t.is_alive()
        with pytest.raises(CancelledError):
            t.result()

    def test_cancel_a_computing_thread_at_its_checkpoint(self) -> None:
        started = Event()

        def compute() -> int:
            n = 0
            started.set()
            while True:
                n += 1
                threadkit.checkpoint()

        t = Thread(target=compute)
        t.start()
        assert started.wait(10)
        t.cancel()
        t.join(10)
        assert not t.is_alive()

    def test_cancel_after_the_thread_finished_is_harmless(self) -> None:
        t = Thread(target=lambda: 7)
        t.start()
        assert t.result(10) == 7
        t.cancel()
        assert t.result() == 7

    def test_join_is_a_cancellation_point(self) -> None:
        ev = Event()
        t = Thread(target=ev.wait, args=(10,))
        t.start()
        with threadkit.CancelScope() as scope:
            scope.cancel()
            t.join()
        assert scope.cancelled_caught
        assert t.is_alive()
        ev.set()
        t.join(10)

    def test_join_timeout_in_a_scope(self) -> None:
        ev = Event()
        t = Thread(target=ev.wait, args=(10,))
        t.start()
        with threadkit.CancelScope(timeout=10):
            t.join(0.01)
            assert t.is_alive()
        ev.set()
        t.join(10)
        assert not t.is_alive()
