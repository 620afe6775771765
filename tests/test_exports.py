"""The public surface: ``threadkit.__all__``, what each name is, and the package metadata."""

from __future__ import annotations

import _thread
import importlib.metadata
import importlib.resources
import pickle
import threading
from collections.abc import Callable

import pytest

import threadkit
import threadkit._core

# Pinned on purpose: adding or removing a public name must be a deliberate change here.
EXPECTED_ALL = [
    "Barrier",
    "BarrierStatistics",
    "BoundedSemaphore",
    "Broadcast",
    "BroadcastStatistics",
    "BrokenBarrierError",
    "CancelScope",
    "Cancelled",
    "CapacityLimiter",
    "CapacityLimiterStatistics",
    "ChannelClosed",
    "ChannelStatistics",
    "Condition",
    "ConditionStatistics",
    "CountDownLatch",
    "CountDownLatchStatistics",
    "DeadlockError",
    "EndOfChannel",
    "Event",
    "EventStatistics",
    "ExceptHookArgs",
    "Lagged",
    "Lock",
    "MockClock",
    "Mutex",
    "MutexStatistics",
    "Notify",
    "NotifyStatistics",
    "OnceStatistics",
    "OnceValue",
    "PeriodicStatistics",
    "PeriodicTimer",
    "RLock",
    "RWLock",
    "RWLockStatistics",
    "Receiver",
    "Scheduler",
    "SchedulerStatistics",
    "Select",
    "SelectOp",
    "Semaphore",
    "SemaphoreStatistics",
    "Sender",
    "Service",
    "Subscriber",
    "SubscriberStatistics",
    "TIMEOUT_MAX",
    "Task",
    "TaskGroup",
    "Thread",
    "ThreadError",
    "ThreadStatistics",
    "Timer",
    "TimerHandle",
    "Tracer",
    "WaitGroup",
    "WaitGroupStatistics",
    "Watch",
    "WatchStatistics",
    "Worker",
    "WorkerState",
    "WorkerStatistics",
    "WouldBlock",
    "acquire",
    "activeCount",
    "active_count",
    "after",
    "checkpoint",
    "currentThread",
    "current_deadline",
    "current_thread",
    "default_scheduler",
    "dump",
    "enumerate",
    "excepthook",
    "fail_after",
    "get_ident",
    "get_native_id",
    "getprofile",
    "gettrace",
    "local",
    "main_thread",
    "move_on_after",
    "never",
    "once",
    "open_channel",
    "select",
    "setprofile",
    "settrace",
    "sleep",
    "stack_size",
    "tick",
    "trace",
    "use_clock",
    "use_random",
]

# Names that are the standard library's own objects, re-exported unchanged.
FROM_STDLIB = [
    "BrokenBarrierError",
    "ExceptHookArgs",
    "Lock",
    "RLock",
    "TIMEOUT_MAX",
    "ThreadError",
    "active_count",
    "current_thread",
    "enumerate",
    "excepthook",
    "get_ident",
    "get_native_id",
    "getprofile",
    "gettrace",
    "local",
    "main_thread",
    "setprofile",
    "settrace",
    "stack_size",
]

# The classes threadkit defines itself.
OWN_CLASSES = [
    "Barrier",
    "BarrierStatistics",
    "BoundedSemaphore",
    "Broadcast",
    "BroadcastStatistics",
    "CancelScope",
    "Cancelled",
    "CapacityLimiter",
    "CapacityLimiterStatistics",
    "ChannelClosed",
    "ChannelStatistics",
    "Condition",
    "ConditionStatistics",
    "CountDownLatch",
    "CountDownLatchStatistics",
    "DeadlockError",
    "EndOfChannel",
    "Event",
    "EventStatistics",
    "Lagged",
    "MockClock",
    "Mutex",
    "MutexStatistics",
    "Notify",
    "NotifyStatistics",
    "OnceStatistics",
    "OnceValue",
    "PeriodicStatistics",
    "PeriodicTimer",
    "RWLock",
    "RWLockStatistics",
    "Receiver",
    "Scheduler",
    "SchedulerStatistics",
    "Select",
    "SelectOp",
    "Semaphore",
    "SemaphoreStatistics",
    "Sender",
    "Service",
    "Subscriber",
    "SubscriberStatistics",
    "Task",
    "TaskGroup",
    "Thread",
    "ThreadStatistics",
    "Timer",
    "TimerHandle",
    "Tracer",
    "WaitGroup",
    "WaitGroupStatistics",
    "Watch",
    "WatchStatistics",
    "Worker",
    "WorkerState",
    "WorkerStatistics",
    "WouldBlock",
]


def test_all_is_pinned() -> None:
    assert sorted(threadkit.__all__) == EXPECTED_ALL
    assert len(set(threadkit.__all__)) == len(threadkit.__all__)


def test_own_and_stdlib_names_cover_all_of_it() -> None:
    own_functions = [
        "acquire",
        "activeCount",
        "after",
        "checkpoint",
        "current_deadline",
        "default_scheduler",
        "dump",
        "fail_after",
        "move_on_after",
        "once",
        "sleep",
        "currentThread",
        "never",
        "open_channel",
        "select",
        "tick",
        "trace",
        "use_clock",
        "use_random",
    ]
    assert sorted([*FROM_STDLIB, *OWN_CLASSES, *own_functions]) == sorted(EXPECTED_ALL)


@pytest.mark.parametrize("name", EXPECTED_ALL)
def test_every_name_resolves(name: str) -> None:
    assert getattr(threadkit, name) is not None


