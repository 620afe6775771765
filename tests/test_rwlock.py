"""Tests for threadkit._rwlock: RWLock (policies, upgrade/downgrade, deadlocks, select).

Threads synchronise on the lock's own ``statistics()`` (``wait_for_waiters`` on the
``threads_waiting_*`` fields), never on sleeps. The ordering tests run in both wake-up
modes: hand-off (a waiter is made the holder before it runs) and retry (a waiter is woken
to take the lock itself), which the lock picks by how long the waiter has waited.
"""

from __future__ import annotations

import functools
import math
import random
import re
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import threadkit
import threadkit._core
from conftest import STRESS, Workers, wait_for_waiters, wait_until
from threadkit import CancelScope, DeadlockError, _rwlock
from threadkit._rwlock import _MIXED, _RETRY, _WRITE, RWLock, RWLockStatistics, _ReadGuard

pytestmark = pytest.mark.timeout(30)

POLICIES = ["fair", "write_preferring", "read_preferring"]
ME = r"thread 'MainThread' \(ident \d+\)"
NAN = math.nan

R, W, U, UP = (
    "threads_waiting_read",
    "threads_waiting_write",
    "threads_waiting_upgradable",
    "threads_waiting_upgrade",
)


@pytest.fixture(params=["handoff", "retry"])
def mode(request: pytest.FixtureRequest) -> Iterator[str]:
    """Make every RWLock hand the lock over (``handoff``) or wake waiters to retry."""
    saved = RWLock._handoff_after
    RWLock._handoff_after = 0.0 if request.param == "handoff" else math.inf
    try:
        yield request.param
    finally:
        RWLock._handoff_after = saved


def _held_in_thread(
    rw: RWLock, how: str, name: str = "holder"
) -> tuple[threading.Thread, threading.Event]:
    """Start a thread that takes ``how`` ("read", "write", "upgradable") and holds it."""
    got, done = threading.Event(), threading.Event()

    def run() -> None:
        acquire = {
            "read": rw.acquire_read,
            "write": rw.acquire_write,
            "upgradable": rw.acquire_upgradable,
        }[how]
        acquire()
        got.set()
        done.wait(10)
        {"read": rw.release_read, "write": rw.release_write}.get(how, rw.release_upgradable)()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    assert got.wait(10)
    return thread, done


