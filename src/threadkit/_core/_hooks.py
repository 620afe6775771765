"""Instrumentation points for the deadlock detector, the tracer and the explorer.

Costs nothing when off: the hot paths never call into this module, and the slow paths (a thread
about to park, a thread being woken) test the module global ``enabled`` before doing anything.
A listener receives ``(event, obj, detail)``: ``event`` is one of ``EVENTS``, ``obj`` the
object concerned (an Event, a Semaphore, a lock, a queue, a future, ...), ``detail``
event-specific. Every event is emitted by the thread it concerns, except "unpark" (the waker's):

* ``park`` (detail: the deadline on the current clock, or None): the thread is about to block
  on ``obj``; a listener may raise (the deadlock detector's ``DeadlockError``) and the wait is
  withdrawn. Each "park" is followed, in the same thread, by exactly one of ``wake``
  (detail: the value handed over), ``timeout`` (detail: the deadline) or ``abandon`` (the
  wait ended by an exception: a cancellation, an interrupt, or a listener's refusal).
* ``unpark`` (detail: how many threads were woken): emitted by the waker.

The wait queue emits those five by itself. The rest come from the instrumented methods that
``threadkit.diagnostics`` swaps in (``diagnostics._instrument``) while the lock-order
detector or the tracer is on; with neither on, nothing emits them:

* ``acquire`` (detail: True, or "restore" for a ``Condition``'s re-acquire after its wait,
  which must not be refused): a lock (``obj``: a traced ``threading.Lock``/``RLock``, a
  ``Mutex``, an ``RWLock``) was not free (an RWLock: is about to be taken by a call that may
  wait) and the thread is about to wait for it; a listener may raise to refuse (the
  lock-order detector in "raise" mode).
* ``acquired`` (detail: True or "restore" for an acquire that could have waited, False for
  a try: ``blocking=False`` or ``timeout=0``): the thread holds it now (a re-entrant
  re-acquire of an RLock emits nothing); a listener that raises makes the acquire release
  it again and fail.
* ``release`` (detail: the ident of the thread that held it): released (the last level of
  an RLock), emitted by the releasing thread after the release.
* ``put`` / ``get`` (detail: None): an item went into / came out of a queue or channel.
* ``submit`` (obj: the future, detail: the task's name): a task was queued on a pool.
* ``task_start`` / ``task_end`` (obj: the future, detail: the task's name): a pool worker
  starts / ends running a task (in the worker thread).

Listeners run in the thread that emits, with internal locks possibly held: they must be quick,
must not block and must not call back into the object they observe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from . import _primitives

__all__ = ["EVENTS", "Listener", "add_listener", "emit", "enabled", "remove_listener"]

#: The events emitted.
EVENTS: Final = frozenset(
    {
        "park",
        "wake",
        "timeout",
        "abandon",
        "unpark",
        "acquire",
        "acquired",
        "release",
        "put",
        "get",
        "submit",
        "task_start",
        "task_end",
    }
)

Listener = Callable[[str, object, object], object]

# Read without a lock on purpose (a stale read only delays the first or last event by one
# call); written under _lock together with _listeners and _routes.
enabled: bool = False
_listeners: tuple[Listener, ...] = ()  # every listener, in the order added
_wanted: dict[Listener, frozenset[str]] = {}  # listener -> the events it asked for
_routes: dict[str, tuple[Listener, ...]] = {}  # event -> its listeners, in the order added
_lock = _primitives.allocate_lock()


def _reroute() -> None:
    """Rebuild _routes from _listeners (``_lock`` held); swapped in whole, never mutated."""
    global _routes, enabled
    _routes = {event: tuple(f for f in _listeners if event in _wanted[f]) for event in EVENTS}
    enabled = bool(_listeners)


def add_listener(listener: Listener, events: Iterable[str] | None = None) -> None:
    """Start calling ``listener(event, obj, detail)`` for ``events`` (default: every event).

    Raises:
        ValueError: an event that is not one of ``EVENTS``.
    """
    global _listeners
    wanted = EVENTS if events is None else frozenset(events)
    unknown = wanted - EVENTS
    if unknown:
        raise ValueError(f"unknown hook events: {sorted(unknown)}")
    with _lock:
        _listeners = (*_listeners, listener)
        _wanted[listener] = wanted | _wanted.get(listener, frozenset())
        _reroute()


def remove_listener(listener: Listener) -> None:
    """Undo one ``add_listener(listener)``; ``ValueError`` if it was not added."""
    global _listeners
    with _lock:
        if listener not in _listeners:
            raise ValueError("listener was not added")
        items = list(_listeners)
        items.remove(listener)
        _listeners = tuple(items)
        if listener not in _listeners:
            del _wanted[listener]
        _reroute()


def emit(event: str, obj: object, detail: object = None) -> None:
    """Call every listener of ``event`` with it (only call it when ``enabled`` is true)."""
    for listener in _routes.get(event, ()):
        listener(event, obj, detail)
