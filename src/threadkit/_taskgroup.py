"""``TaskGroup``: structured concurrency for threads (after trio's nursery and asyncio's TaskGroup).

A group is a ``with`` block that owns the threads started in it: leaving the block waits for
every one of them, the first failure cancels the others, and all failures are raised
together as an ``ExceptionGroup``. The group's cancel scope is handed to each task thread
explicitly at start (``_core.inherited``), never through implicit context propagation,
which behaves differently with and without the GIL.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import CancelledError
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar, final

from ._core import Cancelled, CancelScope, checkpoint, current_scopes, inherited
from ._core import _primitives as _p
from ._core._cancel import EXPLICIT
from ._sync import Event, Semaphore

__all__ = ["Task", "TaskGroup"]

_T = TypeVar("_T")


@final
class Task(Generic[_T]):
    """A function running in a thread of a ``TaskGroup``; made by ``TaskGroup.start``.

    Examples:
        >>> import threadkit
        >>> with threadkit.TaskGroup() as tg:
        ...     task = tg.start(sum, [1, 2, 3], name="adder")
        >>> task
        <threadkit.Task 'adder' done>
        >>> task.done(), task.result(), task.exception()
        (True, 6, None)
    """

    __slots__ = ("_done", "_exception", "_result", "name", "thread")

    def __init__(self, name: str) -> None:
        self.name = name
        self.thread: _p.StdThread | None = None
        self._done = Event()
        self._result: Any = None
        self._exception: BaseException | None = None  # written once, before _done is set

    def __repr__(self) -> str:
        if not self._done.is_set():
            state = "running"
        elif isinstance(self._exception, Cancelled):
            state = "cancelled"
        else:
            state = "failed" if self._exception else "done"
        return f"<threadkit.Task {self.name!r} {state}>"

    def _outcome(self) -> BaseException | None:
        """What ``result()`` raises: a cancelled task reports ``CancelledError``, as a
        cancelled ``Thread`` does (never the scope-bound ``Cancelled`` itself)."""
        exc = self._exception
        if isinstance(exc, Cancelled):
            error = CancelledError(f"task {self.name!r} was cancelled")
            error.__cause__ = exc
            return error
        return exc

    def done(self) -> bool:
        """True once the function returned or raised."""
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> _T:
        """Wait for the task; return its result or raise its exception.

        Raises:
            TimeoutError: the task did not finish within ``timeout`` seconds.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"task {self.name!r} did not finish within {timeout} seconds")
        exc = self._outcome()
        if exc is not None:
            raise exc
        return self._result  # type: ignore[no-any-return]

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """Wait for the task; return what it raised (``CancelledError`` if it was
        cancelled), or None."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"task {self.name!r} did not finish within {timeout} seconds")
        return self._outcome()


@final
class TaskGroup:
    """Run functions in threads that all end when the ``with`` block does.

    ``start(fn, *args)`` runs ``fn(*args)`` in a new thread and returns its ``Task``.
    Leaving the block waits for every task. If a task (or the block itself) raises, the
    group's scope is cancelled, so the other tasks get ``Cancelled`` at their next
    cancellation point, and once all have ended every failure is raised together as an
    ``ExceptionGroup``. ``group.cancel_scope.cancel()`` stops them all.

    Args:
        limit: at most this many tasks run at once; ``start`` blocks for a free slot (a
            cancellation point), ``try_start`` returns False instead.
        name: names the group in thread names and messages.
        backend: an executor to run the tasks on instead of a thread each (a
            ``ThreadPoolExecutor``, a ``threadkit.dask.DaskExecutor``): the same rules,
            the first failure cancels the others (their futures, ``cancel(interrupt=True)``)
            and the failures come out as one ``ExceptionGroup``. A backend's tasks do not
            inherit the scopes around the group (a cluster has its own clock): only the
            group's own cancellation reaches them.

    Examples:
        >>> with TaskGroup() as tg:
        ...     a = tg.start(sum, [1, 2])
        ...     b = tg.start(max, [1, 2])
        >>> a.result(), b.result()
        (3, 2)
    """

    def __init__(
        self, *, limit: int | None = None, name: str | None = None, backend: Any = None
    ) -> None:
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise TypeError(f"limit must be an int or None, not {type(limit).__name__}")
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be >= 1, not {limit}")
        self.name = name or f"TaskGroup-{id(self):x}"
        self.cancel_scope = CancelScope()
        self._slots = None if limit is None else Semaphore(limit)
        self._lock = _p.allocate_lock()  # guards _tasks and _closed
        self._tasks: list[Task[Any]] = []
        self._closed = False
        self._count = 0
        self._scopes: list[CancelScope] = []  # set by __enter__
        # An executor (a ThreadPoolExecutor, a threadkit.dask.DaskExecutor) that runs the
        # tasks instead of a thread each; their futures, to cancel them with the group.
        self._backend = backend
        self._futures: list[Any] = []  # guarded by _lock

    def __repr__(self) -> str:
        with self._lock:
            running = sum(not t.done() for t in self._tasks)
        return f"<threadkit.TaskGroup {self.name!r}: {running} running>"

    def __enter__(self) -> TaskGroup:
        self.cancel_scope.__enter__()
        # Every task runs inside exactly these scopes (the group's and those around it),
        # whichever thread starts it and whatever scopes that thread is in at the time.
        self._scopes = current_scopes()
        return self

    def start(self, fn: Callable[..., _T], /, *args: Any, name: str | None = None) -> Task[_T]:
        """Run ``fn(*args)`` in a new thread of the group; return its ``Task``.

        Raises:
            RuntimeError: the group's block has ended.
            Cancelled: waiting for a free slot (``limit``) was cancelled.
        """
        if self._slots is not None:
            self._slots.acquire()
        return self._start(fn, args, name)

    def try_start(
        self, fn: Callable[..., _T], /, *args: Any, name: str | None = None
    ) -> Task[_T] | Literal[False]:
        """Like ``start``, but return False at once if ``limit`` tasks are running."""
        if self._slots is not None and not self._slots.acquire(False):
            return False
        return self._start(fn, args, name)

    def _start(self, fn: Callable[..., _T], args: tuple[Any, ...], name: str | None) -> Task[_T]:
        with self._lock:
            if self._closed:
                if self._slots is not None:
                    self._slots.release()
                raise RuntimeError(f"TaskGroup {self.name!r} has ended: it cannot start tasks")
            self._count += 1
            task: Task[_T] = Task(name or f"{self.name}-task-{self._count}")
            self._tasks.append(task)
        if self._backend is not None:
            return self._submit(task, fn, args)
        thread = _p.StdThread(
            target=self._run, args=(task, fn, args, self._scopes), name=task.name, daemon=True
        )
        task.thread = thread
        try:
            thread.start()
        except BaseException as exc:  # "can't start new thread": the task never ran
            task._exception = exc
            task.thread = None
            if self._slots is not None:
                self._slots.release()
            task._done.set()
            raise
        return task

    def _submit(self, task: Task[_T], fn: Callable[..., _T], args: tuple[Any, ...]) -> Task[_T]:
        """Run the task on the backend executor; its future settles the task."""
        try:
            future = self._backend.submit(fn, *args)
        except BaseException:  # refused (shut down, unpicklable): the task never ran
            with self._lock:
                self._tasks.remove(task)  # (the error is raised here, not a task's failure)
            if self._slots is not None:
                self._slots.release()
            task._done.set()
            raise
        with self._lock:
            self._futures.append(future)
            # (_cancel_all cancels the scope, then copies _futures under the lock: either
            # that copy has this future, or this look sees the cancellation.)
            cancelled = self.cancel_scope.cancel_called
        future.add_done_callback(lambda done: self._settled(task, done))
        if cancelled:  # the group was cancelled while this task was being submitted
            future.cancel(interrupt=True)
        return task

    def _settled(self, task: Task[Any], future: Any) -> None:
        """A backend task's future is done: its outcome is the task's."""
        try:
            if future.cancelled():
                task._exception = Cancelled(self.cancel_scope, EXPLICIT, "cancelled with its group")
            elif (exc := future.exception()) is not None:
                task._exception = exc
                if self._failed(exc):
                    self._cancel_all(f"task {task.name!r} raised {type(exc).__name__}")
            else:
                task._result = future.result()
        finally:
            if self._slots is not None:
                self._slots.release()
            task._done.set()

    def _cancel_all(self, reason: str) -> None:
        """Cancel the group's scope and, with a backend, every task still running there."""
        self.cancel_scope.cancel(reason)
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            future.cancel(interrupt=True)

    def _run(
        self, task: Task[Any], fn: Callable[..., Any], args: tuple[Any, ...], scopes: list[Any]
    ) -> None:
        try:
            with inherited(scopes):
                task._result = fn(*args)
        except BaseException as exc:
            task._exception = exc
            if self._failed(exc):
                self.cancel_scope.cancel(f"task {task.name!r} raised {type(exc).__name__}")
        finally:
            if self._slots is not None:
                self._slots.release()
            task._done.set()

    def _join_all(self) -> None:
        """Wait for every task, whatever happens to this thread meanwhile: they end soon,
        since they share the scope (and any enclosing one) that would cancel this wait.
        A backend's tasks do not share it: a cancellation of this wait cancels them."""
        if self._backend is not None:
            try:
                for task in list(self._tasks):
                    task._done.wait()  # (a cancellation point: the group's and enclosing scopes)
            except Cancelled as exc:
                self._cancel_all(f"the group {self.name!r} was cancelled ({exc})")
        while True:
            with self._lock:
                pending = [t for t in self._tasks if not t.done()]
                if not pending:
                    self._closed = True
                    break
            with CancelScope(shield=True):
                for task in pending:
                    task._done.wait()
        for task in self._tasks:  # and the threads themselves, which end right after
            if task.thread is not None:
                task.thread.join()

    @staticmethod
    def _failed(exc: BaseException) -> bool:
        """Is ``exc`` a failure? A ``Cancelled`` is not: it is this group's cancellation, or
        an enclosing scope's, which reaches the block's thread too."""
        return not isinstance(exc, Cancelled)

    def _group(self, failures: list[BaseException]) -> BaseExceptionGroup[BaseException]:
        message = f"{len(failures)} task(s) of {self.name!r} failed"
        if all(isinstance(f, Exception) for f in failures):
            return ExceptionGroup(message, [f for f in failures if isinstance(f, Exception)])
        return BaseExceptionGroup(message, failures)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is not None and self._failed(exc):
            self._cancel_all(f"the block of {self.name!r} raised {type(exc).__name__}")
        try:
            self._join_all()
        except BaseException:
            # Interrupted while waiting (KeyboardInterrupt): stop the tasks, still wait for
            # them, and leave the scope stack as it was.
            self._cancel_all("the wait for the tasks was interrupted")
            self._join_all()
            self.cancel_scope.__exit__(None, None, None)
            raise
        failures = [e for t in self._tasks if (e := t._exception) is not None and self._failed(e)]
        swallowed = self.cancel_scope.__exit__(exc_type, exc, tb)
        if exc is not None and not swallowed:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                return False  # an interrupt goes on as it is (tasks keep their outcomes)
            if isinstance(exc, Cancelled):  # an enclosing scope's: it goes on, after failures
                if failures:
                    raise self._group(failures) from exc
                return False
            failures.insert(0, exc)
        if failures:
            raise self._group(failures)
        if not swallowed:
            checkpoint()  # leaving the group is a cancellation point (an enclosing scope's)
        return swallowed
