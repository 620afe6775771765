"""Tests for threadkit.testing.explore, the interleaving explorer."""

from __future__ import annotations

import _thread
import queue
import sys
import threading
import time
from collections.abc import Callable

import pytest

from conftest import EXPLORE_CASES, load_explore_cases, wait_until
from threadkit.testing import explore

pytestmark = pytest.mark.timeout(120)


def sync_cases(which: str, granularity: str = "sync") -> list[object]:
    if not EXPLORE_CASES.exists():
        return []
    return [c for c in getattr(load_explore_cases(), which) if c.granularity == granularity]


def finer_cases() -> list[object]:
    return sync_cases("BUGGY", "line") + sync_cases("BUGGY", "opcode")


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

        def take_and_give() -> None:
            with lock:
                pass

        t = threading.Thread(target=take_and_give)
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


# -- line and opcode granularity -----------------------------------------------------------


@pytest.mark.parametrize("case", finer_cases(), ids=lambda c: c.id)
def test_line_and_opcode_bugs_are_found_at_their_granularity(case: object) -> None:
    granularity = case.granularity  # type: ignore[attr-defined]
    bound = case.min_preemptions  # type: ignore[attr-defined]
    result = explore.run(
        case.body,  # type: ignore[attr-defined]
        strategy="dfs",
        granularity=granularity,
        max_preemptions=bound,
        schedules=20_000,
    )
    assert result.failure is not None
    assert result.failure.kind == case.failure  # type: ignore[attr-defined]
    assert result.failure.preemptions == bound
    assert result.failure.schedule.startswith(f"tk1:{granularity}@")
    again = explore.replay(case.body, result.failure.schedule)  # type: ignore[attr-defined]
    assert again.failure is not None
    assert (again.failure.kind, again.failure.location) == (
        result.failure.kind,
        result.failure.location,
    )
    if granularity == "opcode":  # a coarser level cannot see it: it proves its absence there
        coarser = explore.run(
            case.body,  # type: ignore[attr-defined]
            strategy="dfs",
            granularity="line",
            max_preemptions=bound,
        )
        assert coarser.failure is None
        assert coarser.exhausted


