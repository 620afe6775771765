"""The instrumented implementations that diagnostics swap in while they are on.

DESIGN sec. 6: nothing here runs while the lock-order detector and the tracer are off. Turning
one on (``install()``, reference-counted) swaps implementations in:

* the user-facing lock factories, ``threading.Lock``/``threading.RLock``, threadkit's
  ``Lock``/``RLock`` (``threadkit`` and the ``_core._primitives`` shim, which a ``Condition``'s
  default lock and a ``Barrier`` use) now make ``TracedLock``/``TracedRLock``: a C lock that
  knows its owner and emits hook events. Locks made before stay plain C locks;
* instrumented methods on threadkit's classes (``Mutex``, ``RWLock``'s guards and
  ``acquire_*``/``release_*``, the queues, the channels' ends, the pool's ``submit`` and its
  work items) and ``threading.Thread.join``: each calls the original and emits the events of
  ``_core._hooks`` around it.

``uninstall()`` by the last user puts every original back. The listeners (the detector, the
tracer, ``dump()``) only see events; which object holds a lock is told by ``holders()``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from .. import _channel, _pool, _queue, _rwlock, _sync
from .._core import _hooks
from .._core import _primitives as _p
from .._core._deadlines import lock_deadline
from .._futures import Future

__all__ = ["TracedLock", "TracedRLock", "holders", "install", "installed", "uninstall"]

_emit = _hooks.emit


def _site(depth: int) -> str:
    """``file:line`` of the caller ``depth`` frames up (where a traced lock was made)."""
    try:
        frame = sys._getframe(depth + 1)
    except ValueError:  # pragma: no cover - no such frame
        return "?"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


class TracedLock:
    """A ``threading.Lock`` that reports to threadkit's diagnostics.

    ``threading.Lock()`` and ``threadkit.Lock()`` make one while the lock-order detector or
    the tracer is on. Same interface and semantics as the C lock (any thread may release
    it); it remembers which thread holds it and where it was made, and emits ``acquire``,
    ``park``/``wake``/``timeout``/``abandon``, ``acquired`` and ``release`` events while
    listeners are installed (afterwards it is a plain lock with one more attribute store).
    """

    __slots__ = ("__weakref__", "_lock", "_lost", "_owner", "site")

    def __init__(self) -> None:
        self._lock = _p.allocate_lock()
        # The ident of the thread that holds it, or None. Written under the lock's own
        # ownership: set by the acquirer after it got the C lock, cleared before the C
        # release, so a recorded owner always holds it (the deadlock detector relies on it).
        self._owner: int | None = None
        self._lost: tuple[int, int] | None = None  # see _restore
        self.site = _site(1)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire the lock; see ``threading.Lock.acquire``."""
        if not _hooks.enabled:
            if self._lock.acquire(blocking, timeout):
                self._owner = _p.get_ident()
                return True
            return False
        return _take(self, blocking, timeout, True)

    acquire_lock = acquire  # (the C lock's old aliases)

    def release(self) -> None:
        """Release the lock (any thread may); ``RuntimeError`` if it is not locked."""
        if self._lost is not None and _forgive(self):
            return
        owner = self._owner
        self._owner = None
        try:
            self._lock.release()
        except BaseException:
            self._owner = owner
            raise
        if _hooks.enabled:
            _emit("release", self, owner)

    release_lock = release

    def locked(self) -> bool:
        """Return True if the lock is held."""
        return self._lock.locked()

    locked_lock = locked
    __enter__ = acquire

    def __exit__(self, *args: object) -> None:
        self.release()

    # The protocol threading.Condition uses on its lock, so that the re-acquire after a
    # wait is marked as one (it cannot be refused: the caller's `with` expects the lock).
    def _is_owned(self) -> bool:
        return self._lock.locked()  # (what Condition assumes of a plain Lock)

    def _release_save(self) -> None:
        self.release()

    def _acquire_restore(self, state: object) -> None:
        _restore(self, 1)

    def _at_fork_reinit(self) -> None:
        self._lock._at_fork_reinit()  # type: ignore[attr-defined]
        self._owner = None

    def __reduce__(self) -> Any:
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    def __repr__(self) -> str:
        state = "locked" if self._lock.locked() else "unlocked"
        return f"<{state} threadkit traced Lock made at {self.site} at {id(self):#x}>"