class Log:
    """What the threads did, in order (appended under the lock it records)."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self._lock = threading.Lock()

    def add(self, event: str) -> None:
        with self._lock:
            self.events.append(event)

    def reader(self, rw: RWLock, name: str) -> Callable[[], None]:
        def run() -> None:
            with rw.read():
                self.add(name)

        return run

    def writer(self, rw: RWLock, name: str) -> Callable[[], None]:
        def run() -> None:
            with rw.write():
                self.add(name)

        return run


def _queue_one_by_one(rw: RWLock, *steps: tuple[Callable[[], object], str]) -> Workers:
    """Start each thread only once the previous one waits (``field`` says for what)."""
    workers = Workers(*(fn for fn, _ in steps), names=[f"t{i}" for i in range(len(steps))])
    counts = {R: 0, W: 0, U: 0, UP: 0}
    for thread, (_, field) in zip(workers.threads, steps, strict=True):
        thread.start()
        counts[field] += 1
        wait_for_waiters(rw, counts[field], field=field)
    return workers


# --------------------------------------------------------------------------------------------
# Basics


class TestBasics:
    def test_read_write_and_upgradable_blocks(self) -> None:
        rw = RWLock()
        with rw.read():
            s = rw.statistics()
            assert (s.readers, s.writer, s.upgradable) == (1, None, None)
            assert s.reader_threads == (threading.current_thread(),)
        with rw.write():
            assert rw.statistics().writer is threading.current_thread()
        with rw.upgradable_read():
            assert rw.statistics().upgradable is threading.current_thread()
        assert rw.statistics() == RWLockStatistics("fair", 0, (), None, None, 0, 0, 0, 0)

    def test_explicit_methods(self) -> None:
        rw = RWLock()
        assert rw.acquire_read() is True
        assert rw.acquire_write(blocking=False) is False  # a non-blocking call never raises
        rw.release_read()
        assert rw.acquire_write(timeout=1) is True
        assert rw.acquire_read(blocking=False) is False
        rw.release_write()
        assert rw.acquire_upgradable(timeout=0) is True
        rw.release_upgradable()
        assert rw.statistics().threads_waiting == 0

    def test_many_readers_at_once(self) -> None:
        rw = RWLock()
        inside = threading.Barrier(3)

        def reader() -> None:
            with rw.read():
                inside.wait(10)  # all three hold the read lock together

        with Workers(reader, reader, reader):
            pass

    def test_policy_and_reentrant_properties(self) -> None:
        rw = RWLock(policy="read_preferring", reentrant_reads=True)
        assert rw.policy == "read_preferring"
        assert rw.reentrant_reads is True
        assert RWLock().policy == "fair"
        assert RWLock().reentrant_reads is False

    def test_repr(self) -> None:
        rw = RWLock()
        assert re.fullmatch(
            r"<threadkit(\._rwlock)?\.RWLock at 0x[0-9a-f]+: fair, unlocked>", repr(rw)
        )
        with rw.read():
            assert repr(rw).endswith(": fair, 1 reader>")
        with rw.write():
            assert re.search(rf"write-locked by {ME}>$", repr(rw))
        with rw.upgradable_read():
            assert re.search(rf"upgradable read held by {ME}>$", repr(rw))

    def test_timeouts_of_blocks(self) -> None:
        rw = RWLock()
        _, done = _held_in_thread(rw, "write")
        try:
            with pytest.raises(TimeoutError, match=r"^timed out waiting for the read lock$"):
                with rw.read(timeout=0.01):
                    pass
            with pytest.raises(TimeoutError, match=r"^timed out waiting for the write lock$"):
                with rw.write(timeout=0):
                    pass
            with pytest.raises(
                TimeoutError, match=r"^timed out waiting for the upgradable read lock$"
            ):
                with rw.upgradable_read(timeout=0.01):
                    pass
            assert rw.statistics().threads_waiting == 0
        finally:
            done.set()
        with rw.read(timeout=5):
            pass


# --------------------------------------------------------------------------------------------
# Bad input and misuse


class TestErrors:
    def test_unknown_policy(self) -> None:
        with pytest.raises(ValueError, match=r"unknown RWLock policy 'fifo'"):
            RWLock(policy="fifo")  # type: ignore[arg-type]

    @pytest.mark.parametrize("timeout", [-1, -0.5, NAN])
    def test_bad_timeouts(self, timeout: float) -> None:
        rw = RWLock()
        message = r"^timeout must be"
        for call in (
            lambda: rw.acquire_read(timeout=timeout),
            lambda: rw.acquire_write(timeout=timeout),
            lambda: rw.acquire_upgradable(timeout=timeout),
            lambda: rw.read(timeout=timeout).__enter__(),
            lambda: rw.write(timeout=timeout).__enter__(),
        ):
            with pytest.raises(ValueError, match=message):
                call()
        with rw.upgradable_read():
            with pytest.raises(ValueError, match=message):
                rw.try_upgrade(timeout)
        assert rw.statistics() == RWLock().statistics()

    def test_timeout_with_non_blocking(self) -> None:
        rw = RWLock()
        with pytest.raises(ValueError, match=r"^can't specify a timeout for a non-blocking"):
            rw.acquire_read(False, 1)
        with pytest.raises(ValueError, match=r"^can't specify a timeout for a non-blocking"):
            rw.acquire_write(False, 0)

    def test_release_not_held(self) -> None:
        rw = RWLock()
        with pytest.raises(RuntimeError, match=rf"^{ME} does not hold the read lock"):
            rw.release_read()
        with pytest.raises(RuntimeError, match=rf"^{ME} does not hold the write lock"):
            rw.release_write()
        with pytest.raises(
            RuntimeError, match=rf"^{ME} does not hold the upgradable read lock of this RWLock$"
        ):
            rw.release_upgradable()
        with rw.read():
            with pytest.raises(RuntimeError, match=r"\(it holds a read lock: use release_read"):
                rw.release_write()
        with rw.write():
            with pytest.raises(RuntimeError, match=r"\(it holds the write lock: use release_w"):
                rw.release_read()
        assert rw.statistics().readers == 0

    def test_release_of_another_threads_write_lock_names_both(self) -> None:
        rw = RWLock()
        thread, done = _held_in_thread(rw, "write")
        try:
            with pytest.raises(
                RuntimeError,
                match=rf"^cannot release the write lock of this RWLock held by thread "
                rf"'holder' \(ident \d+\) from {ME}$",
            ):
                rw.release_write()
        finally:
            done.set()
        thread.join(10)

    def test_downgrade_and_upgrade_without_the_lock(self) -> None:
        rw = RWLock()
        with pytest.raises(RuntimeError, match=rf"^{ME} holds neither the write lock"):
            rw.downgrade()
        with pytest.raises(RuntimeError, match=rf"^{ME} does not hold the write lock"):
            rw.downgrade_to_upgradable()
        with pytest.raises(
            RuntimeError, match=rf"^{ME} does not hold the upgradable read lock of this RWLock$"
        ):
            rw.upgrade()
        with rw.write():
            with pytest.raises(RuntimeError, match=rf"^{ME} already holds the write lock"):
                rw.try_upgrade()


class TestDeadlocks:
    def test_read_then_write(self) -> None:
        rw = RWLock()
        with rw.read():
            with pytest.raises(DeadlockError, match=r"take upgradable_read\(\)"):
                rw.acquire_write()
            with pytest.raises(DeadlockError, match=rf"^{ME} holds a read lock"):
                rw.acquire_write(timeout=5)
            with pytest.raises(DeadlockError):
                with rw.write():
                    pass
            assert rw.acquire_write(blocking=False) is False
        assert rw.statistics().threads_waiting == 0

    def test_read_then_upgrade_says_to_use_upgradable_read(self) -> None:
        rw = RWLock()
        with rw.read():
            with pytest.raises(
                DeadlockError, match=r"cannot be upgraded.*take upgradable_read\(\) instead"
            ):
                rw.upgrade()
            with pytest.raises(DeadlockError, match=r"cannot be upgraded"):
                rw.try_upgrade(0)

    @pytest.mark.parametrize("policy", POLICIES)
    def test_reentrant_read_without_opt_in_raises(self, policy: str) -> None:
        rw = RWLock(policy=policy)  # type: ignore[arg-type]
        with rw.read():
            with pytest.raises(
                DeadlockError,
                match=rf"^{ME} already holds a read lock on this RWLock; .*"
                r"pass reentrant_reads=True",
            ):
                rw.acquire_read()
            assert rw.acquire_read(blocking=False) is False
        assert rw.statistics().readers == 0

    def test_reentrant_read_without_opt_in_while_a_writer_waits(self) -> None:
        rw = RWLock()
        rw.acquire_read()
        with Workers(rw.acquire_write, names=["writer"]) as w:
            wait_for_waiters(rw, 1, field=W)
            with pytest.raises(DeadlockError, match=r"reentrant_reads=True"):
                rw.acquire_read()
            rw.release_read()
        assert w.results == [True]
        assert rw.statistics().writer is not None

    def test_write_twice_and_write_then_read(self) -> None:
        rw = RWLock()
        with rw.write():
            with pytest.raises(DeadlockError, match=r"write locks are not re-entrant"):
                rw.acquire_write()
            with pytest.raises(DeadlockError, match=r"use downgrade\(\)"):
                rw.acquire_read()
            with pytest.raises(DeadlockError, match=r"use downgrade_to_upgradable\(\)"):
                rw.acquire_upgradable()
            assert rw.acquire_read(blocking=False) is False

    def test_upgradable_misuse(self) -> None:
        rw = RWLock()
        with rw.upgradable_read():
            with pytest.raises(DeadlockError, match=r"\(use upgrade\(\)\)"):
                rw.acquire_write()
            with pytest.raises(DeadlockError, match=r"it is not re-entrant"):
                rw.acquire_upgradable()
            with pytest.raises(DeadlockError, match=r"reentrant_reads=True"):
                rw.acquire_read()
        with rw.read():
            with pytest.raises(DeadlockError, match=r"release the read lock first"):
                rw.acquire_upgradable()

    def test_upgrade_while_also_holding_a_plain_read(self) -> None:
        rw = RWLock(reentrant_reads=True)
        with rw.upgradable_read():
            with rw.read():
                with pytest.raises(DeadlockError, match=r"besides the upgradable one"):
                    rw.upgrade()
            rw.upgrade()
            assert rw.statistics().writer is threading.current_thread()


class TestReentrantReads:
    @pytest.mark.parametrize("policy", ["fair", "write_preferring"])
    def test_reader_reenters_while_a_writer_waits(self, policy: str, mode: str) -> None:
        rw = RWLock(policy=policy, reentrant_reads=True)  # type: ignore[arg-type]
        rw.acquire_read()
        with Workers(lambda: rw.acquire_write(timeout=10), names=["writer"]) as w:
            wait_for_waiters(rw, 1, field=W)
            assert rw.acquire_read(timeout=0) is True  # would deadlock without the opt-in
            with rw.read():
                assert rw.statistics().readers == 1
            rw.release_read()
            assert rw.statistics().writer is None  # still held once
            rw.release_read()
        assert w.results == [True]

    def test_upgradable_holder_may_read_again(self) -> None:
        rw = RWLock(reentrant_reads=True)
        with rw.upgradable_read(), rw.read():
            s = rw.statistics()
            assert (s.readers, s.upgradable) == (1, threading.current_thread())


# --------------------------------------------------------------------------------------------
# Policies: who goes next


class TestPolicies:
    def test_fair_readers_before_the_next_writer_go_together(self, mode: str) -> None:
        rw = RWLock(policy="fair")
        log = Log()
        both_in = threading.Barrier(2)

        def batch_reader(name: str) -> Callable[[], None]:
            def run() -> None:
                with rw.read():
                    both_in.wait(10)  # r1 and r2 hold the read lock together
                    log.add(name)

            return run

        rw.acquire_write()
        workers = _queue_one_by_one(
            rw,
            (batch_reader("r1"), R),
            (batch_reader("r2"), R),
            (log.writer(rw, "w3"), W),
            (log.reader(rw, "r4"), R),
        )
        rw.release_write()
        workers.join()
        assert sorted(log.events[:2]) == ["r1", "r2"]
        assert log.events[2:] == ["w3", "r4"]

    def test_fair_alternates_in_arrival_order(self, mode: str) -> None:
        rw = RWLock(policy="fair")
        log = Log()
        rw.acquire_write()
        workers = _queue_one_by_one(
            rw,
            (log.reader(rw, "r1"), R),
            (log.writer(rw, "w2"), W),
            (log.reader(rw, "r3"), R),
            (log.writer(rw, "w4"), W),
        )
        rw.release_write()
        workers.join()
        assert log.events == ["r1", "w2", "r3", "w4"]

    @pytest.mark.parametrize("policy", ["fair", "write_preferring"])
    def test_a_waiting_writer_holds_new_readers_back(self, policy: str, mode: str) -> None:
        rw = RWLock(policy=policy)  # type: ignore[arg-type]
        log = Log()
        rw.acquire_read()
        workers = _queue_one_by_one(rw, (log.writer(rw, "w1"), W), (log.reader(rw, "r2"), R))
        assert rw.acquire_read(blocking=False) is False
        rw.release_read()
        workers.join()
        assert log.events == ["w1", "r2"]

    def test_write_preferring_writers_go_first(self, mode: str) -> None:
        rw = RWLock(policy="write_preferring")
        log = Log()
        rw.acquire_write()
        workers = _queue_one_by_one(
            rw,
            (log.reader(rw, "r1"), R),
            (log.writer(rw, "w2"), W),
            (log.reader(rw, "r3"), R),
            (log.writer(rw, "w4"), W),
        )
        rw.release_write()
        workers.join()
        assert log.events[:2] == ["w2", "w4"]
        assert sorted(log.events[2:]) == ["r1", "r3"]

    def test_read_preferring_readers_pass_a_waiting_writer(self, mode: str) -> None:
        rw = RWLock(policy="read_preferring")
        log = Log()
        rw.acquire_read()
        workers = _queue_one_by_one(rw, (log.writer(rw, "w1"), W))
        with Workers(log.reader(rw, "r2")):  # gets in at once although w1 waits
            pass
        assert log.events == ["r2"]
        rw.release_read()
        workers.join()
        assert log.events == ["r2", "w1"]

    def test_read_preferring_releasing_writer_admits_readers_first(self, mode: str) -> None:
        rw = RWLock(policy="read_preferring")
        log = Log()
        rw.acquire_write()
        workers = _queue_one_by_one(
            rw, (log.writer(rw, "w1"), W), (log.reader(rw, "r2"), R), (log.reader(rw, "r3"), R)
        )
        rw.release_write()
        workers.join()
        assert sorted(log.events[:2]) == ["r2", "r3"]
        assert log.events[2] == "w1"

    @pytest.mark.parametrize("policy", POLICIES)
    def test_writers_are_served_in_arrival_order(self, policy: str, mode: str) -> None:
        rw = RWLock(policy=policy)  # type: ignore[arg-type]
        log = Log()
        rw.acquire_write()
        workers = _queue_one_by_one(
            rw, (log.writer(rw, "w1"), W), (log.writer(rw, "w2"), W), (log.writer(rw, "w3"), W)
        )
        rw.release_write()
        workers.join()
        assert log.events == ["w1", "w2", "w3"]

    def test_a_writer_that_times_out_lets_the_readers_it_held_back_in(self) -> None:
        rw = RWLock(policy="fair")
        rw.acquire_read()
        with Workers(lambda: rw.acquire_write(timeout=0.05), names=["writer"]) as w:
            wait_for_waiters(rw, 1, field=W)
            readers = _queue_one_by_one(rw, (lambda: rw.acquire_read(timeout=10), R))
        readers.join()  # got in once the writer gave up
        assert w.results == [False]
        assert readers.results == [True]
        rw.release_read()
        s = rw.statistics()
        assert (s.readers, s.threads_waiting) == (1, 0)  # the other thread's read lock


# --------------------------------------------------------------------------------------------
# Upgrade and downgrade


class TestUpgradeDowngrade:
    def test_upgrade_waits_for_the_readers(self, mode: str) -> None:
        rw = RWLock()
        rw.acquire_read()

        def upgrader() -> bool:
            with rw.upgradable_read():
                rw.upgrade()
                return rw.statistics().writer is threading.current_thread()

        with Workers(upgrader) as w:
            wait_for_waiters(rw, 1, field=UP)
            s = rw.statistics()
            assert s.upgradable is w.threads[0]
            assert rw.acquire_read(blocking=False) is False  # the pending upgrade holds readers
            rw.release_read()
        assert w.results == [True]
        assert rw.statistics() == RWLock().statistics()

    def test_upgradable_coexists_with_readers_and_excludes_writers(self) -> None:
        rw = RWLock()
        with rw.upgradable_read():
            with Workers(lambda: rw.acquire_read(timeout=0)) as w:
                pass
            assert w.results == [True]  # (that thread exited holding it; release for it below)
            assert rw.statistics().readers == 1
            with Workers(lambda: rw.acquire_write(timeout=0)) as w2:
                pass
            assert w2.results == [False]
            with Workers(lambda: rw.acquire_upgradable(timeout=0)) as w3:
                pass
            assert w3.results == [False]
        rw._readers.clear()  # the exited reader's hold

    def test_try_upgrade_times_out_and_stays_upgradable(self) -> None:
        rw = RWLock()
        thread, done = _held_in_thread(rw, "read")
        try:
            with rw.upgradable_read():
                assert rw.try_upgrade() is False
                assert rw.try_upgrade(0.02) is False
                s = rw.statistics()
                assert (s.upgradable, s.writer, s.threads_waiting) == (
                    threading.current_thread(),
                    None,
                    0,
                )
                # the upgrade no longer holds readers back
                assert rw.acquire_read(blocking=False) is False  # (this thread is upgradable)
            assert rw.statistics().upgradable is None
        finally:
            done.set()
        thread.join(10)
        with rw.upgradable_read():
            assert rw.try_upgrade(None) is True
        assert rw.statistics() == RWLock().statistics()

    def test_downgrade_write_to_read_lets_readers_in(self, mode: str) -> None:
        rw = RWLock()
        rw.acquire_write()
        with Workers(lambda: rw.acquire_read(timeout=10)) as w:
            wait_for_waiters(rw, 1, field=R)
            rw.downgrade()
            wait_until(lambda: rw.statistics().readers == 2, what="both readers")
        assert w.results == [True]
        assert rw.statistics().writer is None
        rw.release_read()
        rw._readers.clear()  # the exited reader's hold

    def test_downgrade_to_upgradable_and_back(self) -> None:
        rw = RWLock()
        with rw.write():
            rw.downgrade_to_upgradable()
            s = rw.statistics()
            assert (s.writer, s.upgradable) == (None, threading.current_thread())
            rw.upgrade()
            rw.downgrade()
            assert rw.statistics().readers == 1
        assert rw.statistics() == RWLock().statistics()

    def test_upgradable_block_releases_what_is_held(self) -> None:
        rw = RWLock()
        with rw.upgradable_read():
            rw.upgrade()
        assert rw.statistics() == RWLock().statistics()
        with rw.upgradable_read():
            rw.downgrade()  # upgradable -> read
            assert rw.statistics().readers == 1
        assert rw.statistics() == RWLock().statistics()
        with rw.write():
            rw.downgrade()
        assert rw.statistics() == RWLock().statistics()


# --------------------------------------------------------------------------------------------
# Cancellation


class TestCancellation:
    @pytest.mark.parametrize("how", ["read", "write", "upgradable"])
    def test_blocked_acquire_is_cancelled_and_the_lock_stays_consistent(self, how: str) -> None:
        rw = RWLock()
        rw.acquire_write()
        scope = CancelScope()
        acquire = {
            "read": rw.acquire_read,
            "write": rw.acquire_write,
            "upgradable": rw.acquire_upgradable,
        }[how]

        def blocked() -> str:
            with scope:
                acquire()
                return "acquired"
            return "cancelled"

        field = {"read": R, "write": W, "upgradable": U}[how]
        with Workers(blocked) as w:
            wait_for_waiters(rw, 1, field=field)
            scope.cancel()
        assert w.results == ["cancelled"]
        rw.release_write()
        assert rw.statistics() == RWLock().statistics()
        with rw.write():
            pass

    def test_cancelled_writer_lets_the_readers_it_held_back_in(self, mode: str) -> None:
        rw = RWLock(policy="fair")
        rw.acquire_read()
        scope = CancelScope()

        def writer() -> None:
            with scope:
                rw.acquire_write()

        with Workers(writer) as w:
            wait_for_waiters(rw, 1, field=W)
            readers = _queue_one_by_one(rw, (lambda: rw.acquire_read(timeout=10), R))
            scope.cancel()
        readers.join()
        assert w.results == [None]
        assert readers.results == [True]
        rw.release_read()
        rw._readers.clear()

    def test_cancelled_upgrade_keeps_the_upgradable_read(self) -> None:
        rw = RWLock()
        rw.acquire_read()
        scope = CancelScope()

        def upgrader() -> object:
            with rw.upgradable_read():
                with scope:
                    rw.upgrade()
                return rw.statistics().upgradable is threading.current_thread()

        with Workers(upgrader) as w:
            wait_for_waiters(rw, 1, field=UP)
            scope.cancel()
        assert w.results == [True]
        rw.release_read()
        assert rw.statistics() == RWLock().statistics()

    def test_already_cancelled_scope_raises_at_a_blocking_acquire(self) -> None:
        rw = RWLock()
        rw.acquire_write()
        with Workers(lambda: _acquire_in_cancelled_scope(rw)) as w:
            pass
        assert w.results == [True]
        rw.release_write()
        assert rw.statistics() == RWLock().statistics()


def _acquire_in_cancelled_scope(rw: RWLock) -> bool:
    with CancelScope() as scope:
        scope.cancel()
        rw.acquire_read()
    return scope.cancelled_caught


# --------------------------------------------------------------------------------------------
# Select


class TestSelect:
    def test_free_ops_fire_at_once(self) -> None:
        rw = RWLock()
        assert threadkit.select(rw.read_op()) == (0, True)
        assert rw.statistics().readers == 1
        rw.release_read()
        assert threadkit.select(rw.write_op()) == (0, True)
        rw.release_write()
        assert threadkit.select(rw.upgradable_read_op()) == (0, True)
        assert threadkit.select(rw.upgrade_op()) == (0, True)
        rw.release_write()
        assert rw.statistics() == RWLock().statistics()
        assert re.match(r"<read_op of <threadkit(\._rwlock)?\.RWLock at", repr(rw.read_op()))

    def test_blocked_op_fires_on_release(self, mode: str) -> None:
        rw = RWLock()
        rw.acquire_write()
        ev = threadkit.Event()

        def selector() -> object:
            index, value = threadkit.select(ev.wait_op(), rw.read_op(), timeout=10)
            held = rw.statistics().reader_threads == (threading.current_thread(),)
            rw.release_read()
            return index, value, held

        with Workers(selector) as w:
            wait_for_waiters(rw, 1, field=R)
            rw.release_write()
        assert w.results == [(1, True, True)]
        assert rw.statistics() == RWLock().statistics()

    def test_losing_op_leaves_the_lock_consistent(self, mode: str) -> None:
        rw = RWLock(policy="fair")
        rw.acquire_read()
        ev = threadkit.Event()

        def selector() -> object:
            return threadkit.select(rw.write_op(), ev.wait_op(), timeout=10)

        with Workers(selector) as w:
            wait_for_waiters(rw, 1, field=W)
            assert rw.acquire_read(blocking=False) is False  # the write_op holds readers back
            ev.set()
        assert w.results == [(1, True)]
        assert rw.statistics().threads_waiting == 0
        with Workers(lambda: rw.acquire_read(timeout=0)) as w2:
            pass
        assert w2.results == [True]
        rw._readers.clear()

    def test_select_timeout(self) -> None:
        rw = RWLock()
        thread, done = _held_in_thread(rw, "write")
        try:
            with pytest.raises(TimeoutError):
                threadkit.select(rw.read_op(), rw.upgradable_read_op(), timeout=0.02)
            assert rw.statistics().threads_waiting == 0
        finally:
            done.set()
        thread.join(10)

    def test_select_on_a_deadlock_raises(self) -> None:
        rw = RWLock()
        with rw.read():
            with pytest.raises(DeadlockError, match=r"take upgradable_read\(\)"):
                threadkit.select(rw.write_op())
            with pytest.raises(DeadlockError, match=r"cannot be upgraded"):
                threadkit.select(rw.upgrade_op())

    def test_upgrade_op_fires_when_the_readers_leave(self, mode: str) -> None:
        rw = RWLock()
        rw.acquire_read()

        def upgrader() -> object:
            with rw.upgradable_read():
                result = threadkit.select(rw.upgrade_op(), timeout=10)
                return result, rw.statistics().writer is threading.current_thread()

        with Workers(upgrader) as w:
            wait_for_waiters(rw, 1, field=UP)
            rw.release_read()
        assert w.results == [((0, True), True)]
        assert rw.statistics() == RWLock().statistics()


# --------------------------------------------------------------------------------------------
# Stress


@pytest.mark.parametrize("policy", POLICIES)
def test_stress_invariants(policy: str) -> None:
    # Readers, writers and upgraders hammer one lock; inside each critical section the
    # counts of who is inside must be what the lock promises.
    rw = RWLock(policy=policy, reentrant_reads=True)  # type: ignore[arg-type]
    count_lock = threading.Lock()
    inside = {"r": 0, "w": 0, "u": 0}
    errors: list[str] = []
    rounds = 300 * STRESS

    def enter(kind: str) -> None:
        with count_lock:
            inside[kind] += 1
            if inside["w"] and (inside["w"] > 1 or inside["r"] or inside["u"]):
                errors.append(f"{kind}: {inside}")
            if inside["u"] > 1:
                errors.append(f"two upgradable: {inside}")

    def leave(kind: str) -> None:
        with count_lock:
            inside[kind] -= 1

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(rounds):
            with rw.read():
                enter("r")
                if rng.random() < 0.1:
                    with rw.read():  # re-entrant
                        pass
                leave("r")

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(rounds // 3):
            timeout = 0.001 if rng.random() < 0.2 else None
            if timeout is not None and not rw.acquire_write(timeout=timeout):
                continue
            if timeout is None:
                rw.acquire_write()
            enter("w")
            leave("w")
            if rng.random() < 0.3:
                rw.downgrade()
                enter("r")
                leave("r")
                rw.release_read()
            else:
                rw.release_write()

    def upgrader(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(rounds // 3):
            with rw.upgradable_read():
                enter("u")
                if rng.random() < 0.5:
                    leave("u")
                    rw.upgrade()
                    enter("w")
                    leave("w")
                else:
                    leave("u")

    fns: list[Callable[[], None]] = [functools.partial(reader, i) for i in range(3)]
    fns += [functools.partial(writer, 10), functools.partial(writer, 11)]
    fns.append(functools.partial(upgrader, 20))
    with Workers(*fns, timeout=60):
        pass
    assert errors == []
    assert rw.statistics() == RWLock(policy=policy).statistics()  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Fast reads: a reader's own slot while nobody but readers uses the lock


def _fast_reader(rw: RWLock) -> tuple[threading.Thread, threading.Event, threading.Event]:
    """A thread that reads once (its slot made, fast reads on), then holds a fast read."""
    got, done = threading.Event(), threading.Event()

    def run() -> None:
        with rw.read():
            pass
        with rw.read():
            got.set()
            done.wait(10)

    thread = threading.Thread(target=run, name="fast-reader", daemon=True)
    thread.start()
    assert got.wait(10)
    return thread, got, done


def _held_after_a_look(
    window: threading.Event, go: threading.Event
) -> type[threadkit._core.WaitQueue]:
    """A wait queue whose first timed-out park (a waiter about to look at the draining slots
    itself) sets ``window`` and waits for ``go``."""

    class HeldAfterALook(threadkit._core.WaitQueue):
        def park(self, waiter: Any, deadline: float | None, *, stay: bool = False) -> bool:
            woken = super().park(waiter, deadline, stay=stay)
            if not woken and not window.is_set():
                window.set()  # about to look at the slots
                assert go.wait(10)
            return woken

    return HeldAfterALook


class TestFastReads:
    def test_a_read_with_nobody_else_is_fast_and_counted(self) -> None:
        rw = RWLock()
        thread, _, done = _fast_reader(rw)
        slot = rw._slots[0]()
        assert slot is not None
        assert rw._bias
        assert slot.held
        assert slot.thread is thread
        assert not rw._readers  # not recorded under the lock: the slot says it
        s = rw.statistics()
        assert (s.readers, s.reader_threads) == (1, (thread,))
        assert repr(rw).endswith(": fair, 1 reader>")
        done.set()
        thread.join(10)
        assert rw.statistics().readers == 0

    @pytest.mark.parametrize("policy", POLICIES)
    def test_a_writer_waits_for_a_fast_reader_to_leave(self, policy: str) -> None:
        rw = RWLock(policy=policy)  # type: ignore[arg-type]
        thread, _, done = _fast_reader(rw)
        assert rw.acquire_write(timeout=0.05) is False  # the fast read holds it off
        assert not rw._bias
        assert len(rw._draining) == 1
        with Workers(rw.acquire_write) as w:
            wait_for_waiters(rw, 1, field=W)
            done.set()  # the reader leaves: it reports it, and the writer is let in
        assert w.results == [True]
        assert rw.statistics().writer is w.threads[0]
        assert not rw._draining
        rw._writer = None  # (the worker thread ended holding it; the test clears it)
        thread.join(10)

    def test_readers_are_fast_again_once_the_writer_has_gone(self) -> None:
        rw = RWLock()
        thread, _, done = _fast_reader(rw)
        done.set()
        thread.join(10)
        with rw.write():
            bias_in_write = rw._bias
        with rw.read():  # the first read after the writer turns fast reads back on
            bias_in_read = rw._bias
        assert (bias_in_write, bias_in_read) == (False, True)
        with rw.read():
            assert rw._local.slot is not None
            assert rw._local.slot.held

    def test_a_new_reader_waits_behind_a_writer_waiting_for_a_fast_reader(self) -> None:
        rw = RWLock(policy="fair")
        log = Log()
        thread, _, done = _fast_reader(rw)
        with Workers(log.writer(rw, "w"), log.reader(rw, "r")):
            wait_for_waiters(rw, 1, field=W)
            wait_for_waiters(rw, 1, field=R)  # the new reader does not pass the writer
            done.set()
        assert log.events == ["w", "r"]
        thread.join(10)

    def test_a_cancelled_writer_leaves_the_lock_usable(self) -> None:
        rw = RWLock()
        thread, _, done = _fast_reader(rw)
        scope = CancelScope()

        def writer() -> bool:
            with scope:
                rw.acquire_write()
                return True
            return False

        with Workers(writer) as w:
            wait_for_waiters(rw, 1, field=W)
            scope.cancel()
        assert w.results == [False]
        done.set()
        thread.join(10)
        assert not rw._draining  # the reader reported leaving
        with rw.write():
            pass
        with rw.read():
            assert rw._bias

    @pytest.mark.parametrize("reentrant", [False, True])
    def test_fast_reads_come_back_while_a_plain_reader_still_holds(self, reentrant: bool) -> None:
        # A reads under the lock (the upgradable read keeps fast reads off), then B's read
        # turns them back on although A still holds: A's re-entry goes to the slow path,
        # where it is refused (or counted), and a writer waits for both kinds of reader.
        rw = RWLock(reentrant_reads=reentrant)
        a_ready, a_holds, a_go, a_checked, a_done = (threading.Event() for _ in range(5))
        released, b_holds, b_go = threading.Event(), threading.Event(), threading.Event()
        seen: dict[str, object] = {}

        def a() -> None:
            with rw.read():  # its slot is made
                pass
            a_ready.set()
            assert a_go.wait(10)
            with rw.read():  # under the lock: the upgradable read is held
                seen["a plain"] = rw._local.slot is not None and not rw._local.slot.held
                a_holds.set()
                assert b_holds.wait(10)
                seen["bias while a holds"] = rw._bias
                if reentrant:
                    with rw.read():
                        seen["nested"] = rw._readers.get(threading.current_thread())
                else:
                    for take in (rw.acquire_read, lambda: rw.read().__enter__()):
                        with pytest.raises(DeadlockError, match="already holds a read lock"):
                            take()
                    seen["refused"] = True
                a_checked.set()
                assert a_done.wait(10)

        def b() -> None:
            assert released.wait(10)
            with rw.read():
                seen["b fast"] = rw._local.slot is not None and rw._local.slot.held
                b_holds.set()
                assert b_go.wait(10)

        with Workers(a, b) as w:
            assert a_ready.wait(10)
            rw.acquire_upgradable()
            a_go.set()
            assert a_holds.wait(10)
            rw.release_upgradable()
            released.set()
            assert a_checked.wait(10)
            assert rw.acquire_write(timeout=0.05) is False  # both readers hold it off
            with Workers(rw.acquire_write) as writer:
                wait_for_waiters(rw, 1, field=W)
                a_done.set()
                wait_until(lambda: not rw._readers, what="A to leave")
                assert rw.statistics().writer is None  # B (a fast read) still holds
                b_go.set()
            assert writer.results == [True]
            rw._writer = None  # (the worker thread ended holding it; the test clears it)
        assert w.errors == []
        expected = {"a plain": True, "b fast": True, "bias while a holds": _MIXED}
        expected.update({"nested": 2} if reentrant else {"refused": True})
        assert seen == expected
        assert not rw._draining

    def test_the_last_plain_reader_leaving_makes_the_bias_whole_again(self) -> None:
        rw = RWLock()
        holds, leave = threading.Event(), threading.Event()

        def plain_reader() -> None:
            with rw.read():  # under the lock: the upgradable read is held
                holds.set()
                assert leave.wait(10)

        rw.acquire_upgradable()
        with Workers(plain_reader) as w:
            assert holds.wait(10)
            rw.release_upgradable()
            with rw.read():  # fast, beside the plain reader
                assert rw._local.slot is not None
                assert rw._local.slot.held
                mixed = rw._bias
                leave.set()
                w.join()
                whole = rw._bias  # no plain reader left: no look-up on fast reads
                assert not rw._readers
        assert mixed is _MIXED
        assert whole is True
        assert rw.statistics().readers == 0

    @pytest.mark.parametrize("policy", POLICIES)
    def test_no_writer_is_admitted_while_fast_reads_are_on(self, policy: str) -> None:
        # A writer waiting for draining slots leaves its queue for a moment to look at them
        # (_acquire); a reader that comes then finds nobody waiting and turns fast reads on
        # again. The state that leaves, made by hand: the writer queued, the draining slot
        # gone, fast reads on and held. _dispatch must not hand the writer the lock (it did:
        # a writer beside readers in a stress run on 3.13t, read_preferring).
        rw = RWLock(policy=policy)  # type: ignore[arg-type]
        thread, _, done = _fast_reader(rw)
        with Workers(rw.acquire_write) as w:
            wait_for_waiters(rw, 1, field=W)
            with rw._lock:
                slot = next(iter(rw._draining))
                rw._draining.clear()  # (as if its report had come, before it read again)
                rw._bias = True
                rw._dispatch()
                assert rw._writer is None
                assert rw._draining == {slot}  # revoked again: the writer waits for it
            done.set()
        assert w.results == [True]
        rw._writer = None  # (the worker thread ended holding it; the test clears it)
        thread.join(10)

    @pytest.mark.parametrize("policy", ["fair", "write_preferring"])
    def test_a_writer_looking_at_draining_slots_still_holds_new_readers_back(
        self, policy: str
    ) -> None:
        # A writer waiting for a fast read to drain looks at the slot now and then; it used
        # to leave its queue for the look, and a reader that came then got in ahead of it.
        window, go = threading.Event(), threading.Event()
        held_after_a_look = _held_after_a_look(window, go)
        rw = RWLock(policy=policy)  # type: ignore[arg-type]
        rw._wq = held_after_a_look(rw, rw._lock)
        rw._queues = (rw._rq, rw._wq, rw._uq, rw._upq)
        reader, _, reader_done = _fast_reader(rw)
        log = Log()
        with Workers(log.writer(rw, "w")):
            assert window.wait(10)
            with Workers(log.reader(rw, "r")):
                wait_for_waiters(rw, 1, field=R)  # behind the writer, not past it
                go.set()
                reader_done.set()
        assert log.events == ["w", "r"]
        reader.join(10)

    def test_an_interrupt_in_a_look_at_draining_slots_withdraws_the_writer(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Between two parks the waiter stays queued: an exception anywhere in the look must
        # withdraw it (else a later release hands the lock to a thread that gave up).
        rw = RWLock()
        reader, _, reader_done = _fast_reader(rw)
        looks: list[None] = []
        recheck = RWLock._recheck_draining

        def interrupted(self: RWLock, slots: Any = None) -> None:
            if slots is None and not looks:  # the waiting writer's own look
                looks.append(None)
                raise KeyboardInterrupt
            recheck(self, slots)

        monkeypatch.setattr(RWLock, "_recheck_draining", interrupted)
        with pytest.raises(KeyboardInterrupt):
            rw.acquire_write()  # waits for the fast read; its first look is interrupted
        assert looks == [None]
        s = rw.statistics()
        assert (s.threads_waiting_write, s.writer) == (0, None)
        reader_done.set()
        reader.join(10)
        assert rw.statistics().writer is None
        assert rw.acquire_write(timeout=5)
        rw.release_write()

    def test_the_upgradable_read_is_never_held_with_fast_reads_on(self) -> None:
        # A thread waiting for the upgradable read looks at the draining slot now and then.
        # It used to leave its queue for the look, and a reader that came then turned fast
        # reads on again, and it was handed the upgradable read with them on: its own read
        # was then granted (fast) instead of refused. It now stays queued while it looks: a
        # read in that moment is a plain one, and the upgradable read is granted with fast
        # reads off. The moment is held open by the queue's park.
        window, go = threading.Event(), threading.Event()
        held_after_a_look = _held_after_a_look(window, go)
        rw = RWLock()
        rw._uq = held_after_a_look(rw, rw._lock)
        rw._queues = (rw._rq, rw._wq, rw._uq, rw._upq)
        reader, _, reader_done = _fast_reader(rw)
        rw.acquire_upgradable()  # revokes: the reader's slot drains
        seen: dict[str, object] = {}
        checked = threading.Event()

        def upgradable() -> None:
            rw.acquire_upgradable()  # waits, looking at the draining slot now and then
            seen["bias"] = rw._bias
            with pytest.raises(DeadlockError):
                rw.acquire_read()
            rw.release_upgradable()
            checked.set()

        with Workers(upgradable):
            assert window.wait(10)
            reader_done.set()
            reader.join(10)
            rw.release_upgradable()  # the other, still queued, is let in or woken ...
            with rw.read():  # ... so this read does not turn fast reads on
                assert rw._local.slot is None or not rw._local.slot.held
                assert not rw._bias
                go.set()
                assert checked.wait(10)  # (granted beside this read: they coexist)
        assert seen == {"bias": False}

    def test_re_entry_from_a_fast_read_is_refused_as_from_any_read(self) -> None:
        rw = RWLock()
        with rw.read():
            pass
        with rw.read():
            assert rw._local.slot is not None
            assert rw._local.slot.held
            with pytest.raises(DeadlockError, match="already holds a read lock"):
                rw.acquire_read()
            with pytest.raises(DeadlockError, match="holds a read lock"):
                rw.acquire_write()
            with pytest.raises(DeadlockError, match="holds a read lock"):
                rw.acquire_upgradable()
            assert rw.acquire_write(blocking=False) is False
        assert rw.statistics().readers == 0

    def test_re_entrant_reads_nest_on_a_fast_read(self) -> None:
        rw = RWLock(reentrant_reads=True)
        with rw.read():
            pass
        with rw.read():
            with rw.read():
                assert rw.statistics().readers == 1
            rw.acquire_read()
            assert rw.statistics().readers == 1  # (holds count alike, fast or not)
            rw.release_read()
        assert rw.statistics().readers == 0
        assert not rw._readers
        with pytest.raises(RuntimeError, match="does not hold the read lock"):
            rw.release_read()

    def test_acquire_and_release_read_take_the_fast_path_too(self) -> None:
        rw = RWLock()
        rw.acquire_read()
        rw.release_read()
        assert rw.acquire_read() is True
        assert rw._local.slot is not None
        assert rw._local.slot.held
        assert not rw._readers
        rw.release_read()
        assert not rw._local.slot.held

    def test_slots_of_threads_that_ended_are_dropped(self) -> None:
        rw = RWLock()

        def read_once() -> None:
            with rw.read():
                pass

        for _ in range(5):
            t = threading.Thread(target=read_once)
            t.start()
            t.join(10)
        # A slot belongs to its thread's thread-local: it goes with the thread.
        wait_until(lambda: all(ref() is None for ref in rw._slots), what="the slots to go")
        with rw.read():
            pass
        assert [ref() for ref in rw._slots] == [rw._local.slot]

    def test_a_thread_said_not_alive_still_has_its_fast_reads_seen(self) -> None:
        # (In an atexit handler the main thread's is_alive() is False, and it still reads.)
        rw = RWLock()
        with rw.read():  # this thread's slot
            pass
        me = threading.current_thread()
        me.is_alive = lambda: False  # type: ignore[method-assign]
        try:

            def read_once() -> None:
                with rw.read():  # another thread's slot is made (the slots are looked over)
                    pass

            with Workers(read_once):
                pass
            with rw.read():
                assert rw._local.slot is not None
                assert rw._local.slot.held
                with Workers(lambda: rw.acquire_write(timeout=0.05)) as w:
                    pass
                assert w.results == [False]
        finally:
            del me.is_alive

    def test_fast_reads_come_back_while_a_writer_woken_to_retry_is_on_its_way(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A writer woken to retry (not handed the lock) may take a while to run. Meanwhile
        # the lock is free and nobody else waits but readers held back behind that writer:
        # new readers take fast reads, and the writer, once back, waits for them to leave.
        monkeypatch.setattr(RWLock, "_handoff_after", math.inf)  # wake waiters to retry
        rw = RWLock(policy="fair")
        woken, go_on = threading.Event(), threading.Event()
        park = threadkit._core.WaitQueue.park

        def held_after_waking(
            queue: Any, waiter: Any, deadline: float | None, *, stay: bool = False
        ) -> bool:
            result = park(queue, waiter, deadline, stay=stay)
            if queue is rw._wq and waiter.value == _RETRY and not woken.is_set():
                woken.set()
                go_on.wait(10)
            return result

        monkeypatch.setattr(threadkit._core.WaitQueue, "park", held_after_waking)
        log = Log()
        thread, _, done = _fast_reader(rw)
        with Workers(log.writer(rw, "w"), log.reader(rw, "r")):
            wait_for_waiters(rw, 1, field=W)
            wait_for_waiters(rw, 1, field=R)  # a reader held back behind the writer
            done.set()  # the fast reader leaves: the writer is woken to retry
            assert woken.wait(10)
            with rw._lock:  # (the waker counts it after the wake-up, holding the lock)
                assert rw._transit[_WRITE] == 1
            with rw.read():
                assert rw._local.slot is not None
                assert rw._local.slot.held  # a fast read
                go_on.set()
                wait_for_waiters(rw, 1, field=W)  # the writer is back, and waits for it
                assert rw.statistics().writer is None
        assert log.events == ["w", "r"]  # the reader held back still comes after the writer
        thread.join(10)

    def test_the_diagnostics_see_a_fast_reader_as_a_holder(self) -> None:
        from threadkit.diagnostics import _instrument

        rw = RWLock()
        thread, _, done = _fast_reader(rw)
        assert _instrument.holders(rw) == [thread.ident]
        done.set()
        thread.join(10)

    @pytest.fixture
    def own_guards(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Give each thread its own read guard, as on the free-threaded build."""
        monkeypatch.setattr(_rwlock, "_OWN_GUARDS", True)

    def test_own_read_guards_where_the_gil_is_off(self) -> None:
        gil = getattr(sys, "_is_gil_enabled", lambda: True)()
        assert _rwlock._OWN_GUARDS is not gil
        rw = RWLock()
        with Workers(rw.read) as w:
            pass
        assert (w.results[0] is rw.read()) is gil

    @pytest.mark.usefixtures("own_guards")
    def test_each_thread_gets_its_own_read_guard(self) -> None:
        rw = RWLock()
        mine = rw.read()
        assert rw.read() is mine
        with Workers(rw.read) as w:
            pass
        assert w.results[0] is not mine
        assert rw.read(timeout=1) is not rw.read(timeout=1)  # (one per call with a timeout)

    @pytest.mark.usefixtures("own_guards")
    def test_a_read_guard_used_by_another_thread_reads_for_that_thread(self) -> None:
        rw = RWLock()
        guard = rw.read()
        with guard:
            pass  # this thread's slot is made, and fast reads are on

        def read_with_it() -> tuple[tuple[threading.Thread, ...], bool, bool]:
            with guard:
                held = rw.statistics().reader_threads
                refused = False
                try:
                    rw.acquire_write()
                except DeadlockError:
                    refused = True  # as for any reader: the read is this thread's
                return held, refused, rw._local.slot is not None and rw._local.slot.held

        with Workers(read_with_it) as w:
            pass
        assert w.results == [((w.threads[0],), True, True)]
        assert rw._local.slot is not None
        assert not rw._local.slot.held  # the guard's own thread holds nothing
        assert rw.statistics().readers == 0

    @pytest.mark.usefixtures("own_guards")
    def test_a_read_guard_outliving_its_thread_reads_for_the_caller(self) -> None:
        rw = RWLock()
        with Workers(rw.read) as w:  # a guard made by a thread that then ends
            pass
        guard = w.results[0]
        assert isinstance(guard, _ReadGuard)
        dead = w.threads[0].ident
        # Its slot went with its thread (the guard let go of it when the thread ended), and
        # the guard no longer takes the thread's id, which may now be another thread's, as
        # its own.
        wait_until(lambda: all(ref() is None for ref in rw._slots), what="the slot to go")
        assert guard._ident is None

        def read_with_it() -> tuple[threading.Thread, ...]:
            with guard:
                return rw.statistics().reader_threads

        # New threads often get the ended thread's id (Linux reuses them at once): up to 20,
        # until one has; each reads for itself.
        for _ in range(20):
            with Workers(read_with_it) as w:
                pass
            assert w.results == [(w.threads[0],)]
            if w.threads[0].ident == dead:
                break
        with guard:
            assert rw.statistics().reader_threads == (threading.current_thread(),)
        assert rw.statistics().readers == 0

    def test_the_explorer_turns_fast_reads_off(self) -> None:
        from threadkit import _rwlock
        from threadkit.testing import _models

        with _models.patch():
            assert _rwlock._FAST_READS is False
        assert _rwlock._FAST_READS is True

    @pytest.mark.parametrize("own_guards", [False, True])
    @pytest.mark.parametrize("policy", POLICIES)
    def test_stress_fast_readers_and_writers_exclude_each_other(
        self, policy: str, own_guards: bool, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(_rwlock, "_OWN_GUARDS", own_guards)
        rw = RWLock(policy=policy)  # type: ignore[arg-type]
        count_lock = threading.Lock()
        inside = {"r": 0, "w": 0}
        errors: list[str] = []
        rounds = 2000 * STRESS

        def enter(kind: str) -> None:
            with count_lock:
                inside[kind] += 1
                if inside["w"] and (inside["w"] > 1 or inside["r"]):
                    errors.append(f"{kind}: {inside}")

        def leave(kind: str) -> None:
            with count_lock:
                inside[kind] -= 1

        def reader() -> None:
            for _ in range(rounds):
                with rw.read():
                    enter("r")
                    leave("r")

        def writer() -> None:
            for i in range(rounds // 20):
                with rw.write():
                    enter("w")
                    leave("w")
                if i % 5 == 0:
                    threadkit.sleep(0)

        with Workers(reader, reader, reader, writer, timeout=60):
            pass
        assert errors == []
        assert rw.statistics() == RWLock(policy=policy).statistics()  # type: ignore[arg-type]
        assert not rw._draining


def test_a_writer_gets_in_even_if_a_fast_reader_s_report_is_missed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The report is a hint (read without the lock): with every report lost, the waiting
    # writer looks at the draining slots itself and is let in once the reader has left.
    monkeypatch.setattr(RWLock, "_fast_left", lambda self, slot: None)
    rw = RWLock()
    thread, _, done = _fast_reader(rw)
    with Workers(rw.acquire_write) as w:
        wait_for_waiters(rw, 1, field=W)
        done.set()
    assert w.results == [True]
    assert not rw._draining
    thread.join(10)
