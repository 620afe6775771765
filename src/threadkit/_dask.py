"""The executor contract on dask.distributed: ``threadkit.dask.DaskExecutor``.

DESIGN.md sec. 9: the pool's API is a contract; this module implements it on an existing
engine. A task is sent with ``client.submit`` wrapped in ``_run_remote``, which runs it on the
worker inside a threadkit cancel scope (its deadline as a wall-clock time, the same on every
machine); the dask future's completion settles a threadkit ``Future`` (so ``then()``,
``done_op()``, ``concurrent.futures.wait`` and ``as_completed`` work unchanged).

Cancellation crosses the process boundary both ways: cancelling the threadkit future cancels
the dask task (``client.cancel``), and on the worker a monitor thread notices that the task
was cancelled and cancels its scope, so the task's next threadkit blocking call or
``checkpoint()`` raises ``Cancelled``.

Only the standard library and threadkit are imported at the top: dask.distributed is
imported when a ``DaskExecutor`` is made (``pip install 'threadkit[dask]'``).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import pickle
import uuid
import warnings as _warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, InvalidStateError, as_completed
from concurrent.futures import wait as wait_futures
from typing import Any, TypeVar

from ._core import _primitives as _p
from ._core._cancel import DEADLINE, CancelScope
from ._core._clock import get_clock
from ._core._deadlines import check_timeout
from ._futures import Future, cancel_and_notify
from ._pool import PoolStatistics, RunningTask, ShutdownReport, _check_keywords

__all__ = ["DaskExecutor"]

_T = TypeVar("_T")

#: How often a worker's monitor looks for cancelled tasks (seconds).
_MONITOR_INTERVAL = 0.05


class _RemoteScope:
    """What ``Future.cancel(interrupt=True)`` cancels: the task on the cluster."""

    def __init__(self, executor: DaskExecutor, remote: Any) -> None:
        self._executor = executor
        self._remote = remote

    def cancel(self, reason: object = None) -> None:
        self._executor._cancel_remote(self._remote)


class DaskFuture(Future[_T]):
    """A threadkit ``Future`` for a task on a dask cluster.

    ``cancel()`` cancels the task on the cluster too, running or not (a running task's
    scope is cancelled there: its next threadkit blocking call or ``checkpoint()`` raises
    ``Cancelled``; a task that never reaches one runs to its end, its result dropped).

    Examples:
        Needs ``threadkit[dask]`` and starts a local cluster, so it is shown, not run:

        ```python
        import threadkit
        from threadkit.dask import DaskExecutor

        def wait_for_ever():
            threadkit.Event().wait()  # a threadkit blocking call: it can be cancelled

        with DaskExecutor() as pool:
            future = pool.submit(wait_for_ever)  # a DaskFuture
            future.cancel()  # cancels the task on the cluster too
            print(future.cancelled())  # True
        ```
    """

    _tk_remote: Any = None
    _tk_executor: DaskExecutor | None = None

    def cancel(self, *, interrupt: bool = False) -> bool:
        """Cancel the future and its task on the cluster (see the class docstring)."""
        remote, executor = self._tk_remote, self._tk_executor
        if not super().cancel(interrupt=interrupt):
            return False
        cancel_and_notify(self)  # (no executor will call set_running_or_notify_cancel)
        if executor is not None and remote is not None:
            executor._cancel_remote(remote)
        return True


class DaskExecutor:
    """The thread pool's API on a dask.distributed cluster.

    ``DaskExecutor()`` starts a ``LocalCluster`` of worker processes (two by default, one
    thread each; ``**cluster_kwargs`` go to it) and closes it on ``shutdown()``;
    ``DaskExecutor("tcp://scheduler:8786")`` connects to a running scheduler;
    ``DaskExecutor(client=client)`` uses a ``distributed.Client`` you made (left open).

    Tasks and their arguments are pickled (with cloudpickle) and run in other processes:
    threadkit must be installed on the workers, and what a task changes in its arguments
    stays there. ``submit`` refuses what cannot be pickled at once, with the reason.

    Args:
        address: a scheduler's address, or None for a new local cluster.
        client: a ``distributed.Client`` to use instead (not closed by ``shutdown``).
        allowed_failures: how many times a task whose worker died is retried on another
            before its future fails with ``KilledWorker`` (a new local cluster only;
            dask's default is 3).
        cluster_kwargs: for the ``LocalCluster`` (``n_workers``, ``threads_per_worker``,
            ``processes``, ...).

    Raises:
        ModuleNotFoundError: dask.distributed is not installed (``threadkit[dask]``).
        ValueError: both ``address`` and ``client``.

    Examples:
        Needs ``threadkit[dask]`` and starts a local cluster, so it is shown, not run:

        ```python
        from threadkit.dask import DaskExecutor

        with DaskExecutor(n_workers=2) as pool:  # closes its cluster at the end
            print(pool.submit(pow, 2, 10).result())  # 1024
            print(list(pool.map(abs, [-1, -2, 3])))  # [1, 2, 3]
            print(pool.stats().workers)  # 2
        ```
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        client: Any = None,
        allowed_failures: int | None = None,
        **cluster_kwargs: Any,
    ) -> None:
        if address is not None and client is not None:
            raise ValueError("give an address or a client, not both")
        try:
            import distributed
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                "threadkit.dask needs dask.distributed: pip install 'threadkit[dask]'"
            ) from exc
        self._distributed = distributed
        self._cluster: Any = None
        self._owns_client = client is None
        if client is None:
            if address is None:
                import dask

                cluster_kwargs.setdefault("n_workers", 2)
                cluster_kwargs.setdefault("threads_per_worker", 1)
                cluster_kwargs.setdefault("processes", True)
                cluster_kwargs.setdefault("dashboard_address", ":0")  # (no fixed port)
                # A task's exception is its future's: not also logged by the worker.
                cluster_kwargs.setdefault("silence_logs", logging.CRITICAL)
                config = {}
                if allowed_failures is not None:
                    config["distributed.scheduler.allowed-failures"] = allowed_failures
                with dask.config.set(config):
                    self._cluster = distributed.LocalCluster(**cluster_kwargs)
                client = distributed.Client(self._cluster)
            else:
                client = distributed.Client(address)
        self.client = client
        self._lock = _p.allocate_lock()  # guards the fields below
        self._shutdown = False
        self._outstanding: dict[Any, tuple[DaskFuture[Any], str]] = {}  # remote key -> ours
        self._completed = 0
        self._rejected = 0
        self._names = itertools.count(1)
        # The cluster's futures, as they complete; _settler drains it.
        self._completions = distributed.as_completed(loop=client.loop)
        self._settling = False  # a _settler thread runs
        self._close_when_drained = False  # shut down without waiting: close after the last

    # -- submitting -------------------------------------------------------------------------

    def submit(
        self,
        fn: Callable[..., _T],
        /,
        *args: Any,
        timeout: float | None = None,
        deadline: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> DaskFuture[_T]:
        """Run ``fn(*args, **kwargs)`` on the cluster; return its ``Future``.

        ``timeout`` (seconds from now) and ``deadline`` (a time on the threadkit clock,
        ``get_clock().now()``, as the thread pool takes it; sent to the cluster as a time
        on the wall clock) give the task's cancel scope a deadline, the earlier of the two:
        past it, the task's next threadkit blocking call or ``checkpoint()`` raises and the
        future raises ``TimeoutError``; a task still waiting for a worker does not start.

        Raises:
            RuntimeError: after ``shutdown()``.
            TypeError: ``fn`` or an argument cannot be pickled (the reason is named), or
                ``fn`` takes ``timeout``, ``deadline`` or ``name`` too (as the thread pool).
            ValueError: a negative or NaN ``timeout``, a NaN ``deadline``.
        """
        when = _wall_deadline(timeout, deadline)  # (the cluster's clock: the wall clock)
        if timeout is not None or deadline is not None or name is not None:
            _check_keywords(fn, timeout=timeout, deadline=deadline, name=name)
        with self._lock:
            if self._shutdown:
                self._rejected += 1
                raise RuntimeError("cannot schedule new futures after shutdown")
            number = next(self._names)
        task_name = name or f"{getattr(fn, '__name__', 'task')}-{number}"
        payload = _dumps(fn, args, kwargs)  # (pickled once, here: refused here if it cannot be)
        future: DaskFuture[_T] = DaskFuture()
        future._tk_executor = self
        key = f"{task_name}-{uuid.uuid4().hex}"  # (dask merges tasks of the same key)
        remote = self.client.submit(_run_remote, payload, when, key=key, pure=False)
        future._tk_remote = remote
        future._tk_scope = _RemoteScope(self, remote)  # type: ignore[assignment]
        with self._lock:
            self._outstanding[remote.key] = (future, task_name)
            self._completions.add(remote)
            start = not self._settling
            self._settling = True
        if start:
            _p.start_new_thread(self._settler, ())
        return future

    def _settler(self) -> None:
        """Settle our futures as the cluster's complete, a batch at a time (one gather per
        batch, not a blocking round trip per future); while any is out, one thread."""
        try:
            while True:
                for batch in self._completions.batches():
                    self._settle_batch(batch)
                with self._lock:
                    if self._completions.is_empty():
                        self._settling = False
                        close = self._close_when_drained and not self._outstanding
                        break
        except BaseException:  # (the client closed under it): let the next submit start one
            with self._lock:
                self._settling = False
            raise
        if close:
            self._close()

    def _settle_batch(self, batch: list[Any]) -> None:
        finished = [r for r in batch if r.status == "finished"]
        values: dict[Any, Any] = {}
        try:
            for remote, value in zip(finished, self.client.gather(finished), strict=True):
                values[remote.key] = (value, None)
        except Exception:  # (a result that cannot be fetched): one at a time, each its own
            for remote in finished:
                try:
                    values[remote.key] = (remote.result(), None)
                except BaseException as unfetched:
                    values[remote.key] = (None, unfetched)
        for remote in batch:
            if remote.status == "error":
                failure: BaseException
                try:
                    failure = remote.exception()
                except BaseException as error:
                    failure = error
                outcome: tuple[Any, BaseException | None] = (None, failure)
            elif remote.key in values:
                outcome = values[remote.key]
            else:  # cancelled (by us, or lost by the scheduler)
                outcome = (None, CancelledError(f"the task {remote.key!r} was cancelled"))
            self._settle(remote, *outcome)

    def _settle(self, remote: Any, value: Any, exc: BaseException | None) -> None:
        with self._lock:
            entry = self._outstanding.pop(remote.key, None)
            if entry is not None:
                self._completed += 1
        if entry is None:
            return
        future = entry[0]
        future._tk_remote = None  # (the cluster may forget the result now)
        future._tk_scope = None
        if isinstance(exc, CancelledError):
            cancel_and_notify(future)
            return
        if future._done_callbacks:  # (then(), add_done_callback: they may wait on others)
            _p.start_new_thread(_finish, (future, value, exc))
        else:
            _finish(future, value, exc)

    def _cancel_remote(self, remote: Any) -> None:
        with self._lock:
            self._outstanding.pop(remote.key, None)  # (its future is cancelled already)
        with contextlib.suppress(Exception):  # (the client is closing)
            self.client.cancel(remote, force=True)

    # -- map --------------------------------------------------------------------------------

    def map(
        self,
        fn: Callable[..., _T],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int | None = None,
        ordered: bool = True,
    ) -> Iterator[_T]:
        """Like ``ThreadPoolExecutor.map``: ``fn`` over the zipped iterables, results in
        order (``ordered=False``: as they complete), with a ``timeout`` for them all.
        Items are sent in chunks of ``chunksize`` (by default, about four chunks per worker).
        """
        items = list(zip(*iterables, strict=False))
        if chunksize is None:
            workers = max(self._worker_count(), 1)
            chunksize = max(1, math.ceil(len(items) / (4 * workers)))
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1")
        chunks = [items[i : i + chunksize] for i in range(0, len(items), chunksize)]
        futures: list[Any] = [self.submit(_run_chunk, fn, chunk) for chunk in chunks]
        end = None if timeout is None else _p.time_module.monotonic() + timeout

        def results() -> Iterator[_T]:
            try:
                done = futures if ordered else as_completed(futures, timeout)
                for future in done:
                    left = None if end is None else max(end - _p.time_module.monotonic(), 0.0)
                    yield from future.result(left)
            finally:
                for future in futures:
                    future.cancel()

        return results()

    # -- shutdown and statistics ------------------------------------------------------------

    def shutdown(
        self,
        wait: bool = True,
        *,
        cancel_futures: bool = False,
        cancel_running: bool = False,
        timeout: float | None = None,
    ) -> ShutdownReport:
        """Refuse new tasks; cancel the outstanding ones if asked; wait for the rest (up to
        ``timeout``); close the cluster and client this executor made, at once if nothing
        is outstanding, else once the last outstanding task ends (``wait=False`` lets them
        finish, as the thread pool does).

        On a cluster a task cannot be told queued from running without asking the
        scheduler, so ``cancel_futures`` and ``cancel_running`` both cancel every
        outstanding task. The report lists the tasks still outstanding when it returns.
        """
        with self._lock:
            self._shutdown = True
            outstanding = list(self._outstanding.values())
        cancelled = 0
        if cancel_futures or cancel_running:
            for future, _ in outstanding:
                cancelled += future.cancel()
        if wait:
            wait_futures([f for f, _ in outstanding], timeout)
        left = tuple(
            RunningTask(name, "(on the cluster)", "", future)
            for future, name in outstanding
            if not future.done()
        )
        finished = not left
        if wait and finished:  # (the settler takes a cancelled task's end a moment later)
            settle_by = _p.time_module.monotonic() + (10.0 if timeout is None else timeout)
            while self._settling and _p.time_module.monotonic() < settle_by:
                _p.time_module.sleep(0.01)
        with self._lock:
            drained = not self._outstanding and not self._settling
            self._close_when_drained = not drained  # (the settler closes after the last)
        if drained:
            self._close()
        return ShutdownReport(finished, cancelled, 0, left)

    def _close(self) -> None:
        if self._owns_client:
            with contextlib.suppress(Exception):
                self.client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __del__(self) -> None:
        if not getattr(self, "_shutdown", True) and getattr(self, "_owns_client", False):
            _warnings.warn(
                f"{self!r} was collected without shutdown(): its cluster is closed by the "
                "interpreter's exit only (use 'with DaskExecutor() as ex:')",
                ResourceWarning,
                stacklevel=2,
            )

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown(wait=True)

    def _worker_count(self) -> int:
        try:
            return len(self.client.scheduler_info().get("workers", {}))
        except Exception:
            return 1

    def stats(self) -> PoolStatistics:
        """A snapshot: workers on the cluster, tasks running on them (``active``), tasks
        waiting for a worker (``queued``), completed and rejected counts."""
        workers = self._worker_count()
        with self._lock:
            outstanding = set(self._outstanding)
            completed, rejected = self._completed, self._rejected
        try:
            processing = self.client.processing()
            active = sum(1 for keys in processing.values() for key in keys if key in outstanding)
        except Exception:
            active = 0
        active = min(active, len(outstanding))
        return PoolStatistics(
            workers=workers,
            active=active,
            idle=max(workers - active, 0),
            queued=len(outstanding) - active,
            completed=completed,
            rejected=rejected,
            threads_waiting_submit=0,
        )

    def __repr__(self) -> str:
        return f"<DaskExecutor {self.client!r}>"


# -- on the worker ----------------------------------------------------------------------------


def _finish(future: Future[Any], value: Any, exc: BaseException | None) -> None:
    """Settle ``future`` (its done-callbacks run in this thread: not the settler's, which
    one that waits for another future of the executor would block)."""
    if not future.set_running_or_notify_cancel():
        return
    with contextlib.suppress(InvalidStateError):  # (cancelled meanwhile: it stays so)
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)


