"""``threadkit tour``: each surprise of the standard library, run live, then threadkit's answer.

Every scene comes from the notebook threadkit grew out of. A scene first runs what the
standard library does (the surprise itself, not a description of it), then what threadkit
does instead, and reports what actually happened, in a few short lines.

Adding a scene (later chapters: channels, cancellation, pools, ...)::

    chapter(2, "Channels")

    @scene("close", "a queue you can close", chapter=2, order=10)
    def _close(out: Printer) -> None:
        out.stdlib("...")
        out.threadkit("...")

Rules every scene keeps: no thread is left running (start threads through ``_Crew``, which
joins them), every wait inside a scene's threads has a timeout (``_GUARD``) so a bug cannot
hang the tour, and threads are synchronised on events and ``statistics()``, never on sleeps,
except where a short timeout *is* the demonstration.

The standard library is reached through ``_core._primitives`` (``threading_module``), the one
module of threadkit that imports ``threading``.
"""

from __future__ import annotations

import math
import os
import queue as stdlib_queue
import re
import sys
import textwrap
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import CancelledError
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TextIO

import threadkit
import threadkit.queue

from ._core import _primitives as _p

if TYPE_CHECKING:
    from .testing.explore import ExploreFailure

__all__ = [
    "Printer",
    "Scene",
    "UnknownSceneError",
    "chapter",
    "run",
    "scene",
    "scenes",
    "select",
]

threading: Final = _p.threading_module

# Upper bound, in seconds, for every wait that should end at once: reached only on a bug.
_GUARD: Final = 5.0


# --------------------------------------------------------------------------------------------
# Output


class Printer:
    """Where the tour writes: a heading per scene, then labelled, wrapped lines.

    Args:
        stream: the text stream to write to (``sys.stdout`` when None, looked up at each
            write so that a test's capture sees it).
        width: the column at which long lines wrap.
        colour: colour the headings and the labels (ANSI escapes). None (the default):
            when the stream is a terminal, unless the ``NO_COLOR`` environment variable is
            set; ``FORCE_COLOR`` turns it on anywhere.
    """

    _LABEL_WIDTH: Final = 13  # "  threadkit: "
    _STYLES: Final = {"heading": "1", "stdlib:": "33", "threadkit:": "32"}

    def __init__(
        self, stream: TextIO | None = None, *, width: int = 100, colour: bool | None = None
    ) -> None:
        self._stream = stream
        self._width = width
        self._colour = colour

    def _use_colour(self, stream: TextIO) -> bool:
        if self._colour is not None:
            return self._colour
        if os.environ.get("NO_COLOR"):
            return False
        if os.environ.get("FORCE_COLOR"):
            return True
        isatty = getattr(stream, "isatty", None)
        return bool(isatty is not None and isatty())

    def _style(self, stream: TextIO, style: str, text: str) -> str:
        if not self._use_colour(stream):
            return text
        return f"\033[{self._STYLES[style]}m{text}\033[0m"

    def line(self, text: str = "") -> None:
        """Write ``text`` as it is, then a newline."""
        stream = sys.stdout if self._stream is None else self._stream
        stream.write(text + "\n")
        stream.flush()

    def heading(self, text: str) -> None:
        """Start a scene (or a chapter) with a blank line and ``text`` (bold on a terminal)."""
        self.line()
        stream = sys.stdout if self._stream is None else self._stream
        self.line(self._style(stream, "heading", self._wrap(text, "", "")))

    def text(self, text: str) -> None:
        """Write ``text`` wrapped, with no label."""
        self.line(self._wrap(text, "", ""))

    def stdlib(self, text: str) -> None:
        """Report what the standard library did."""
        self._labelled("stdlib:", text)

    def threadkit(self, text: str) -> None:
        """Report what threadkit did."""
        self._labelled("threadkit:", text)

    def _labelled(self, label: str, text: str) -> None:
        first = f"  {label}".ljust(self._LABEL_WIDTH)
        wrapped = self._wrap(text, first, " " * self._LABEL_WIDTH)
        stream = sys.stdout if self._stream is None else self._stream
        # The label is wrapped as plain text, then coloured: the escapes take no columns.
        self.line(f"  {self._style(stream, label, label)}{wrapped[2 + len(label) :]}")

    def _wrap(self, text: str, first: str, rest: str) -> str:
        return textwrap.fill(
            text,
            width=self._width,
            initial_indent=first,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        )


# --------------------------------------------------------------------------------------------
# The registry


SceneFunction = Callable[[Printer], None]


@dataclass(frozen=True, slots=True)
class Scene:
    """One scene of the tour.

    Attributes:
        name: what ``--only`` takes (lowercase, dashes).
        title: a one-line summary, shown in the heading and by ``--list``.
        chapter: the chapter it belongs to (see ``chapter()``); chapters run in order.
        order: its place within the chapter (gaps leave room for new scenes).
        function: runs the scene, writing to the ``Printer`` it is given.
    """

    name: str
    title: str
    chapter: int
    order: int
    function: SceneFunction


class UnknownSceneError(ValueError):
    """Raised by ``select()`` for a name that is not a scene; ``names`` lists the unknown."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        plural = "s" if len(self.names) > 1 else ""
        unknown = ", ".join(repr(name) for name in self.names)
        known = ", ".join(s.name for s in scenes())
        super().__init__(f"unknown scene{plural} {unknown}; the scenes are: {known}")


_CHAPTERS: dict[int, str] = {}
_SCENES: dict[str, Scene] = {}


def chapter(number: int, title: str) -> None:
    """Declare chapter ``number``; its title is shown before its first scene."""
    if _CHAPTERS.get(number, title) != title:
        raise ValueError(f"chapter {number} is already {_CHAPTERS[number]!r}")
    _CHAPTERS[number] = title


def scene(
    name: str, title: str, *, chapter: int = 1, order: int
) -> Callable[[SceneFunction], SceneFunction]:
    """Register the decorated function as the scene ``name``, in ``chapter`` at ``order``."""

    def register(function: SceneFunction) -> SceneFunction:
        if name in _SCENES:
            raise ValueError(f"scene {name!r} is already registered")
        if chapter not in _CHAPTERS:
            raise ValueError(f"scene {name!r}: declare chapter {chapter} first")
        _SCENES[name] = Scene(name, title, chapter, order, function)
        return function

    return register


def scenes() -> list[Scene]:
    """Return every scene, in tour order."""
    return sorted(_SCENES.values(), key=lambda s: (s.chapter, s.order, s.name))


def select(names: Iterable[str]) -> list[Scene]:
    """Return the scenes called ``names``, in the order given, each once.

    Raises:
        UnknownSceneError: naming every name that is not a scene.
    """
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in _SCENES]
    if unknown:
        raise UnknownSceneError(unknown)
    return [_SCENES[name] for name in wanted]


def run(selected: Sequence[Scene] | None = None, out: Printer | None = None) -> None:
    """Run ``selected`` scenes (all of them by default), writing to ``out``."""
    out = Printer() if out is None else out
    todo = scenes() if selected is None else list(selected)
    version = ".".join(map(str, sys.version_info[:3]))
    out.text(
        f"threadkit {threadkit.__version__} tour on Python {version}: each scene runs the "
        "standard library first (the surprise, live), then threadkit."
    )
    current_chapter = None
    for number, s in enumerate(todo, 1):
        if s.chapter != current_chapter:
            current_chapter = s.chapter
            out.heading(f"== Chapter {s.chapter}: {_CHAPTERS[s.chapter]} ==")
        out.heading(f"[{number}/{len(todo)}] {s.name}: {s.title}")
        s.function(out)
    out.heading(
        "That's the tour. `import threadkit as threading` is the whole migration; "
        "README.md has the quick start and everything else threadkit changes."
    )


# --------------------------------------------------------------------------------------------
# Helpers for scenes


def _describe(exc: BaseException | None) -> str:
    """``ValueError: message``, or ``no error``."""
    if exc is None:
        return "no error"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` (a look at some ``statistics()``) until it holds.

    This is how the tour waits for threads to block: no guessing with sleeps.
    """
    deadline = _p.monotonic() + _GUARD
    while not predicate():
        if _p.monotonic() > deadline:
            raise RuntimeError(f"threadkit tour: gave up waiting for {what}")
        _p.sleep(0.0005)


