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
baton hand-over orders every access, and after a failure the threads unwind one at a time,
each handing over to the next), so they need no locks; ``_lock`` guards what the caller's
thread also touches (``_alive``, ``failure``, ``dispatched``, ``_unwound``, ``_stuck``). The
one exception is the watchdog: it gives up on a thread stuck for real and unwinds the
others while that thread may still run.

OS threads are reused: a ``Workers`` pool, shared by the schedules of one exploration, runs
each logical thread on an idle worker, handed over the first time the thread is scheduled
(so starting a logical thread costs no OS wake-up of its own).

Beyond the threads' own choices, a decision may offer two kinds of nondeterminism, each
within a budget per schedule: ``TICK`` (virtual time passes to the next deadline although a
thread could run: timeouts fire "early") and a thread blocked on a Condition (a spurious
wake-up).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import site
import sys
import sysconfig
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .._core import _primitives as _p
from .._core._util import _TOUR, in_threadkit

__all__ = [
    "TICK",
    "Abort",
    "Failure",
    "LThread",
    "Runtime",
    "Strategy",
    "WORKERS",
    "Workers",
    "code_kind",
    "current_runtime",
    "pin",
    "runtime_here",
    "unpin",
]

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
            bounded semaphore), "livelock" (more steps than ``max_steps``),
            "uncontrolled" (a thread blocked on something the explorer does not model,
            such as a socket or a lock made before the run: the watchdog's report).
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
        "atomic",
        "baton",
        "body",
        "deadline",
        "dispatched",
        "in_op",
        "index",
        "name",
        "obj",
        "op",
        "state",
        "timed_out",
        "waiting_on",
    )

    def __init__(self, index: int, name: str, obj: object) -> None:
        self.index = index
        self.name = name
        self.obj = obj  # the Thread object user code sees (or None for the body)
        self.baton = _p.allocate_lock()
        self.baton.acquire()  # held while the thread may not run (once it has a worker)
        self.body: Callable[[], object] | None = None
        self.dispatched = False  # given to a worker (the first time it was scheduled)
        self.atomic = 0  # depth of explore.atomic() blocks: no preemption inside
        self.in_op = 0  # depth of threadkit primitives' operations (one point per outermost)
        self.op: tuple[str, object] = ("", None)  # the outermost one: (name, primitive)
        self.state = NEW
        self.waiting_on: object = None
        self.deadline: float | None = None
        self.timed_out = False

    def __repr__(self) -> str:
        return f"<LThread {self.index} {self.name!r} {self.state}>"


#: The option "virtual time passes to the next deadline now" (timeouts="early").
TICK = LThread(-1, "(time passes)", None)
_VALUES: list[LThread] = []  # the options of Runtime.decide (not threads)


class Workers:
    """Idle OS threads, reused by every schedule (and every exploration).

    ``run(job)`` hands ``job`` to an idle worker, or starts one. A worker idle for
    ``IDLE_SECONDS`` ends, so none is left long after the last exploration.
    """

    IDLE_SECONDS = 1.0

    def __init__(self) -> None:
        self._lock = _p.allocate_lock()
        self._idle: list[list[Any]] = []  # [wake-up lock, job] per idle worker

    def run(self, job: Callable[[], object]) -> None:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = [_p.allocate_lock(), job]
            worker[0].acquire()
            _p.start_new_thread(self._loop, (worker,))
        else:
            worker[1] = job
            worker[0].release()

    def _loop(self, worker: list[Any]) -> None:
        pin()
        while True:
            job = worker[1]
            worker[1] = None
            job()
            with self._lock:
                self._idle.append(worker)
            if not worker[0].acquire(True, self.IDLE_SECONDS):
                with self._lock:
                    if worker in self._idle:  # not handed a job meanwhile: end
                        self._idle.remove(worker)
                        return
                worker[0].acquire()  # (a job is being handed over)

    def forget(self) -> None:
        """In a forked child: the idle workers are the parent's threads."""
        self._lock = _p.allocate_lock()
        self._idle = []


