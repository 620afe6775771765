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
import weakref
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

    Examples:
        >>> clock = MockClock()
        >>> clock.advance(1.5)
        >>> clock.now()
        1.5
    """

    virtual = True

    def __init__(self, start: float = 0.0, *, autojump_threshold: float = math.inf) -> None:
        self._lock = _primitives.allocate_lock()
        # Guarded by _lock: the reading, a heap of (deadline, seq, callback), the autojump
        # threshold, whether its watcher runs, and a count of uses (the watcher's idleness test).
        self._now = float(start)
        self._timers: list[tuple[float, int, Callable[[], object]]] = []
        self._seq = itertools.count()
        self._autojump = math.inf
        self._watching = False
        self._activity = 0
        if autojump_threshold != math.inf:
            self.autojump_threshold = autojump_threshold

    def now(self) -> float:
        """Return the current virtual time."""
        with self._lock:
            self._activity += 1
            return self._now

    def call_at(self, deadline: float, callback: Callable[[], object]) -> None:
        """Run ``callback`` when the time reaches ``deadline`` (at once if it already has)."""
        with self._lock:
            self._activity += 1
            if deadline > self._now:
                heapq.heappush(self._timers, (deadline, next(self._seq), callback))
                return
        callback()

    def advance(self, seconds: float) -> None:
        """Move the time forward by ``seconds``, firing each wake-up due on the way, in order.

        The time steps to each due wake-up's deadline before that wake-up fires, so what it
        triggers (a scheduler's next timer, a periodic timer's next run) sees the time it was
        due at, and a wake-up it registers before the end of the step fires too.

        Raises:
            ValueError: if ``seconds`` is negative or NaN.
        """
        if math.isnan(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a non-negative number, not {seconds!r}")
        with self._lock:
            target = self._now + seconds
            self._activity += 1
        self._run_until(target)

    def _run_until(self, target: float) -> None:
        while True:
            with self._lock:
                if not self._timers or self._timers[0][0] > target:
                    self._now = max(self._now, target)
                    return
                deadline, _, callback = heapq.heappop(self._timers)
                self._now = max(self._now, float(deadline))
            callback()

    @property
    def autojump_threshold(self) -> float:
        """Jump to the next wake-up after this long (real seconds) with no use of the clock.

        ``math.inf`` (the default) never jumps. With a threshold set, a watcher thread
        moves the time to the earliest pending wake-up whenever nothing has read the clock,
        registered a wake-up or advanced it for ``threshold`` real seconds: the threads under
        test are all waiting on it, so the time may as well pass (trio's ``autojump``). Set it
        back to ``math.inf`` to stop the watcher.

        Raises:
            ValueError: a negative or NaN threshold.
        """
        return self._autojump

    @autojump_threshold.setter
    def autojump_threshold(self, threshold: float) -> None:
        if math.isnan(threshold) or threshold < 0:
            raise ValueError(f"autojump_threshold must be >= 0, not {threshold!r}")
        with self._lock:
            self._autojump = float(threshold)
            start = threshold != math.inf and not self._watching
            if start:
                self._watching = True
        if start:
            _primitives.StdThread(
                target=_autojump_watch,
                args=(weakref.ref(self),),
                name="threadkit MockClock autojump",
                daemon=True,
            ).start()

    def pending(self) -> int:
        """Return how many wake-ups are registered and not yet due."""
        with self._lock:
            return len(self._timers)

    def __repr__(self) -> str:
        return f"<threadkit MockClock now={self.now()!r}>"


def _autojump_watch(ref: weakref.ref[MockClock]) -> None:
    """The autojump watcher: a thread on real time, holding its clock weakly."""
    idle = _primitives.allocate_lock()
    idle.acquire()
    seen = -1
    while True:
        clock = ref()
        if clock is None:
            return
        with clock._lock:
            threshold = clock._autojump
            if threshold == math.inf:
                clock._watching = False
                return
            due = clock._timers[0][0] if clock._timers and clock._activity == seen else None
            seen = clock._activity
        if due is not None:  # untouched for a whole threshold, and a wake-up is pending
            clock._run_until(due)
            with clock._lock:
                seen = clock._activity
        del clock
        idle.acquire(True, max(threshold, 0.001))  # real time: a nap, never released


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

    Examples:
        >>> import threadkit
        >>> clock = threadkit.MockClock()
        >>> with threadkit.use_clock(clock):
        ...     with threadkit.move_on_after(60) as scope:
        ...         clock.advance(60)            # a minute passes, at once
        ...         threadkit.checkpoint()
        >>> scope.cancelled_caught
        True
    """
    global _current
    previous = _current
    _current = clock
    try:
        yield clock
    finally:
        _current = previous
