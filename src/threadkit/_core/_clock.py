"""Clocks: the monotonic system clock and a virtual ``MockClock`` for tests.

Every threadkit wait measures time on the *current clock* (``get_clock()``), which is the
system's monotonic clock unless a test installs another with ``use_clock()``. A deadline is an
absolute reading of that clock (see ``_deadlines``).

A ``MockClock`` never moves by itself. A thread that parks with a deadline on a mock clock
blocks without an OS timeout and registers a wake-up with the clock; ``advance()`` moves the
time and expires every wait whose deadline has passed, so timer and timeout tests run in
virtual time, instantly and deterministically.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from . import _primitives

__all__ = ["Clock", "MockClock", "SystemClock", "get_clock", "use_clock"]


class Clock(Protocol):
    """What threadkit needs of a clock."""

    #: True for a clock whose time moves only when told to (waits then need wake-ups).
    virtual: bool

    def now(self) -> float:
        """Return the current time in seconds (monotonic; the epoch is arbitrary)."""
        ...

    def call_at(self, deadline: float, callback: Callable[[], object]) -> None:
        """Run ``callback`` once the clock reaches ``deadline`` (virtual clocks only)."""
        ...


class SystemClock:
    """The operating system's monotonic clock (``time.monotonic``)."""

    virtual = False

    #: Return ``time.monotonic()``: the C function itself, no Python frame on the wait path.
    now = staticmethod(_primitives.monotonic)

    def call_at(self, deadline: float, callback: Callable[[], object]) -> None:
        """Not needed: real waits time out in the operating system."""
        raise RuntimeError("SystemClock has no call_at: waits on it time out by themselves")

    def __repr__(self) -> str:
        return "<threadkit SystemClock>"


class MockClock:
    """A virtual clock for tests: time moves only when ``advance()`` is called.

    Args:
        start: the initial reading.

    Example:
        >>> clock = MockClock()
        >>> clock.advance(1.5)
        >>> clock.now()
        1.5
    """

    virtual = True

    def __init__(self, start: float = 0.0) -> None:
        self._lock = _primitives.allocate_lock()
        # Guarded by _lock: the reading, and a heap of (deadline, seq, callback).
        self._now = float(start)
        self._timers: list[tuple[float, int, Callable[[], object]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        """Return the current virtual time."""
        with self._lock:
            return self._now

    def call_at(self, deadline: float, callback: Callable[[], object]) -> None:
        """Run ``callback`` when the time reaches ``deadline`` (at once if it already has)."""
        with self._lock:
            if deadline > self._now:
                heapq.heappush(self._timers, (deadline, next(self._seq), callback))
                return
        callback()

    def advance(self, seconds: float) -> None:
        """Move the time forward by ``seconds`` and fire every wake-up now due.

        Raises:
            ValueError: if ``seconds`` is negative or NaN.
        """
        if math.isnan(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a non-negative number, not {seconds!r}")
        with self._lock:
            self._now += seconds
            due: list[Callable[[], object]] = []
            while self._timers and self._timers[0][0] <= self._now:
                due.append(heapq.heappop(self._timers)[2])
        for callback in due:
            callback()

    def pending(self) -> int:
        """Return how many wake-ups are registered and not yet due."""
        with self._lock:
            return len(self._timers)

    def __repr__(self) -> str:
        return f"<threadkit MockClock now={self.now()!r}>"


_system_clock = SystemClock()
# The clock every wait uses. Replaced only through use_clock(); reading a module global is
# atomic, and a swap while threads are blocked affects only waits that start afterwards.
_current: Clock = _system_clock


def get_clock() -> Clock:
    """Return the clock that threadkit waits use now."""
    return _current


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Make ``clock`` the clock of every threadkit wait inside the ``with`` block.

    Meant for tests: it is process-wide, not per thread.
    """
    global _current
    previous = _current
    _current = clock
    try:
        yield clock
    finally:
        _current = previous
