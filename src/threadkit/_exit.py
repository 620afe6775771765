"""The exit supervisor: what owns a thread is stopped, in order and on time, when Python exits.

The standard library leaves a program's exit to chance: a non-daemon thread blocked in
``queue.get()`` hangs it forever, a daemon thread is frozen wherever it is (holding the lock
of ``sys.stdout``'s buffer, which then aborts the interpreter: cpython issue 129536), and an
object's ``__del__`` may never run. threadkit registers what owns threads with one supervisor:

* **Registration.** ``register(obj, stop, threads=..., priority=..., deadline=...)`` holds
  ``obj`` weakly (DESIGN 8): an object collected before the exit simply drops out. Pools and
  workers register themselves; timers and schedulers at ``ExitPriority.TIMERS``.
* **Order.** At exit, entries stop from the highest ``priority`` to the lowest (timers, which
  start work, then workers, then pools, which run what the others submitted), and within a
  priority in reverse registration order (last in, first out, as ``contextlib.ExitStack``):
  what was made later may depend on what was made earlier, never the other way round.
* **Deadlines.** Each entry's ``stop(obj, timeout)`` gets its own deadline (the default is
  ``get_default_deadline()``). A thread of the entry still alive after it is a *straggler*:
  reported with its stack (``logging`` logger ``"threadkit.exit"``, which prints to stderr
  when logging is not configured) and then abandoned: the exit does not wait for it.
* **When.** From ``threading``'s own exit hook (``threading._register_atexit``), which runs
  before the interpreter joins the non-daemon threads; ``install_signal_handlers()`` turns
  SIGTERM (and SIGINT) into such an exit. ``stop_all()`` runs the same ordered stop on demand.
* **Output.** When threads are still running after the stop, ``sys.stdout``/``sys.stderr``
  are replaced by streams that write a line at a time with ``os.write``, bypassing the
  buffered writer whose lock a frozen daemon thread could hold; see ``_DivertedStream``.
"""

from __future__ import annotations

import contextlib
import enum
import math
import os
import signal
import sys
import traceback
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Any, Final, Generic, TypeVar

from ._core import _primitives as _p
from ._core import check_timeout

__all__ = [
    "DEFAULT_DEADLINE",
    "ExitHandle",
    "ExitPriority",
    "ExitReport",
    "Straggler",
    "exiting",
    "get_default_deadline",
    "install_signal_handlers",
    "register",
    "set_default_deadline",
    "stop_all",
    "unregister",
]

_T = TypeVar("_T")

#: Seconds each entry gets to stop at exit unless it says otherwise (``set_default_deadline``).
DEFAULT_DEADLINE: Final = 10.0

# How many times stop_all() looks again for entries registered while it was stopping others
# (a worker's on_stop may start something); beyond that, they are left alone.
_MAX_PASSES: Final = 8


class ExitPriority(enum.IntEnum):
    """Where an entry stops in the exit order: the highest priority stops first.

    Any ``int`` works; these are the library's own levels.

    Examples:
        >>> from threadkit.exit import ExitPriority
        >>> sorted(ExitPriority, reverse=True)          # the order of the stop at exit
        [<ExitPriority.TIMERS: 300>, <ExitPriority.WORKERS: 200>, <ExitPriority.POOLS: 100>]
        >>> ExitPriority.WORKERS + 50                   # any int: after timers, before workers
        250
    """

    TIMERS = 300  #: timers and schedulers: they start work
    WORKERS = 200  #: workers, services and registered threads
    POOLS = 100  #: executors: they run the work the others submitted


@dataclass(frozen=True)
class Straggler:
    """A thread that was still alive when its entry's deadline passed.

    Attributes:
        entry: the name of the registered object it belongs to.
        thread: the thread's name.
        ident: the thread's identifier.
        stack: where it was, formatted as ``traceback.format_stack`` does.

    Examples:
        >>> import threading, threadkit.exit
        >>> from unittest import mock
        >>> gate = threading.Event()                    # a wait no cancellation reaches
        >>> t = threading.Thread(target=gate.wait, name="stuck")
        >>> t.start()
        >>> with mock.patch.object(threadkit._exit, "_default", threadkit._exit.Supervisor()):
        ...     _ = threadkit.exit.register(t, deadline=0)  # (a registry of this example's own)
        ...     report = threadkit.exit.stop_all()
        >>> [(s.entry, s.thread) for s in report.stragglers]
        [("thread 'stuck'", 'stuck')]
        >>> gate.set(); t.join()
    """

    entry: str
    thread: str
    ident: int | None
    stack: str