def _stdlib_waiting(cond: object) -> int:
    """Threads blocked on a ``threading.Condition``, read from its private ``_waiters``.

    The standard library has no public way to ask; threadkit has ``statistics()``.
    """
    return len(vars(cond)["_waiters"])


class _Crew(AbstractContextManager["_Crew"]):
    """The threads of one scene: started here, all joined on exit (nothing is left running)."""

    def __init__(self) -> None:
        self._threads: list[threadkit.Thread] = []

    def start(self, fn: Callable[[], object], name: str) -> threadkit.Thread:
        thread = threadkit.Thread(target=fn, name=name)
        self._threads.append(thread)
        thread.start()
        return thread

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Every wait in a scene's threads has a timeout of at most _GUARD, so this ends.
        for thread in self._threads:
            thread.join(2 * _GUARD)
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive and exc is None:
            raise RuntimeError(f"threadkit tour: threads still running: {alive}")


def _outcome_in_thread(fn: Callable[[], object], name: str) -> BaseException | None:
    """Call ``fn`` in a new thread named ``name``; return what it raised, or None."""

    def attempt() -> BaseException | None:
        try:
            fn()
        except Exception as exc:
            return exc
        return None

    with _Crew() as crew:
        thread = crew.start(attempt, name)
    outcome: BaseException | None = thread.result()
    return outcome


@contextmanager
def _excepthook_collecting(seen: list[Any]) -> Iterator[None]:
    """Send uncaught thread exceptions to ``seen`` instead of stderr, for the block.

    ``threading.excepthook`` is process-wide: the block is kept to the demo threads' lives.
    """
    saved = threading.excepthook
    threading.excepthook = seen.append
    try:
        yield
    finally:
        threading.excepthook = saved


# --------------------------------------------------------------------------------------------
# Chapter 1: the notebook's surprises

chapter(1, "the primitives (from the notebook)")


@scene("locks", "`with lock:` works the same; a Mutex knows its owner", order=10)
def _locks(out: Printer) -> None:
    def count_with(lock: AbstractContextManager[Any]) -> int:
        total = 0

        def work() -> None:
            nonlocal total
            for _ in range(1000):
                with lock:
                    total += 1

        with _Crew() as crew:
            for i in range(4):
                crew.start(work, f"worker-{i}")
        return total

    out.stdlib(
        f"with threading.Lock(): 4 threads x 1000 increments -> {count_with(threading.Lock())}"
    )
    out.threadkit(
        f"with threadkit.Lock() -> {count_with(threadkit.Lock())}, "
        f"with threadkit.Mutex() -> {count_with(threadkit.Mutex())}: the same"
    )
    same = threadkit.Lock is threading.Lock
    out.threadkit(f"threadkit.Lock is threading.Lock -> {same}: the C lock itself, the same speed")

    me = threading.current_thread().name
    lock = threading.Lock()
    lock.acquire()
    error = _outcome_in_thread(lock.release, "intruder")
    out.stdlib(
        f"a Lock acquired by {me!r}, released by thread 'intruder' -> {_describe(error)}, "
        f"lock.locked() -> {lock.locked()}: any thread may release it"
    )
    if lock.locked():
        lock.release()
    mutex = threadkit.Mutex()
    with mutex:
        error = _outcome_in_thread(mutex.release, "intruder")
    out.threadkit(f"Mutex.release() from thread 'intruder' -> {_describe(error)}")

    lock = threading.Lock()
    with lock:
        start = _p.monotonic()
        got = lock.acquire(timeout=0.2)  # without the timeout: blocked forever
        took = _p.monotonic() - start
        if got:
            lock.release()
    out.stdlib(
        f"the holder acquires it again -> hangs forever; "
        f"acquire(timeout=0.2) -> {got} after {took:.1f}s"
    )
    error = None
    with mutex:
        try:
            mutex.acquire()
        except threadkit.DeadlockError as exc:
            error = exc
        else:
            mutex.release()
    out.threadkit(f"the holder acquires the Mutex again -> {_describe(error)}")


@scene("event-clear", "Event has clear(), but that's still not atomic", order=20)
def _event_clear(out: Printer) -> None:
    ev = threading.Event()
    proceeded: list[str] = []

    def consume() -> None:
        if ev.wait(_GUARD):
            ev.clear()
            proceeded.append(threading.current_thread().name)

    with _Crew() as crew:
        for name in ("consumer-1", "consumer-2"):
            crew.start(consume, name)
        _wait_until(lambda: _stdlib_waiting(vars(ev)["_cond"]) == 2, "both consumers to wait")
        ev.set()
    out.stdlib(
        f"2 consumers blocked in `ev.wait(); ev.clear()`, one ev.set() -> "
        f"{len(proceeded)} proceeded ({', '.join(sorted(proceeded))})"
    )

    tkev = threadkit.Event()
    done = threadkit.Semaphore(0)
    taken: list[str] = []

    def take() -> None:
        if tkev.wait_and_clear(_GUARD):
            taken.append(threading.current_thread().name)
            done.release()

    with _Crew() as crew:
        for name in ("consumer-1", "consumer-2"):
            crew.start(take, name)
        _wait_until(lambda: tkev.statistics().threads_waiting == 2, "both consumers to wait")
        tkev.set()
        done.acquire(timeout=_GUARD)
        stats = tkev.statistics()
        out.threadkit(
            f"2 consumers blocked in ev.wait_and_clear(), one ev.set() -> {len(taken)} "
            f"proceeded ({', '.join(taken)}); ev.statistics() -> {stats}"
        )
        tkev.set()
        done.acquire(timeout=_GUARD)
    out.threadkit(
        f"a second ev.set() -> {taken[-1]} proceeds: each set() is taken by exactly one consumer"
    )


