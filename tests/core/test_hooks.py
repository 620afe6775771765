"""Tests for threadkit._core._hooks: listeners see park/unpark/wake/timeout events."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

import threadkit
from conftest import Workers, wait_for_waiters
from threadkit import Event, Semaphore
from threadkit._core import _hooks

pytestmark = pytest.mark.timeout(20)


class Recorder:
    """A listener that records (event, obj, detail, thread name) for one object."""

    def __init__(self, obj: object) -> None:
        self.obj = obj
        self.events: list[tuple[str, object, str]] = []
        self._lock = threading.Lock()

    def __call__(self, event: str, obj: object, detail: object) -> None:
        if obj is self.obj:
            with self._lock:
                self.events.append((event, detail, threading.current_thread().name))

    def names(self) -> list[str]:
        with self._lock:
            return [event for event, _, _ in self.events]


def hooks_enabled() -> bool:
    """Read the flag afresh (a function, so type checkers do not narrow the global)."""
    return _hooks.enabled


@pytest.fixture
def event() -> Event:
    return Event()


@pytest.fixture
def recorder(event: Event) -> Iterator[Recorder]:
    rec = Recorder(event)
    _hooks.add_listener(rec)
    try:
        yield rec
    finally:
        _hooks.remove_listener(rec)


def test_events_are_the_documented_ones() -> None:
    assert (
        frozenset(
            {"park", "unpark", "wake", "timeout", "abandon", "acquire", "acquired", "release"}
            | {"put", "get", "submit", "task_start", "task_end"}
        )
        == _hooks.EVENTS
    )


def test_disabled_without_listeners() -> None:
    assert hooks_enabled() is False


def test_blocked_then_set_emits_park_unpark_wake(event: Event, recorder: Recorder) -> None:
    with Workers(event.wait, names=["waiter"]):
        wait_for_waiters(event, 1)
        event.set()
    assert Counter(recorder.names()) == Counter({"park": 1, "unpark": 1, "wake": 1})
    by_name = {name: (detail, thread) for name, detail, thread in recorder.events}
    assert by_name["park"] == (None, "waiter")  # no deadline
    assert by_name["unpark"] == (1, "MainThread")  # one thread woken, by the setter
    assert by_name["wake"] == (True, "waiter")
    # In the waiting thread, park comes before wake.
    own = [name for name, _, thread in recorder.events if thread == "waiter"]
    assert own == ["park", "wake"]


def test_timed_out_wait_emits_park_and_timeout(event: Event, recorder: Recorder) -> None:
    assert event.wait(timeout=0.01) is False
    assert recorder.names() == ["park", "timeout"]
    (_, park_deadline, _), (_, timeout_deadline, _) = recorder.events
    assert isinstance(park_deadline, float)
    assert park_deadline == timeout_deadline


def test_unpark_detail_counts_threads_woken(event: Event, recorder: Recorder) -> None:
    with Workers(event.wait, event.wait, event.wait):
        wait_for_waiters(event, 3)
        event.set()
    unparks = [detail for name, detail, _ in recorder.events if name == "unpark"]
    assert unparks == [3]
    assert recorder.names().count("wake") == 3


def test_no_events_when_nothing_blocks(event: Event, recorder: Recorder) -> None:
    event.set()
    assert event.wait() is True
    assert event.wait_and_clear() is True
    assert recorder.events == []


def test_other_objects_emit_with_themselves_as_obj() -> None:
    s = Semaphore(0)
    rec = Recorder(s)
    _hooks.add_listener(rec)
    try:
        assert s.acquire(timeout=0) is False
    finally:
        _hooks.remove_listener(rec)
    assert rec.names() == ["park", "timeout"]


def test_enabled_follows_listeners() -> None:
    def first(event: str, obj: object, detail: object) -> None:
        pass

    def second(event: str, obj: object, detail: object) -> None:
        pass

    assert hooks_enabled() is False
    _hooks.add_listener(first)
    try:
        assert hooks_enabled() is True
        _hooks.add_listener(second)
        _hooks.remove_listener(first)
        assert hooks_enabled() is True  # second is still there
        _hooks.remove_listener(second)
    finally:
        if first in _hooks._listeners:
            _hooks.remove_listener(first)
    assert hooks_enabled() is False


def test_removed_listener_is_not_called(event: Event) -> None:
    rec = Recorder(event)
    _hooks.add_listener(rec)
    _hooks.remove_listener(rec)
    assert event.wait(timeout=0) is False
    assert rec.events == []


def test_remove_unknown_listener_raises() -> None:
    with pytest.raises(ValueError, match=r"^listener was not added$"):
        _hooks.remove_listener(lambda event, obj, detail: None)
    assert hooks_enabled() is False


def test_listener_added_twice_needs_two_removals(event: Event) -> None:
    rec = Recorder(event)
    _hooks.add_listener(rec)
    _hooks.add_listener(rec)
    try:
        event.wait(timeout=0)
        assert rec.names() == ["park", "park", "timeout", "timeout"]
        _hooks.remove_listener(rec)
        assert hooks_enabled() is True
    finally:
        _hooks.remove_listener(rec)
    assert hooks_enabled() is False
    with pytest.raises(ValueError, match=r"^listener was not added$"):
        _hooks.remove_listener(rec)


@pytest.mark.parametrize("wait", ["wait", "wait_and_clear"])
def test_a_listener_raising_at_park_leaves_no_ghost_waiter(wait: str) -> None:
    # An exception between enqueue and the blocking acquire (a failing listener here, a
    # KeyboardInterrupt in life) must withdraw the waiter, or it would swallow a later set().
    ev = threadkit.Event()

    def failing(event: str, obj: object, detail: object) -> None:
        if event == "park":
            raise RuntimeError("listener failed")

    _hooks.add_listener(failing)
    try:
        with pytest.raises(RuntimeError, match=r"^listener failed$"):
            getattr(ev, wait)(timeout=5)
    finally:
        _hooks.remove_listener(failing)
    assert ev.statistics().threads_waiting == 0
    ev.set()
    assert ev.wait_and_clear(timeout=0) is True
    assert not ev.is_set()


def test_a_listener_hears_only_the_events_it_asked_for() -> None:
    heard: list[str] = []

    def listener(event: str, obj: object, detail: object) -> None:
        heard.append(event)

    _hooks.add_listener(listener, ("wake",))
    try:
        ev = Event()
        t = threading.Thread(target=ev.wait)
        t.start()
        wait_for_waiters(ev, 1)
        ev.set()
        t.join(10)
    finally:
        _hooks.remove_listener(listener)
    assert heard == ["wake"]
    assert not hooks_enabled()
    with pytest.raises(ValueError, match=r"unknown hook events: \['parked'\]"):
        _hooks.add_listener(listener, ("parked",))
    assert _hooks._listeners == ()