class TracedRLock:
    """A ``threading.RLock`` that reports to threadkit's diagnostics (see ``TracedLock``).

    A re-entrant acquire by the owner, and a release that leaves it held, emit nothing: the
    diagnostics see one acquisition and one release per holding. It has the protocol
    ``threading.Condition`` uses on its lock (``_is_owned``, ``_release_save``,
    ``_acquire_restore``), so a Condition's wait is seen as a release and a re-acquire.
    """

    __slots__ = ("__weakref__", "_count", "_lock", "_lost", "_owner", "site")

    def __init__(self) -> None:
        self._lock = _p.allocate_rlock()
        self._owner: int | None = None  # written only by the thread that holds it
        self._count = 0  # levels held by _owner
        self._lost: tuple[int, int] | None = None  # see _restore
        self.site = _site(1)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire the lock, or one more level of it; see ``threading.RLock.acquire``."""
        if self._owner == _p.get_ident():
            got = self._lock.acquire(blocking, timeout)  # re-entrant: at once
            if got:
                self._count += 1
            return got
        if not _hooks.enabled:
            if self._lock.acquire(blocking, timeout):
                self._owner = _p.get_ident()
                self._count = 1
                return True
            return False
        return _take(self, blocking, timeout, True)

    def release(self) -> None:
        """Release one level; ``RuntimeError`` if the calling thread does not hold it."""
        if self._lost is not None and _forgive(self):
            return
        if self._owner != _p.get_ident():
            self._lock.release()  # raises the C lock's "cannot release un-acquired lock"
            return  # pragma: no cover
        if self._count > 1:
            self._count -= 1
            self._lock.release()
            return
        self._release_all()

    def _release_all(self) -> int:
        owner, count = self._owner, self._count
        self._owner = None
        self._count = 0
        for _ in range(count):
            self._lock.release()
        if _hooks.enabled:
            _emit("release", self, owner)
        return count

    __enter__ = acquire

    def __exit__(self, *args: object) -> None:
        self.release()

    def locked(self) -> bool:
        """Return True if some thread holds the lock."""
        return self._owner is not None

    def _is_owned(self) -> bool:
        return self._owner == _p.get_ident()

    def _recursion_count(self) -> int:
        return self._count if self._owner == _p.get_ident() else 0

    def _release_save(self) -> int:
        if self._owner != _p.get_ident():
            raise RuntimeError("cannot release un-acquired lock")
        return self._release_all()

    def _acquire_restore(self, count: int) -> None:
        _restore(self, count)

    def _at_fork_reinit(self) -> None:
        self._lock._at_fork_reinit()  # type: ignore[attr-defined]
        self._owner = None
        self._count = 0

    def __reduce__(self) -> Any:
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    def __repr__(self) -> str:
        state = "locked" if self._owner is not None else "unlocked"
        return (
            f"<{state} threadkit traced RLock made at {self.site} owner={self._owner} "
            f"count={self._count} at {id(self):#x}>"
        )


def _restore(lock_obj: TracedLock | TracedRLock, levels: int) -> None:
    """A Condition's re-acquire of its traced lock after a wait (``levels`` deep).

    It is marked "restore" (listeners must not refuse it). If it fails all the same (a
    ``DeadlockError`` for a real cycle of waits, an interrupt), the caller's ``with`` blocks
    will release the lock it does not hold: those releases are forgiven, so that the error
    itself reaches the caller, not a "cannot release un-acquired lock" in its place.
    """
    try:
        if not _hooks.enabled:
            lock_obj._lock.acquire()
            lock_obj._owner = _p.get_ident()
            if isinstance(lock_obj, TracedRLock):
                lock_obj._count = 1
        else:
            _take(lock_obj, True, -1, "restore")
    except BaseException:
        if lock_obj._owner != _p.get_ident():  # not taken (else: taken, then an error)
            lock_obj._lost = (_p.get_ident(), levels)
        raise
    for _ in range(levels - 1):
        lock_obj._lock.acquire()  # (re-entrant: at once)
        lock_obj._count += 1  # type: ignore[union-attr]


def _forgive(lock_obj: TracedLock | TracedRLock) -> bool:
    """Whether this release is one of those a failed ``_restore`` left (then it is done)."""
    lost = lock_obj._lost
    if lost is None or lost[0] != _p.get_ident():
        return False
    lock_obj._lost = None if lost[1] <= 1 else (lost[0], lost[1] - 1)
    return True


def _take(
    lock_obj: TracedLock | TracedRLock, blocking: bool, timeout: float, how: bool | str
) -> bool:
    """A traced lock's acquire while hooks are on (the first level of an RLock).

    ``how``: True for an acquire, "restore" for a Condition's re-acquire after its wait
    (listeners must not refuse it). A call that cannot wait (``blocking=False`` or
    ``timeout=0``) is a try: ``acquired`` says False, and no order is recorded.
    """
    lock = lock_obj._lock
    if blocking and timeout != -1 and not 0 <= timeout <= _p.TIMEOUT_MAX:
        return bool(lock.acquire(blocking, timeout))  # the C lock's own error, not acquired
    waits = blocking and timeout != 0
    if not waits:
        got = bool(lock.acquire(blocking, timeout))  # (the C lock rejects a timeout here)
    else:
        got = lock.acquire(False) or _wait(lock_obj, lock, timeout, how)
    if got:
        lock_obj._owner = _p.get_ident()
        if isinstance(lock_obj, TracedRLock):
            lock_obj._count = 1
        _acquired(lock_obj, how if waits else False)
    return got


def _wait(lock_obj: object, lock: Any, timeout: float, how: bool | str) -> bool:
    """Block in a traced lock's acquire, with the events around it (hooks are on)."""
    _emit("acquire", lock_obj, how)
    deadline = None if timeout == -1 else _p.monotonic() + timeout
    got: bool = _parked(lock_obj, deadline, lambda: lock.acquire(True, timeout), bool)
    return got