@scene("semaphore", "a Semaphore counts past its start, and hides its count", order=30)
def _semaphore(out: Printer) -> None:
    s = threading.Semaphore(7)
    before = s._value
    for _ in range(4):
        s.release()
    out.stdlib(
        f"s = threading.Semaphore(7); 4 extra s.release() -> s._value {before} -> {s._value}: "
        "no error, and only a private attribute shows it"
    )

    tks = threadkit.Semaphore(7, max_value=7)
    error = None
    try:
        tks.release()
    except ValueError as exc:
        error = exc
    out.threadkit(f"s = threadkit.Semaphore(7, max_value=7); s.release() -> {_describe(error)}")
    out.threadkit(
        f"public state: s.value={tks.value}, s.initial_value={tks.initial_value}, "
        f"s.max_value={tks.max_value}; s.statistics() -> {tks.statistics()}"
    )
    out.threadkit(f"repr(s) -> {tks!r}")


@scene("thread-result", "a Thread loses its target's return value and exception", order=40)
def _thread_result(out: Printer) -> None:
    seen: list[Any] = []
    with _excepthook_collecting(seen):
        thread = threading.Thread(target=lambda: 6 * 7, name="answer")
        thread.start()
        thread.join()
        failing = threading.Thread(target=lambda: 1 / 0, name="divide")
        failing.start()
        failing.join()
    out.stdlib(
        "threading.Thread(target=lambda: 6 * 7): join() returns None and nothing keeps the 42"
    )
    lost = ", ".join(f"{_describe(args.exc_value)} in {args.thread.name!r}" for args in seen)
    out.stdlib(
        f"target=lambda: 1 / 0 -> join() returns None; the error ({lost}) only reaches "
        "threading.excepthook, which prints it to stderr (silenced here)"
    )

    seen.clear()
    with _excepthook_collecting(seen):
        answer = threadkit.Thread(target=lambda: 6 * 7, name="answer")
        answer.start()
        result = answer.result(timeout=_GUARD)
        failing_tk = threadkit.Thread(target=lambda: 1 / 0, name="divide")
        failing_tk.start()
        raised: BaseException | None = None
        try:
            failing_tk.result(timeout=_GUARD)
        except ZeroDivisionError as exc:
            raised = exc
    out.threadkit(f"threadkit.Thread(target=lambda: 6 * 7).result() -> {result}")
    out.threadkit(
        f"target=lambda: 1 / 0 -> result() raises {_describe(raised)}; "
        "exception() returns it (and threading.excepthook still gets it, as before)"
    )


@scene("barrier", "Barrier(0): accepted or refused, depending on your Python", order=50)
def _barrier(out: Printer) -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    try:
        barrier = threading.Barrier(0)
    except ValueError as exc:
        out.stdlib(
            f"threading.Barrier(0) on Python {version} -> {_describe(exc)} "
            "(3.11 and 3.12 accept it, and its wait() then blocks forever)"
        )
    else:
        try:
            barrier.wait(timeout=0.1)  # without the timeout: blocked forever
        except threading.BrokenBarrierError as exc:
            error: BaseException = exc
        else:  # pragma: no cover - no Python does this
            error = RuntimeError("passed")
        out.stdlib(
            f"threading.Barrier(0) on Python {version} -> accepted: a barrier no thread can "
            f"pass; wait(timeout=0.1) -> {_describe(error)} (3.13 raises ValueError instead)"
        )

    refused = None
    try:
        threadkit.Barrier(0)
    except ValueError as exc:
        refused = exc
    out.threadkit(f"threadkit.Barrier(0) -> {_describe(refused)}, on every Python version")


@scene("condition", "a notify() that meets a timed-out waiter", order=60)
def _condition(out: Printer) -> None:
    def attempt(
        cv: Any, lock: threadkit.Mutex, waiting_on: Callable[[Any], int], timeout: float
    ) -> tuple[bool | None, bool, bool]:
        """A waits with ``timeout``, B without; notify(1) comes just after A timed out.

        The notifier takes the lock before A's timeout passes and holds it, so A times out
        but cannot return from wait() until it has the lock back; then notify(1). The lock
        is a threadkit Mutex only so that its statistics show when A waits for it.

        Returns A's wait() result, whether that notify(1) woke B, and whether the notifier
        was too late (A had already returned when it got the lock: the caller retries).
        """
        results: dict[str, bool] = {}

        def waiting() -> int:
            return waiting_on(cv)

        def wait(name: str, timeout: float) -> None:
            with cv:
                results[name] = cv.wait(timeout)

        with _Crew() as crew:
            # If A times out too early (this thread was not scheduled in time), A returns:
            # the waits below end, and the attempt reports it was too late.
            crew.start(lambda: wait("A", timeout), "A")
            _wait_until(lambda: waiting() == 1 or "A" in results, "A to wait")
            crew.start(lambda: wait("B", _GUARD), "B")
            _wait_until(lambda: waiting() == 2 or "A" in results, "B to wait")
            with cv:
                too_late = "A" in results
                _wait_until(
                    lambda: lock.statistics().threads_waiting == 1 or "A" in results,
                    "A to time out",
                )
                cv.notify(1)
                b_woken = waiting() == 0
            if not b_woken:  # B is still waiting: wake it, so the scene can end
                with cv:
                    cv.notify(1)
        return results.get("A"), b_woken, too_late

    def demo(
        make: Callable[[threadkit.Mutex], Any], waiting_on: Callable[[Any], int]
    ) -> tuple[float, bool | None, bool]:
        timeout = 0.1
        while True:  # a longer timeout if this thread was not scheduled in time
            lock = threadkit.Mutex()
            cv = make(lock)
            a_result, b_woken, too_late = attempt(cv, lock, waiting_on, timeout)
            if not too_late or timeout >= 1:
                return timeout, a_result, b_woken
            timeout *= 2

    # A Mutex has the lock protocol that threading.Condition uses.
    timeout, a_result, b_woken = demo(threading.Condition, _stdlib_waiting)  # type: ignore[arg-type]
    verdict = "B woken" if b_woken else "B still waiting: the notification went to A and was lost"
    out.stdlib(
        f"A waits with timeout={timeout}, B without; notify(1) comes as A times out -> "
        f"A's wait() returns {a_result}, {verdict}"
    )
    timeout, a_result, b_woken = demo(
        threadkit.Condition, lambda cv: cv.statistics().threads_waiting
    )
    verdict = "notify(1) wakes B" if b_woken else "B still waiting"
    out.threadkit(
        f"the same with threadkit.Condition -> A's wait() returns {a_result}, {verdict}: "
        "a waiter that timed out leaves the queue at once"
    )