def _wall_deadline(timeout: float | None, deadline: float | None) -> float | None:
    """The task's deadline on the wall clock (the clock a cluster's machines share), from a
    ``timeout`` and a ``deadline`` on the threadkit clock (as the thread pool takes them)."""
    left = math.inf
    if timeout is not None:
        check_timeout(timeout, "timeout")  # (the checks of the pool's edge)
        left = timeout
    if deadline is not None:
        if math.isnan(deadline):
            raise ValueError("deadline must be a number, not NaN")
        left = min(left, deadline - get_clock().now())
    return None if left == math.inf else _p.time_module.time() + max(left, 0.0)


def _dumps(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """The task, pickled for the cluster; a ``TypeError`` naming why if it cannot be."""
    try:
        import cloudpickle

        return bytes(cloudpickle.dumps((fn, args, kwargs)))
    except Exception as exc:
        raise TypeError(
            f"cannot send {getattr(fn, '__qualname__', fn)!r} and its arguments to the "
            f"cluster: they cannot be pickled ({type(exc).__name__}: {exc})"
        ) from exc


def _run_chunk(fn: Callable[..., Any], chunk: list[tuple[Any, ...]]) -> list[Any]:
    return [fn(*args) for args in chunk]


# task key -> (its scope, the worker running it); guarded by _monitor_lock
_monitored: dict[str, tuple[CancelScope, Any, Any]] = {}
_monitor_lock = _p.allocate_lock()
_monitor_started = False


def _run_remote(payload: bytes, when: float | None) -> Any:
    """Run a task on a worker, in a cancel scope with its deadline; a cancellation of the
    task on the cluster cancels the scope (``_monitor``)."""
    import distributed

    fn, args, kwargs = pickle.loads(payload)  # (cloudpickle's output is plain pickle)
    worker = distributed.get_worker()  # (only a task's own thread can ask)
    task_key = worker.get_current_task()
    key = str(task_key)
    remaining = None if when is None else max(when - _p.time_module.time(), 0.0)
    if remaining == 0.0:  # (expired while it waited for a worker: it does not start)
        raise TimeoutError("the task's deadline passed before a worker could start it")
    scope = CancelScope(timeout=remaining)
    with _monitor_lock:
        _monitored[key] = (scope, worker, task_key)
        _start_monitor()
    try:
        with scope:
            return fn(*args, **kwargs)
        if scope._source == DEADLINE:  # (the with block caught the Cancelled it raised)
            raise TimeoutError(f"the task did not finish within its deadline ({remaining:.3g} s)")
        raise CancelledError("the task was cancelled on the cluster")
    finally:
        with _monitor_lock:
            _monitored.pop(key, None)


def _start_monitor() -> None:
    """(``_monitor_lock`` held) Start this worker's monitor thread, unless it runs."""
    global _monitor_started
    if not _monitor_started:
        _monitor_started = True
        _p.start_new_thread(_monitor, ())


def _monitor() -> None:
    """Cancel the scope of each running task the cluster has cancelled; end when no task
    of ours runs here (the next one starts the monitor again)."""
    global _monitor_started
    while True:
        _p.time_module.sleep(_MONITOR_INTERVAL)
        with _monitor_lock:
            running = list(_monitored.items())
            if not running:
                _monitor_started = False
                return
        for key, (scope, worker, task_key) in running:
            try:
                state = worker.state.tasks.get(task_key)
            except Exception:  # (the worker is closing)
                continue
            if state is None or state.state in ("cancelled", "released", "forgotten"):
                scope.cancel(f"the task {key!r} was cancelled on the cluster")