def test_star_import_gives_all() -> None:
    namespace: dict[str, object] = {}
    exec("from threadkit import *", namespace)
    assert set(EXPECTED_ALL) <= set(namespace)


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match=r"^module 'threadkit' has no attribute 'nope'$"):
        threadkit.nope


@pytest.mark.parametrize("name", FROM_STDLIB)
def test_stdlib_names_are_the_stdlib_objects(name: str) -> None:
    assert getattr(threadkit, name) is getattr(threading, name)


@pytest.mark.parametrize("name", OWN_CLASSES)
def test_public_classes_say_module_threadkit(name: str) -> None:
    cls = getattr(threadkit, name)
    assert isinstance(cls, type)
    assert cls.__module__ == "threadkit"
    assert cls.__qualname__ == name
    assert cls.__doc__


@pytest.mark.parametrize(
    "make",
    [
        lambda: threadkit.EventStatistics(is_set=True, threads_waiting=0),
        lambda: threadkit.SemaphoreStatistics(1, 1, None, 0),
        lambda: threadkit.BarrierStatistics(2, 0, False),
        lambda: threadkit.MutexStatistics(False, None, 0),
        lambda: threadkit.ThreadStatistics("t", None, "initial", False, False),
        lambda: threadkit.ChannelStatistics(0, 0, 1, 1, 0, 0),
        lambda: threadkit.BroadcastStatistics(1, 0, 0, 0, False, 0),
        lambda: threadkit.SubscriberStatistics(0, 0, False),
    ],
)
def test_statistics_records_pickle_by_public_name(make: Callable[[], object]) -> None:
    record = make()
    data = pickle.dumps(record)
    assert b"threadkit._sync" not in data
    assert b"threadkit._threads" not in data
    assert b"threadkit._channel" not in data
    assert pickle.loads(data) == record


def test_lock_and_rlock_are_the_c_objects() -> None:
    assert threadkit.Lock is threading.Lock
    assert type(threadkit.Lock()) is _thread.LockType
    assert type(threadkit.RLock()) is type(threading.RLock())
    assert threadkit.RLock is threading.RLock


def test_exceptions() -> None:
    assert threadkit.BrokenBarrierError is threading.BrokenBarrierError
    assert issubclass(threadkit.DeadlockError, RuntimeError)
    assert issubclass(threadkit.WouldBlock, Exception)
    assert not issubclass(threadkit.WouldBlock, RuntimeError)


def test_excepthook_reads_threadings_current_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    def hook(args: threading.ExceptHookArgs) -> None:
        pass

    monkeypatch.setattr(threading, "excepthook", hook)
    assert threadkit.excepthook is hook


@pytest.mark.timeout(20)
def test_setting_excepthook_reaches_threading(monkeypatch: pytest.MonkeyPatch) -> None:
    # Registers the restore of the current hook, whatever the test does to it.
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    calls: list[threading.ExceptHookArgs] = []

    def hook(args: threading.ExceptHookArgs) -> None:
        calls.append(args)

    threadkit.excepthook = hook
    assert threading.excepthook is hook
    assert threadkit.excepthook is hook

    def fail() -> None:
        raise LookupError("to the hook")

    t = threading.Thread(target=fail)
    t.start()
    t.join(10)
    assert [c.exc_type for c in calls] == [LookupError]


def test_other_module_attributes_are_set_normally() -> None:
    threadkit._test_attribute = 1
    try:
        assert vars(threadkit)["_test_attribute"] == 1
        assert not hasattr(threading, "_test_attribute")
    finally:
        del threadkit._test_attribute


def test_py_typed_is_shipped() -> None:
    assert importlib.resources.files("threadkit").joinpath("py.typed").is_file()


def test_version_matches_the_installed_metadata() -> None:
    assert threadkit.__version__ == importlib.metadata.version("threadkit")


def test_core_exports_resolve() -> None:
    for name in threadkit._core.__all__:
        assert hasattr(threadkit._core, name), name
    assert threadkit._core.MockClock is threadkit.MockClock
    assert threadkit._core.DeadlockError is threadkit.DeadlockError
    assert threadkit._core.BrokenBarrierError is threadkit.BrokenBarrierError


def test_queue_module_is_an_attribute() -> None:
    import threadkit.queue

    assert threadkit.queue.__name__ == "threadkit.queue"
    assert "queue" not in threadkit.__all__  # a submodule, like os.path
    assert threadkit.queue.Queue.__module__ == "threadkit.queue"


def test_exit_module_is_an_attribute() -> None:
    import threadkit.exit

    assert threadkit.exit.__name__ == "threadkit.exit"
    assert "exit" not in threadkit.__all__  # a submodule, like threadkit.queue
    assert threadkit.exit.ExitPriority.TIMERS > threadkit.exit.ExitPriority.WORKERS
    assert threadkit.exit.ExitReport.__module__ == "threadkit.exit"


def test_aio_module_is_importable_on_demand() -> None:
    import threadkit.aio

    assert threadkit.aio.__name__ == "threadkit.aio"
    assert "aio" not in threadkit.__all__  # a submodule; imported only when asked (asyncio)
    assert {"recv", "send", "wait", "to_thread", "Portal", "select"} <= set(threadkit.aio.__all__)


def test_diagnostics_module_is_an_attribute() -> None:
    assert threadkit.diagnostics.__name__ == "threadkit.diagnostics"
    assert "diagnostics" not in threadkit.__all__  # a submodule, like threadkit.queue
    assert threadkit.dump is threadkit.diagnostics.dump