# --------------------------------------------------------------------------------------------
# Chapter 2: shutting a worker down

chapter(2, "shutting a worker down")


@scene(
    "worker-shutdown",
    "sentinels, a should_run flag and __del__, or a channel you close",
    chapter=2,
    order=10,
)
def _worker_shutdown(out: Printer) -> None:
    poll = 0.2  # the notebook polls every second; shortened so the tour stays quick
    processed: list[object] = []
    finalised = threading.Event()

    class Example:
        """The notebook's worker, as written there (but for the poll interval)."""

        def __init__(self) -> None:
            self.should_run = True
            self.q: stdlib_queue.Queue[object] = stdlib_queue.Queue()
            self.th = threading.Thread(target=self.__work, name="notebook-worker")
            self.th.start()

        def __work(self) -> None:
            while self.should_run:
                try:
                    processed.append(self.q.get(timeout=poll))
                    self.q.task_done()
                except stdlib_queue.Empty:
                    pass

        def put(self, value: object) -> None:
            self.q.put(value)

        def shutdown(self) -> None:
            self.should_run = False

        def __del__(self) -> None:
            finalised.set()

    f = Example()
    thread, q = f.th, f.q
    f.put(1)
    f.put(object())  # "object() could be a sentinel value"
    q.join()
    alive = weakref.ref(f)
    del f
    del_ran = finalised.is_set()
    worker = alive()
    assert worker is not None  # the running thread keeps it alive: that is the point
    started = _p.monotonic()
    worker.shutdown()
    thread.join(_GUARD)
    noticed = _p.monotonic() - started
    worker.put(2)  # accepted without complaint; nobody will ever get it
    del worker
    sentinels = sum(1 for item in processed if type(item) is object)
    out.stdlib(
        f"queue.Queue + should_run + get(timeout={poll}): the object() sentinel came out of "
        f"get() like any item ({len(processed)} items, {sentinels} of them the sentinel); "
        f"'del worker' ran __del__: {del_ran} (the running thread holds the object, so "
        f"__del__ cannot be what stops it); shutdown() took {noticed:.2f} s to be noticed "
        f"(one poll); a put() after it was accepted and never processed ({q.qsize()} lost)"
    )

    received: list[int] = []
    tx, rx = threadkit.open_channel(math.inf)
    with _Crew() as crew:

        def work() -> None:
            with rx:
                for item in rx:  # ends when every Sender is closed and the buffer drained
                    received.append(item)

        crew.start(work, "channel-worker")
        tx.send(1)
        tx.send(2)
        started = _p.monotonic()
        tx.close()
    ended = _p.monotonic() - started
    try:
        tx.send(3)
    except threadkit.ChannelClosed as exc:
        refused = f"{_describe(exc)} (the item, {exc.item}, is handed back on it)"
    out.threadkit(
        f"tx, rx = open_channel(math.inf); the worker is 'for item in rx:'. After tx.close() "
        f"it processed {received} and ended {ended * 1000:.1f} ms later: no sentinel, no "
        f"flag, no poll, no __del__. tx.send(3) after close -> {refused}"
    )

    tq: threadkit.queue.Queue[int] = threadkit.queue.Queue()
    got: list[int] = []
    with _Crew() as crew:
        crew.start(lambda: got.extend(tq), "queue-worker")
        tq.put(1)
        tq.put(2)
        tq.shutdown()  # Python 3.13's Queue.shutdown(), on every Python
    try:
        tq.put(3)
    except threadkit.queue.ShutDown as exc:
        put_after = _describe(exc) if str(exc) else "ShutDown"
    out.threadkit(
        f"threadkit.queue.Queue keeps the queue API: 'for item in q:' got {got} and ended at "
        f"q.shutdown(); q.put(3) after it -> {put_after}"
    )


# --------------------------------------------------------------------------------------------
# Chapter 3: cancelling a thread

chapter(3, "cancelling a thread")


@scene("cancel", "you can't forcibly kill a thread; you can cancel one", chapter=3, order=10)
def _cancel(out: Printer) -> None:
    wait = 0.2
    q: stdlib_queue.Queue[object] = stdlib_queue.Queue()
    # A daemon, so that a bug here cannot keep the interpreter from exiting.
    stuck = threading.Thread(target=q.get, name="stuck-getter", daemon=True)
    stuck.start()
    try:
        _wait_until(lambda: _stdlib_waiting(q.not_empty) == 1, "the getter to block")
        stuck.join(timeout=wait)  # the only thing the standard library offers: give up waiting
        alive = stuck.is_alive()
    finally:
        q.put("unblock")  # nothing else can end it: give it an item
        stuck.join(_GUARD)
    out.stdlib(
        f"a threading.Thread blocked in queue.Queue().get(): there is no cancel() or kill(); "
        f"thread.join(timeout={wait}) returns None and thread.is_alive() -> {alive}. Only "
        "an item put in the queue ends it (done here, so the tour leaves no thread behind)"
    )

    tq: threadkit.queue.Queue[object] = threadkit.queue.Queue()
    with _Crew() as crew:
        getter = crew.start(lambda: tq.get(timeout=_GUARD), "getter")
        _wait_until(lambda: tq.statistics().threads_waiting_get == 1, "the getter to block")
        started = _p.monotonic()
        getter.cancel("the tour is done with it")
        getter.join(_GUARD)
        took = _p.monotonic() - started
    try:
        getter.result()
        raised = "nothing"
    except CancelledError as exc:
        raised = f"{_describe(exc)}, whose __cause__ is {_describe(exc.__cause__)}"
    stats = tq.statistics()
    out.threadkit(
        f"a threadkit.Thread blocked in threadkit.queue.Queue().get(): t.cancel() -> the "
        f"thread ended {took * 1000:.1f} ms later, woken by the canceller (no polling); "
        f"t.result() raises {raised}. The queue is left as it was: "
        f"qsize={stats.qsize}, threads_waiting_get={stats.threads_waiting_get}"
    )

    tx, rx = threadkit.open_channel(0)

    def fail() -> None:
        raise ValueError("bad input")

    group: ExceptionGroup[Exception] | None = None
    tasks: list[threadkit.Task[Any]] = []
    try:
        with tx, rx, threadkit.TaskGroup(name="tour") as tg:
            tasks.append(tg.start(lambda: rx.recv(timeout=_GUARD), name="receiver"))
            _wait_until(
                lambda: rx.statistics().threads_waiting_receive == 1, "the receiver to block"
            )
            tasks.append(tg.start(fail, name="failer"))
    except ExceptionGroup as exc:
        group = exc
    finally:
        for task in tasks:  # the group waited for the functions; the threads end just after
            if task.thread is not None:
                task.thread.join(_GUARD)
    assert group is not None
    outcome = tasks[0].exception()
    assert isinstance(outcome, CancelledError)
    receiver = outcome.__cause__
    assert isinstance(receiver, threadkit.Cancelled)
    out.threadkit(
        f"a TaskGroup: 'receiver' blocked in rx.recv(), then 'failer' raises -> the block "
        f"raises {_describe(group)}: {list(group.exceptions)}; 'receiver' was cancelled "
        f"at once: its task's exception() -> CancelledError, from Cancelled "
        f"(source={receiver.source!r}, reason={receiver.reason!r})"
    )


