"""The one shim between threadkit and the operating system.

This is the ONLY module in threadkit that imports ``_thread``, ``threading`` or the clock
(``time``). Every other module takes what it needs from here, so that a test double, the
deadlock detector or the interleaving explorer can swap an implementation in one place without
touching a feature module. ``tests/test_layers.py`` greps the source to keep it so.

Nothing here adds behaviour: these are the CPython objects themselves, re-exported.
"""

from __future__ import annotations

import _thread
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
    "current_thread",
    "enumerate_threads",
    "excepthook",
    "get_ident",
    "get_native_id",
    "getprofile",
    "gettrace",
    "local",
    "main_thread",
    "monotonic",
    "register_atexit",
    "setprofile",
    "settrace",
    "sleep",
    "stack_size",
    "threading_module",
]

# The C lock: `Lock()` is `_thread.allocate_lock()`; `LockType` is its class.
allocate_lock = _thread.allocate_lock
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
sleep = _time.sleep