@dataclass(frozen=True)
class ExitReport:
    """What an ordered stop (``stop_all()``, or the exit itself) did.

    Attributes:
        stopped: the names of the entries that stopped within their deadline, in order.
        stragglers: the threads left running (each with its stack), abandoned at exit.
        errors: ``(name, exception)`` for each entry whose stop function raised.
        elapsed: seconds the whole stop took.

    Examples:
        >>> import threadkit, threadkit.exit
        >>> from unittest import mock
        >>> with mock.patch.object(threadkit._exit, "_default", threadkit._exit.Supervisor()):
        ...     t = threadkit.Thread(target=threadkit.Event().wait, name="waiter")
        ...     t.start()
        ...     _ = threadkit.exit.register(t)      # a threadkit.Thread: cancelled, joined
        ...     report = threadkit.exit.stop_all(timeout=5)
        >>> report.ok, report.stopped
        (True, ("thread 'waiter'",))
        >>> print(report)
        stopped 1 object(s) in ... s
    """

    stopped: tuple[str, ...] = ()
    stragglers: tuple[Straggler, ...] = ()
    errors: tuple[tuple[str, BaseException], ...] = ()
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every entry stopped in time and no stop function raised."""
        return not self.stragglers and not self.errors

    def __str__(self) -> str:
        head = f"stopped {len(self.stopped)} object(s) in {self.elapsed:.3f} s"
        if self.ok:
            return head
        parts = [head + f"; {len(self.stragglers)} thread(s) did not stop in time:"]
        for s in self.stragglers:
            parts.append(f"- thread {s.thread!r} of {s.entry}:\n{s.stack.rstrip()}")
        for name, exc in self.errors:
            parts.append(f"- stopping {name} raised {exc!r}")
        return "\n".join(parts)


class ExitHandle(Generic[_T]):
    """A registration with the exit supervisor (from ``register()``).

    It holds its object weakly; ``unregister()`` takes it out (idempotent).

    Examples:
        >>> import threadkit, threadkit.exit
        >>> t = threadkit.Thread(target=threadkit.Event().wait)
        >>> t.start()
        >>> handle = threadkit.exit.register(t, deadline=2.0, name="waiter")
        >>> handle
        <ExitHandle waiter priority=200 registered>
        >>> handle.unregister(); t.cancel(); t.join()
        >>> handle.registered
        False
    """

    __slots__ = ("_key", "_ref", "_registry", "_stop", "_threads", "deadline", "name", "priority")

    def __init__(
        self,
        registry: Supervisor,
        key: int,
        obj: _T,
        *,
        stop: Callable[[_T, float | None], object],
        threads: Callable[[_T], Iterable[_p.StdThread]] | None,
        priority: int,
        deadline: float | None,
        name: str,
    ) -> None:
        self._registry = registry
        self._key = key
        entries = registry._entries
        # When the object goes, so does the entry (dict.pop is one atomic step: safe in a
        # weakref callback, which may run in any thread, even one inside register()).
        self._ref = weakref.ref(obj, _dropper(entries, key))
        self._stop = stop
        self._threads = threads
        self.priority = priority
        self.deadline = deadline  # seconds; None: the supervisor's default
        self.name = name

    @property
    def registered(self) -> bool:
        """Whether the entry is still registered (not unregistered, stopped or collected)."""
        return self._key in self._registry._entries

    def unregister(self) -> None:
        """Take the entry out: the exit supervisor will not stop its object."""
        self._registry._entries.pop(self._key, None)

    def __repr__(self) -> str:
        state = "registered" if self.registered else "unregistered"
        return f"<ExitHandle {self.name} priority={self.priority} {state}>"


def _dropper(entries: dict[int, Any], key: int) -> Callable[[object], None]:
    def drop(_: object) -> None:
        entries.pop(key, None)

    return drop


def _stop_thread(thread: _p.StdThread, timeout: float | None) -> None:
    """A registered thread's default stop: cancel it if it can be (threadkit.Thread), join."""
    cancel = getattr(thread, "cancel", None)
    if callable(cancel):
        cancel("the interpreter is exiting")
    if thread.ident is not None and thread is not _p.current_thread():
        _p.StdThread.join(thread, timeout)