# --------------------------------------------------------------------------------------------
# Chapter 4: the thread pool

chapter(4, "the thread pool")


@scene(
    "pool",
    "a pool that queues without limit and cannot stop a task, or one that can",
    chapter=4,
    order=10,
)
def _pool(out: Printer) -> None:
    import concurrent.futures

    import threadkit.futures

    seen: list[int] = []

    def foo(i: int) -> None:  # the notebook's foo prints i; here it is recorded
        seen.append(i)

    ran = []
    for module in (concurrent.futures, threadkit.futures):
        seen.clear()
        with module.ThreadPoolExecutor() as executor:  # the notebook's pool, as written
            futures = []
            for i in range(5):
                futures.append(executor.submit(foo, i=i))
            for future in futures:
                future.result()
        ran.append(sorted(seen))
    out.text(
        f"The notebook's pool (submit foo(i) five times, then result() each) ran {ran[0]} "
        f"with concurrent.futures and {ran[1]} with threadkit.futures, unchanged: "
        "'import threadkit.futures as futures' is the migration."
    )

    many = 20_000
    gate = threading.Event()
    std = concurrent.futures.ThreadPoolExecutor(1)
    try:
        blocked = std.submit(gate.wait, _GUARD)
        started = _p.monotonic()
        queued = [std.submit(foo, 0) for _ in range(many)]
        took = _p.monotonic() - started
        backlog = std._work_queue.qsize()
        refused = blocked.cancel()
    finally:
        std.shutdown(wait=False, cancel_futures=True)
        gate.set()
        std.shutdown()
    out.stdlib(
        f"ThreadPoolExecutor(1) with its worker busy: {many:,} submits all accepted in "
        f"{took:.2f} s and queued ({backlog:,} waiting: the queue has no bound, so a million "
        f"would be a million). future.cancel() on the running task -> {refused}: it can "
        f"only be waited out ({sum(f.cancelled() for f in queued):,} queued ones cancelled "
        "at shutdown)"
    )

    release = threadkit.Event()
    with threadkit.futures.ThreadPoolExecutor(1, max_queue=100, on_full="raise") as pool:
        running = pool.submit(release.wait, name="the running task")
        _wait_until(running.running, "the task to start")
        accepted = 0
        try:
            for _ in range(1_000_000):
                pool.submit(foo, 0)
                accepted += 1
        except stdlib_queue.Full as exc:
            full = _describe(exc)
        started = _p.monotonic()
        interrupted = running.cancel(interrupt=True)
        state = running.state()
        _wait_until(lambda: pool.stats().completed >= 1, "the cancelled task to unwind")
        unwound = _p.monotonic() - started
    out.threadkit(
        f"ThreadPoolExecutor(1, max_queue=100, on_full='raise'): of a million submits, "
        f"{accepted} were queued and the next raised {full} (or choose 'block', "
        f"'caller_runs', 'discard_oldest'). future.cancel(interrupt=True) on the running "
        f"task, blocked in threadkit.Event.wait() -> {interrupted}, state() -> {state!r}; "
        f"the task unwound {unwound * 1000:.1f} ms later and the worker went on with the "
        "queue"
    )

    with threadkit.futures.ThreadPoolExecutor(2) as pool:
        never = threadkit.Event()
        late = pool.submit(lambda: never.wait(), timeout=0.05, name="slow-call")  # noqa: PLW0108
        try:
            late.result(_GUARD)
            expired = "nothing"
        except TimeoutError as exc:
            expired = _describe(exc)
        stuck_gate = threading.Event()
        stuck = pool.submit(stuck_gate.wait, _GUARD, name="stuck-in-threading")
        _wait_until(stuck.running, "the stuck task to start")
        started = _p.monotonic()
        report = pool.shutdown(timeout=0.1)
        waited = _p.monotonic() - started
        stuck_gate.set()
    names = [task.name for task in report.running]
    out.threadkit(
        f"submit(fn, timeout=0.05): the task's deadline ended it -> {expired}. "
        f"shutdown(timeout=0.1) with a task blocked where threadkit cannot reach "
        f"(threading.Event.wait) returned after {waited:.2f} s with a report: finished="
        f"{report.finished}, still running: {names}, each with its thread and stack"
    )


# --------------------------------------------------------------------------------------------
# Chapter 5: timers, workers and the exit

chapter(5, "timers, workers and a clean exit")


@scene("timer", "a Timer can only be started once, and each one is a thread", chapter=5, order=10)
def _timer(out: Printer) -> None:
    many = 500
    std = threading.Timer(0, int)
    std.start()
    std.join(_GUARD)
    again = _describe(_outcome_in_thread(std.start, "restarter"))
    before = threading.active_count()
    pending = [threading.Timer(3600, int) for _ in range(many)]
    for t in pending:
        t.start()
    grew = threading.active_count() - before
    for t in pending:
        t.cancel()
    for t in pending:
        t.join(_GUARD)
    out.stdlib(
        f"threading.Timer fired; start() again -> {again}. {many} pending Timers: "
        f"{grew} more threads, one per timer"
    )

    # The tour's own scheduler, shut down at the end of the scene (a plain Timer uses the
    # process-wide default_scheduler(), whose thread ends a second after the last timer).
    before = threading.active_count()
    with threadkit.Scheduler(handoff_after=0.05) as scheduler:
        fired = threadkit.Semaphore(0)
        timer = threadkit.Timer(0.01, fired.release, scheduler=scheduler)
        timer.start()
        first = fired.acquire(timeout=_GUARD)
        timer.restart()
        second = fired.acquire(timeout=_GUARD)
        timer.join(_GUARD)
        ours = [threadkit.Timer(3600, int, scheduler=scheduler) for _ in range(many)]
        for mine in ours:
            mine.start()
        grew = threading.active_count() - before
        prevented = sum(mine.cancel() for mine in ours)
    out.threadkit(
        f"threadkit.Timer fired ({first}); restart() -> it fired again ({second}): a timer "
        f"is reusable. {many} pending Timers: {grew} more threads (a scheduler and "
        f"its watchdog: the timers are entries in its heap); cancel() returned True for "
        f"{prevented} of them, and True means the call never runs (the stdlib's cancel() "
        "can race with it)"
    )