def pin() -> set[int] | None:
    """Keep the calling thread on one CPU (the same for every logical thread: only one runs
    at a time, and a hand-over between threads on one CPU costs a quarter of one between
    two); return the CPUs it could run on before (None where the OS has no affinity)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(before)})
    except OSError:  # (a CPU set the process may not narrow)
        return None
    return before


def unpin(before: set[int] | None) -> None:
    """Give the calling thread back the CPUs ``pin()`` returned."""
    if before is not None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, before)


#: The workers of every exploration.
WORKERS = Workers()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=WORKERS.forget)


_current: Runtime | None = None


def current_runtime() -> Runtime | None:
    """The runtime of the run in progress, if any."""
    return _current


def runtime_here() -> Runtime | None:
    """The runtime of the run in progress if the calling thread is one of its logical
    threads (None for any other thread: it gets the real things)."""
    rt = _current
    return rt if rt is not None and _p.get_ident() in rt.by_ident else None


THREADKIT, LIBRARY, USER = 0, 1, 2

_KINDS: dict[str, int] = {}


def _library_dirs() -> tuple[str, ...]:
    """The stdlib's and every site-packages directory (dist-packages, the user's site)."""
    paths = [
        sysconfig.get_paths().get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")
    ]
    with contextlib.suppress(AttributeError):  # (a virtualenv's old site module lacks them)
        paths += site.getsitepackages()
        paths.append(site.getusersitepackages())
    return tuple({os.path.join(os.path.realpath(path), "") for path in paths if path})


_LIBRARY_DIRS = _library_dirs()


#: Code typed in, not generated: a doctest's examples, the REPL's and IPython's inputs.
_TYPED_IN = ("<doctest ", "<stdin>", "<console>", "<python-input-", "<ipython-input-")


def code_kind(filename: str) -> int:
    """THREADKIT (the implementation), LIBRARY (the stdlib, site-packages, frozen modules,
    generated code such as a dataclass's ``__init__``: a file name in ``<>``, except code
    typed in: a doctest, the REPL) or USER (everything else: the code under test):
    scheduling points reached from LIBRARY code never preempt, and only USER code has line
    and opcode points."""
    kind = _KINDS.get(filename)
    if kind is None:
        if in_threadkit(filename):
            kind = THREADKIT
        elif filename == _TOUR or filename.startswith(_TYPED_IN):  # (user code, wherever)
            kind = USER
        elif filename.startswith("<") or os.path.realpath(filename).startswith(_LIBRARY_DIRS):
            kind = LIBRARY
        else:
            kind = USER
        _KINDS[filename] = kind
    return kind


def _location(tb: Any) -> str:
    """``file:line`` of the innermost frame of ``tb`` outside threadkit."""
    where = ""
    for frame, lineno in traceback.walk_tb(tb):
        name = frame.f_code.co_filename
        if not in_threadkit(name):
            where = f"{name}:{lineno}"
    return where


class Runtime:
    """One schedule: the logical threads, the virtual clock and the decisions taken.

    Args:
        strategy: takes every decision.
        workers: the OS threads to run the logical threads on.
        max_steps: a schedule with more scheduling points is a "livelock" failure.
        early_timeouts: how many times virtual time may pass while a thread could run.
        spurious_wakeups: how many times a Condition waiter may wake with no notify.
    """

    def __init__(
        self,
        strategy: Strategy,
        workers: Workers,
        *,
        max_steps: int = 10_000,
        early_timeouts: int = 0,
        spurious_wakeups: int = 0,
    ) -> None:
        self.strategy = strategy
        self.workers = workers
        # Whether a file is under test: a point reached from other code never preempts.
        self.under_test: Callable[[str], bool] = lambda name: code_kind(name) == USER
        self.max_steps = max_steps
        self.early_left = early_timeouts
        self.spurious_left = spurious_wakeups
        self.threads: list[LThread] = []
        self.by_ident: dict[int, LThread] = {}
        self.current: LThread | None = None
        self.now = 0.0
        self.names = 0  # threads named so far (Thread-1, Thread-2, ...)
        self.steps = 0
        self.decisions: list[tuple[int, int]] = []  # (chosen index, number of choices)
        # Per step: (thread, op, code, line, obj); the location is formatted when reported.
        self.trace: list[tuple[LThread, str, Any, int, object]] = []
        self.preempted: set[int] = set()  # steps after which the running thread was preempted
        self.failure: Failure | None = None
        self.strategy_error: Exception | None = None  # what the strategy raised, if it did
        self.aborting = False
        self._unwound: set[LThread] = set()  # resumed to unwind (guarded by _lock)
        self._stuck: LThread | None = None  # the thread the watchdog found running
        # Called by each logical thread as it starts (True) and ends (False).
        self.thread_hook: Callable[[LThread, bool], None] | None = None
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
        """Make ``thread`` runnable; it runs ``body`` on a worker once it is scheduled."""
        thread.state = RUNNABLE
        thread.body = body
        with self._lock:
            self._alive += 1

    def _resume(self, thread: LThread) -> None:
        """Let ``thread`` run: release its baton, or, the first time, give it a worker."""
        with self._lock:
            first = not thread.dispatched
            thread.dispatched = True
        if first:
            body = thread.body
            assert body is not None
            self.workers.run(lambda: self._bootstrap(thread, body))
        else:
            thread.baton.release()

    def _bootstrap(self, thread: LThread, body: Callable[[], object]) -> None:
        self.by_ident[_p.get_ident()] = thread
        hook = self.thread_hook
        try:
            if self.aborting:
                raise Abort
            if hook is not None:
                hook(thread, True)
            contextvars.Context().run(body)  # (a new thread's context: nothing carried over)
            if thread.index == 0:  # the test body returned: every thread it started must be done
                alive = [t for t in self.threads if t.index and t.state != DONE]
                running = [t.name for t in alive if not getattr(t.obj, "daemon", False)]
                if running:
                    self._fail(
                        Failure(
                            "misuse",
                            "threads still alive when the test ends: " + ", ".join(running),
                            thread.name,
                            "",
                        )
                    )
                if alive:  # (daemon threads are stopped, as at the interpreter's exit)
                    self.abort()
        except Abort:
            pass
        except BaseException as exc:
            self._fail_from(thread, exc)
        finally:
            if hook is not None:
                hook(thread, False)
            self._exit(thread)

    def _exit(self, thread: LThread) -> None:
        thread.state = DONE
        self.by_ident.pop(_p.get_ident(), None)  # (the worker runs other threads later)
        for other in self.threads:  # joiners of this thread
            if other.state == BLOCKED and other.waiting_on is thread.obj:
                self.wake(other)
        with self._lock:
            self._alive -= 1
            last = self._alive == 0
        if last:
            self._finished.release()
        elif self.aborting or not self._run_next(None):
            self._unwind_next()  # (a failure: the next thread unwinds; or a deadlock found)

    def _unwind_next(self) -> None:
        """After a failure, let the next live thread run to raise ``Abort`` and end: the
        threads unwind one at a time, each handing over to the next as it ends."""
        if not self.aborting:
            return
        with self._lock:
            following = None
            for thread in self.threads:
                live = thread.state != DONE and thread is not self._stuck
                if live and thread not in self._unwound:
                    following = thread
                    self._unwound.add(thread)
                    break
        if following is not None:
            self._resume(following)

    def run(self, body: Callable[[], object], timeout: float) -> None:
        """Run ``body`` as thread 0 and return when every logical thread has ended.

        ``timeout``: the watchdog's limit, in seconds of real time without a single step
        (a thread blocked on something that is not modelled: reported as "uncontrolled").
        """
        global _current
        _current = self
        try:
            main = self.new_thread("MainThread", None)
            self.start(main, body)
            self.current = main
            self._resume(main)
            seen = 0
            while not self._finished.acquire(True, min(timeout, _p.TIMEOUT_MAX)):
                if self.steps != seen:  # progress: a long schedule, not a stuck one
                    seen = self.steps
                    continue
                self._fail(
                    Failure(
                        "uncontrolled",
                        f"no step for {timeout} s of real time: uncontrolled blocking (a "
                        "lock, socket or queue the explorer does not model?)\n" + _stacks(self),
                        "",
                        "",
                    )
                )
                self.abort()
                self._finished.acquire(True, 1.0)  # (a thread stuck for real stays stuck)
                break
        except BaseException:  # (an interrupt while waiting: stop the threads, then raise)
            self.abort()
            self._finished.acquire(True, 1.0)
            raise
        finally:
            _current = None

    # -- scheduling ------------------------------------------------------------------

    def me(self) -> LThread:
        thread = self.by_ident.get(_p.get_ident())
        if thread is None:
            raise RuntimeError("not a thread of the explorer's run")
        return thread

    def point(self, op: str, obj: object = None) -> None:
        """A scheduling point before the visible operation ``op`` (on ``obj``) of the
        running thread. Reached from code not under test (the stdlib, site-packages, unless
        ``include=`` names it), it records the step but never preempts: library internals
        are not what is under test."""
        frame = sys._getframe(1)
        kinds = _KINDS
        while True:
            name = frame.f_code.co_filename
            kind = kinds.get(name)
            if kind is None:
                kind = code_kind(name)
            if kind != THREADKIT or frame.f_back is None:
                break
            frame = frame.f_back
        preempt = kind != THREADKIT and self.under_test(frame.f_code.co_filename)
        self.point_at(op, frame.f_code, frame.f_lineno, obj, preempt)

    def point_at(
        self, op: str, code: Any, line: int, obj: object = None, preempt: bool = True
    ) -> None:
        """A scheduling point at ``code``/``line`` (see ``point``)."""
        me = self.by_ident.get(_p.get_ident())
        if me is None:
            raise RuntimeError("not a thread of the explorer's run")
        if self.aborting:
            raise Abort
        self.steps += 1
        if self.steps > self.max_steps:
            self._fail(Failure("livelock", f"more than {self.max_steps} steps", me.name, ""))
            self.abort()
            raise Abort
        if preempt and not me.atomic:
            self._run_next(me)
            if self.aborting:
                raise Abort
        self.trace.append((me, op, code, line, obj))  # (in the order the operations happen)

    def decide(self, n: int) -> int:
        """A choice among ``n`` values that threadkit itself makes (which ready arm a select
        takes: DESIGN.md sec. 11), taken by the strategy like a scheduling decision: DFS
        enumerates it, replay repeats it. Never a preemption."""
        if self.aborting:
            raise Abort
        if n <= 1:
            return 0
        while len(_VALUES) < n:
            _VALUES.append(LThread(-2 - len(_VALUES), "(a value)", None))
        options = _VALUES[:n]
        try:
            index = self.strategy.choose(options, None, len(self.decisions))
        except Exception as exc:
            self.strategy_error = exc
            self._fail(Failure("exception", f"the strategy failed: {exc}", "", ""))
            self.abort()
            raise Abort from None
        self.decisions.append((index, n))
        return index

    def block(self, obj: object, deadline: float | None) -> bool:
        """Block the running thread on ``obj`` until woken (True) or ``deadline`` (False)."""
        me = self.me()
        if self.aborting:
            raise Abort
        me.state = BLOCKED
        me.waiting_on = obj
        me.deadline = deadline
        me.timed_out = False
        self._run_next(me)
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

    def _tick(self) -> bool:
        """Move virtual time to the earliest deadline and wake the threads due then;
        False if no blocked thread has a deadline."""
        due = [t.deadline for t in self.threads if t.state == BLOCKED and t.deadline is not None]
        if not due:
            return False
        self.now = max(self.now, min(due))
        for thread in self.threads:
            due_now = thread.deadline is not None and thread.deadline <= self.now
            if thread.state == BLOCKED and due_now:
                self.wake(thread)
                thread.timed_out = True
        return True

    def _options(self) -> list[LThread]:
        """What a decision chooses among: the runnable threads (by number), then the
        nondeterminism still in budget (``TICK``; Condition waiters, to wake spuriously)."""
        options = [t for t in self.threads if t.state == RUNNABLE]
        if not options:
            return options
        if self.early_left > 0 and any(
            t.state == BLOCKED and t.deadline is not None for t in self.threads
        ):
            options.append(TICK)
        if self.spurious_left > 0:
            options += [
                t
                for t in self.threads
                if t.state == BLOCKED and getattr(t.waiting_on, "_tk_spurious", False)
            ]
        return options

    def _run_next(self, me: LThread | None) -> bool:
        """Pick the next thread and hand it the baton; ``me`` waits until it is picked.
        False if no thread was handed the baton (a deadlock, or nothing left to run)."""
        while True:
            options = self._options()
            if not options:
                if self._tick():  # virtual time jumps to the next deadline
                    continue
                if any(t.state == BLOCKED for t in self.threads):
                    self._fail(self._deadlock())
                    self.abort()
                    if me is not None:
                        raise Abort
                return False
            index = 0
            if len(options) > 1:
                try:
                    index = self.strategy.choose(options, me, len(self.decisions))
                except Exception as exc:  # (a replay that diverges): the run stops, re-raised
                    self.strategy_error = exc
                    self._fail(Failure("exception", f"the strategy failed: {exc}", "", ""))
                    self.abort()
                    if me is not None:
                        raise Abort from None
                    return False
                self.decisions.append((index, len(options)))
            chosen = options[index]
            if chosen is TICK:
                self.early_left -= 1
                self._tick()
                continue
            if chosen.state == BLOCKED:  # a spurious wake-up
                self.spurious_left -= 1
                self.wake(chosen)
            break
        if chosen is me:
            return True
        if me is not None and me.state == RUNNABLE:
            self.preempted.add(len(self.trace) - 1)
        self.current = chosen
        self._resume(chosen)
        if me is not None:
            me.baton.acquire()
        return True

    # -- failures --------------------------------------------------------------------

    def _deadlock(self) -> Failure:
        rows = []
        places: list[str] = []  # where each blocked thread waits: the deadlock's location
        waits_for: dict[str, str] = {}
        for thread in self.threads:
            if thread.state != BLOCKED:
                continue
            obj = thread.waiting_on
            holder = getattr(obj, "_tk_holder", None)
            held = holder() if callable(holder) else None
            if held:
                waits_for[thread.name] = held
            where = ""
            for step in reversed(self.trace):
                if step[0] is thread:
                    where = f" at {_where(step[2], step[3])}"
                    places.append(_where(step[2], step[3]))
                    break
            rows.append(
                f"  {thread.name}: waits on {_describe(obj)}"
                + (f", held by {held}" if held else "")
                + where
            )
            history = [] if held else self.history(obj)  # (an owner says it all for a lock)
            if history:
                rows.append("    history: " + "; ".join(history))
        cycle = _cycle(waits_for)
        if cycle:
            rows.append("  cycle: " + " -> ".join(cycle))
        location = ", ".join(sorted(set(places)))
        return Failure("deadlock", "no thread can run\n" + "\n".join(rows), "", location)

    def label(self, obj: object) -> str:
        """``obj``'s type and its number among the objects of that type in the order the
        schedule first touched them ("Lock #2"): the same in every run of the schedule,
        unlike its address."""
        kind = type(obj).__name__
        seen: list[int] = []
        for step in self.trace:
            on = step[4]
            if type(on).__name__ == kind and id(on) not in seen:
                seen.append(id(on))
        for thread in self.threads:  # (a wait that began with no operation recorded)
            if type(thread.waiting_on).__name__ == kind and id(thread.waiting_on) not in seen:
                seen.append(id(thread.waiting_on))
        number = seen.index(id(obj)) + 1 if id(obj) in seen else len(seen) + 1
        return f"{kind} #{number}"

    def history(self, obj: object, last: int = 6) -> list[str]:
        """The last operations on ``obj`` (a lost wake-up shows here: a set() that a clear()
        wiped before the waiter looked)."""
        steps = [
            f"{op} by {thread.name} (step {i}, {_where(code, line)})"
            for i, (thread, op, code, line, on) in enumerate(self.trace)
            if on is obj and obj is not None
        ]
        return steps[-last:]

    def _fail_from(self, thread: LThread, exc: BaseException) -> None:
        kind = "assertion" if isinstance(exc, AssertionError) else "exception"
        kind = getattr(exc, "_tk_kind", kind)
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self._fail(
            Failure(
                kind,
                f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
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
        """Stop the run: the live threads raise ``Abort`` and end, one at a time (the
        calling logical thread first; each hands over to the next as it ends)."""
        self.aborting = True
        if _p.get_ident() not in self.by_ident:  # the caller's thread (the watchdog)
            with self._lock:
                self._stuck = self.current  # (blocked for real: it cannot unwind)
            self._unwind_next()


def _cycle(waits_for: dict[str, str]) -> list[str]:
    """A cycle in "thread -> the thread holding what it waits for", first thread repeated
    at the end ([] if none)."""
    for start in waits_for:
        path = [start]
        while path[-1] in waits_for:
            following = waits_for[path[-1]]
            if following in path:
                return [*path[path.index(following) :], following]
            path.append(following)
    return []


def _describe(obj: object) -> str:
    describe = getattr(obj, "_tk_describe", None)
    if callable(describe):
        return str(describe())
    rt = _current
    return rt.label(obj) if rt is not None else f"{type(obj).__name__} at {id(obj):#x}"


def _where(code: Any, line: int) -> str:
    """``file:line`` of a recorded step."""
    return "" if code is None else f"{code.co_filename}:{line}"


def _stacks(rt: Runtime) -> str:
    """The stack of every thread (for the watchdog's report): the logical threads first,
    then the others (the caller's excepted); threadkit's own frames left out."""
    frames = sys._current_frames()
    logical = dict(rt.by_ident)

    def stack(ident: int) -> str:
        entries = traceback.extract_stack(frames[ident])
        return "".join(traceback.format_list([e for e in entries if code_kind(e.filename)]))

    out = [
        f"{thread.name} ({thread.state}):\n{stack(ident)}"
        for ident, thread in logical.items()
        if ident in frames
    ]
    out += [
        f"another thread (ident {ident}, not the explorer's):\n{stack(ident)}"
        for ident in frames
        if ident not in logical and ident != _p.get_ident()
    ]
    return "\n".join(out)
