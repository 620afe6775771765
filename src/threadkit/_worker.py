"""``Worker`` and ``Service``: a thread with a lifecycle you can stop, restart and wait for.

The notebook's worker is the usual hand-made one: a ``should_run`` flag polled every second,
a sentinel put on its queue, and a ``__del__`` that may never run. A ``Worker`` replaces all
three:

* **Stopping.** The target runs inside a cancel scope that the worker owns. ``stop()``
  cancels it, so the worker's next threadkit blocking call (``queue.get()``, ``Event.wait``,
  ``sleep``, a channel's ``recv``) raises ``Cancelled`` at once, and joins the thread. No
  flag, no sentinel, no polling.
* **State machine.** ``new -> running -> stopping -> stopped | failed``, under the worker's
  lock; ``restart()`` goes from ``stopped`` or ``failed`` back to ``running`` on a new thread.
* **Failure.** An exception from the target (other than the worker's own cancellation) ends
  in ``failed``; ``join()`` re-raises it. ``stop()`` only stops: it reports whether the
  worker finished, never raises what the target raised (it is cleanup code; call ``join()``).
* **Owner.** ``Worker(..., owner=obj)`` stops the worker when ``obj`` is garbage-collected,
  through ``weakref.finalize`` (no ``__del__``). The worker thread must not hold ``obj``:
  a target that is a method of ``obj`` is refused.
* **Exit.** A started worker registers with the exit supervisor (``_exit``), which stops it
  in order when the interpreter exits, within its deadline. Under the hood the thread is a
  daemon thread: one that cannot be stopped (blocked outside threadkit) is reported and
  abandoned instead of hanging the exit. A running worker stays alive through its thread
  (as a running ``threading.Thread`` does) even when nothing else refers to it.
"""

from __future__ import annotations

import enum
import itertools
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from . import _exit
from ._core import CancelScope, WaitQueue, check_timeout, checkpoint, wait_deadline
from ._core import _primitives as _p

__all__ = ["Service", "Worker", "WorkerState", "WorkerStatistics"]


class WorkerState(enum.StrEnum):
    """A worker's place in its lifecycle (compares equal to its string value).

    Examples:
        >>> w = Worker(name="idle")
        >>> w.state
        <WorkerState.NEW: 'new'>
        >>> w.stop()                    # never started: it is stopped at once
        True
        >>> w.state == "stopped", w.state is WorkerState.STOPPED
        (True, True)
    """

    NEW = "new"  #: made, not started
    RUNNING = "running"  #: its thread runs the target
    STOPPING = "stopping"  #: stop() was called; the target has not returned yet
    STOPPED = "stopped"  #: the target returned, or was stopped
    FAILED = "failed"  #: the target (or on_stop) raised; join() re-raises it


_NEW, _RUNNING, _STOPPING, _STOPPED, _FAILED = WorkerState

_FINISHED = (_STOPPED, _FAILED)


@dataclass(frozen=True, slots=True)
class WorkerStatistics:
    """A snapshot of a Worker, from ``statistics()``.

    Attributes:
        name: the worker's name (its threads have it too).
        state: its ``WorkerState``.
        ident: the identifier of its current (or last) thread; None before it starts.
        starts: how many times it was started (``start()`` and ``restart()``).
        failure: ``repr`` of the exception it failed with, None unless ``failed``.

    Examples:
        >>> def job():
        ...     raise OSError("disk full")
        >>> w = Worker(target=job, name="job")
        >>> w.start()
        >>> w.stop(timeout=5)           # job() raised: the worker failed
        True
        >>> s = w.statistics()
        >>> s.name, s.state, s.starts, s.failure
        ('job', <WorkerState.FAILED: 'failed'>, 1, "OSError('disk full')")
    """

    name: str
    state: WorkerState
    ident: int | None
    starts: int
    failure: str | None