def _parked(
    obj: object, deadline: float | None, wait: Callable[[], Any], ended: Callable[[Any], bool]
) -> Any:
    """Run ``wait()`` (a blocking call on ``obj``) between "park" and its outcome: "abandon"
    if it raises, else "wake" if ``ended(result)``, else "timeout"."""
    try:
        _emit("park", obj, deadline)
        result = wait()
    except BaseException:
        _emit("abandon", obj, None)
        raise
    if ended(result):
        _emit("wake", obj, None)
    else:
        _emit("timeout", obj, deadline)
    return result


def _acquired(
    lock_obj: Any, blocking: bool | str, release: Callable[[], object] | None = None
) -> None:
    """Emit ``acquired``; a listener that refuses it makes the acquire give the lock back
    (with ``release``, by default ``lock_obj.release``)."""
    try:
        _emit("acquired", lock_obj, blocking)
    except BaseException:
        if blocking != "restore":  # (a Condition's caller needs its lock back: kept)
            (lock_obj.release if release is None else release)()
        raise


# ----------------------------------------------------------------------------------------
# Who holds what (for the deadlock detector and dump())


def holders(obj: object) -> list[int]:
    """The idents of the threads that a thread waiting on ``obj`` waits for.

    A traced lock's or a Mutex's owner; an RWLock's writer, readers and upgradable holder;
    a thread (for a join): itself while alive; a threadkit future: the thread running it.
    Empty when nobody in particular holds it (an Event, a Condition, a queue).
    """
    if isinstance(obj, (TracedLock, TracedRLock)):
        owner = obj._owner
        return [] if owner is None else [owner]
    threads: list[_p.StdThread | None]
    if isinstance(obj, _sync.Mutex):
        threads = [obj._owner]
    elif isinstance(obj, _rwlock.RWLock):
        with obj._lock:
            threads = [*obj._reader_threads(), obj._writer, obj._upgradable]
    elif isinstance(obj, _p.StdThread):
        threads = [obj] if obj.is_alive() else []
    elif isinstance(obj, Future):
        scope = obj._tk_scope
        if scope is None or obj._state != "RUNNING":
            return []
        # The thread running it, named when the task's scope was made (threads that
        # inherited the scope, tasks it submitted, do not run this future).
        state = scope._task_state
        return [state.ident] if state is not None else []
    else:
        return []
    return [t.ident for t in threads if t is not None and t.ident is not None]


# ----------------------------------------------------------------------------------------
# The swaps


_mutex_acquire: Callable[..., bool] = _sync.Mutex.acquire  # the original (never swapped)