def test_the_lost_update_is_invisible_at_sync_granularity() -> None:
    class Counter:
        value = 0

    def body() -> None:
        c = Counter()

        def inc() -> None:
            tmp = c.value
            c.value = tmp + 1

        ts = [threading.Thread(target=inc) for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert c.value == 2

    sync = explore.run(body, strategy="dfs", max_preemptions=2)
    assert sync.failure is None
    assert sync.exhausted
    line = explore.run(body, strategy="dfs", granularity="line", max_preemptions=1)
    assert line.failure is not None
    assert line.failure.kind == "assertion"
    assert "tmp = c.value" not in line.failure.trace  # the trace names lines, not source
    assert f"{__file__.rsplit('/', 1)[-1]}:" in line.failure.trace


def test_library_code_has_no_line_points() -> None:
    def body() -> None:
        out: list[int] = []
        t = threading.Thread(target=lambda: out.extend(sorted([3, 1, 2])))
        t.start()
        t.join()
        assert out == [1, 2, 3]

    result = explore.run(body, strategy="dfs", granularity="line", max_preemptions=2)
    assert result.failure is None
    assert result.exhausted


# -- nondeterminism options ---------------------------------------------------------------


def _timeout_assumed_never() -> None:
    ev = threading.Event()
    seen: list[str] = []

    def worker() -> None:
        ev.set()

    t = threading.Thread(target=worker)
    t.start()
    if not ev.wait(timeout=5.0):
        seen.append("timed out")
    t.join()
    assert seen == [], "the wait timed out although the worker sets the event"


def test_early_timeouts_are_a_choice() -> None:
    exact = explore.run(_timeout_assumed_never, strategy="dfs", max_preemptions=2)
    assert exact.failure is None
    assert exact.exhausted
    early = explore.run(_timeout_assumed_never, strategy="dfs", timeouts="early")
    assert early.failure is not None
    assert early.failure.kind == "assertion"
    assert early.failure.schedule.startswith("tk1:sync,early:")
    again = explore.replay(_timeout_assumed_never, early.failure.schedule)
    assert again.failure is not None
    assert again.failure.kind == "assertion"


@pytest.mark.skipif(not EXPLORE_CASES.exists(), reason="needs ../shared/explore-cases")
def test_spurious_wakeups_make_if_not_while_shallow() -> None:
    cases = {c.id: c for c in load_explore_cases().BUGGY + load_explore_cases().FIXED}
    plain = explore.run(cases["P05b"].body, strategy="dfs", max_preemptions=0)
    assert plain.failure is None
    spurious = explore.run(
        cases["P05b"].body, strategy="dfs", max_preemptions=0, spurious_wakeups=True
    )
    assert spurious.failure is not None
    assert spurious.failure.kind == "exception"
    assert spurious.failure.preemptions == 0
    assert ",spurious:" in spurious.failure.schedule
    fixed = explore.run(
        cases["F05"].body,
        strategy="dfs",
        max_preemptions=1,
        spurious_wakeups=True,
        schedules=20_000,
    )
    assert fixed.failure is None
    assert fixed.exhausted


@pytest.mark.skipif(not EXPLORE_CASES.exists(), reason="needs ../shared/explore-cases")
def test_a_lost_wakeup_shows_the_events_history() -> None:
    case = next(c for c in load_explore_cases().BUGGY if c.id == "P04")
    result = explore.run(case.body, strategy="dfs", max_preemptions=2)
    assert result.failure is not None
    assert result.failure.kind == "deadlock"
    message = result.failure.message
    assert "waits on Event" in message
    assert "history:" in message
    history = message.split("history:", 1)[1]
    assert "set by" in history
    assert "clear by" in history
    assert history.index("set by") < history.rindex("clear by")


# -- queue models ---------------------------------------------------------------------------


def test_a_queue_put_and_get_are_one_operation_each() -> None:
    def body() -> None:
        q: queue.Queue[int] = queue.Queue()
        got: list[int] = []

        def consumer() -> None:
            for _ in range(2):
                got.append(q.get())
                q.task_done()

        t = threading.Thread(target=consumer)
        t.start()
        q.put(1)
        q.put(2)
        q.join()
        t.join()
        assert got == [1, 2]

    result = explore.run(body, strategy="dfs", max_preemptions=2)
    assert result.failure is None
    assert result.exhausted


def test_a_racy_empty_check_on_a_queue_is_found() -> None:
    def body() -> None:
        q: queue.Queue[int] = queue.Queue()
        q.put(1)

        def take() -> None:
            if not q.empty():
                q.get_nowait()  # the other thread may have taken it: queue.Empty

        ts = [threading.Thread(target=take) for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    result = explore.run(body, strategy="dfs", max_preemptions=1)
    assert result.failure is not None
    assert result.failure.kind == "exception"
    assert "Empty" in result.failure.message
    assert result.failure.preemptions == 1


def test_a_get_that_never_returns_is_a_deadlock_on_the_queue() -> None:
    def body() -> None:
        q: queue.SimpleQueue[int] = queue.SimpleQueue()
        t = threading.Thread(target=q.get, name="getter")
        t.start()
        t.join()

    result = explore.run(body, schedules=1)
    assert result.failure is not None
    assert result.failure.kind == "deadlock"
    assert "getter: waits on an item (get) of SimpleQueue" in result.failure.message
    assert (queue.Queue, queue.SimpleQueue) == (
        sys.modules["queue"].Queue,
        sys.modules["queue"].SimpleQueue,
    )


@pytest.mark.skipif(not hasattr(queue, "ShutDown"), reason="Queue.shutdown is new in 3.13")
def test_queue_shutdown_wakes_a_blocked_getter() -> None:
    def body() -> None:
        q: queue.Queue[int] = queue.Queue()
        seen: list[str] = []

        def getter() -> None:
            try:
                q.get()
            except queue.ShutDown:  # type: ignore[attr-defined,unused-ignore]
                seen.append("shut down")

        t = threading.Thread(target=getter)
        t.start()
        q.shutdown()  # type: ignore[attr-defined,unused-ignore]  # (3.13's; typed as 3.11)
        t.join()
        assert seen == ["shut down"]

    result = explore.run(body, strategy="dfs", max_preemptions=2)
    assert result.failure is None
    assert result.exhausted


# -- the runtime ----------------------------------------------------------------------------


def test_worker_threads_end_with_the_exploration() -> None:
    before = _thread._count()

    def body() -> None:
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()

    assert explore.run(body, schedules=50).failure is None
    wait_until(lambda: _thread._count() <= before)


def test_uncontrolled_blocking_is_reported_with_the_stacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from threadkit.testing import _explore

    monkeypatch.setattr(_explore, "WATCHDOG", 0.5)
    real = _thread.allocate_lock()  # made before the run: the explorer cannot model it
    real.acquire()

    def stuck_on_a_real_lock() -> None:
        real.acquire()
        real.release()

    try:
        result = explore.run(stuck_on_a_real_lock, schedules=1)
    finally:
        real.release()
    assert result.failure is not None
    assert result.failure.kind == "uncontrolled"
    assert "uncontrolled blocking" in result.failure.message
    assert "in stuck_on_a_real_lock" in result.failure.message


def test_threadkit_drop_in_names_are_modelled_too() -> None:
    import threadkit

    def body() -> None:
        lock = threadkit.Lock()
        q: threadkit.queue.Queue[int] = threadkit.queue.Queue()
        acct = {"balance": 100}

        def withdraw() -> None:
            with lock:
                ok = acct["balance"] >= 100
            if ok:
                with lock:
                    acct["balance"] -= 100
            q.put(1)

        ts = [threadkit.Thread(target=withdraw) for _ in range(2)]
        for t in ts:
            t.start()
        assert q.get() + q.get() == 2
        for t in ts:
            t.join()
        assert acct["balance"] >= 0, "overdrawn"

    result = explore.run(body, strategy="dfs", max_preemptions=1)
    assert result.failure is not None
    assert result.failure.kind == "assertion"
    assert "overdrawn" in result.failure.message
    assert result.failure.preemptions == 1
    assert threadkit.Lock is threadkit._p.Lock


def test_point_and_atomic() -> None:
    def body(mode: str) -> None:
        c = {"n": 0}

        def inc() -> None:
            if mode == "atomic":
                with explore.atomic():
                    tmp = c["n"]
                    explore.point()
                    c["n"] = tmp + 1
            else:
                tmp = c["n"]
                explore.point()
                c["n"] = tmp + 1

        ts = [threading.Thread(target=inc) for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert c["n"] == 2

    found = explore.run(lambda: body("point"), strategy="dfs", max_preemptions=1)
    assert found.failure is not None
    assert found.failure.preemptions == 1
    assert "point" in found.failure.trace
    clean = explore.run(lambda: body("atomic"), strategy="dfs", max_preemptions=2)
    assert clean.failure is None
    assert clean.exhausted
    explore.point()  # outside a run: nothing
    with explore.atomic():
        pass


def test_threadkit_primitives_block_in_the_explorer() -> None:
    import threadkit

    def abba() -> None:
        a, b = threadkit.Mutex(), threadkit.Mutex()

        def one() -> None:
            with a, b:
                pass

        def two() -> None:
            with b, a:
                pass

        ts = [threading.Thread(target=one), threading.Thread(target=two)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    result = explore.run(abba, strategy="dfs", max_preemptions=1)
    assert result.failure is not None
    assert result.failure.kind == "deadlock"
    assert result.failure.preemptions == 1
    assert "waits on Mutex" in result.failure.message
    assert "held by Thread-" in result.failure.message
    cycle = result.failure.message.split("cycle: ", 1)[1]
    assert cycle.startswith("Thread-")
    assert cycle.count(" -> ") == 2  # A -> B -> A

    def channel() -> None:
        tx, rx = threadkit.open_channel(0)
        got: list[int] = []

        def producer() -> None:
            for i in range(3):
                tx.send(i)
            tx.close()

        t = threading.Thread(target=producer)
        t.start()
        with rx:
            got.extend(rx)
        t.join()
        assert got == [0, 1, 2]

    clean = explore.run(channel, strategy="dfs", max_preemptions=2)
    assert clean.failure is None
    assert clean.exhausted
    assert clean.schedules > 1  # the channel's operations are scheduling points


def test_threadkit_timeouts_are_virtual() -> None:
    import threadkit

    def body() -> None:
        m = threadkit.Mutex()
        m.acquire()
        waited: list[float] = []

        def other() -> None:
            start = time.monotonic()
            assert not m.acquire(timeout=30.0)
            waited.append(time.monotonic() - start)

        t = threading.Thread(target=other)
        t.start()
        t.join()
        m.release()
        assert waited == [30.0]

    result = explore.run(body, strategy="dfs", max_preemptions=1)
    assert result.failure is None
    assert result.exhausted


class _Withdrawal(threading.Thread):  # made at import: a subclass of the real Thread
    def __init__(self, account: dict[str, int], lock: threading.Lock) -> None:
        super().__init__()
        self.account = account
        self.lock = lock

    def run(self) -> None:
        with self.lock:
            ok = self.account["balance"] >= 100
        if ok:
            with self.lock:
                self.account["balance"] -= 100


def test_thread_subclasses_made_at_import_are_explored() -> None:
    def body() -> None:
        account = {"balance": 100}
        lock = threading.Lock()
        ts = [_Withdrawal(account, lock) for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not any(t.is_alive() for t in ts)
        assert account["balance"] >= 0, "overdrawn"

    result = explore.run(body, strategy="dfs", max_preemptions=1)
    assert result.failure is not None
    assert "overdrawn" in result.failure.message
    assert result.failure.preemptions == 1


def test_a_timer_runs_in_virtual_time() -> None:
    def body() -> None:
        fired: list[float] = []
        timer = threading.Timer(60.0, lambda: fired.append(time.monotonic()))
        timer.start()
        timer.join()
        assert fired == [60.0]

    result = explore.run(body, strategy="dfs", max_preemptions=2)
    assert result.failure is None
    assert result.exhausted


def test_a_thread_pool_in_the_body_leaves_nothing_for_the_exit() -> None:
    import subprocess

    script = (
        "import concurrent.futures\n"
        "from threadkit.testing import explore\n"
        "def body():\n"
        "    with concurrent.futures.ThreadPoolExecutor(2) as ex:\n"
        "        futures = [ex.submit(pow, i, 2) for i in range(3)]\n"
        "        assert [f.result() for f in futures] == [0, 1, 4]\n"
        "result = explore.run(body, schedules=30)\n"
        "print(result.schedules, result.failure)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "30 None\n"
    assert proc.stderr == ""  # (the pool's exit handler ran on the models without a run)


def test_a_select_between_ready_arms_is_a_decision() -> None:
    import threadkit

    def body() -> None:
        tx1, rx1 = threadkit.open_channel(1)
        tx2, rx2 = threadkit.open_channel(1)
        tx1.send("one")
        tx2.send("two")
        index, _ = threadkit.select(rx1.recv_op(), rx2.recv_op())
        for end in (tx1, rx1, tx2, rx2):
            end.close()
        assert index == 0, "the second channel was taken first"

    result = explore.run(body, strategy="dfs", max_preemptions=0)
    assert result.failure is not None  # both arms are ready: each order is explored
    assert result.failure.preemptions == 0
    again = explore.replay(body, result.failure.schedule)
    assert again.failure is not None
    assert again.failure.message == result.failure.message


# -- the models keep the stdlib's semantics ----------------------------------------------------


def _outcomes(calls: dict[str, Callable[[], object]]) -> dict[str, object]:
    """What each call returns, or its exception's class and message."""
    out: dict[str, object] = {}
    for name, call in calls.items():
        try:
            out[name] = call()
        except Exception as exc:
            out[name] = (type(exc).__name__, str(exc))
    return out


def _timeout_calls() -> dict[str, Callable[[], object]]:
    lock, sem, cond = threading.Lock(), threading.Semaphore(0), threading.Condition()
    bounded = threading.BoundedSemaphore(1)

    def cond_wait() -> object:
        with cond:
            return cond.wait(-1)

    def put_into(q: queue.Queue[int], timeout: float) -> None:
        q.put(1, timeout=timeout)

    def cond_wait_for() -> object:
        with cond:
            return cond.wait_for(lambda: False, -1)

    lock.acquire()
    return {
        "lock negative": lambda: lock.acquire(True, -2),
        "lock non-blocking with timeout": lambda: lock.acquire(False, 1),
        "lock timeout 0": lambda: lock.acquire(True, 0),
        "semaphore negative": lambda: sem.acquire(True, -1),
        "semaphore non-blocking with timeout": lambda: sem.acquire(False, 1),
        "semaphore release 0": lambda: sem.release(0),
        "bounded over-release": bounded.release,
        "condition negative": cond_wait,
        "condition wait_for negative": cond_wait_for,
        "event negative": lambda: threading.Event().wait(-1),
        "queue get timeout 0": lambda: queue.Queue().get(timeout=0),
        "unbounded put negative": lambda: put_into(queue.Queue(), timeout=-1),
        "bounded put negative": lambda: put_into(queue.Queue(1), timeout=-1),
    }


def test_the_models_answer_as_the_stdlib_does() -> None:
    expected = _outcomes(_timeout_calls())  # the real primitives
    seen: list[dict[str, object]] = []

    def body() -> None:
        seen.append(_outcomes(_timeout_calls()))

    result = explore.run(body, schedules=1)
    assert result.failure is None
    assert seen == [expected]


def test_misuse_keeps_the_stdlib_exception_class() -> None:
    def body() -> None:
        sem = threading.BoundedSemaphore(1)
        try:
            sem.release()
        except ValueError:  # the stdlib raises ValueError: so must the model
            pass

    assert explore.run(body, schedules=1).failure is None

    def unhandled() -> None:
        threading.BoundedSemaphore(1).release()

    failure = explore.run(unhandled, schedules=1).failure
    assert failure is not None
    assert failure.kind == "misuse"
    assert failure.message == "ValueError: Semaphore released too many times"


def test_daemon_threads_may_outlive_the_body() -> None:
    def body() -> None:
        ev = threading.Event()
        threading.Thread(target=ev.wait, daemon=True).start()

    result = explore.run(body, strategy="dfs")
    assert result.failure is None
    assert result.exhausted


def test_a_replay_that_runs_past_its_schedule_diverges() -> None:
    def body(extra: bool) -> None:
        lock = threading.Lock()
        c = {"n": 0}

        def inc() -> None:
            with lock:
                seen = c["n"]
            with lock:
                c["n"] = seen + 1

        ts = [threading.Thread(target=inc) for _ in range(3 if extra else 2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert c["n"] == len(ts)

    found = explore.run(lambda: body(False), strategy="dfs", max_preemptions=1)
    assert found.failure is not None
    with pytest.raises(explore.ReplayDivergence):
        explore.replay(lambda: body(True), found.failure.schedule)
    with pytest.raises(ValueError, match="not a threadkit schedule string"):
        explore.replay(lambda: body(False), found.failure.schedule.replace(":", ":!", 2))
    with pytest.raises(ValueError, match="not a threadkit schedule string"):
        explore.replay(lambda: body(False), "tk1:sync:AA==:00000000")  # one byte: odd


def test_one_exploration_at_a_time() -> None:
    errors: list[str] = []

    def body() -> None:
        try:
            explore.run(lambda: None, schedules=1)
        except RuntimeError as exc:
            errors.append(str(exc))

    assert explore.run(body, schedules=1).failure is None
    assert errors == [errors[0]]
    assert "an exploration is already running" in errors[0]
    assert threading.Lock is _thread.allocate_lock or callable(threading.Lock)
    assert explore.run(lambda: None, schedules=1).failure is None  # (the guard was released)


def test_threads_outside_the_run_get_the_real_things() -> None:
    import contextvars

    made: list[object] = []
    outside_done = _thread.allocate_lock()
    outside_done.acquire()
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen: list[str] = []

    def outside() -> None:  # a thread that is not the explorer's, during the run
        made.append(threading.Lock())
        time.sleep(0)
        made.append(time.monotonic() > 1000.0 or time.monotonic() >= 0)
        outside_done.release()

    def body() -> None:
        seen.append(var.get())
        var.set("set in the body")
        if not made:
            _thread.start_new_thread(outside, ())
            outside_done.acquire()

    assert explore.run(body, schedules=3).failure is None
    assert type(made[0]) is type(_thread.allocate_lock())  # a real lock, not a model
    assert seen == ["unset"] * 3  # each logical thread starts with a fresh context


def test_threadkit_additions_work_in_a_run() -> None:
    import threadkit

    def body() -> None:
        ev = threadkit.Event()
        q: threadkit.queue.Queue[int] = threadkit.queue.Queue()

        def put_set_return() -> int:
            q.put(1)
            ev.set()
            return 42

        t = threadkit.Thread(target=put_set_return)
        t.start()
        assert ev.wait_and_clear(timeout=5.0)
        assert t.result() == 42
        assert q.statistics().qsize == 1

    result = explore.run(body, strategy="dfs", max_preemptions=2)
    assert result.failure is None
    assert result.exhausted
    assert result.schedules > 1
