"""Instrumentation points for the deadlock detector, the tracer and the explorer.

Costs nothing when off: the hot paths never call into this module, and the slow paths (a thread
about to park, a thread being woken) test the module global ``enabled`` before doing anything.
A listener receives ``(event, obj, detail)``: ``event`` is one of ``EVENTS``, ``obj`` the
threadkit object concerned (an Event, a Semaphore, ...), ``detail`` event-specific
(for "park" and "unpark", the deadline or the number of threads woken).

Listeners run in the thread that emits, with internal locks possibly held: they must be quick,
must not block and must not call back into the object they observe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from . import _primitives

__all__ = ["EVENTS", "Listener", "add_listener", "emit", "enabled", "remove_listener"]

#: The events emitted.
EVENTS: Final = frozenset({"park", "wake", "timeout", "unpark"})

Listener = Callable[[str, object, object], object]

# Read without a lock on purpose (a stale read only delays the first or last event by one
# call); written under _lock together with _listeners.
enabled: bool = False
_listeners: tuple[Listener, ...] = ()
_lock = _primitives.allocate_lock()


def add_listener(listener: Listener) -> None:
    """Start calling ``listener(event, obj, detail)`` for every hook event."""
    global enabled, _listeners
    with _lock:
        _listeners = (*_listeners, listener)
        enabled = True


def remove_listener(listener: Listener) -> None:
    """Stop calling ``listener``; ``ValueError`` if it was not added."""
    global enabled, _listeners
    with _lock:
        if listener not in _listeners:
            raise ValueError("listener was not added")
        items = list(_listeners)
        items.remove(listener)
        _listeners = tuple(items)
        enabled = bool(_listeners)


def emit(event: str, obj: object, detail: object = None) -> None:
    """Call every listener with one event (only call it when ``enabled`` is true)."""
    for listener in _listeners:
        listener(event, obj, detail)
