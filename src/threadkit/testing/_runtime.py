"""The explorer's controlled runtime: one logical thread runs at a time, on a baton.

Design: ``../shared/EXPLORER.md`` sec. 1-2. Each logical thread is a real OS thread (started
with ``_thread``, so nothing of ``threading`` runs in it) that owns a baton, a C lock held
while it may not run. Before every visible operation of a modelled primitive the running
thread calls ``point()``: the strategy picks the next thread among the runnable ones, and if
it is another, the running thread releases that thread's baton and blocks on its own. A
thread that must wait (a held lock, an unset event, a join) is *blocked* in the runtime,
never on an OS object, so the runnable set is exact: no runnable thread and no pending
virtual deadline is a deadlock. Time is virtual: ``sleep`` and timeouts only move the
runtime's clock, which jumps to the earliest deadline when nothing else can run; threads due
at the same instant are woken together and their order is a scheduling choice.

Only the running thread touches the runtime's state and the modelled primitives' state (the
baton hand-over orders every access), so they need no locks; ``_lock`` guards the little
that other threads (the caller waiting for the run, a failing thread) read.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .._core import _primitives as _p
from .._core._util import in_threadkit

__all__ = ["Abort", "Failure", "LThread", "Runtime", "Strategy", "current_runtime"]

NEW, RUNNABLE, BLOCKED, DONE = "new", "runnable", "blocked", "done"


class Abort(BaseException):
    """Raised in every logical thread when a run stops (a failure was found elsewhere)."""


@dataclass(frozen=True)
class Failure:
    """What went wrong in one schedule.

    Attributes:
        kind: "assertion" (an AssertionError), "exception" (another exception), "deadlock"
            (live threads, none runnable, no pending deadline), "misuse" (an operation
            that is an error in itself: releasing an unheld lock, over-releasing a
            bounded semaphore), "livelock" (more steps than ``max_steps``).
        message: the exception's text, or the deadlock table.
        thread: the name of the thread it happened in ("" for a deadlock).
        location: ``file:line`` of the innermost frame outside threadkit ("" if none).
        traceback: the formatted traceback ("" for a deadlock).
    """

    kind: str
    message: str
    thread: str
    location: str
    traceback: str = ""

    def same_as(self, other: Failure | None) -> bool:
        """The same failure: kind and location (what replay and minimisation keep)."""
        return other is not None and (self.kind, self.location) == (other.kind, other.location)


class Strategy(Protocol):
    """Chooses the next thread at each scheduling point of one schedule."""

    def choose(self, runnable: list[LThread], current: LThread | None, step: int) -> int:
        """The index in ``runnable`` (ordered by thread number) of the thread to run."""
        ...


class LThread:
    """A logical thread: a number, a name, a baton, a state and what it waits for."""

    __slots__ = (
        "baton",
        "deadline",
        "index",
        "name",
        "obj",
        "state",
        "timed_out",
        "waiting_on",
    )

    def __init__(self, index: int, name: str, obj: object) -> None:
        self.index = index
        self.name = name
        self.obj = obj  # the Thread object user code sees (or None for the body)
        self.baton = _p.allocate_lock()
        self.baton.acquire()  # held while the thread may not run
        self.state = NEW
        self.waiting_on: object = None
        self.deadline: float | None = None
        self.timed_out = False

    def __repr__(self) -> str:
        return f"<LThread {self.index} {self.name!r} {self.state}>"


_current: Runtime | None = None


def current_runtime() -> Runtime | None:
    """The runtime of the run in progress, if any."""
    return _current


def _location(tb: Any) -> str:
    """``file:line`` of the innermost frame of ``tb`` outside threadkit."""
    where = ""
    for frame, lineno in traceback.walk_tb(tb):
        name = frame.f_code.co_filename
        if not in_threadkit(name):
            where = f"{name}:{lineno}"
    return where


class Runtime:
    """One schedule: the logical threads, the virtual clock and the decisions taken."""

    def __init__(self, strategy: Strategy, *, max_steps: int = 10_000) -> None:
        self.strategy = strategy
        self.max_steps = max_steps
        self.threads: list[LThread] = []
        self.by_ident: dict[int, LThread] = {}
        self.current: LThread | None = None
        self.now = 0.0
        self.names = 0  # threads named so far (Thread-1, Thread-2, ...)
        self.steps = 0
        self.decisions: list[tuple[int, int]] = []  # (chosen index, number of choices)
        self.trace: list[tuple[str, str, str]] = []  # (thread, op, where) per step
        self.failure: Failure | None = None
        self.strategy_error: Exception | None = None  # what the strategy raised, if it did
        self.aborting = False
        self._lock = _p.allocate_lock()  # guards alive and failure for outside readers
        self._alive = 0
        self._finished = _p.allocate_lock()
        self._finished.acquire()  # released when the last logical thread ends

    # -- threads ---------------------------------------------------------------------

    def new_thread(self, name: str, obj: object) -> LThread:
        thread = LThread(len(self.threads), name, obj)
        self.threads.append(thread)
        return thread

    def start(self, thread: LThread, body: Callable[[], object]) -> None:
        """Start ``thread``'s OS thread; it runs ``body`` once it is scheduled."""
        thread.state = RUNNABLE
        with self._lock:
            self._alive += 1
        _p.start_new_thread(self._bootstrap, (thread, body))

    def _bootstrap(self, thread: LThread, body: Callable[[], object]) -> None:
        thread.baton.acquire()  # until first scheduled
        self.by_ident[_p.get_ident()] = thread
        try:
            if self.aborting:
                raise Abort
            body()
            if thread.index == 0:  # the test body returned: every thread it started must be done
                alive = [t.name for t in self.threads if t.index and t.state != DONE]
                if alive:
                    self._fail(
                        Failure(
                            "misuse",
                            "threads still alive when the test ends: " + ", ".join(alive),
                            thread.name,
                            "",
                        )
                    )
                    self.abort()
        except Abort:
            pass
        except BaseException as exc:
            self._fail_from(thread, exc)
        finally:
            self._exit(thread)

    def _exit(self, thread: LThread) -> None:
        thread.state = DONE
        for other in self.threads:  # joiners of this thread
            if other.state == BLOCKED and other.waiting_on is thread.obj:
                self.wake(other)
        with self._lock:
            self._alive -= 1
            last = self._alive == 0
        if last:
            self._finished.release()
        elif not self.aborting:
            self._run_next(None, "exit")

    def run(self, body: Callable[[], object], timeout: float) -> None:
        """Run ``body`` as thread 0 and return when every logical thread has ended."""
        global _current
        _current = self
        main = self.new_thread("MainThread", None)
        self.start(main, body)
        self.current = main
        main.baton.release()
        if not self._finished.acquire(True, timeout):
            self._fail(
                Failure(
                    "livelock",
                    f"the schedule did not end within {timeout} s "
                    "of real time (uncontrolled blocking?)",
                    "",
                    "",
                )
            )
            self.abort()
            self._finished.acquire(True, timeout)
        _current = None

    # -- scheduling ------------------------------------------------------------------

    def me(self) -> LThread:
        thread = self.by_ident.get(_p.get_ident())
        if thread is None:
            raise RuntimeError("not a thread of the explorer's run")
        return thread

    def point(self, op: str) -> None:
        """A scheduling point before the visible operation ``op`` of the running thread."""
        me = self.me()
        if self.aborting:
            raise Abort
        self.steps += 1
        if self.steps > self.max_steps:
            self._fail(Failure("livelock", f"more than {self.max_steps} steps", me.name, ""))
            self.abort()
            raise Abort
        self.trace.append((me.name, op, _caller()))
        self._run_next(me, op)
        if self.aborting:
            raise Abort

    def block(self, obj: object, deadline: float | None) -> bool:
        """Block the running thread on ``obj`` until woken (True) or ``deadline`` (False)."""
        me = self.me()
        me.state = BLOCKED
        me.waiting_on = obj
        me.deadline = deadline
        me.timed_out = False
        self._run_next(me, "block")
        if self.aborting:
            raise Abort
        return not me.timed_out

    def wake_all(self, obj: object) -> None:
        """Make every thread blocked on ``obj`` runnable (they re-check what they wait for)."""
        for thread in self.threads:
            if thread.state == BLOCKED and thread.waiting_on is obj:
                self.wake(thread)

    def wake(self, thread: LThread) -> None:
        """Make ``thread`` runnable again (it re-checks what it waited for)."""
        thread.state = RUNNABLE
        thread.waiting_on = None
        thread.deadline = None

    def _run_next(self, me: LThread | None, op: str) -> None:
        """Pick the next thread and hand it the baton; ``me`` waits until it is picked."""
        runnable = [t for t in self.threads if t.state == RUNNABLE]
        if not runnable:
            due = [
                t.deadline for t in self.threads if t.state == BLOCKED and t.deadline is not None
            ]
            if not due:
                if any(t.state == BLOCKED for t in self.threads):
                    self._fail(self._deadlock())
                    self.abort()
                    if me is not None:
                        raise Abort
                return
            self.now = max(self.now, min(due))  # virtual time jumps to the next deadline
            for thread in self.threads:
                due_now = thread.deadline is not None and thread.deadline <= self.now
                if thread.state == BLOCKED and due_now:
                    self.wake(thread)
                    thread.timed_out = True
            runnable = [t for t in self.threads if t.state == RUNNABLE]
        index = 0
        if len(runnable) > 1:
            try:
                index = self.strategy.choose(runnable, me, len(self.decisions))
            except Exception as exc:  # (a replay that diverges): the run stops, it is re-raised
                self.strategy_error = exc
                self._fail(Failure("exception", f"the strategy failed: {exc}", "", ""))
                self.abort()
                if me is not None:
                    raise Abort from None
                return
            self.decisions.append((index, len(runnable)))
        chosen = runnable[index]
        if chosen is me:
            return
        self.current = chosen
        chosen.baton.release()
        if me is not None:
            me.baton.acquire()

    # -- failures --------------------------------------------------------------------

    def _deadlock(self) -> Failure:
        rows = []
        for thread in self.threads:
            if thread.state != BLOCKED:
                continue
            obj = thread.waiting_on
            holder = getattr(obj, "_tk_holder", None)
            held = holder() if callable(holder) else None
            rows.append(
                f"  {thread.name}: waits on {_describe(obj)}"
                + (f", held by {held}" if held else "")
            )
        return Failure("deadlock", "no thread can run\n" + "\n".join(rows), "", "")

    def _fail_from(self, thread: LThread, exc: BaseException) -> None:
        kind = "assertion" if isinstance(exc, AssertionError) else "exception"
        kind = getattr(exc, "_tk_kind", kind)
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self._fail(
            Failure(
                kind,
                f"{type(exc).__name__}: {exc}",
                thread.name,
                _location(exc.__traceback__),
                text,
            )
        )
        self.abort()

    def _fail(self, failure: Failure) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = failure

    def abort(self) -> None:
        """Stop the run: every logical thread raises ``Abort`` when it next runs."""
        self.aborting = True
        for thread in self.threads:
            if thread.state != DONE:
                with contextlib.suppress(RuntimeError):  # (already released: it runs)
                    thread.baton.release()


def _describe(obj: object) -> str:
    describe = getattr(obj, "_tk_describe", None)
    if callable(describe):
        return str(describe())
    return f"{type(obj).__name__} at {id(obj):#x}"


def _caller() -> str:
    """``file:line`` of the innermost frame outside threadkit (the operation's call site)."""
    frame = sys._getframe(2)
    while frame is not None and in_threadkit(frame.f_code.co_filename):
        frame = frame.f_back  # type: ignore[assignment]
    return "" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"