def _thread_itself(thread: _p.StdThread) -> list[_p.StdThread]:
    return [thread]


def _format_stack(frame: FrameType | None) -> str:
    if frame is None:
        return "  (no Python frame)\n"
    return "".join(traceback.format_stack(frame))


class Supervisor:
    """The registry and the ordered stop. One instance (``_default``) serves the process;
    tests make their own."""

    def __init__(self) -> None:
        self._lock = _p.allocate_lock()  # guards _next_key and _default_deadline
        self._next_key = 0
        # key -> handle, in registration order. Added under _lock; removed anywhere with
        # dict.pop (one atomic step on every build), including by weakref callbacks.
        self._entries: dict[int, ExitHandle[Any]] = {}
        self._default_deadline: float | None = DEFAULT_DEADLINE

    def register(
        self,
        obj: _T,
        stop: Callable[[_T, float | None], object] | None = None,
        *,
        threads: Callable[[_T], Iterable[_p.StdThread]] | None = None,
        priority: int = ExitPriority.WORKERS,
        deadline: float | None = None,
        name: str | None = None,
    ) -> ExitHandle[_T]:
        check_timeout(deadline, "deadline")
        if stop is None:
            if not isinstance(obj, _p.StdThread):
                raise TypeError(
                    f"register() needs a stop function for a {type(obj).__name__} "
                    "(only a thread has a default one)"
                )
            stop = _stop_thread  # type: ignore[assignment]
            if threads is None:
                threads = _thread_itself  # type: ignore[assignment]
        elif not callable(stop):
            raise TypeError(f"stop must be callable, not {type(stop).__name__}")
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise TypeError(f"priority must be an int, not {type(priority).__name__}")
        if name is None:
            kind = "thread" if isinstance(obj, _p.StdThread) else type(obj).__name__
            label = getattr(obj, "name", None)
            name = f"{kind} {label!r}" if isinstance(label, str) else kind
        with self._lock:
            key = self._next_key
            self._next_key += 1
            handle = ExitHandle(
                self,
                key,
                obj,
                stop=stop,  # type: ignore[arg-type]
                threads=threads,
                priority=priority,
                deadline=deadline,
                name=name,
            )
            self._entries[key] = handle
        return handle

    def set_default_deadline(self, seconds: float | None) -> None:
        check_timeout(seconds, "seconds")
        with self._lock:
            self._default_deadline = seconds

    def get_default_deadline(self) -> float | None:
        return self._default_deadline

    def stop_all(self, timeout: float | None = None) -> tuple[ExitReport, list[_p.StdThread]]:
        """The ordered stop; also returns the straggling threads themselves."""
        check_timeout(timeout, "timeout")
        start = _p.monotonic()
        end = math.inf if timeout is None else start + timeout
        stopped: list[str] = []
        stragglers: list[Straggler] = []
        left: list[_p.StdThread] = []
        errors: list[tuple[str, BaseException]] = []
        seen: set[int] = set()
        for _ in range(_MAX_PASSES):
            pending = [h for k, h in self._entries.copy().items() if k not in seen]
            if not pending:
                break
            pending.sort(key=lambda h: (-h.priority, -h._key))
            for handle in pending:
                seen.add(handle._key)
                handle.unregister()
                obj = handle._ref()
                if obj is None:
                    continue
                budget = handle.deadline if handle.deadline is not None else self._default_deadline
                now = _p.monotonic()
                limit = min(end, math.inf if budget is None else now + budget)
                try:
                    handle._stop(obj, None if limit == math.inf else max(limit - now, 0.0))
                except Exception as exc:
                    errors.append((handle.name, exc))
                alive = []
                if handle._threads is not None:
                    me = _p.current_thread()
                    alive = [t for t in handle._threads(obj) if t.is_alive() and t is not me]
                del obj
                if not alive:
                    stopped.append(handle.name)
                    continue
                frames = _p.current_frames()
                for thread in alive:
                    stack = _format_stack(frames.get(thread.ident))  # type: ignore[arg-type]
                    stragglers.append(Straggler(handle.name, thread.name, thread.ident, stack))
                    left.append(thread)
                del frames
        report = ExitReport(
            tuple(stopped), tuple(stragglers), tuple(errors), _p.monotonic() - start
        )
        return report, left