class Worker:
    """A thread with a lifecycle: ``start()``, ``stop()``, ``join()``, ``restart()``.

    Made like a ``threading.Thread``: pass ``target`` (with ``args`` and ``kwargs``), or
    subclass and override ``run()``. The target runs inside a cancel scope owned by the
    worker: ``stop()`` cancels it, so the target's threadkit blocking calls raise
    ``Cancelled`` and the target unwinds (``finally`` blocks run); the worker then ends
    ``stopped``. Code that blocks outside threadkit or never blocks sees the stop at its
    next ``checkpoint()``.

    Args:
        target: the callable to run (``run()`` calls it); None runs nothing.
        name: the worker's name (default ``"Worker-N"``).
        args: positional arguments for the target.
        kwargs: keyword arguments for the target.
        on_stop: called as ``on_stop(worker)`` in the worker thread after the target ended,
            whatever the outcome (or override the ``on_stop()`` method).
        owner: an object whose collection stops the worker (held weakly).
        exit_deadline: seconds the exit supervisor gives this worker to stop at exit
            (None: its default).

    Examples:
        >>> import threadkit, threadkit.queue
        >>> q = threadkit.queue.Queue()
        >>> def drain(q):
        ...     while True:
        ...         q.get()            # a cancellation point: stop() ends the wait
        >>> w = Worker(target=drain, args=(q,), name="drain")
        >>> w.start()
        >>> w.stop(timeout=5)
        True
        >>> w.state
        <WorkerState.STOPPED: 'stopped'>
    """

    _counter = itertools.count(1).__next__

    def __init__(
        self,
        target: Callable[..., object] | None = None,
        *,
        name: str | None = None,
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        on_stop: Callable[[Worker], object] | None = None,
        owner: object = None,
        exit_deadline: float | None = None,
    ) -> None:
        if target is not None and not callable(target):
            raise TypeError(f"target must be callable, not {type(target).__name__}")
        if on_stop is not None and not callable(on_stop):
            raise TypeError(f"on_stop must be callable, not {type(on_stop).__name__}")
        check_timeout(exit_deadline, "exit_deadline")
        if owner is not None and getattr(target, "__self__", None) is owner:
            raise ValueError(
                "target is a method of owner: the worker thread would keep its owner alive; "
                "pass a function of what the worker needs (a queue, say) instead"
            )
        self._name = str(name) if name is not None else f"Worker-{self._counter()}"
        self._target = target
        self._args = tuple(args)
        self._kwargs = dict(kwargs or {})
        self._on_stop = on_stop
        self._exit_deadline = exit_deadline
        # join()'s waiters; their lock guards _state, _scope, _thread, _failure, _starts and
        # _exit_handle (the worker thread writes the outcome under it, then wakes them).
        self._waiters = WaitQueue(self)
        self._lock = self._waiters.lock
        self._state = _NEW
        self._scope: CancelScope | None = None
        self._thread: _p.StdThread | None = None
        self._failure: BaseException | None = None
        self._starts = 0
        self._exit_handle: _exit.ExitHandle[Worker] | None = None
        if owner is not None:
            finalizer = weakref.finalize(owner, _owner_gone, weakref.ref(self))
            finalizer.atexit = False  # at exit, the exit supervisor stops it, in order

    # -- what runs -------------------------------------------------------------------------

    def run(self) -> None:
        """The worker's activity: call the target. Override it in a subclass."""
        if self._target is not None:
            self._target(*self._args, **self._kwargs)

    def on_stop(self) -> None:
        """Called in the worker thread once ``run()`` ended, whatever the outcome.

        Outside the worker's cancel scope, so it may block to clean up. The default calls
        the ``on_stop`` callable given to the constructor. An exception from it makes the
        worker ``failed`` (if it was not already; else it is noted on the first failure).
        """
        if self._on_stop is not None:
            self._on_stop(self)

    def _bootstrap(self, scope: CancelScope) -> None:
        failure: BaseException | None = None
        try:
            with scope:  # catches the Cancelled of stop(): the worker then ends stopped
                self.run()
        except BaseException as exc:
            failure = exc
        try:
            self.on_stop()
        except BaseException as exc:
            if failure is None:
                failure = exc
            else:
                failure.add_note(f"on_stop() also raised {exc!r}")
        with self._lock:
            self._failure = failure
            self._state = _FAILED if failure is not None else _STOPPED
            handle, self._exit_handle = self._exit_handle, None
            self._waiters.unpark_all()
        if handle is not None:
            handle.unregister()
        del failure  # no cycle through this frame's traceback

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker's thread.

        Raises:
            RuntimeError: if it was started before (``restart()`` runs a stopped or failed
                worker again), or once the interpreter's exit supervisor has run.
        """
        with self._lock:
            if self._state is not _NEW:
                raise RuntimeError(
                    f"workers can only be started once (this one is {self._state}; "
                    "restart() runs a stopped or failed worker again)"
                )
            self._launch()

    def restart(self) -> None:
        """Run a ``stopped`` or ``failed`` worker again, on a new thread.

        Raises:
            RuntimeError: if the worker is not stopped or failed (``start()`` a new one).
        """
        with self._lock:
            if self._state not in _FINISHED:
                raise RuntimeError(
                    f"can only restart a stopped or failed worker, not a {self._state} one"
                )
            self._launch()

    def _launch(self) -> None:
        """Start a new thread in a new scope (lock held)."""
        if _exit._finished:
            raise RuntimeError("cannot start a worker: the interpreter is exiting")
        scope = CancelScope()
        thread = _p.StdThread(target=self._bootstrap, args=(scope,), name=self._name, daemon=True)
        handle = _exit.register(
            self,
            Worker._exit_stop,
            threads=Worker._exit_threads,
            priority=_exit.ExitPriority.WORKERS,
            deadline=self._exit_deadline,
            name=f"Worker {self._name!r}",
        )
        self._scope, self._thread, self._failure = scope, thread, None
        self._state = _RUNNING
        self._exit_handle = handle
        try:
            thread.start()
        except BaseException:  # no thread to be had: back to where it was
            handle.unregister()
            self._state = _NEW if self._starts == 0 else _STOPPED
            raise
        self._starts += 1

    def stop(self, timeout: float | None = None) -> bool:
        """Stop the worker: cancel its scope, then wait up to ``timeout`` seconds for it.

        Idempotent, and callable from any thread: from the worker itself (its target or
        ``on_stop``) it only asks, and returns False at once (the worker ends when the
        target returns). A worker that was never started becomes ``stopped``. The wait is
        a cancellation point.

        Returns:
            True once the run it stopped has finished (the worker is then ``stopped`` or
            ``failed``, unless another thread has restarted it since); False if it is
            still stopping when ``timeout`` passes.

        Raises:
            ValueError: if ``timeout`` is negative or NaN.
        """
        check_timeout(timeout)
        run = self._request_stop()
        if run is None:
            return True
        if run is _p.current_thread():
            return False
        # (The run it stopped: a restart() from another thread meanwhile starts a new run,
        # which this stop did not ask to end and does not wait for.)
        return self._wait(timeout, run)

    def _request_stop(self, reason: str = "stop() was called") -> _p.StdThread | None:
        """Cancel the worker's scope; return the thread of the run it stopped, or None if
        the worker had already finished."""
        with self._lock:
            state = self._state
            if state is _NEW:
                self._state = _STOPPED
                self._waiters.unpark_all()
                return None
            if state in _FINISHED:
                return None
            self._state = _STOPPING
            scope, run = self._scope, self._thread
        assert scope is not None
        assert run is not None
        scope.cancel(reason)
        return run

    def join(self, timeout: float | None = None) -> None:
        """Wait until the worker finishes; re-raise the exception it failed with.

        A cancellation point. Does not stop the worker (``stop()`` does).

        Raises:
            TimeoutError: if it is still running after ``timeout`` seconds.
            RuntimeError: if it was never started, or if called from the worker itself.
            ValueError: if ``timeout`` is negative or NaN.
            BaseException: what the target (or ``on_stop``) raised, if the worker failed.
        """
        check_timeout(timeout)
        if self._state is _NEW:
            raise RuntimeError("cannot join worker before it is started")
        if self._thread is _p.current_thread():
            raise RuntimeError("cannot join current worker")
        if not self._wait(timeout):
            raise TimeoutError(f"worker {self._name!r} did not finish within {timeout} seconds")
        failure = self._failure
        if failure is not None:
            raise failure

    def _wait(self, timeout: float | None, run: _p.StdThread | None = None) -> bool:
        """Wait until the run of thread ``run`` (default: the current run) has finished (or
        ``timeout``); then join its thread, which is past its last step. A run has finished
        once the state is stopped or failed, or another run has started (a ``restart()``
        from another thread meanwhile), which this wait does not wait for."""
        deadline = wait_deadline(timeout)
        waiters = self._waiters
        with waiters.lock:
            if run is None:
                run = self._thread
            done = self._state in _FINISHED or self._thread is not run
            if not done:
                waiter = waiters.enqueue()
        while not done:
            try:
                woken = waiters.park(waiter, deadline)
            except BaseException:
                waiters.abandon(waiter)
                raise
            if not woken:
                break
            with waiters.lock:  # (woken at the end of a run: so done, unless unparked early)
                done = self._state in _FINISHED or self._thread is not run
                if not done:
                    waiter = waiters.enqueue()
        if done and run is not None and run is not _p.current_thread():
            run.join()
        return done

    def _exit_stop(self, timeout: float | None) -> None:
        """The exit supervisor's stop: on the thread's own (real-time) join, whatever clock
        is installed."""
        thread = self._request_stop("the interpreter is exiting")
        if thread is not None and thread is not _p.current_thread():
            thread.join(timeout)

    def _exit_threads(self) -> list[_p.StdThread]:
        thread = self._thread
        return [] if thread is None else [thread]

    # -- inspection ------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The worker's name (its threads are named after it)."""
        return self._name

    @property
    def state(self) -> WorkerState:
        """Where the worker is in its lifecycle."""
        return self._state

    @property
    def failure(self) -> BaseException | None:
        """The exception the worker failed with (None unless ``state`` is ``failed``)."""
        return self._failure

    @property
    def ident(self) -> int | None:
        """The identifier of the worker's current (or last) thread; None before it starts."""
        thread = self._thread
        return None if thread is None else thread.ident

    @property
    def thread(self) -> _p.StdThread | None:
        """The worker's current (or last) thread (a daemon thread; see the module notes)."""
        return self._thread

    def is_alive(self) -> bool:
        """Whether the worker's thread is running."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def statistics(self) -> WorkerStatistics:
        """Return a snapshot of the worker's state."""
        with self._lock:
            failure = None if self._failure is None else repr(self._failure)
            return WorkerStatistics(self._name, self._state, self.ident, self._starts, failure)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name!r} {self._state}>"

    # -- context manager -------------------------------------------------------------------

    def __enter__(self) -> Self:
        """Start the worker (if it is new) and return it."""
        if self._state is _NEW:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the worker and wait for it; re-raise its failure unless the block raised."""
        self.stop()
        if exc is None and self._failure is not None:
            raise self._failure


def _owner_gone(ref: weakref.ReferenceType[Worker]) -> None:
    """The owner was collected: ask its worker to stop (without waiting: this runs wherever
    the garbage collector ran)."""
    worker = ref()
    if worker is not None:
        worker._request_stop("its owner was collected")


class Service(Worker):
    """A Worker shaped as a service: ``setup()``, then ``serve()`` again and again until it
    is stopped, then ``teardown()``.

    Override ``serve()`` (one unit of work: wait for a request and handle it), and
    ``setup()``/``teardown()`` if needed. ``teardown()`` runs whenever ``setup()``
    succeeded, however the service ended. Between two ``serve()`` calls the service checks
    for a stop (``checkpoint()``), so a ``serve()`` that never blocks can be stopped too. A
    ``serve()`` that decides the service is done calls ``self.stop()``.

    Examples:
        >>> import threadkit.queue
        >>> class Echo(Service):
        ...     def __init__(self):
        ...         super().__init__(name="echo")
        ...         self.inbox, self.seen = threadkit.queue.Queue(), []
        ...     def serve(self):
        ...         self.seen.append(self.inbox.get())   # stop() ends this wait
        ...         self.inbox.task_done()
        >>> with Echo() as echo:
        ...     echo.inbox.put("hello")
        ...     echo.inbox.join()
        >>> echo.seen, echo.state
        (['hello'], <WorkerState.STOPPED: 'stopped'>)
    """

    def setup(self) -> None:
        """Prepare the service (in its thread, before the first ``serve()``)."""

    def serve(self) -> None:
        """Handle one unit of work; called until the service is stopped."""
        raise NotImplementedError("a Service subclass overrides serve()")

    def teardown(self) -> None:
        """Clean up (in its thread, after the last ``serve()``, however it ended)."""

    def run(self) -> None:
        """``setup()``, ``serve()`` until stopped, ``teardown()``."""
        self.setup()
        try:
            while True:
                checkpoint()
                self.serve()
        finally:
            self.teardown()
