"""threadkit: ``threading``, ``queue`` and ``concurrent.futures`` with the traps removed.

``import threadkit as threading`` is a one-line migration: every name of ``threading`` that
threadkit provides has the same signature, return values, exceptions and messages. The
additions are keyword-only arguments, new methods and new names.

This module only re-exports: the code lives in private modules (see ARCHITECTURE.md).
"""

from __future__ import annotations

import sys as _sys
import types as _types

from . import diagnostics as diagnostics

# The mirror of the stdlib's ``queue`` module, as ``threadkit.queue`` after ``import threadkit``.
from . import exit as exit
from . import futures as futures
from . import queue as queue
from ._channel import Broadcast as Broadcast
from ._channel import BroadcastStatistics as BroadcastStatistics
from ._channel import ChannelClosed as ChannelClosed
from ._channel import ChannelStatistics as ChannelStatistics
from ._channel import EndOfChannel as EndOfChannel
from ._channel import Lagged as Lagged
from ._channel import Receiver as Receiver
from ._channel import Select as Select
from ._channel import Sender as Sender
from ._channel import Subscriber as Subscriber
from ._channel import SubscriberStatistics as SubscriberStatistics
from ._channel import after as after
from ._channel import never as never
from ._channel import open_channel as open_channel
from ._channel import select as select
from ._channel import tick as tick
from ._coordination import CapacityLimiter as CapacityLimiter
from ._coordination import CapacityLimiterStatistics as CapacityLimiterStatistics
from ._coordination import CountDownLatch as CountDownLatch
from ._coordination import CountDownLatchStatistics as CountDownLatchStatistics
from ._coordination import Notify as Notify
from ._coordination import NotifyStatistics as NotifyStatistics
from ._coordination import OnceStatistics as OnceStatistics
from ._coordination import OnceValue as OnceValue
from ._coordination import WaitGroup as WaitGroup
from ._coordination import WaitGroupStatistics as WaitGroupStatistics
from ._coordination import Watch as Watch
from ._coordination import WatchStatistics as WatchStatistics
from ._coordination import once as once
from ._core import _primitives as _p
from ._core import fixup_module_metadata as _fixup
from ._core._cancel import Cancelled as Cancelled
from ._core._cancel import CancelScope as CancelScope
from ._core._cancel import checkpoint as checkpoint
from ._core._cancel import current_deadline as current_deadline
from ._core._cancel import fail_after as fail_after
from ._core._cancel import move_on_after as move_on_after
from ._core._clock import MockClock as MockClock
from ._core._clock import use_clock as use_clock
from ._core._exceptions import BrokenBarrierError as BrokenBarrierError
from ._core._exceptions import DeadlockError as DeadlockError
from ._core._exceptions import WouldBlock as WouldBlock
from ._core._random import use_random as use_random
from ._core._select import SelectOp as SelectOp
from ._rwlock import RWLock as RWLock
from ._rwlock import RWLockStatistics as RWLockStatistics
from ._scheduler import Scheduler as Scheduler
from ._scheduler import SchedulerStatistics as SchedulerStatistics
from ._scheduler import TimerHandle as TimerHandle
from ._scheduler import default_scheduler as default_scheduler
from ._sync import Barrier as Barrier
from ._sync import BarrierStatistics as BarrierStatistics
from ._sync import BoundedSemaphore as BoundedSemaphore
from ._sync import Condition as Condition
from ._sync import ConditionStatistics as ConditionStatistics
from ._sync import Event as Event
from ._sync import EventStatistics as EventStatistics
from ._sync import Mutex as Mutex
from ._sync import MutexStatistics as MutexStatistics
from ._sync import Semaphore as Semaphore
from ._sync import SemaphoreStatistics as SemaphoreStatistics
from ._sync import acquire as acquire
from ._sync import sleep as sleep
from ._taskgroup import Task as Task
from ._taskgroup import TaskGroup as TaskGroup
from ._threads import Thread as Thread
from ._threads import ThreadStatistics as ThreadStatistics
from ._threads import activeCount as activeCount
from ._threads import currentThread as currentThread
from ._timers import PeriodicStatistics as PeriodicStatistics
from ._timers import PeriodicTimer as PeriodicTimer
from ._timers import Timer as Timer
from ._worker import Service as Service
from ._worker import Worker as Worker
from ._worker import WorkerState as WorkerState
from ._worker import WorkerStatistics as WorkerStatistics
from .diagnostics import dump as dump
from .diagnostics._trace import Tracer as Tracer
from .diagnostics._trace import trace as trace

__version__ = "0.3.0"

# The C locks themselves: drop-in speed.
Lock = _p.Lock
RLock = _p.RLock

# The stdlib's own functions and values.
current_thread = _p.current_thread
main_thread = _p.main_thread
enumerate = _p.enumerate_threads
active_count = _p.active_count
get_ident = _p.get_ident
get_native_id = _p.get_native_id
settrace = _p.settrace
setprofile = _p.setprofile
gettrace = _p.gettrace
getprofile = _p.getprofile
stack_size = _p.stack_size
local = _p.local
TIMEOUT_MAX = _p.TIMEOUT_MAX
ThreadError = _p.ThreadError
ExceptHookArgs = _p.ExceptHookArgs

__all__ = [
    "TIMEOUT_MAX",
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

_fixup(__name__, globals())


def __getattr__(name: str) -> object:
    # ``excepthook`` lives in ``threading``, where threads look for it: read it from there.
    if name == "excepthook":
        return _p.threading_module.excepthook
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Module(_types.ModuleType):
    """Forward ``threadkit.excepthook = hook`` to ``threading``, where threads look for it."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "excepthook":
            _p.threading_module.excepthook = value  # type: ignore[assignment]
            return
        super().__setattr__(name, value)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        # Pickled by name, as a plain module is (cloudpickle, sending a function that uses
        # threadkit to another process, would otherwise refuse this ModuleType subclass).
        import importlib

        return importlib.import_module, (self.__name__,)


_sys.modules[__name__].__class__ = _Module
