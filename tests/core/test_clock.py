"""Tests for threadkit._core._clock: SystemClock, MockClock and use_clock (virtual time)."""

from __future__ import annotations

import math
import time

import pytest

from conftest import Workers, wait_for_waiters, wait_until
from threadkit import Event, Semaphore
from threadkit._core import Clock, MockClock, SystemClock, get_clock, use_clock

pytestmark = pytest.mark.timeout(20)


class TestSystemClock:
    def test_is_the_default_clock(self) -> None:
        assert isinstance(get_clock(), SystemClock)
        assert get_clock().virtual is False

    def test_now_is_monotonic_time(self) -> None:
        clock = SystemClock()
        before = time.monotonic()
        now = clock.now()
        after = time.monotonic()
        assert before <= now <= after

    def test_call_at_is_refused(self) -> None:
        with pytest.raises(
            RuntimeError,
            match=r"^SystemClock has no call_at: waits on it time out by themselves$",
        ):
            SystemClock().call_at(0.0, lambda: None)

    def test_repr(self) -> None:
        assert repr(SystemClock()) == "<threadkit SystemClock>"


class TestMockClock:
    def test_time_moves_only_on_advance(self) -> None:
        clock = MockClock()
        assert clock.virtual is True
        assert clock.now() == 0.0
        assert clock.now() == 0.0
        clock.advance(1.5)
        assert clock.now() == 1.5
        clock.advance(0)
        assert clock.now() == 1.5

    def test_start_value(self) -> None:
        assert MockClock(100).now() == 100.0
        assert isinstance(MockClock(100).now(), float)

    @pytest.mark.parametrize(("seconds", "shown"), [(-1, "-1"), (-0.5, "-0.5"), (math.nan, "nan")])
    def test_advance_rejects_negative_and_nan(self, seconds: float, shown: str) -> None:
        clock = MockClock(3.0)
        with pytest.raises(
            ValueError, match=rf"^seconds must be a non-negative number, not {shown}$"
        ):
            clock.advance(seconds)
        assert clock.now() == 3.0

    def test_call_at_fires_when_due_in_deadline_order(self) -> None:
        clock = MockClock()
        fired: list[str] = []
        clock.call_at(3.0, lambda: fired.append("c"))
        clock.call_at(1.0, lambda: fired.append("a"))
        clock.call_at(2.0, lambda: fired.append("b1"))
        clock.call_at(2.0, lambda: fired.append("b2"))  # ties: in registration order
        assert clock.pending() == 4
        clock.advance(0.5)
        assert fired == []
        clock.advance(1.5)
        assert fired == ["a", "b1", "b2"]
        assert clock.pending() == 1
        clock.advance(10)
        assert fired == ["a", "b1", "b2", "c"]
        assert clock.pending() == 0

    def test_call_at_in_the_past_fires_at_once(self) -> None:
        clock = MockClock(5.0)
        fired: list[int] = []
        clock.call_at(5.0, lambda: fired.append(1))
        clock.call_at(-1.0, lambda: fired.append(2))
        assert fired == [1, 2]
        assert clock.pending() == 0

    def test_repr(self) -> None:
        clock = MockClock()
        clock.advance(1.5)
        assert repr(clock) == "<threadkit MockClock now=1.5>"

    def test_satisfies_the_clock_protocol(self) -> None:
        clocks: list[Clock] = [MockClock(), SystemClock()]
        assert [c.virtual for c in clocks] == [True, False]


class TestUseClock:
    def test_installs_and_restores(self) -> None:
        original = get_clock()
        clock = MockClock()
        with use_clock(clock) as installed:
            assert installed is clock
            assert get_clock() is clock
        assert get_clock() is original

    def test_restores_after_an_exception(self) -> None:
        original = get_clock()
        with pytest.raises(KeyError), use_clock(MockClock()):
            raise KeyError("inside")
        assert get_clock() is original

    def test_nests(self) -> None:
        outer, inner = MockClock(), MockClock()
        with use_clock(outer):
            with use_clock(inner):
                assert get_clock() is inner
            assert get_clock() is outer

    def test_event_wait_runs_in_virtual_time(self) -> None:
        clock = MockClock()
        ev = Event()
        with use_clock(clock), Workers(lambda: ev.wait(timeout=10)) as w:
            wait_for_waiters(ev, 1)
            wait_until(lambda: clock.pending() == 1, what="the wake-up to be registered")
            clock.advance(9.5)
            assert ev.statistics().threads_waiting == 1  # still blocked: not due yet
            clock.advance(0.5)
        assert w.results == [False]
        assert clock.pending() == 0
        assert ev.statistics().threads_waiting == 0

    def test_set_before_virtual_deadline_returns_true(self) -> None:
        clock = MockClock()
        ev = Event()
        with use_clock(clock), Workers(lambda: ev.wait(timeout=10)) as w:
            wait_for_waiters(ev, 1)
            ev.set()
        assert w.results == [True]
        clock.advance(10)  # the stale wake-up fires and is ignored
        assert clock.pending() == 0

    def test_stale_wake_up_does_not_end_a_later_wait(self) -> None:
        # A thread's waiter is reused for each wait: the wake-up registered by its first
        # wait (which ended by set()) must not time out its second wait.
        clock = MockClock()
        first, second = Event(), Event()

        def waiter() -> tuple[bool, bool]:
            return first.wait(timeout=10), second.wait(timeout=100)

        with use_clock(clock), Workers(waiter) as w:
            wait_for_waiters(first, 1)
            first.set()
            wait_for_waiters(second, 1)
            wait_until(lambda: clock.pending() == 2, what="both wake-ups to be registered")
            clock.advance(10)  # fires the first wait's wake-up
            assert second.statistics().threads_waiting == 1
            clock.advance(90)
        assert w.results == [(True, False)]

    def test_semaphore_acquire_runs_in_virtual_time(self) -> None:
        clock = MockClock()
        s = Semaphore(0)
        with use_clock(clock), Workers(lambda: s.acquire(timeout=3600)) as w:
            wait_for_waiters(s, 1)
            wait_until(lambda: clock.pending() == 1, what="the wake-up to be registered")
            clock.advance(3600)
        assert w.results == [False]
        assert s.value == 0

    def test_zero_timeout_on_mock_clock_does_not_block(self) -> None:
        clock = MockClock(50.0)
        with use_clock(clock):
            assert Event().wait(timeout=0) is False
            assert Semaphore(0).acquire(timeout=0) is False
        assert clock.now() == 50.0
        assert clock.pending() == 0
