"""Shared fixtures and helpers for threadkit's tests.

* ``no_leaks`` (autouse) fails a test that leaves a thread running, a hook listener added or a
  mock clock installed.
* ``wait_for_waiters(obj, n)`` blocks until ``n`` threads are parked on ``obj``, observed
  through its ``statistics()``: threaded tests synchronise on that, never on a sleep.
* ``wait_until(predicate)`` polls any other condition the same way.
* ``Workers`` / ``run_in_threads`` start threads, join them all and re-raise what they raised
  as one ``ExceptionGroup`` (after CPython's ``lock_tests.Bunch``).
* ``error_message(fn, exc_type)`` returns the message of what ``fn`` raises, to compare the
  standard library's wording with threadkit's.
* ``STRESS`` scales the stress tests (``THREADKIT_STRESS=10 pytest`` runs them ten times longer).

Tests import the helpers with ``from conftest import ...``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Protocol

import pytest

from threadkit._core import _clock, _hooks

#: Multiplier for the size of stress tests (iterations, not threads).
STRESS = max(1, int(os.environ.get("THREADKIT_STRESS", "1")))

#: How long a helper waits for a condition before failing the test (seconds).
WAIT_TIMEOUT = 10.0

# Poll interval of wait_until(): a pause between two checks of a condition, never a
# substitute for one.
_POLL = 0.001

# How long the leak check lets threads started by a test finish before failing it.
_LEAK_GRACE = 5.0


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail the test if it leaves threads, hook listeners or a non-system clock behind."""
    before = set(threading.enumerate())
    clock_before = _clock.get_clock()
    yield
    deadline = time.monotonic() + _LEAK_GRACE
    leaked = [t for t in threading.enumerate() if t not in before]
    for thread in leaked:
        thread.join(max(deadline - time.monotonic(), 0.0))
    still = [t for t in leaked if t.is_alive()]
    problems = []
    if still:
        problems.append(f"leaked threads: {', '.join(repr(t) for t in still)}")
    if _hooks.enabled or _hooks._listeners:
        problems.append(f"left hook listeners installed: {_hooks._listeners!r}")
        for listener in _hooks._listeners:  # clean up, so later tests do not fail too
            _hooks.remove_listener(listener)
    if _clock.get_clock() is not clock_before:
        problems.append(f"left clock {_clock.get_clock()!r} installed")
        _clock._current = clock_before
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


def wait_until(
    predicate: Callable[[], object], timeout: float = WAIT_TIMEOUT, what: str = "condition"
) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(_POLL)


class _HasStatistics(Protocol):
    def statistics(self) -> object: ...


def _waiting(obj: _HasStatistics, field: str = "threads_waiting") -> int:
    stats = obj.statistics()
    count = getattr(stats, field, None)
    if count is None:
        count = stats.n_waiting  # type: ignore[attr-defined]  # Barrier
    assert isinstance(count, int)
    return count


def wait_for_waiters(
    obj: _HasStatistics, n: int, timeout: float = WAIT_TIMEOUT, field: str = "threads_waiting"
) -> None:
    """Block until exactly ``n`` threads wait on ``obj`` (its ``statistics()`` says so).

    ``field`` of the statistics is read (``threads_waiting`` by default; a channel has
    ``threads_waiting_send`` and ``threads_waiting_receive``), or ``n_waiting`` for a Barrier.
    """
    wait_until(lambda: _waiting(obj, field) == n, timeout, f"{n} threads waiting on {obj!r}")


class Workers:
    """Run callables in threads; on exit join them all and re-raise their exceptions.

    ``results[i]`` is what ``fns[i]`` returned (None if it raised). The threads are daemons,
    so a test that fails while they are blocked does not hang the interpreter.

    Example:
        with Workers(fn, fn) as w:
            ...  # interact with the threads
        assert w.results == [1, 1]
    """

    def __init__(
        self,
        *fns: Callable[[], object],
        names: Sequence[str] | None = None,
        timeout: float = WAIT_TIMEOUT,
    ) -> None:
        if names is None:
            names = [f"worker-{i}" for i in range(len(fns))]
        self.results: list[object] = [None] * len(fns)
        self.errors: list[BaseException] = []
        self._timeout = timeout
        self._lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(i, fn), name=names[i], daemon=True)
            for i, fn in enumerate(fns)
        ]

    def _run(self, index: int, fn: Callable[[], object]) -> None:
        try:
            self.results[index] = fn()
        except BaseException as exc:
            with self._lock:
                self.errors.append(exc)

    def start(self) -> Workers:
        for thread in self.threads:
            thread.start()
        return self

    def join(self) -> None:
        """Join every thread (bounded), then raise what they raised as an ExceptionGroup."""
        deadline = time.monotonic() + self._timeout
        for thread in self.threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        alive = [t.name for t in self.threads if t.is_alive()]
        if alive:
            pytest.fail(f"threads did not finish within {self._timeout} s: {alive}")
        if self.errors:
            raise BaseExceptionGroup("exceptions in worker threads", self.errors)

    def __enter__(self) -> Workers:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.join()
        # else: the test already failed; the leak check reports threads left blocked.


def error_message(fn: Callable[[], object], exc_type: type[BaseException]) -> str:
    """Call ``fn``, which must raise ``exc_type``; return the message (to compare with ours)."""
    try:
        fn()
    except exc_type as exc:
        return str(exc)
    pytest.fail(f"{fn!r} did not raise {exc_type.__name__}")


def run_in_threads(fn: Callable[[], object], n: int) -> list[object]:
    """Run ``fn`` in ``n`` threads at once; return their results in order."""
    with Workers(*([fn] * n)) as workers:
        pass
    return workers.results


#: The explore cases (buggy programs and their fixes), in the shared folder beside the repo.
EXPLORE_CASES = Path(__file__).resolve().parents[1].parent / "shared" / "explore-cases" / "cases.py"


def load_explore_cases() -> ModuleType:
    """``../shared/explore-cases/cases.py`` as a module (once); skips the test without it."""
    if not EXPLORE_CASES.exists():
        pytest.skip(f"the explore cases are not beside the repository ({EXPLORE_CASES})")
    if "explore_cases" not in sys.modules:
        spec = importlib.util.spec_from_file_location("explore_cases", EXPLORE_CASES)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["explore_cases"] = module  # (dataclasses looks its module up)
        spec.loader.exec_module(module)
    return sys.modules["explore_cases"]


def current(obj: object, name: str) -> object:
    """``obj.name`` read afresh, typed ``object``.

    For asserts about a value that a call has changed since an earlier assert (a state, a
    flag, a class a trace swaps in): mypy would keep the earlier assert's narrowing and call
    the later one unreachable.
    """
    return getattr(obj, name)
