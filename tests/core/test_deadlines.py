"""Tests for threadkit._core._deadlines: the three timeout dialects and ``remaining``.

Deadlines are computed on a ``MockClock`` so their values can be checked exactly.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import error_message
from threadkit._core import (
    MockClock,
    check_timeout,
    lock_deadline,
    remaining,
    use_clock,
    wait_deadline,
)

NAN = math.nan


@pytest.fixture
def clock() -> Iterator[MockClock]:
    clock = MockClock(100.0)
    with use_clock(clock):
        yield clock


class TestWaitDeadline:
    def test_none_waits_forever(self, clock: MockClock) -> None:
        assert wait_deadline(None) is None

    def test_timeout_becomes_absolute(self, clock: MockClock) -> None:
        assert wait_deadline(2.5) == 102.5
        assert wait_deadline(0) == 100.0
        clock.advance(1)
        assert wait_deadline(2) == 103.0

    def test_negative_timeout_is_already_due(self, clock: MockClock) -> None:
        assert wait_deadline(-5) == 100.0

    def test_nan_raises(self, clock: MockClock) -> None:
        with pytest.raises(ValueError, match=r"^timeout must be a number, not NaN$"):
            wait_deadline(NAN)

    def test_infinite_timeout(self, clock: MockClock) -> None:
        assert wait_deadline(math.inf) == math.inf


class TestLockDeadline:
    def test_blocking_minus_one_waits_forever(self, clock: MockClock) -> None:
        assert lock_deadline(True, -1) is None

    def test_blocking_timeout_becomes_absolute(self, clock: MockClock) -> None:
        assert lock_deadline(True, 2) == 102.0
        assert lock_deadline(True, 0) == 100.0

    def test_non_blocking_is_due_now(self, clock: MockClock) -> None:
        assert lock_deadline(False, -1) == 100.0

    def test_timeout_on_non_blocking_call_raises(self, clock: MockClock) -> None:
        with pytest.raises(ValueError, match=r"^can't specify a timeout for a non-blocking call$"):
            lock_deadline(False, 1)
        with pytest.raises(ValueError, match=r"^can't specify a timeout for a non-blocking call$"):
            lock_deadline(False, 0)

    def test_same_message_as_lock_for_non_blocking_timeout(self) -> None:
        expected = error_message(lambda: threading.Lock().acquire(False, 1), ValueError)
        with pytest.raises(ValueError, match=rf"^{re.escape(expected)}$"):
            lock_deadline(False, 1)

    @pytest.mark.parametrize("timeout", [-2, -0.5, -math.inf])
    def test_negative_timeout_other_than_minus_one_raises(
        self, clock: MockClock, timeout: float
    ) -> None:
        # The running CPython's own wording (3.13 changed it).
        stdlib = error_message(lambda: threading.Lock().acquire(True, -2), ValueError)
        with pytest.raises(ValueError, match=rf"^{re.escape(stdlib)}$"):
            lock_deadline(True, timeout)

    def test_nan_raises(self, clock: MockClock) -> None:
        with pytest.raises(ValueError, match=r"^timeout must be a number, not NaN$"):
            lock_deadline(True, NAN)

    def test_above_timeout_max_raises_overflow(self, clock: MockClock) -> None:
        assert lock_deadline(True, threading.TIMEOUT_MAX) == 100.0 + threading.TIMEOUT_MAX
        with pytest.raises(OverflowError, match=r"^timeout value is too large$"):
            lock_deadline(True, threading.TIMEOUT_MAX * 2)


class TestCheckTimeout:
    def test_none_and_numbers_pass_through(self) -> None:
        assert check_timeout(None) is None
        assert check_timeout(0) == 0
        assert check_timeout(1.5) == 1.5
        assert check_timeout(math.inf) == math.inf

    def test_negative_names_the_argument(self) -> None:
        with pytest.raises(ValueError, match=r"^delay must be >= 0, not -1$"):
            check_timeout(-1, "delay")
        with pytest.raises(ValueError, match=r"^timeout must be >= 0, not -0\.5$"):
            check_timeout(-0.5)

    def test_nan_names_the_argument(self) -> None:
        with pytest.raises(ValueError, match=r"^interval must be a number, not NaN$"):
            check_timeout(NAN, "interval")

    @pytest.mark.parametrize(("value", "type_name"), [("x", "str"), (True, "bool"), ([], "list")])
    def test_wrong_type_raises_type_error(self, value: object, type_name: str) -> None:
        with pytest.raises(
            TypeError, match=rf"^timeout must be a number or None, not {type_name}$"
        ):
            check_timeout(value)  # type: ignore[arg-type]

    def test_wrong_type_names_the_argument(self) -> None:
        with pytest.raises(TypeError, match=r"^delay must be a number or None, not str$"):
            check_timeout("1", "delay")  # type: ignore[arg-type]

    @given(st.floats(min_value=0, allow_nan=False) | st.integers(min_value=0))
    def test_accepts_every_non_negative_number_unchanged(self, value: float) -> None:
        assert check_timeout(value) == value

    @given(st.floats(max_value=-1e-300, allow_nan=False) | st.integers(max_value=-1))
    def test_rejects_every_negative_number(self, value: float) -> None:
        with pytest.raises(ValueError, match=r"^t must be >= 0, not "):
            check_timeout(value, "t")


class TestRemaining:
    def test_none_is_none(self, clock: MockClock) -> None:
        assert remaining(None) is None

    def test_time_left(self, clock: MockClock) -> None:
        deadline = wait_deadline(5)
        assert remaining(deadline) == 5.0
        clock.advance(2)
        assert remaining(deadline) == 3.0

    def test_never_negative(self, clock: MockClock) -> None:
        assert remaining(99.0) == 0.0
        clock.advance(50)
        assert remaining(100.0) == 0.0

    def test_infinite_deadline(self, clock: MockClock) -> None:
        assert remaining(math.inf) == math.inf
