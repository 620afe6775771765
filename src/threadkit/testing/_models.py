"""The primitives as the explorer runs them: models on the controlled runtime.

Each visible operation is one scheduling point (``Runtime.point``) followed by a few steps
on plain Python state, which only the running logical thread touches. A thread that must
wait blocks in the runtime (``Runtime.block``), never on an OS object. While a schedule runs,
``patch()`` puts these in place of ``threading.Thread/Lock/RLock/Event/Condition/Semaphore/
BoundedSemaphore/current_thread/get_ident``, ``queue.Queue/LifoQueue/PriorityQueue/
SimpleQueue`` and ``time.sleep/monotonic/time``, so unmodified code written against the
standard library is controlled; so are threadkit's drop-in names (``threadkit.Lock``,
``threadkit.queue.Queue``, ..., for code written ``import threadkit as threading``). A
queue is modelled whole: ``put`` and ``get`` are one
operation each, not the handful of lock and condition operations of ``queue.py``.
"""

from __future__ import annotations

import functools
import heapq
import queue as _queue
import random
import sys
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .. import _rwlock
from .._core import _clock, _waitqueue
from .._core import _primitives as _p
from .._core import _random as _core_random
from ._runtime import LThread, Runtime, current_runtime, runtime_here

__all__ = ["patch"]


def _rt() -> Runtime:
    rt = current_runtime()
    if rt is None:
        raise RuntimeError("a primitive of the explorer used outside an explored run")
    return rt


def _label(obj: object) -> str:
    """``Lock #2``: a name for ``obj`` that is the same in every run of the schedule."""
    rt = current_runtime()
    return rt.label(obj) if rt is not None else f"{type(obj).__name__} at {id(obj):#x}"


def _deadline(rt: Runtime, timeout: float | None) -> float | None:
    """The virtual deadline of a wait of ``timeout`` (None: no deadline; a negative one has
    passed already)."""
    if timeout is None:
        return None
    return rt.now + max(timeout, 0.0)


def _misuse(exc: BaseException) -> BaseException:
    """``exc`` (the stdlib's own exception class and message), reported as kind "misuse":
    an operation that is an error in itself."""
    exc._tk_kind = "misuse"  # type: ignore[attr-defined]
    return exc


def _message_of(call: Callable[[], object]) -> str:
    try:
        call()
    except ValueError as exc:
        return str(exc)
    return ""


# The C lock's own messages (their wording differs between versions).
_NEGATIVE_TIMEOUT = _message_of(lambda: _p.allocate_lock().acquire(True, -2))
_TIMEOUT_NONBLOCKING = _message_of(lambda: _p.allocate_lock().acquire(False, 1))


def _check_lock_timeout(blocking: bool, timeout: float) -> None:
    """``Lock.acquire``'s argument checks, as the C lock makes them."""
    if not blocking and timeout != -1:
        raise ValueError(_TIMEOUT_NONBLOCKING)
    if timeout < 0 and timeout != -1:
        raise ValueError(_NEGATIVE_TIMEOUT)


class _Model:
    """A model made by a thread that is not the explorer's (a fixture's, a pool's made
    before the run) is the real thing: ``_real`` (set below, per class)."""

    _real: Any = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls._real is not None and not _in_run():
            return cls._real(*args, **kwargs)
        return super().__new__(cls)


class Lock(_Model):
    """``threading.Lock`` under the explorer."""

    def __init__(self) -> None:
        self._owner: LThread | None = None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        _check_lock_timeout(blocking, timeout)
        rt = _rt()
        rt.point("acquire", self)
        me = rt.me()  # (re-acquiring it blocks for ever: the runtime reports a deadlock)
        deadline = _deadline(rt, timeout) if blocking and timeout != -1 else None
        while self._owner is not None:
            if not blocking or timeout == 0:
                return False
            if not rt.block(self, deadline):
                return False
        self._owner = me
        return True

    def release(self) -> None:
        rt = _rt()
        rt.point("release", self)
        if self._owner is None:
            raise _misuse(RuntimeError("release unlocked lock"))
        self._owner = None
        rt.wake_all(self)

    def locked(self) -> bool:
        return self._owner is not None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *args: object) -> None:
        self.release()

    def _tk_holder(self) -> str | None:
        return None if self._owner is None else self._owner.name

    def _tk_describe(self) -> str:
        return _label(self)

    # The protocol Condition uses on its lock.
    def _is_owned(self) -> bool:
        return self._owner is not None

    def _release_save(self) -> object:
        self.release()
        return None

    def _acquire_restore(self, state: object) -> None:
        self.acquire()