@scene("worker", "a worker stopped cleanly: no flag, no sentinel, no __del__", chapter=5, order=20)
def _worker(out: Printer) -> None:
    from threadkit import Worker

    finalised = threading.Event()
    release = threading.Event()

    class Holder:
        """An object that owns a thread and means to stop it in __del__ (the notebook)."""

        def __init__(self) -> None:
            self.thread = threading.Thread(target=self.work, name="holder-worker")
            self.thread.start()

        def work(self) -> None:
            release.wait(_GUARD)

        def __del__(self) -> None:
            finalised.set()

    holder = Holder()
    thread = holder.thread
    del holder
    del_ran = finalised.is_set()
    release.set()
    thread.join(_GUARD)
    out.stdlib(
        f"threading.Thread has no stop(); an owner whose __del__ would stop its thread: "
        f"'del owner' ran __del__ -> {del_ran}, since the running thread holds the owner "
        "(the notebook: it 'may not be called')"
    )

    done: list[int] = []
    seen: list[str] = []
    jobs: threadkit.queue.Queue[int] = threadkit.queue.Queue()

    def consume(jobs: threadkit.queue.Queue[int]) -> None:  # the notebook's loop, bare
        while True:
            done.append(jobs.get())  # a cancellation point: stop() ends this wait
            jobs.task_done()

    worker = Worker(
        target=consume,
        args=(jobs,),
        name="consumer",
        on_stop=lambda w: seen.append(f"on_stop ran in the worker ({w.state})"),
    )
    seen.append(str(worker.state))
    worker.start()
    seen.append(str(worker.state))
    for job in range(3):
        jobs.put(job)
    jobs.join()
    started = _p.monotonic()
    finished = worker.stop(timeout=_GUARD)
    took = _p.monotonic() - started
    seen.append(str(worker.state))

    class Owner:
        """Something that owns a background worker (the notebook used __del__ for this)."""

    owner = Owner()
    tied = Worker(target=threadkit.Event().wait, name="tied", owner=owner)
    tied.start()
    del owner  # collected here (no cycle), so weakref.finalize stops the worker
    tied.join(_GUARD)
    out.threadkit(
        f"Worker(target=consume, on_stop=...): {' -> '.join(seen)}. It did jobs {done}; "
        f"stop(timeout) -> {finished} after {took * 1000:.1f} ms: it cancels the worker's "
        "scope, so the get() it was blocked in raised Cancelled and the loop unwound. "
        f"Worker(..., owner=obj): 'del obj' stopped it too ({tied.state}), through "
        "weakref.finalize, not __del__"
    )


_STUCK_AT_EXIT: Final = """
import queue, sys, threading
q = queue.Queue()
threading.Thread(target=q.get, name="consumer").start()  # non-daemon, blocked in get()
print("main: done", flush=True)
"""

_ON_TIME_AT_EXIT: Final = """
import threadkit, threadkit.queue
threadkit.exit.set_default_deadline(0.5)
q = threadkit.queue.Queue()
threadkit.Worker(target=q.get, name="consumer").start()  # get(): a cancellation point
lock = threadkit.Lock()
lock.acquire()
threadkit.Worker(target=lock.acquire, name="stuck").start()  # a C lock: no cancellation point
print("main: done", flush=True)
"""


@scene("exit", "a program that hangs at exit, and one that exits on time", chapter=5, order=30)
def _exit_on_time(out: Printer) -> None:
    import subprocess

    patience = 2.0
    started = _p.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", _STUCK_AT_EXIT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        std_out, _ = proc.communicate(timeout=patience)
        hung = False
    except subprocess.TimeoutExpired:
        proc.kill()
        std_out, _ = proc.communicate()
        hung = True
    out.stdlib(
        f"a program whose non-daemon thread waits in queue.get(): it printed "
        f"{std_out.strip()!r}, then {'was still exiting' if hung else 'exited'} after "
        f"{_p.monotonic() - started:.1f} s ({'killed by the tour' if hung else 'no hang'}); "
        "it would wait forever"
    )

    started = _p.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _ON_TIME_AT_EXIT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    took = _p.monotonic() - started
    report = done.stderr.splitlines()
    first = report[0] if report else "(nothing)"
    out.threadkit(
        f"the same with threadkit Workers, plus one stuck in a C lock.acquire(): it printed "
        f"{done.stdout.strip()!r} and exited with code {done.returncode} after {took:.1f} s "
        "(the interpreter's start included): the exit supervisor stopped the consumer, "
        f"gave the stuck one its 0.5 s deadline, then reported it on stderr ({first!r}, "
        "with its stack) and let it go"
    )


# --------------------------------------------------------------------------------------------
# Chapter 6: the rest of the toolbox

chapter(6, "the rest of the toolbox")