_default = Supervisor()

# Set once the interpreter's exit begins (_at_exit); read by pools to refuse new work.
_exiting = False
# Set once _at_exit has finished: a worker started later would never be stopped.
_finished = False


def register(
    obj: _T,
    stop: Callable[[_T, float | None], object] | None = None,
    *,
    threads: Callable[[_T], Iterable[_p.StdThread]] | None = None,
    priority: int = ExitPriority.WORKERS,
    deadline: float | None = None,
    name: str | None = None,
) -> ExitHandle[_T]:
    """Have the exit supervisor stop ``obj`` when the interpreter exits.

    Args:
        obj: what to stop; held weakly (an object collected first drops out by itself).
        stop: called as ``stop(obj, timeout)`` at exit, where ``timeout`` is the seconds
            left of the entry's deadline (None: no limit); it should return by then. Not
            needed for a thread: the default cancels a ``threadkit.Thread`` and joins it.
        threads: ``threads(obj)`` lists the threads of ``obj``; those still alive when
            ``stop`` returns are reported as stragglers (with their stacks) and abandoned.
        priority: higher stops first (``ExitPriority``); equal priorities stop last
            registered, first stopped.
        deadline: seconds this entry gets; None: ``get_default_deadline()`` at exit.
        name: how reports name it (default: the type and the object's ``name``).

    Returns:
        An ``ExitHandle``; its ``unregister()`` takes the entry out.

    Raises:
        TypeError: no ``stop`` for an object that is not a thread; a non-int priority.
        ValueError: a negative or NaN ``deadline``.

    Examples:
        >>> import threadkit
        >>> from threadkit._exit import register
        >>> t = threadkit.Thread(target=threadkit.Event().wait)
        >>> t.start()
        >>> handle = register(t, deadline=2.0)   # cancelled and joined at exit
        >>> handle.unregister(); t.cancel(); t.join()
    """
    return _default.register(
        obj, stop, threads=threads, priority=priority, deadline=deadline, name=name
    )


def unregister(handle: ExitHandle[Any]) -> None:
    """Take ``handle``'s entry out of the exit supervisor (same as ``handle.unregister()``).

    Examples:
        >>> import threadkit, threadkit.exit
        >>> t = threadkit.Thread(target=threadkit.Event().wait)
        >>> t.start()
        >>> handle = threadkit.exit.register(t)
        >>> threadkit.exit.unregister(handle)          # the exit will not stop it now
        >>> handle.registered
        False
        >>> t.cancel(); t.join()
    """
    handle.unregister()


def set_default_deadline(seconds: float | None) -> None:
    """Set the seconds an entry registered without a ``deadline`` gets to stop at exit.

    ``None`` waits as long as it takes (the standard library's behaviour for pools).
    ``ValueError`` if negative or NaN. The initial value is ``DEFAULT_DEADLINE``.

    Examples:
        >>> import threadkit.exit
        >>> before = threadkit.exit.get_default_deadline()
        >>> threadkit.exit.set_default_deadline(2.5)
        >>> threadkit.exit.get_default_deadline()
        2.5
        >>> threadkit.exit.set_default_deadline(before)  # (process-wide: put it back)
    """
    _default.set_default_deadline(seconds)


def get_default_deadline() -> float | None:
    """The seconds an entry registered without a ``deadline`` gets to stop at exit.

    Examples:
        >>> import threadkit.exit
        >>> threadkit.exit.get_default_deadline()      # DEFAULT_DEADLINE, unless it was set
        10.0
    """
    return _default.get_default_deadline()


def stop_all(timeout: float | None = None) -> ExitReport:
    """Stop every registered object now, in exit order, each within its deadline.

    ``timeout`` bounds the whole call (None: only the entries' own deadlines). Stopped
    entries are unregistered. Stragglers are reported in the returned ``ExitReport`` but
    not logged or abandoned (only the exit itself does that).

    Examples:
        >>> import threadkit, threadkit.exit
        >>> from unittest import mock
        >>> with mock.patch.object(threadkit._exit, "_default", threadkit._exit.Supervisor()):
        ...     # (a registry of this example's own: stop_all() stops all the process's)
        ...     w = threadkit.Worker(target=threadkit.Event().wait, name="waiter")
        ...     w.start()                           # a worker registers itself
        ...     report = threadkit.exit.stop_all(timeout=5)
        >>> report.stopped, w.state
        (("Worker 'waiter'",), <WorkerState.STOPPED: 'stopped'>)
    """
    report, _ = _default.stop_all(timeout)
    return report