class RLock(Lock):
    """``threading.RLock`` under the explorer."""

    def __init__(self) -> None:
        super().__init__()
        self._count = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        _check_lock_timeout(blocking, timeout)
        rt = _rt()
        me = rt.me()
        if self._owner is me:
            rt.point("acquire", self)
            self._count += 1
            return True
        if super().acquire(blocking, timeout):
            self._count = 1
            return True
        return False

    def release(self) -> None:
        rt = _rt()
        if self._owner is not rt.me():
            rt.point("release", self)
            raise _misuse(RuntimeError("cannot release un-acquired lock"))
        if self._count > 1:
            rt.point("release", self)
            self._count -= 1
            return
        self._count = 0
        super().release()

    def _is_owned(self) -> bool:
        return self._owner is _rt().me()

    def _release_save(self) -> object:
        count = self._count
        self._count = 1
        self.release()
        return count

    def _acquire_restore(self, state: object) -> None:
        self.acquire()
        self._count = int(state)  # type: ignore[call-overload]

    def _tk_describe(self) -> str:
        return _label(self)


class Event(_Model):
    """``threading.Event`` under the explorer."""

    def __init__(self) -> None:
        self._flag = False

    def is_set(self) -> bool:
        _rt().point("is_set", self)
        return self._flag

    isSet = is_set  # noqa: N815 - the stdlib's old name

    def set(self) -> None:
        rt = _rt()
        rt.point("set", self)
        self._flag = True
        rt.wake_all(self)

    def clear(self) -> None:
        _rt().point("clear", self)
        self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        rt = _rt()
        rt.point("wait", self)
        deadline = _deadline(rt, timeout)
        while not self._flag:
            if timeout is not None and timeout <= 0:
                return False
            if not rt.block(self, deadline):
                return self._flag
        return True

    def _tk_describe(self) -> str:
        return f"{_label(self)} ({'set' if self._flag else 'not set'})"


class Condition(_Model):
    """``threading.Condition`` under the explorer."""

    _tk_spurious = True  # (spurious_wakeups=True: a waiter may wake with no notify)

    def __init__(self, lock: Any = None) -> None:
        self._lock = RLock() if lock is None else lock
        self._waiters: list[LThread] = []

    def __enter__(self) -> bool:
        return bool(self._lock.acquire())

    def __exit__(self, *args: object) -> None:
        self._lock.release()

    def acquire(self, *args: Any) -> bool:
        return bool(self._lock.acquire(*args))

    def release(self) -> None:
        self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        rt = _rt()
        rt.point("wait", self)
        if not self._lock._is_owned():
            raise _misuse(RuntimeError("cannot wait on un-acquired lock"))
        me = rt.me()
        self._waiters.append(me)
        state = self._lock._release_save()
        try:
            waits = timeout is None or timeout > 0  # (the stdlib's: a negative one does not)
            notified = rt.block(self, _deadline(rt, timeout)) if waits else False
        finally:
            if me in self._waiters:  # timed out (or aborted): not notified
                self._waiters.remove(me)
            self._lock._acquire_restore(state)
        return notified

    def wait_for(self, predicate: Callable[[], Any], timeout: float | None = None) -> Any:
        rt = _rt()
        end = _deadline(rt, timeout)
        result = predicate()
        while not result:
            if end is not None:
                left = end - rt.now
                if left <= 0:
                    break
                self.wait(left)
            else:
                self.wait()
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        rt = _rt()
        rt.point("notify", self)
        if not self._lock._is_owned():
            raise _misuse(RuntimeError("cannot notify on un-acquired lock"))
        for thread in self._waiters[:n]:
            self._waiters.remove(thread)
            rt.wake(thread)

    def notify_all(self) -> None:
        self.notify(len(self._waiters))

    notifyAll = notify_all  # noqa: N815 - the stdlib's old name

    def _tk_describe(self) -> str:
        return _label(self)


