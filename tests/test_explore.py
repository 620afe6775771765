"""Tests for threadkit.testing.explore, the interleaving explorer (sync granularity)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from conftest import EXPLORE_CASES, load_explore_cases
from threadkit.testing import explore

pytestmark = pytest.mark.timeout(120)


def sync_cases(which: str) -> list[object]:
    if not EXPLORE_CASES.exists():
        return []
    return [c for c in getattr(load_explore_cases(), which) if c.granularity == "sync"]


@pytest.mark.parametrize("case", sync_cases("BUGGY"), ids=lambda c: c.id)
def test_dfs_finds_each_bug_at_its_bound(case: object) -> None:
    bound = case.min_preemptions  # type: ignore[attr-defined]
    result = explore.run(case.body, strategy="dfs", max_preemptions=bound, schedules=5000)  # type: ignore[attr-defined]
    assert result.failure is not None
    assert result.failure.kind == case.failure  # type: ignore[attr-defined]
    assert result.failure.preemptions == bound
    again = explore.replay(case.body, result.failure.schedule)  # type: ignore[attr-defined]
    assert again.failure is not None
    assert (again.failure.kind, again.failure.location) == (
        result.failure.kind,
        result.failure.location,
    )


@pytest.mark.parametrize("case", sync_cases("BUGGY"), ids=lambda c: c.id)
def test_portfolio_finds_each_bug_and_minimises_it(case: object) -> None:
    for seed in range(3):
        result = explore.run(case.body, schedules=2000, seed=seed)  # type: ignore[attr-defined]
        assert result.failure is not None, f"seed {seed}"
        assert result.failure.kind == case.failure  # type: ignore[attr-defined]
        assert result.failure.preemptions == case.min_preemptions  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", sync_cases("FIXED"), ids=lambda c: c.id)
def test_fixed_cases_pass(case: object) -> None:
    result = explore.run(case.body, strategy="dfs", max_preemptions=1, schedules=20_000)  # type: ignore[attr-defined]
    assert result.failure is None
    assert result.exhausted
    assert explore.run(case.body, schedules=300).failure is None  # type: ignore[attr-defined]


def test_sleeps_are_virtual_and_ties_are_choices() -> None:
    order: list[str] = []

    def body() -> None:
        def late(name: str) -> None:
            time.sleep(3600)  # an hour of virtual time
            order.append(name)

        threads = [threading.Thread(target=late, args=(n,)) for n in "ab"]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert order == ["a", "b"], order  # fails when b is woken first at the same instant

    started = time.monotonic()
    result = explore.run(body, strategy="dfs", max_preemptions=0)
    assert time.monotonic() - started < 30
    assert result.failure is not None
    assert result.failure.kind == "assertion"
    assert "['b', 'a']" in result.failure.message


def test_misuse_is_reported_at_the_operation() -> None:
    def unheld() -> None:
        threading.Lock().release()

    def over() -> None:
        sem = threading.BoundedSemaphore(1)
        sem.release()

    for body, text in ((unheld, "release unlocked lock"), (over, "released too many times")):
        result = explore.run(body, schedules=1)
        assert result.failure is not None
        assert result.failure.kind == "misuse"
        assert text in result.failure.message


def test_threads_left_running_are_misuse() -> None:
    def body() -> None:
        ev = threading.Event()
        threading.Thread(target=ev.wait, name="forgotten").start()  # never set, never joined

    result = explore.run(body, schedules=1)
    assert result.failure is not None
    assert result.failure.kind == "misuse"
    assert "threads still alive when the test ends: forgotten" in result.failure.message


def test_a_spinning_schedule_is_a_livelock() -> None:
    def body() -> None:
        ev = threading.Event()
        while not ev.is_set():
            pass

    result = explore.run(body, schedules=1, max_steps=500)
    assert result.failure is not None
    assert result.failure.kind == "livelock"


def test_replay_checks_the_schedule() -> None:
    def body() -> None:
        lock = threading.Lock()
        t = threading.Thread(target=lambda: lock.acquire() and lock.release())
        t.start()
        with lock:
            pass
        t.join()

    with pytest.raises(ValueError, match="not a threadkit schedule string"):
        explore.replay(body, "nonsense")
    result = explore.run(body, strategy="dfs", max_preemptions=0)
    assert result.failure is None
    with pytest.raises(explore.ReplayDivergence):
        explore.replay(body, "tk1:sync:AAU=:00000000")  # a choice among 5 where there are 2


def test_the_stdlib_names_are_back_after_a_run() -> None:
    saved = (threading.Lock, threading.Thread, time.sleep, time.monotonic)

    def body() -> None:
        assert threading.current_thread().name == "MainThread"
        raise ValueError("boom")

    result = explore.run(body, schedules=1)
    assert result.failure is not None
    assert result.failure.kind == "exception"
    assert "ValueError: boom" in result.failure.message
    assert (threading.Lock, threading.Thread, time.sleep, time.monotonic) == saved


def test_the_decorator_reports_the_failure() -> None:
    @explore.test(schedules=200)
    def racy() -> None:
        box = {"n": 0}
        lock = threading.Lock()

        def inc() -> None:
            with lock:
                seen = box["n"]
            with lock:
                box["n"] = seen + 1

        threads = [threading.Thread(target=inc) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert box["n"] == 2

    with pytest.raises(AssertionError, match=r"replay: threadkit.testing.explore.replay"):
        racy()


def test_bad_arguments() -> None:
    body: Callable[[], None] = lambda: None  # noqa: E731
    with pytest.raises(ValueError, match="unknown strategy 'fast'"):
        explore.run(body, strategy="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown granularity 'word'"):
        explore.run(body, granularity="word")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown timeouts 'late'"):
        explore.run(body, timeouts="late")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="schedules must be >= 1"):
        explore.run(body, schedules=0)
