"""The one shim between threadkit and the operating system.

This is the ONLY module in threadkit that imports ``_thread``, ``threading`` or the clock
(``time``). Every other module takes what it needs from here, so that a test double, the
deadlock detector or the interleaving explorer can swap an implementation in one place without
touching a feature module. ``tests/test_layers.py`` greps the source to keep it so.

Nothing here adds behaviour: these are the CPython objects themselves, re-exported (and a
few readings of the machine: its CPUs, the spin setting from the environment).
"""

from __future__ import annotations

import _thread
import os as _os
import sys as _sys
import threading as _threading
import time as _time

__all__ = [
    "TIMEOUT_MAX",
    "BrokenBarrierError",
    "ExceptHookArgs",
    "Lock",
    "LockType",
    "RLock",
    "StdBarrier",
    "StdCondition",
    "StdEvent",
    "StdSemaphore",
    "StdThread",
    "ThreadError",
    "active_count",
    "allocate_lock",
    "allocate_rlock",
    "cpu_count",
    "current_frames",
    "current_thread",
    "enumerate_threads",
    "excepthook",
    "get_ident",
    "get_native_id",
    "getprofile",
    "gettrace",
    "let_go_at_exit",
    "local",
    "main_thread",
    "monotonic",
    "perf_counter",
    "register_atexit",
    "setprofile",
    "settrace",
    "sleep",
    "spin_setting",
    "stack_size",
    "start_new_thread",
    "threading_module",
    "time_module",
    "yield_thread",
]

# The C lock: `Lock()` is `_thread.allocate_lock()`; `LockType` is its class.
# threadkit's own bookkeeping locks use allocate_lock/allocate_rlock, never Lock/RLock:
# `Lock` and `RLock` are the user-facing factories (threadkit.Lock, a Condition's default
# lock, a Barrier's lock), which threadkit.diagnostics replaces with traced locks while the
# lock-order detector or the tracer is on (and puts back afterwards).
allocate_lock = _thread.allocate_lock
allocate_rlock = _thread.RLock
Lock = _threading.Lock
LockType = _thread.LockType
# The C reentrant lock (threading.RLock is a factory that returns _thread.RLock).
RLock = _threading.RLock

get_ident = _thread.get_ident
get_native_id = _threading.get_native_id
TIMEOUT_MAX: float = _threading.TIMEOUT_MAX
ThreadError = _threading.ThreadError
local = _threading.local
stack_size = _threading.stack_size

StdThread = _threading.Thread
StdCondition = _threading.Condition
StdEvent = _threading.Event
StdSemaphore = _threading.Semaphore
StdBarrier = _threading.Barrier
BrokenBarrierError = _threading.BrokenBarrierError
ExceptHookArgs = _threading.ExceptHookArgs

current_thread = _threading.current_thread
main_thread = _threading.main_thread
enumerate_threads = _threading.enumerate
active_count = _threading.active_count
excepthook = _threading.excepthook
settrace = _threading.settrace
setprofile = _threading.setprofile
gettrace = _threading.gettrace
getprofile = _threading.getprofile

# The module itself, for the few attributes that differ between Python versions
# (``settrace_all_threads`` is 3.12+) and for the tour's "what the stdlib does" scenes.
threading_module = _threading

# threading's own hook for work that must finish before the interpreter exits (what
# concurrent.futures.thread uses; it runs before non-daemon threads are joined).
register_atexit = _threading._register_atexit  # type: ignore[attr-defined]

monotonic = _time.monotonic
perf_counter = _time.perf_counter
sleep = _time.sleep
# Give the CPU to another runnable thread (and the GIL, where there is one) and come back:
# what a brief spin before parking calls between its looks.
yield_thread = getattr(_os, "sched_yield", None) or (lambda: _time.sleep(0))


def spin_setting(default: float) -> float:
    """How long a thread spins before it parks, in seconds: ``THREADKIT_SPIN_US``
    (microseconds; 0 turns spinning off) if set, else ``default``; 0 on one CPU."""
    value = _os.environ.get("THREADKIT_SPIN_US")
    if value is None:
        seconds = default
    else:
        try:
            seconds = float(value) * 1e-6
        except ValueError:
            seconds = -1.0
        if not 0.0 <= seconds <= 0.005:  # (NaN fails too)
            raise ValueError(
                f"THREADKIT_SPIN_US must be a number of microseconds from 0 to 5000, not {value!r}"
            )
    return seconds if cpu_count() > 1 else 0.0


def cpu_count() -> int:
    """How many CPUs this process may run on (1 when unknown)."""
    try:
        return len(_os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return _os.cpu_count() or 1


# The module itself, for what swaps its functions for a run (the explorer's virtual time).
time_module = _time
# A bare OS thread: nothing of `threading` runs in it (the explorer's logical threads).
start_new_thread = _thread.start_new_thread

# Each thread's innermost frame, by ident (what a straggler report prints).
current_frames = _sys._current_frames


# Threads the interpreter's exit no longer waits for (Python 3.13+; see let_go_at_exit).
_let_go: set[int] = set()  # idents; changed only by the thread running the exit


def let_go_at_exit(thread: _threading.Thread) -> None:
    """Make the interpreter's exit stop waiting for ``thread``, a non-daemon thread.

    For the exit supervisor's stragglers: a non-daemon thread that outlived its deadline is
    left behind as a daemon thread would be, instead of hanging the exit. Python 3.11 and
    3.12 join the locks in ``threading._shutdown_locks``: the thread's lock leaves that set.
    Python 3.13+ join in ``_thread._shutdown()``, which offers no way to skip one thread:
    ``threading``'s reference to it is replaced, once, by a join of the other non-daemon
    threads. Call it from the thread that runs the exit (``threading._shutdown``'s atexit
    hooks), before the non-daemon threads are joined.
    """
    if thread.daemon or not thread.is_alive():
        return
    locks = getattr(_threading, "_shutdown_locks", None)
    if locks is not None:  # Python 3.11, 3.12
        with _threading._shutdown_locks_lock:  # type: ignore[attr-defined]
            locks.discard(thread._tstate_lock)  # type: ignore[attr-defined]
        return
    if thread.ident is not None:
        _let_go.add(thread.ident)
    if getattr(_threading, "_thread_shutdown", None) is not _join_kept_threads:
        _threading._thread_shutdown = _join_kept_threads  # type: ignore[attr-defined]


def _join_kept_threads() -> None:
    """``_thread._shutdown()`` without the threads let go: join every other non-daemon thread."""
    me = _thread.get_ident()
    while True:
        kept = [
            t
            for t in _threading.enumerate()
            if not t.daemon
            and t.ident != me
            and t.ident not in _let_go
            and not isinstance(t, _threading._DummyThread)
        ]
        if not kept:
            return
        for thread in kept:
            thread.join()