class _RecipeRWLock:
    """The readers-writer lock people write by hand: a Condition and a count of readers."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0

    def acquire_read(self) -> None:
        with self._cond:
            self._readers += 1

    def release_read(self) -> None:
        with self._cond:
            self._readers -= 1
            if not self._readers:
                self._cond.notify_all()

    def acquire_write(self, timeout: float) -> bool:
        self._cond.acquire()
        if self._cond.wait_for(lambda: self._readers == 0, timeout):
            return True  # (held: the Condition's lock)
        self._cond.release()
        return False


@scene("rwlock", "a reader that asks to write: a hang elsewhere, an error here", chapter=6, order=1)
def _rwlock(out: Printer) -> None:
    patience = 0.2
    recipe = _RecipeRWLock()
    recipe.acquire_read()
    started = _p.monotonic()
    got = recipe.acquire_write(timeout=patience)  # waits for the readers: itself among them
    waited = _p.monotonic() - started
    recipe.release_read()
    out.stdlib(
        f"no readers-writer lock; the usual recipe (a Condition and a reader count): a "
        f"thread holding the read lock asks for the write lock -> acquire_write("
        f"timeout={patience}) returned {got} after {waited:.2f} s: it waits for the readers "
        "to leave, itself among them, so without a timeout it hangs forever"
    )

    rw = threadkit.RWLock()
    with rw.read():
        try:
            rw.acquire_write()
            refused = "nothing"
        except threadkit.DeadlockError as exc:
            refused = _describe(exc)
    cache: dict[str, int] = {}
    with rw.upgradable_read():  # readers may still come in; no writer can
        if "answer" not in cache:
            rw.upgrade()  # waits for plain readers to leave; no writer gets in between
            cache["answer"] = 42
    out.threadkit(
        f"RWLock(): the same request raises at once -> {refused}. upgradable_read() then "
        f"upgrade() is the way to turn a read into a write (cache now {cache}); policies "
        "'fair', 'write_preferring', 'read_preferring'; every wait cancellable and selectable"
    )


# --------------------------------------------------------------------------------------------
# Chapter 7: seeing inside

chapter(7, "seeing inside")


def _abba(a: Any, b: Any) -> tuple[Callable[[], None], Callable[[], None]]:
    """Two code paths of one program that take the same two locks in opposite orders."""

    def transfer() -> None:
        with a, b:  # the accounts' lock, then the ledger's
            pass

    def audit() -> None:
        with b, a:  # the ledger's lock, then the accounts'
            pass

    return transfer, audit


def _overlapping(a: Any, b: Any, patience: tuple[float, float] | None) -> list[object]:
    """Run transfer/audit so that they overlap: each holds its first lock before either asks
    for its second (the rare interleaving, made certain). Their second acquires have the
    timeouts ``patience`` (None: none); returns what each got (True/False) or raised."""
    holding = [threading.Event(), threading.Event()]
    outcomes: list[object] = [None, None]

    def run(i: int, first: Any, second: Any) -> None:
        with first:
            holding[i].set()
            holding[1 - i].wait(_GUARD)
            try:
                got = second.acquire() if patience is None else second.acquire(timeout=patience[i])
            except threadkit.DeadlockError as exc:
                outcomes[i] = exc
                return
            outcomes[i] = got
            if got:
                second.release()

    with _Crew() as crew:
        crew.start(lambda: run(0, a, b), "transfer")
        crew.start(lambda: run(1, b, a), "audit")
    return outcomes


@scene("lock-order", "an ABBA lock order, reported before it ever deadlocks", chapter=7, order=10)
def _lock_order(out: Printer) -> None:
    from . import diagnostics

    a, b = threading.Lock(), threading.Lock()
    transfer, audit = _abba(a, b)
    _outcome_in_thread(transfer, "transfer")
    _outcome_in_thread(audit, "audit")  # after transfer ended: no overlap, no deadlock
    got = _overlapping(threading.Lock(), threading.Lock(), (0.2, _GUARD))
    out.stdlib(
        "transfer() takes lock A then B; audit() takes B then A. Run one after the other, both "
        "finish: no error, no warning. The day they overlap, each holds one lock and waits for "
        f"the other: transfer's acquire(timeout=0.2) gives up ({got[0]}) and lets audit "
        f"through ({got[1]}); without timeouts, both hang forever, one run in a thousand"
    )

    if diagnostics.enabled():  # (THREADKIT_LOCK_ORDER is set: keep the user's detector)
        out.threadkit("(skipped: the lock-order detector is already on in this process)")
        return
    diagnostics.enable("collect")
    try:
        a, b = threading.Lock(), threading.Lock()  # made while it is on: traced
        transfer, audit = _abba(a, b)
        _outcome_in_thread(transfer, "transfer")
        _outcome_in_thread(audit, "audit")  # the same runs, one after the other
        (found,) = diagnostics.inversions()
        where = [f"{e.stack[-1].name}() at line {e.stack[-1].lineno}" for e in found.edges]
        raised = _overlapping(threading.Lock(), threading.Lock(), None)
    finally:
        diagnostics.disable()
        diagnostics.clear()
    error = next((r for r in raised if isinstance(r, threadkit.DeadlockError)), None)
    out.threadkit(
        f"threadkit.diagnostics.enable(): the same two sequential runs -> 'lock order "
        f"inversion (a potential deadlock)' at once, with both stacks ({where[0]}, then "
        f"{where[1]}), though nothing deadlocked (mode 'warn' warns, 'raise' refuses the "
        f"second order, 'collect' records). And when they do overlap, with no timeout, the "
        f"thread that would close the cycle gets {_describe(error)}; the other goes on"
    )


# --------------------------------------------------------------------------------------------
# Chapter 8: the explorer (threadkit.testing.explore)

chapter(8, "finding the interleaving that fails")

# The explorer reads this file as the code under test (``_core._util.in_threadkit``): the
# bodies below get line and opcode scheduling points. ``include=`` keeps those when threadkit
# is installed in site-packages, whose code is otherwise library code; it does not make the
# bodies' primitive operations preemptible there (a scheduling point reached from library
# code never preempts), so in such an install the sync-level scene finds nothing and says so.
_HERE: Final = (__file__,)

# How many times a scene runs its body on real threads before the explorer takes over.
_REAL_RUNS: Final = 500


def _notebook_increment(locked: bool) -> Callable[[], None]:
    """The notebook's ``test_lock`` reduced to its ``name += 1``: two threads, one increment
    each, with the notebook's lock around it or without. A test body for the explorer:
    plain ``threading``, deterministic apart from the scheduling, every thread joined."""

    def body() -> None:
        name = 10
        lock = threading.Lock()

        def worker() -> None:
            nonlocal name
            if locked:
                with lock:
                    name += 1
            else:
                name += 1

        threads = [threading.Thread(target=worker, name=f"worker-{i}") for i in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert name == 12, f"name == {name}"

    return body


_LOST: list[int] = []  # one entry per wait of _event_drain's consumer that timed out


def _event_drain(clear_first: bool, patience: float | None) -> Callable[[], None]:
    """A consumer that waits on an Event, drains a list under a lock, then clear()s the
    Event; a producer that appends under the lock and set()s, twice. With ``clear_first``
    the consumer clears before it drains (the fix). ``patience``: the consumer's wait
    timeout (None under the explorer; on real threads a lost wake-up then costs a timeout,
    counted in ``_LOST``, instead of a hang)."""

    def body() -> None:
        ev = threading.Event()
        lock = threading.Lock()
        items: list[int] = []
        got: list[int] = []

        def consumer() -> None:
            while len(got) < 2:
                if not ev.wait(patience):
                    _LOST.append(1)
                if clear_first:
                    ev.clear()
                with lock:
                    got.extend(items)
                    items.clear()
                if not clear_first:
                    ev.clear()  # the bug: wipes a set() that came during the drain

        def producer() -> None:
            for i in (1, 2):
                with lock:
                    items.append(i)
                ev.set()

        threads = [
            threading.Thread(target=consumer, name="consumer"),
            threading.Thread(target=producer, name="producer"),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert got == [1, 2], got

    return body


def _short(text: str) -> str:
    """``text`` with this file's directory and objects' addresses taken out (the same on
    every run and every machine)."""
    directory = os.path.dirname(__file__) + os.sep
    return re.sub(r" at 0x[0-9a-f]+", "", text.replace(directory, ""))


def _indented(out: Printer, row: str) -> None:
    """Write ``row`` (a line of a report, its own indent kept) under a label, wrapped with
    a deeper indent for its continuation lines."""
    indent = " " * (Printer._LABEL_WIDTH + 2 + len(row) - len(row.lstrip()))
    out.line(
        textwrap.fill(
            _short(row.strip()),
            width=100,
            initial_indent=indent,
            subsequent_indent=indent + "    ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    )


def _report_lines(out: Printer, failure: ExploreFailure) -> None:
    """Write the failure's interleaved trace and its replay string, under a label."""
    pad = " " * Printer._LABEL_WIDTH
    out.line(
        f"{pad}the schedule, {failure.preemptions} preemption(s), the operations in the "
        "order they ran:"
    )
    for row in failure.trace.splitlines():
        _indented(out, row)
    out.line(f"{pad}replay string: {failure.schedule}")