class Semaphore(_Model):
    """``threading.Semaphore`` under the explorer."""

    def __init__(self, value: int = 1) -> None:
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._value = value

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        rt = _rt()
        rt.point("acquire", self)
        deadline = _deadline(rt, timeout) if blocking else None
        while self._value == 0:
            if not blocking or (timeout is not None and timeout <= 0):
                return False
            if not rt.block(self, deadline):
                return False
        self._value -= 1
        return True

    __enter__ = acquire

    def release(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError("n must be one or more")
        rt = _rt()
        rt.point("release", self)
        self._value += n
        rt.wake_all(self)

    def __exit__(self, *args: object) -> None:
        self.release()

    def _tk_describe(self) -> str:
        return f"{_label(self)} (value {self._value})"


class BoundedSemaphore(Semaphore):
    """``threading.BoundedSemaphore`` under the explorer."""

    def __init__(self, value: int = 1) -> None:
        super().__init__(value)
        self._initial = value

    def release(self, n: int = 1) -> None:
        if n >= 1 and self._value + n > self._initial:
            _rt().point("release", self)
            raise _misuse(ValueError("Semaphore released too many times"))
        super().release(n)


class _WaitKey:
    """What a thread blocked on a queue waits for (shown in a deadlock table)."""

    def __init__(self, what: str, owner: Any) -> None:
        self.what = what
        self.owner = owner

    def _tk_describe(self) -> str:
        return f"{self.what} of {self.owner._tk_describe()}"


_ShutDown: Any = getattr(_queue, "ShutDown", None)


class Queue(_Model):
    """``queue.Queue`` under the explorer (with 3.13's ``shutdown`` where the stdlib has it)."""

    def __init__(self, maxsize: int = 0) -> None:
        self.maxsize = maxsize
        self._init(maxsize)
        self.unfinished_tasks = 0
        self.is_shutdown = False
        self._readable = _WaitKey("an item (get)", self)
        self._writable = _WaitKey("a free slot (put)", self)
        self._done = _WaitKey("all tasks done (join)", self)

    # The storage, as the stdlib's subclass hooks.
    def _init(self, maxsize: int) -> None:
        self.queue: Any = deque()

    def _qsize(self) -> int:
        return len(self.queue)

    def _put(self, item: Any) -> None:
        self.queue.append(item)

    def _get(self) -> Any:
        return self.queue.popleft()

    def _full(self) -> bool:
        return 0 < self.maxsize <= self._qsize()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        rt = _rt()
        rt.point("put", self)
        if self.is_shutdown:
            raise _ShutDown
        if self.maxsize > 0 and block and timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")  # (bounded only)
        deadline = _deadline(rt, timeout)
        while self._full():
            if not block or (timeout is not None and timeout <= 0):
                raise _queue.Full
            if not rt.block(self._writable, deadline) and self._full():
                raise _queue.Full
            if self.is_shutdown:
                raise _ShutDown
        self._put(item)
        self.unfinished_tasks += 1
        rt.wake_all(self._readable)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        rt = _rt()
        rt.point("get", self)
        if self.is_shutdown and not self._qsize():
            raise _ShutDown
        if block and timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        deadline = _deadline(rt, timeout)
        while not self._qsize():
            if not block or (timeout is not None and timeout <= 0):
                raise _queue.Empty
            if not rt.block(self._readable, deadline) and not self._qsize():
                raise _queue.Empty
            if self.is_shutdown and not self._qsize():
                raise _ShutDown
        item = self._get()
        rt.wake_all(self._writable)
        return item

    def put_nowait(self, item: Any) -> None:
        self.put(item, block=False)

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def task_done(self) -> None:
        rt = _rt()
        rt.point("task_done", self)
        if self.unfinished_tasks <= 0:
            raise ValueError("task_done() called too many times")
        self.unfinished_tasks -= 1
        if self.unfinished_tasks == 0:
            rt.wake_all(self._done)

    def join(self) -> None:
        rt = _rt()
        rt.point("join", self)
        while self.unfinished_tasks:
            rt.block(self._done, None)

    def qsize(self) -> int:
        _rt().point("qsize", self)
        return self._qsize()

    def empty(self) -> bool:
        _rt().point("empty", self)
        return not self._qsize()

    def full(self) -> bool:
        _rt().point("full", self)
        return self._full()

    def shutdown(self, immediate: bool = False) -> None:
        rt = _rt()
        rt.point("shutdown", self)
        self.is_shutdown = True
        if immediate:
            while self._qsize():
                self._get()
                if self.unfinished_tasks > 0:
                    self.unfinished_tasks -= 1
            rt.wake_all(self._done)  # (as 3.13's: joiners re-check unfinished_tasks)
        rt.wake_all(self._readable)
        rt.wake_all(self._writable)

    def _tk_describe(self) -> str:
        return f"{_label(self)} ({self._qsize()} items)"


if _ShutDown is None:  # (before 3.13: the stdlib's Queue has no shutdown())
    del Queue.shutdown


class LifoQueue(Queue):
    """``queue.LifoQueue`` under the explorer."""

    def _init(self, maxsize: int) -> None:
        self.queue = []

    def _get(self) -> Any:
        return self.queue.pop()


class PriorityQueue(Queue):
    """``queue.PriorityQueue`` under the explorer."""

    def _init(self, maxsize: int) -> None:
        self.queue = []

    def _put(self, item: Any) -> None:
        heapq.heappush(self.queue, item)

    def _get(self) -> Any:
        return heapq.heappop(self.queue)


class SimpleQueue(_Model):
    """``queue.SimpleQueue`` under the explorer."""

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._readable = _WaitKey("an item (get)", self)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        rt = current_runtime()
        if rt is None:  # (after the run: concurrent.futures' exit handler wakes its workers)
            self._items.append(item)
            return
        rt.point("put", self)
        self._items.append(item)
        rt.wake_all(self._readable)

    put_nowait = put

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        rt = _rt()
        rt.point("get", self)
        if block and timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        deadline = _deadline(rt, timeout)
        while not self._items:
            if not block or (timeout is not None and timeout <= 0):
                raise _queue.Empty
            if not rt.block(self._readable, deadline) and not self._items:
                raise _queue.Empty
        return self._items.popleft()

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def qsize(self) -> int:
        _rt().point("qsize", self)
        return len(self._items)

    def empty(self) -> bool:
        _rt().point("empty", self)
        return not self._items

    def _tk_describe(self) -> str:
        return f"{_label(self)} ({len(self._items)} items)"


class Thread(_Model):
    """``threading.Thread`` under the explorer: a logical thread of the run."""

    def __init__(
        self,
        group: None = None,
        target: Callable[..., object] | None = None,
        name: str | None = None,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        daemon: bool | None = None,
    ) -> None:
        if Thread not in type(self).__mro__:  # `Thread.__init__(self)` from a real subclass
            _StdThread.__init__(self, group, target, name, args, kwargs, daemon=daemon)
            return
        rt = _rt()
        self._target = target
        self._args = args
        self._kwargs = {} if kwargs is None else kwargs
        self._lthread: LThread | None = None
        if name is None:
            rt.names += 1
            name = f"Thread-{rt.names}"
            if target is not None and hasattr(target, "__name__"):
                name += f" ({target.__name__})"  # (as the stdlib names them)
        self._name = name
        self.daemon = bool(daemon)
        self._started = False

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def ident(self) -> int | None:
        return None if self._lthread is None else self._lthread.index

    native_id = ident

    def run(self) -> None:
        if self._target is not None:
            self._target(*self._args, **self._kwargs)

    def start(self) -> None:
        if self._started:
            raise RuntimeError("threads can only be started once")
        self._started = True
        self._lthread = _start(self, self._name, self.run)

    def is_alive(self) -> bool:
        return _alive(self._lthread)

    def join(self, timeout: float | None = None) -> None:
        _join(self, self._lthread, timeout)

    def getName(self) -> str:  # noqa: N802 - the stdlib's old name
        return self._name

    def _tk_holder(self) -> str | None:
        return self._name if self.is_alive() else None

    def _tk_describe(self) -> str:
        return f"the end of thread {self._name!r}"

    def __repr__(self) -> str:
        return f"<explored Thread({self._name})>"


def _start(obj: Any, name: str, run: Callable[[], object]) -> LThread:
    """Start a logical thread for the Thread ``obj`` (a model, or a real Thread's subclass)."""
    rt = _rt()
    rt.point("start", obj)
    thread = rt.new_thread(name, obj)
    rt.start(thread, run)
    return thread


def _alive(thread: LThread | None) -> bool:
    return thread is not None and thread.state not in ("new", "done")


def _join(obj: Any, thread: LThread | None, timeout: float | None) -> None:
    rt = current_runtime()
    if rt is None:  # (after the run: concurrent.futures' exit handler joins its workers)
        return
    rt.point("join", obj)
    if thread is None:
        raise RuntimeError("cannot join thread before it is started")
    if thread is rt.me():
        raise RuntimeError("cannot join current thread")
    deadline = _deadline(rt, timeout)
    while _alive(thread):
        if timeout is not None and timeout <= 0:
            return
        if not rt.block(obj, deadline):
            return


# A class made at import time from the real ``threading.Thread`` (``class Worker(Thread)``,
# ``threading.Timer``) keeps the real class as its base: during a run, the real class's
# start/join/is_alive run its instances as logical threads too.
_StdThread: Any = _p.threading_module.Thread
_STD_THREAD = {name: vars(_StdThread)[name] for name in ("start", "join", "is_alive")}


def _in_run() -> bool:
    return runtime_here() is not None


def _std_start(self: Any) -> None:
    if not _in_run():
        _STD_THREAD["start"](self)
        return
    if "_tk_lthread" in self.__dict__:
        raise RuntimeError("threads can only be started once")
    self._tk_lthread = None
    self._tk_lthread = _start(self, self.name, self.run)


def _std_is_alive(self: Any) -> bool:
    if "_tk_lthread" not in self.__dict__:
        return bool(_STD_THREAD["is_alive"](self))
    return _alive(self._tk_lthread)


def _std_join(self: Any, timeout: float | None = None) -> None:
    if "_tk_lthread" not in self.__dict__:
        _STD_THREAD["join"](self, timeout)
        return
    _join(self, self._tk_lthread, timeout)


_STD_THREAD_MODELS = {"start": _std_start, "join": _std_join, "is_alive": _std_is_alive}


def current_thread() -> Any:
    rt = current_runtime()
    if rt is not None:
        thread = rt.by_ident.get(_p.get_ident())
        if thread is not None:
            if thread.obj is None:  # the body's thread: one proxy, so `is` compares work
                thread.obj = _MainProxy(thread)
            return thread.obj
    return _REAL["current_thread"]()


class _MainProxy:
    """What ``current_thread()`` returns in the explored body (logical thread 0)."""

    def __init__(self, thread: LThread) -> None:
        self.name = thread.name
        self.ident = 0
        self.daemon = False

    def is_alive(self) -> bool:
        return True


def get_ident() -> int:
    rt = current_runtime()
    if rt is not None:
        thread = rt.by_ident.get(_p.get_ident())
        if thread is not None:
            return thread.index
    return int(_REAL["get_ident"]())


def sleep(seconds: float) -> None:
    if not _in_run():  # (a thread that is not the explorer's: real time)
        _REAL["sleep"](seconds)
        return
    rt = _rt()
    rt.point("sleep")
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    if seconds > 0:  # (sleep(0) only yields: the point above)
        rt.block(_SLEEP, rt.now + seconds)


def monotonic() -> float:
    rt = runtime_here()
    return rt.now if rt is not None else _REAL["monotonic"]()


def time() -> float:
    rt = runtime_here()
    return 1_700_000_000.0 + rt.now if rt is not None else float(_REAL["time"]())


def _newname(name_template: str = "Thread-%d") -> str:
    """``threading._newname`` during a run: threads are numbered per schedule (the same
    names in a run and its replay)."""
    rt = runtime_here()
    if rt is None:
        return str(_REAL["_newname"](name_template))
    rt.names += 1
    return name_template % rt.names


class _Sleep:
    def _tk_describe(self) -> str:
        return "sleep"


_SLEEP = _Sleep()


class _Parker:
    """A logical thread's parker under the explorer (``_waitqueue.Waiter.lock``): every
    threadkit primitive that blocks (a Mutex, a channel, a WaitGroup, ...) parks on it, so
    it blocks in the runtime, never on an OS object. No scheduling point of its own: it is
    released with a wait queue's lock held, and acquired (parked on) without one."""

    def __init__(self, thread: LThread) -> None:
        self._held = True  # (a parker is kept acquired while idle)
        self._thread = thread

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        rt = _rt()
        deadline = _deadline(rt, timeout) if blocking and timeout != -1 else None
        while self._held:
            if not blocking or timeout == 0:
                return False
            if not rt.block(self, deadline) and self._held:
                return False
        self._held = True
        return True

    def release(self) -> None:
        if not self._held:
            raise RuntimeError("release unlocked lock")
        self._held = False
        _rt().wake_all(self)

    def locked(self) -> bool:
        return self._held

    def _tk_describe(self) -> str:
        op, obj = self._thread.op
        if obj is None:
            return "a threadkit primitive"
        return f"{type(obj).__name__}.{op}() on {_label(obj)}"

    def _tk_holder(self) -> str | None:
        owner = getattr(self._thread.op[1], "_owner", None)  # (a Mutex's)
        name = getattr(owner, "name", None)
        return name if isinstance(name, str) else None


def thread_started(thread: LThread) -> None:
    """Give the logical thread starting now its parker (called by the thread itself)."""
    waiter = _waitqueue.Waiter()
    waiter.lock = _Parker(thread)  # type: ignore[assignment]
    _waitqueue._tls.waiter = waiter


def thread_ended() -> None:
    """Forget the parker (the worker's OS thread will run other logical threads)."""
    _waitqueue._tls.waiter = None


class _Random(random.Random):
    """threadkit's source of scheduling choices during a run (``_core._random``): in a
    logical thread each draw is a decision of the strategy (``Runtime.decide``), so a
    select among ready arms is explored and replayed like the threads' order."""

    def random(self) -> float:
        rt = runtime_here()
        if rt is None:
            return super().random()
        return (rt.decide(2) + 0.5) / 2  # 0.25 or 0.75: below or above a half

    def _randbelow(self, n: int) -> int:  # (what shuffle, choice and randrange use)
        rt = runtime_here()
        if rt is None:
            return int(super()._randbelow(n))  # type: ignore[misc]
        return rt.decide(n)


class _Clock:
    """threadkit's clock during a run: virtual time (threadkit's primitives time out on it)."""

    virtual = False  # (a timed park waits on the parker with a timeout: virtual already)

    def now(self) -> float:
        rt = current_runtime()
        return _REAL["monotonic"]() if rt is None else rt.now

    def call_at(self, deadline: float, callback: Callable[[], object]) -> None:
        raise NotImplementedError("the explorer's clock is not a MockClock")


_CLOCK = _Clock()
_REAL: dict[str, Any] = {
    "sleep": _p.time_module.sleep,
    "_newname": _p.threading_module._newname,  # type: ignore[attr-defined]
    "current_thread": _p.threading_module.current_thread,
    "get_ident": _p.threading_module.get_ident,
    "monotonic": _p.time_module.monotonic,
    "time": _p.time_module.time,
}

# What a model made outside the run is instead.
for _model, _real in (
    (Lock, _p.threading_module.Lock),
    (RLock, _p.threading_module.RLock),
    (Event, _p.threading_module.Event),
    (Condition, _p.threading_module.Condition),
    (Semaphore, _p.threading_module.Semaphore),
    (BoundedSemaphore, _p.threading_module.BoundedSemaphore),
    (Thread, _p.threading_module.Thread),
    (Queue, _queue.Queue),
    (LifoQueue, _queue.LifoQueue),
    (PriorityQueue, _queue.PriorityQueue),
    (SimpleQueue, _queue.SimpleQueue),
):
    _model._real = _real

_THREADING = {
    "_newname": _newname,
    "Thread": Thread,
    "Lock": Lock,
    "RLock": RLock,
    "Event": Event,
    "Condition": Condition,
    "Semaphore": Semaphore,
    "BoundedSemaphore": BoundedSemaphore,
    "current_thread": current_thread,
    "currentThread": current_thread,
    "get_ident": get_ident,
}
_TIME = {"sleep": sleep, "monotonic": monotonic, "time": time}
_QUEUE = {
    "Queue": Queue,
    "LifoQueue": LifoQueue,
    "PriorityQueue": PriorityQueue,
    "SimpleQueue": SimpleQueue,
}
# threadkit's drop-in names (``import threadkit as threading`` code): the same models.
# threadkit's drop-in Lock and RLock are the C locks: the models stand in for them. Its other
# primitives keep their own code (and their additions: Thread.result(), Event.wait_op(), ...):
# each operation gets a scheduling point and waits park on the explorer (_operations, _Parker).
_THREADKIT = {
    "Lock": Lock,
    "RLock": RLock,
    "current_thread": current_thread,
    "currentThread": current_thread,
    "get_ident": get_ident,
}
# The shim's user-facing factories (threadkit.Condition's default lock comes from them).
_SHIM = {"Lock": Lock, "RLock": RLock, "current_thread": current_thread}

# Methods of threadkit's own primitives that are visible operations beyond the public ones.
_DUNDER_OPS = ("__enter__", "__exit__", "__iter__", "__next__")


def _visible(fn: Callable[..., Any], op: str) -> Callable[..., Any]:
    """``fn`` (a method of a threadkit primitive) with a scheduling point before it, when a
    logical thread calls it from outside threadkit's other operations."""

    @functools.wraps(fn)
    def operation(self: Any, *args: Any, **kwargs: Any) -> Any:
        rt = current_runtime()
        me = None if rt is None else rt.by_ident.get(_p.get_ident())
        if me is None:
            return fn(self, *args, **kwargs)
        if not me.in_op:
            me.op = (op, self)
            rt.point(op, self)  # type: ignore[union-attr]
        me.in_op += 1
        try:
            return fn(self, *args, **kwargs)
        finally:
            me.in_op -= 1

    return operation


_OPERATIONS: list[tuple[Any, str, Any, Any]] = []


def _operations(threadkit: Any) -> list[tuple[Any, str, Any, Any]]:
    """(class, name, method, wrapped method) of each operation, each once (made once)."""
    if not _OPERATIONS:
        done: set[tuple[Any, str]] = set()
        for klass, name, wrapped in _threadkit_operations(threadkit):
            if (klass, name) not in done:
                done.add((klass, name))
                _OPERATIONS.append((klass, name, vars(klass)[name], wrapped))
    return _OPERATIONS


def _threadkit_operations(threadkit: Any) -> list[tuple[Any, str, Any]]:
    """(class, name, wrapped method) for every operation of threadkit's primitives (the
    public classes with ``statistics()``: Mutex, channels, WaitGroup, ...). Blocking in
    them parks on the logical thread's ``_Parker``."""
    out = []
    for export in getattr(threadkit, "__all__", ()):
        cls = getattr(threadkit, export, None)
        if not isinstance(cls, type) or not hasattr(cls, "statistics"):
            continue
        for klass in cls.__mro__:
            if klass.__module__.partition(".")[0] != "threadkit":
                continue
            for name, attr in vars(klass).items():
                public = not name.startswith("_") or name in _DUNDER_OPS
                if public and name != "statistics" and callable(attr) and hasattr(attr, "__code__"):
                    out.append((klass, name, _visible(attr, name.strip("_"))))
    return out


@contextmanager
def patch() -> Iterator[None]:
    """Put the models in place of the stdlib's names for the block (then the originals back)."""
    saved: list[tuple[Any, str, Any]] = []
    try:
        threadkit = sys.modules["threadkit"]
        for module, names in (
            (_p.threading_module, _THREADING),
            (_p.time_module, _TIME),
            (_queue, _QUEUE),
            (threadkit, _THREADKIT),
            (_p, _SHIM),
        ):
            for name, model in names.items():
                saved.append((module, name, getattr(module, name)))
                setattr(module, name, model)
        saved.append((_clock, "_current", _clock._current))
        _clock._current = _CLOCK
        saved.append((_core_random, "_current", _core_random._current))
        _core_random._current = _Random(0)
        # No fast reads: a logical thread's RWLock slot would outlive it on a shared OS thread.
        saved.append((_rwlock, "_FAST_READS", _rwlock._FAST_READS))
        _rwlock._FAST_READS = False
        # No spinning before parking: one logical thread runs at a time, so a spin cannot
        # see another's progress (it would only waste real time).
        saved.append((_waitqueue, "SPIN", _waitqueue.SPIN))
        _waitqueue.SPIN = 0.0
        for name, model in _STD_THREAD_MODELS.items():
            saved.append((_StdThread, name, vars(_StdThread)[name]))
            setattr(_StdThread, name, model)
        for klass, name, original, wrapped in _operations(threadkit):
            current = vars(klass)[name]  # (the diagnostics may have swapped their own in)
            saved.append((klass, name, current))
            op = name.strip("_")
            setattr(klass, name, wrapped if current is original else _visible(current, op))
        yield
    finally:
        for module, name, original in reversed(saved):
            setattr(module, name, original)