def exiting() -> bool:
    """True once the interpreter's exit has begun (the supervisor's exit hook is running).

    Examples:
        >>> import threadkit.exit
        >>> threadkit.exit.exiting()        # True only while the exit hook stops everything
        False
    """
    return _exiting


def _log(report: ExitReport) -> None:
    import logging

    logging.getLogger("threadkit.exit").warning("threadkit exit: %s", report)


def _at_exit() -> None:
    """threading's exit hook: the ordered stop, then let go of stragglers, divert output."""
    global _exiting, _finished
    _exiting = True
    try:
        report, left = _default.stop_all()
        if not report.ok:
            _log(report)
        for thread in left:
            _p.let_go_at_exit(thread)
        me = _p.current_thread()
        if any(t is not me for t in _p.enumerate_threads()):
            _divert_output()
    finally:
        _finished = True


# --------------------------------------------------------------------------------------------
# Signals


def install_signal_handlers(
    signals: Iterable[int] = (signal.SIGINT, signal.SIGTERM),
) -> Callable[[], None]:
    """Make these signals end the program through an orderly exit (opt-in; main thread only).

    The handler raises ``KeyboardInterrupt`` for SIGINT (as Python's own does) and
    ``SystemExit(128 + signum)`` for the others (SIGTERM's default would kill the process
    with no cleanup at all). The main thread unwinds (its ``finally`` blocks run) and the
    interpreter exits, so the exit supervisor stops everything registered, in order and each
    within its deadline, before the non-daemon threads are joined.

    The stop is not run inside the handler itself: a handler runs wherever the main thread
    is, possibly holding a lock (``sys.stdout``'s, while it prints) that a stopping worker's
    cleanup needs, and the stop would then wait for its deadlines.

    Returns:
        A function that puts the previous handlers back.

    Raises:
        ValueError: when not called from the main thread (``signal.signal``'s rule).

    Examples:
        >>> import signal, threadkit.exit
        >>> restore = threadkit.exit.install_signal_handlers([signal.SIGTERM])
        >>> try:
        ...     signal.raise_signal(signal.SIGTERM)     # as ``kill PID`` would
        ... except SystemExit as exc:
        ...     print("SystemExit", exc.code)          # the main thread unwinds, then exits
        SystemExit 143
        >>> restore()                                   # (the previous handler is back)
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    previous = {signum: signal.signal(signum, handler) for signum in signals}

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    return restore


# --------------------------------------------------------------------------------------------
# Output at finalisation (cpython issue 129536)


class _Pending(_p.local):
    text = ""  # this thread's unfinished line


class _DivertedStream:
    """Stands in for ``sys.stdout``/``sys.stderr`` from the exit step on.

    The interpreter freezes daemon threads where they are when it finalises. One frozen
    inside the stream's ``BufferedWriter`` (in ``write()``, its lock held, while the system
    call blocks) makes the interpreter's last flush wait for that lock, give up after a
    second and abort: "Fatal Python error: _enter_buffered_busy: could not acquire lock".
    This stream never takes that lock: each thread's text is written a line at a time
    (one ``os.write`` per line, so lines of different threads do not mix) straight to the
    file descriptor. A thread's unfinished line is written by its ``flush()``; the
    interpreter flushes the main thread's at the end, and a frozen thread's is lost.
    Everything a method needs is kept on the instance: module globals are gone by the
    interpreter's last flush.
    """

    def __init__(self, stream: Any, fd: int) -> None:
        self._stream = stream
        self._fd = fd
        self._os_write = os.write
        self._pending = _Pending()
        self._finalizing = sys.is_finalizing
        self._get_ident = _p.get_ident
        self._exiting_thread = _p.get_ident()  # the thread that runs the exit
        self._never = _p.allocate_lock()  # held for good: other threads park on it
        self._never.acquire()
        self.encoding: str = stream.encoding
        self.errors: str = stream.errors or "strict"

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self._finalizing() and self._get_ident() != self._exiting_thread:
            # A daemon thread writing while the interpreter finalises: what it writes would
            # be cut short anyway; park it where it holds no lock (a free-threaded build
            # would otherwise let it go on writing while the interpreter tears down).
            self._never.acquire()
        pending = self._pending
        line = pending.text + text
        cut = line.rfind("\n") + 1
        if cut:
            pending.text = line[cut:]
            self._write(line[:cut])
        else:
            pending.text = line
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pending = self._pending
        text = pending.text
        if text:
            pending.text = ""
            self._write(text)

    def _write(self, text: str) -> None:
        data = text.encode(self.encoding, self.errors)
        while data:
            data = data[self._os_write(self._fd, data) :]

    def fileno(self) -> int:
        return self._fd

    def writable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:  # isatty, name, mode, buffer, ...
        return getattr(self._stream, name)


# The replaced streams are kept alive for good: a thread frozen inside one (see above) would
# make its deallocation, which flushes it under the same lock, abort the interpreter too.
_kept: list[object] = []


def _keep_forever(obj: object) -> None:
    _kept.append(obj)
    try:
        import ctypes

        ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
    except Exception:  # pragma: no cover - no ctypes: the module list keeps it until the end
        pass


def _divert_output() -> None:
    """Replace ``sys.stdout``/``sys.stderr`` (and their ``__dunder__`` originals) by
    ``_DivertedStream``s, point logging's stream handlers at them, then flush the old ones.

    A thread may have looked up ``sys.stdout`` before the swap and be inside a write to it:
    the old streams are flushed once every other thread has moved on from where it was at
    the swap (or ``_SETTLE`` seconds passed: a thread blocked elsewhere does not move), so
    what such a write carried (the main thread's last lines too) still goes out.
    """
    replaced: dict[int, _DivertedStream] = {}
    for name in ("stdout", "stderr"):
        for attr in (name, f"__{name}__"):
            stream = getattr(sys, attr, None)
            if stream is None or isinstance(stream, _DivertedStream):
                continue
            diverted = replaced.get(id(stream))
            if diverted is None:
                try:
                    fd = stream.fileno()
                except Exception:
                    continue  # not a file (a StringIO, a test's capture): left as it is
                diverted = replaced[id(stream)] = _DivertedStream(stream, fd)
            setattr(sys, attr, diverted)
    logging = sys.modules.get("logging")
    if logging is not None and replaced:
        for ref in list(getattr(logging, "_handlerList", ())):
            handler = ref()
            stream = getattr(handler, "stream", None)
            if stream is not None and id(stream) in replaced:
                handler.stream = replaced[id(stream)]
    if replaced:
        _settle(_SETTLE)
    for diverted in replaced.values():
        _keep_forever(diverted._stream)
        with contextlib.suppress(Exception):  # (a closed pipe): nothing more can go out anyway
            diverted._stream.flush()
    for stdin in {id(sys.stdin): sys.stdin, id(sys.__stdin__): sys.__stdin__}.values():
        if stdin is not None:
            _keep_forever(stdin)  # a thread frozen in a read holds its buffer's lock too


def _where_now(frame: FrameType) -> tuple[int, int]:
    return id(frame), frame.f_lasti


def _frame_only(frame: FrameType) -> tuple[int, int]:
    return id(frame), 0


# How long the exit waits for the other threads to move on before flushing the old streams.
_SETTLE: Final = 0.1


def _settle(timeout: float) -> None:
    """Wait until every other thread is somewhere else than now (it returned from the call it
    was in), or ``timeout`` seconds; polls ``sys._current_frames()``.

    Where a thread is, is its frame and, with the GIL, the frame's last instruction. Without
    the GIL, reading another running thread's frame (``f_lasti``) races with that thread
    popping it (a use-after-free in CPython, python/cpython#152355), so only which frame it
    is in counts there: a thread that stays in one frame (a loop that prints) holds the wait
    to its timeout.
    """
    me = _p.get_ident()
    where_ = _where_now if getattr(sys, "_is_gil_enabled", lambda: True)() else _frame_only
    where = {t: where_(f) for t, f in _p.current_frames().items() if t != me}
    end = _p.monotonic() + timeout
    while where and _p.monotonic() < end:
        _p.sleep(0.001)
        frames = _p.current_frames()
        where = {
            t: at for t, at in where.items() if (f := frames.get(t)) is not None and where_(f) == at
        }
        del frames


_p.register_atexit(_at_exit)