def _missed(out: Printer, runs: str) -> None:
    """Say that the explorer found nothing where it should have (see ``_HERE``)."""
    out.threadkit(
        f"{runs}: no failing schedule found. It should find one: here the explorer takes "
        "the tour's own code for library code, whose operations it never preempts "
        "(threadkit installed in site-packages?)"
    )


@scene(
    "lost-update",
    "the notebook's `name += 1` without its lock: a race real threads hide",
    chapter=8,
    order=10,
)
def _lost_update(out: Printer) -> None:
    from .testing import explore

    racy = _notebook_increment(locked=False)
    wrong = 0
    for _ in range(_REAL_RUNS):
        try:
            racy()
        except AssertionError:
            wrong += 1
    out.stdlib(
        f"the notebook guards `name += 1` with a lock. Without it: 2 real threads, one "
        f"increment each, run {_REAL_RUNS} times -> name != 12 in {wrong} of {_REAL_RUNS} "
        "runs. The race is there (read name, add 1, write it back); the timing hides it"
    )

    tried = []
    for granularity in ("sync", "line", "opcode"):
        result = explore.run(
            racy, strategy="dfs", granularity=granularity, max_preemptions=1, include=_HERE
        )
        if result.failure is not None:
            break
        exhausted = " (exhausted)" if result.exhausted else ""
        tried.append(
            f'granularity="{granularity}": {result.schedules} schedules, none fails{exhausted}'
        )
    failure = result.failure
    call = 'explore.run(body, strategy="dfs", max_preemptions=1)'
    if failure is None:
        _missed(out, f"{call}: " + "; ".join(tried))
        return
    out.threadkit(
        f"{call}: {'; '.join(tried)}. Those points fall on each lock or thread operation, "
        "then also on each line, and `name += 1` is one line with no lock in it. "
        f'granularity="{granularity}", a point before every bytecode instruction: schedule '
        f"{result.schedules} fails: {failure.kind} in {failure.thread!r} at "
        f"{_short(failure.location)}: {failure.message}"
    )
    _report_lines(out, failure)
    runs = [row.split(":")[0].strip() for row in failure.trace.splitlines()]
    workers = [name for name in runs if name.startswith("worker")]
    if len(workers) == 3 and workers[0] == workers[2] != workers[1]:
        first, second = workers[:2]
        out.threadkit(
            f"{first} read name (10) and was preempted; {second} ran all of `name += 1` "
            f"(11); {first} wrote back its 10 + 1: one update lost"
        )
    again = explore.replay(racy, failure.schedule, include=_HERE)
    same = again.failure is not None and again.failure.message == failure.message
    replayed = "no failure" if again.failure is None else again.failure.message
    out.threadkit(
        f"explore.replay(body, that string) -> {replayed}: "
        + ("the same failure, every time" if same else "NOT the same failure")
    )
    fixed = explore.run(
        _notebook_increment(locked=True),
        strategy="dfs",
        granularity="opcode",
        max_preemptions=1,
        include=_HERE,
    )
    verdict = "none fails" if fixed.failure is None else f"one fails ({fixed.failure.kind})"
    proof = ", exhausted: no interleaving of its instructions with at most 1 preemption loses"
    out.threadkit(
        f"the notebook's version, with its lock: {fixed.schedules} schedules, {verdict}"
        + (f"{proof} an update" if fixed.exhausted else "")
    )


@scene(
    "lost-wakeup",
    "Event.clear() after the drain loses a wake-up: a hang real threads hide",
    chapter=8,
    order=20,
)
def _lost_wakeup(out: Printer) -> None:
    from .testing import explore

    del _LOST[:]
    for _ in range(_REAL_RUNS):
        _event_drain(clear_first=False, patience=1.0)()
    out.stdlib(
        "consumer: `while len(got) < 2: ev.wait(); drain the list under the lock; "
        "ev.clear()`; producer: append under the lock, then ev.set(), twice. "
        f"{_REAL_RUNS} runs on real threads -> {len(_LOST)} lost wake-up(s) (a wait that ran "
        "out of its 1 s timeout; with no timeout it would hang for ever)"
    )

    buggy = _event_drain(clear_first=False, patience=None)
    result = explore.run(buggy, strategy="dfs", max_preemptions=2, include=_HERE)
    failure = result.failure
    call = 'explore.run(body, strategy="dfs", max_preemptions=2)'
    if failure is None:
        _missed(out, f"{call} -> {result.schedules} schedules")
        return
    message = failure.message.splitlines()
    out.threadkit(
        f"{call} -> schedule {result.schedules} is a {failure.kind}: {_short(message[0])}"
    )
    for row in message[1:]:
        _indented(out, row)
    _report_lines(out, failure)
    steps = re.findall(r"(set|clear|wait) by \w+ \(step (\d+)", failure.message)
    if [op for op, _ in steps[-3:]] == ["set", "clear", "wait"]:
        last_set, clear, wait = (step for _, step in steps[-3:])
        out.threadkit(
            f"the producer's second set() (step {last_set}) came after the consumer's drain "
            f"and before its clear() (step {clear}), which wiped it: item 2 stays in the list "
            f"and the consumer's next wait (step {wait}) is for ever"
        )
    again = explore.replay(buggy, failure.schedule, include=_HERE)
    same = again.failure is not None and _short(again.failure.message) == _short(failure.message)
    out.threadkit(
        "explore.replay(body, that string) -> "
        + ("no failure" if again.failure is None else again.failure.kind)
        + (": the same table, every time" if same else ": NOT the same failure")
    )
    fixed = explore.run(
        _event_drain(clear_first=True, patience=None),
        strategy="dfs",
        max_preemptions=2,
        include=_HERE,
    )
    verdict = "none fails" if fixed.failure is None else f"one fails ({fixed.failure.kind})"
    proof = ", exhausted: no schedule with at most 2 preemptions loses a wake-up"
    out.threadkit(
        f"the fix, clear() before the drain: {fixed.schedules} schedules, {verdict}"
        + (proof if fixed.exhausted else "")
    )