def _traced_mutex_acquire(orig: Callable[..., bool]) -> Callable[..., bool]:
    def acquire(self: _sync.Mutex, blocking: bool = True, timeout: float = -1) -> bool:
        if not _hooks.enabled:
            return orig(self, blocking, timeout)
        if not blocking:
            got = orig(self, blocking, timeout)  # (rejects a timeout, as the original)
        else:
            if timeout != -1:
                lock_deadline(blocking, timeout)  # the original's ValueError, before trying
            # "acquire" announces a wait: emitted when the mutex is held (a look without its
            # lock: if it is taken just after, the wait goes unannounced, but the order is
            # still recorded at "acquired" and the wait at "park").
            if self._owner is not None and timeout != 0:
                _emit("acquire", self, True)
            got = orig(self, True, timeout)
        if got:
            _acquired(self, blocking and timeout != 0)
        return got

    return acquire


def _traced_mutex_restore(orig: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """``Mutex._acquire_restore`` (a Condition's re-acquire): marked "restore", never refused."""

    def restore(self: _sync.Mutex, state: object) -> None:
        if not _hooks.enabled:
            return orig(self, state)
        if self._owner is not None:
            _emit("acquire", self, "restore")
        _mutex_acquire(self, True, -1)  # the original acquire (the wrapper would say True)
        _acquired(self, "restore")

    return restore


def _traced_release(orig: Callable[[Any], None]) -> Callable[[Any], None]:
    def release(self: Any) -> None:
        orig(self)
        if _hooks.enabled:
            _emit("release", self, _p.get_ident())

    return release


def _traced_rw_acquire(orig: Callable[..., bool]) -> Callable[..., bool]:
    release_name = orig.__name__.replace("acquire_", "release_")  # its release_* method

    def acquire(self: _rwlock.RWLock, blocking: bool = True, timeout: float | None = None) -> bool:
        if not _hooks.enabled:
            return orig(self, blocking, timeout)
        if blocking and timeout != 0:
            _emit("acquire", self, True)
        got = orig(self, blocking, timeout)
        if got:
            _acquired(self, blocking and timeout != 0, getattr(self, release_name))
        return got

    return acquire


def _traced_guard_enter(orig: Callable[[Any], None]) -> Callable[[Any], None]:
    def enter(self: Any) -> None:
        if not _hooks.enabled:
            return orig(self)
        rw = self._rw
        _emit("acquire", rw, True)
        orig(self)
        try:
            _emit("acquired", rw, True)
        except BaseException:
            self.__exit__(None, None, None)
            raise

    return enter


def _traced_guard_exit(orig: Callable[..., None]) -> Callable[..., None]:
    def exit_(self: Any, *exc: Any) -> None:
        orig(self, *exc)
        if _hooks.enabled:
            _emit("release", self._rw, _p.get_ident())

    return exit_


def _traced_item(event: str, orig: Callable[..., Any]) -> Callable[..., Any]:
    """A put/send (``event`` "put") or get/recv ("get") that emits after it succeeds."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = orig(self, *args, **kwargs)
        if _hooks.enabled:
            _emit(event, self, None)
        return result

    method.__name__ = orig.__name__
    method.__qualname__ = orig.__qualname__
    method.__doc__ = orig.__doc__
    method.__wrapped__ = orig  # type: ignore[attr-defined]  # (its signature, traced or not)
    return method


def _traced_item_init(orig: Callable[..., None]) -> Callable[..., None]:
    """A pool work item's ``__init__`` (in ``submit``, before it is queued) emits "submit"."""

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        orig(self, *args, **kwargs)
        if _hooks.enabled:
            _emit("submit", self.future, self.describe())

    return init


def _traced_run(orig: Callable[..., Any]) -> Callable[..., Any]:
    def run(self: Any, state: Any) -> Any:
        if not _hooks.enabled:
            return orig(self, state)
        name = self.describe()
        _emit("task_start", self.future, name)
        try:
            return orig(self, state)
        finally:
            _emit("task_end", self.future, name)

    return run


def _traced_wait(pending: Callable[[Any], bool]) -> Callable[[Any], Any]:
    """A wait for ``self`` to end (a thread's ``join``, a future's ``_wait``), between park and
    wake, timeout or abandon; ``pending(self)`` tells whether there is anything to wait for."""

    def wrap(orig: Callable[..., None]) -> Callable[..., None]:
        def wait(self: Any, timeout: float | None = None) -> None:
            if not _hooks.enabled or not pending(self):
                return orig(self, timeout)  # (also for what the original rejects)
            deadline = None if timeout is None else _p.monotonic() + max(timeout, 0.0)
            _parked(self, deadline, lambda: orig(self, timeout), lambda _: not pending(self))

        wait.__name__ = orig.__name__
        wait.__doc__ = orig.__doc__
        return wait

    return wrap


def _joinable(thread: _p.StdThread) -> bool:
    # (a threadkit.Thread's join parks on its own wait queue, which emits the events)
    return (
        thread.is_alive()
        and thread is not _p.current_thread()
        and not getattr(thread, "_tk_wrapped", False)
    )


def _undone(future: Future[Any]) -> bool:
    return not future.done()


# (owner, attribute name, wrapper factory) for each method swapped in.
_METHODS: list[tuple[Any, str, Callable[[Any], Any]]] = [
    (_sync.Mutex, "acquire", _traced_mutex_acquire),
    (_sync.Mutex, "release", _traced_release),
    (_sync.Mutex, "_acquire_restore", _traced_mutex_restore),
    (_rwlock.RWLock, "acquire_read", _traced_rw_acquire),
    (_rwlock.RWLock, "acquire_write", _traced_rw_acquire),
    (_rwlock.RWLock, "acquire_upgradable", _traced_rw_acquire),
    (_rwlock.RWLock, "release_read", _traced_release),
    (_rwlock.RWLock, "release_write", _traced_release),
    (_rwlock.RWLock, "release_upgradable", _traced_release),
    (_rwlock._ReadGuard, "__enter__", _traced_guard_enter),
    (_rwlock._ReadGuard, "__exit__", _traced_guard_exit),
    (_rwlock._Guard, "__enter__", _traced_guard_enter),
    (_rwlock._Guard, "__exit__", _traced_guard_exit),
    (_queue.Queue, "put", lambda f: _traced_item("put", f)),
    (_queue.Queue, "get", lambda f: _traced_item("get", f)),
    (_queue.Queue, "get_many", lambda f: _traced_item("get", f)),
    (_queue.SimpleQueue, "put", lambda f: _traced_item("put", f)),
    (_queue.SimpleQueue, "get", lambda f: _traced_item("get", f)),
    (_channel.Sender, "send", lambda f: _traced_item("put", f)),
    (_channel.Sender, "try_send", lambda f: _traced_item("put", f)),
    (_channel.Receiver, "recv", lambda f: _traced_item("get", f)),
    (_channel.Receiver, "try_recv", lambda f: _traced_item("get", f)),
    (_pool._WorkItem, "__init__", _traced_item_init),
    (_pool._WorkItem, "run", _traced_run),
    (_p.StdThread, "join", _traced_wait(_joinable)),
    (Future, "_wait", _traced_wait(_undone)),
]

# _lock guards _users and _saved.
_lock = _p.allocate_lock()
_users = 0
_saved: list[tuple[Any, str, Any]] = []  # (owner, name, original) to put back


def _factories() -> list[tuple[Any, str, Any, Any]]:
    """(owner, name, traced replacement, original) for each lock factory swapped."""
    import threadkit  # (while threadkit itself imports, partly made: it re-exports _p's)

    c_lock, c_rlock = _p.Lock, _p.RLock  # threadkit.Lock/RLock are these very objects
    return [
        (_p.threading_module, "Lock", TracedLock, _p.threading_module.Lock),
        (_p.threading_module, "RLock", TracedRLock, _p.threading_module.RLock),
        (_p, "Lock", TracedLock, c_lock),
        (_p, "RLock", TracedRLock, c_rlock),
        (threadkit, "Lock", TracedLock, c_lock),
        (threadkit, "RLock", TracedRLock, c_rlock),
    ]


def install() -> None:
    """Swap the instrumented implementations in (reference-counted: one per user)."""
    global _users
    with _lock:
        _users += 1
        if _users > 1:
            return
        for owner, name, make in _METHODS:
            original = owner.__dict__[name]
            _saved.append((owner, name, original))
            setattr(owner, name, make(original))
        for owner, name, replacement, original in _factories():
            _saved.append((owner, name, original))
            setattr(owner, name, replacement)


def uninstall() -> None:
    """Undo one ``install()``; the last one puts every original back."""
    global _users
    with _lock:
        if _users == 0:
            raise RuntimeError("diagnostics instrumentation is not installed")
        _users -= 1
        if _users:
            return
        while _saved:
            owner, name, original = _saved.pop()
            setattr(owner, name, original)


def installed() -> bool:
    """True while some diagnostic has the instrumented implementations in."""
    return _users > 0
