"""Tests for threadkit.diagnostics' lock-order detector and runtime deadlock detection."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import threadkit
from conftest import EXPLORE_CASES, current, load_explore_cases
from threadkit import DeadlockError, Mutex, RWLock, diagnostics
from threadkit._core import _hooks
from threadkit.diagnostics import LockOrderError, LockOrderWarning, _instrument

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def detector() -> Iterator[Callable[..., None]]:
    """``detector(mode)`` turns the detector on; it is off and forgotten afterwards."""

    def on(mode: str = "collect", **kwargs: object) -> None:
        diagnostics.enable(mode, **kwargs)  # type: ignore[arg-type]

    diagnostics.clear()
    try:
        yield on
    finally:
        diagnostics.disable()
        diagnostics.clear()


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """What threads raised (through threading.excepthook), instead of printing it."""
    errors: list[BaseException] = []

    def hook(args: threading.ExceptHookArgs) -> None:
        assert args.exc_value is not None
        errors.append(args.exc_value)

    monkeypatch.setattr(threading, "excepthook", hook)
    return errors


def run_threads(*targets: Callable[[], object], sequential: bool = False) -> None:
    threads = [threading.Thread(target=t, name=f"T{i + 1}") for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
        if sequential:
            thread.join()
    for thread in threads:
        thread.join(20)
        assert not thread.is_alive(), f"{thread.name} hung"


# -- lock order --------------------------------------------------------------------------


def abba(a: object, b: object) -> tuple[Callable[[], None], Callable[[], None]]:
    def first() -> None:
        with a:  # type: ignore[attr-defined]
            with b:  # type: ignore[attr-defined]
                pass

    def second() -> None:
        with b:  # type: ignore[attr-defined]
            with a:  # type: ignore[attr-defined]
                pass

    return first, second


def test_inversion_found_from_threads_that_never_overlap(detector: Callable[..., None]) -> None:
    detector("collect")
    a, b = threading.Lock(), threading.Lock()
    run_threads(*abba(a, b), sequential=True)  # one after the other: no deadlock possible
    (found,) = diagnostics.inversions()
    assert len(found.edges) == 2
    assert found.threads == ("T2", "T1")
    assert {found.edges[0].first, found.edges[0].second} == set(found.locks)
    report = found.report()
    assert report.startswith("lock order inversion (a potential deadlock): ")
    assert f"{a!r}"[1:].split(" ")[0] in "unlocked locked"  # (reprs are readable)
    # Both stacks, each ending at the acquire in its own function.
    assert found.edges[0].stack[-1].name == "second"
    assert found.edges[1].stack[-1].name == "first"
    assert "in second" in report
    assert "in first" in report
    assert f"{id(a):#x}" in report
    assert f"{id(b):#x}" in report


def test_consistent_order_is_not_flagged(detector: Callable[..., None]) -> None:
    detector("raise")
    a, b, c = threading.Lock(), threading.RLock(), Mutex()

    def worker() -> None:
        for _ in range(50):
            with a, b, c:
                pass
            with a, c:
                pass
            with b, c:
                pass

    run_threads(worker, worker, worker)
    assert diagnostics.inversions() == []


def test_rlock_reentrancy_adds_no_order(detector: Callable[..., None]) -> None:
    detector("raise")
    r, a = threading.RLock(), threading.Lock()

    def one() -> None:
        with r, r, a:  # re-entering r while holding only r: no r -> r order
            with r:  # r again while holding a: re-entrant, so no a -> r order
                pass

    def two() -> None:
        with r:
            with a:
                pass

    run_threads(one, two)
    assert diagnostics.inversions() == []


def test_rlock_inversion_is_found_through_reentrancy(detector: Callable[..., None]) -> None:
    detector("collect")
    r, a = threading.RLock(), threading.Lock()

    def one() -> None:
        with r, r, a:
            pass

    def two() -> None:
        with a, r:
            pass

    run_threads(one, two, sequential=True)
    assert len(diagnostics.inversions()) == 1


def test_three_lock_cycle(detector: Callable[..., None]) -> None:
    detector("collect")
    a, b, c = threading.Lock(), threading.Lock(), threading.Lock()

    def ab() -> None:
        with a, b:
            pass

    def bc() -> None:
        with b, c:
            pass

    def ca() -> None:
        with c, a:
            pass

    run_threads(ab, bc, ca, sequential=True)
    (found,) = diagnostics.inversions()
    assert len(found.locks) == 3
    assert len(found.edges) == 3
    assert found.threads == ("T3", "T1", "T2")
    assert "inverts the orders seen before" in found.report()


def test_each_inversion_reported_once(detector: Callable[..., None]) -> None:
    detector("collect")
    a, b = threading.Lock(), threading.Lock()
    for _ in range(3):
        run_threads(*abba(a, b), sequential=True)
    assert len(diagnostics.inversions()) == 1


def test_try_acquire_adds_no_order(detector: Callable[..., None]) -> None:
    detector("raise")
    a, b = threading.Lock(), threading.Lock()

    def tries() -> None:
        with a:
            assert b.acquire(blocking=False)  # cannot deadlock: no a -> b order
            b.release()

    def blocks() -> None:
        with b, a:
            pass

    run_threads(tries, blocks, sequential=True)
    assert diagnostics.inversions() == []


def test_raise_mode_refuses_the_inverting_acquire(detector: Callable[..., None]) -> None:
    detector("raise")
    a, b = threading.Lock(), threading.Lock()
    with a, b:
        pass
    with b:
        with pytest.raises(LockOrderError) as info:
            a.acquire()
        assert not a.locked()  # refused: the thread still holds only b
        assert b.locked()
    assert info.value.inversion is diagnostics.inversions()[0]
    assert isinstance(info.value, DeadlockError)


def test_raise_mode_refuses_before_waiting(detector: Callable[..., None]) -> None:
    detector("raise")
    a, b = Mutex(), Mutex()
    with a, b:
        pass
    holder_in = threading.Event()
    done = threading.Event()

    def hold_a() -> None:
        with a:
            holder_in.set()
            done.wait(10)

    t = threading.Thread(target=hold_a)
    t.start()
    holder_in.wait(10)
    try:
        with b:
            with pytest.raises(LockOrderError):
                a.acquire()  # a is held: refused before parking, not after a hang
    finally:
        done.set()
        t.join(10)


def test_warn_mode_warns_at_the_callers_line(detector: Callable[..., None]) -> None:
    detector("warn")
    a, b = threading.Lock(), threading.Lock()
    with a, b:
        pass
    with pytest.warns(LockOrderWarning, match="lock order inversion") as record:
        with b, a:
            pass
    assert record[0].filename == __file__


def test_threadkit_locks_rwlock_and_conditions_are_covered(detector: Callable[..., None]) -> None:
    detector("collect")
    pairs: list[tuple[object, object]] = [
        (threadkit.Lock(), threadkit.RLock()),
        (Mutex(), RWLock().write()),
        (threading.Condition(), threadkit.Condition()),
    ]
    for a, b in pairs:
        run_threads(*abba(a, b), sequential=True)
    rw = RWLock()
    m = Mutex()

    def read_then_lock() -> None:
        with rw.read(), m:
            pass

    def lock_then_write() -> None:
        with m:
            rw.acquire_write()
            rw.release_write()

    run_threads(read_then_lock, lock_then_write, sequential=True)
    kinds = [
        " ".join(sorted(lock.split()[0] for lock in f.locks)) for f in diagnostics.inversions()
    ]
    assert kinds == ["Lock RLock", "Mutex RWLock", "RLock RLock", "Mutex RWLock"]


def test_condition_wait_releases_the_lock(detector: Callable[..., None]) -> None:
    detector("raise")
    cond = threading.Condition()
    other = threading.Lock()
    ready = threading.Event()

    def waiter() -> None:
        with cond:
            ready.set()
            cond.wait(10)  # cond's lock is released while waiting
            with other:  # cond -> other
                pass

    def notifier() -> None:
        ready.wait(10)
        with other:  # other alone, then cond after release: no other -> cond order
            pass
        with cond:
            cond.notify()

    run_threads(waiter, notifier)
    assert diagnostics.inversions() == []


def test_lock_released_by_another_thread_leaves_no_stale_order(
    detector: Callable[..., None],
) -> None:
    detector("raise")
    signal, a = threading.Lock(), threading.Lock()
    signal.acquire()  # held by this thread ...
    run_threads(signal.release)  # ... released by another (a Lock used as a signal)
    with a:
        pass  # no signal -> a order: signal is not held any more
    with a, signal:
        pass
    signal.acquire()  # taking it alone afterwards is fine too
    signal.release()
    assert diagnostics.inversions() == []


@pytest.mark.timeout(30)
def test_a_hold_listed_as_disable_runs_is_dropped_by_the_next_enable(
    detector: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A thread's "acquired" event looked at the switch, then disable() ran to its end, then
    # the event listed the lock as held; its release came while the detector was off (no
    # event), so once on again the stale hold made a false order: a -> c, then c -> a.
    from threadkit.diagnostics import _detector

    detector("collect")
    c, a = threading.Lock(), threading.Lock()
    in_listener, disabled, released, enabled = (threading.Event() for _ in range(4))
    held = _detector._held
    stall = [False]

    def stalling_held() -> list[object]:
        if stall[0] and threading.current_thread().name == "T":
            stall[0] = False
            in_listener.set()
            assert disabled.wait(10)  # disable() runs while the event is under way
        return held()

    monkeypatch.setattr(_detector, "_held", stalling_held)

    def thread() -> None:
        with c, a:  # the only order this program uses: c, then a
            pass
        stall[0] = True
        a.acquire()  # its event is listed after disable()
        a.release()  # (off: no event)
        released.set()
        assert enabled.wait(10)
        with c, a:
            pass

    t = threading.Thread(target=thread, name="T")
    t.start()
    assert in_listener.wait(10)
    diagnostics.disable()
    diagnostics.clear()
    disabled.set()
    assert released.wait(10)
    diagnostics.enable("collect")
    enabled.set()
    t.join(10)
    assert diagnostics.inversions() == []


def test_collected_locks_leave_the_graph(detector: Callable[..., None]) -> None:
    detector("raise")
    for _ in range(20):  # new locks may reuse the ids of collected ones
        a, b = threading.Lock(), threading.Lock()
        with a, b:
            pass
        del a, b
        gc.collect()
        c, d = threading.Lock(), threading.Lock()
        with d, c:
            pass
        del c, d
        gc.collect()
    assert diagnostics.inversions() == []


def test_disable_puts_every_original_back(detector: Callable[..., None]) -> None:
    lock_before, rlock_before = threading.Lock, threading.RLock
    acquire_before = Mutex.acquire
    detector("collect")
    assert current(threading, "Lock") is _instrument.TracedLock
    assert current(threadkit, "Lock") is _instrument.TracedLock
    assert diagnostics.enabled()
    traced = threading.Lock()
    diagnostics.disable()
    assert not diagnostics.enabled()
    assert threading.Lock is lock_before
    assert threading.RLock is rlock_before
    assert threadkit.Lock is lock_before
    assert Mutex.acquire is acquire_before
    assert not _hooks.enabled
    with traced:  # a traced lock made while on still works as a lock
        assert traced.locked()
    assert not traced.locked()
    fresh: object = threading.Lock()
    assert type(fresh) is not _instrument.TracedLock


def test_enable_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown lock-order mode 'loud'"):
        diagnostics.enable("loud")  # type: ignore[arg-type]
    assert not diagnostics.enabled()


def test_traced_locks_keep_the_lock_interface(detector: Callable[..., None]) -> None:
    detector("collect")
    lock, rlock = threading.Lock(), threading.RLock()
    with pytest.raises(ValueError, match="can't specify a timeout for a non-blocking call"):
        lock.acquire(False, 1)
    with pytest.raises(ValueError, match="timeout value must be"):
        lock.acquire(True, -5)
    with pytest.raises(RuntimeError):
        lock.release()
    with pytest.raises(RuntimeError):
        rlock.release()
    assert lock.acquire(timeout=0.01)
    assert not lock.acquire(timeout=0.01)  # a timed-out wait
    lock.release()
    assert rlock.acquire()
    assert rlock.acquire()
    assert rlock._is_owned()  # type: ignore[attr-defined]
    rlock.release()
    rlock.release()
    assert not rlock._is_owned()  # type: ignore[attr-defined]
    assert "traced Lock made at" in repr(lock)
    assert __file__ in repr(lock)


ENV_SCRIPT = textwrap.dedent(
    """
    import threading
    import threadkit
    a, b = threading.Lock(), threading.Lock()
    with a, b:
        pass
    try:
        with b, a:
            pass
    except threadkit.diagnostics.LockOrderError as exc:
        print("refused:", str(exc).splitlines()[0])
    """
)


def test_environment_variable_enables_it(tmp_path: Path) -> None:
    script = tmp_path / "env_case.py"
    script.write_text(ENV_SCRIPT)
    env = {**os.environ, "THREADKIT_LOCK_ORDER": "raise"}
    out = subprocess.run(  # noqa: PLW1510 - the return code is checked
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("refused: lock order inversion")
    env["THREADKIT_LOCK_ORDER"] = "loudly"
    out = subprocess.run(  # noqa: PLW1510 - the return code is checked
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0  # a typo does not stop the program ...
    assert out.stdout == ""  # ... it leaves the detector off ...
    assert "THREADKIT_LOCK_ORDER='loudly' ignored: expected 'warn', 'raise'" in out.stderr


PYTEST_CASE = textwrap.dedent(
    """
    import threading

    def test_abba():
        a, b = threading.Lock(), threading.Lock()
        for first, second in ((a, b), (b, a)):  # sequential: never deadlocks
            t = threading.Thread(target=lambda: [first.acquire(), second.acquire(),
                                                 second.release(), first.release()])
            t.start()
            t.join()

    def test_fine():
        a, b = threading.Lock(), threading.Lock()
        with a, b:
            pass
    """
)


def test_pytest_option_fails_the_test_that_inverts(tmp_path: Path) -> None:
    (tmp_path / "test_case.py").write_text(PYTEST_CASE)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_case.py"]
    cmd += ["-p", "threadkit.diagnostics.pytest_plugin"]
    out = subprocess.run(  # noqa: PLW1510 - the return code is checked
        cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout  # without the option: nothing checked
    cmd.insert(cmd.index("test_case.py"), "--threadkit-lock-order")  # (before the file)
    out = subprocess.run(  # noqa: PLW1510 - the return code is checked
        cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 1, out.stdout
    assert "1 failed, 1 passed" in out.stdout
    assert "warning" not in out.stdout
    assert "FAILED test_case.py::test_abba" in out.stdout
    assert "lock-order inversion(s) (potential deadlocks)" in out.stdout
    assert "site-packages" not in out.stdout  # the stacks start at the test
    assert "in <lambda>" in out.stdout
    out = subprocess.run(  # noqa: PLW1510 - the return code is checked
        [*cmd, "--threadkit-lock-order-mode=raise"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "LockOrderError" in out.stdout


# -- runtime deadlock detection -----------------------------------------------------------


class Overlap:
    """A hook listener that makes each of ``n`` threads wait, right after it first takes one
    of the chosen locks, until all ``n`` hold theirs: the interleaving that deadlocks.

    Its barrier is made before the detector is on, so it is not traced itself."""

    def __init__(self, n: int, chosen: Callable[[object], bool]) -> None:
        self.barrier = threading.Barrier(n)
        self.chosen = chosen
        self.seen: set[int] = set()

    def __call__(self, event: str, obj: object, detail: object) -> None:
        if event == "acquired" and self.chosen(obj):
            me = threading.get_ident()
            if me not in self.seen:
                self.seen.add(me)
                self.barrier.wait(10)

    def __enter__(self) -> Overlap:
        _hooks.add_listener(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _hooks.remove_listener(self)


@pytest.mark.parametrize(("case_id", "n"), [("P03", 2), ("P03b", 3), ("P03c", 4)])
def test_deadlocking_cases_raise_instead_of_hanging(
    detector: Callable[..., None], thread_errors: list[BaseException], case_id: str, n: int
) -> None:
    cases = load_explore_cases()
    (case,) = [c for c in cases.BUGGY if c.id == case_id]
    assert case.failure == "deadlock"
    overlap = Overlap(n, lambda obj: str(getattr(obj, "site", "")).startswith(str(EXPLORE_CASES)))
    detector("collect")
    with overlap:
        done = threading.Event()

        def run_body() -> None:
            case.body()
            done.set()

        body = threading.Thread(target=run_body)
        body.start()
        assert done.wait(20), f"{case_id} hung"
        body.join(10)
    (error,) = thread_errors  # one participant gets the error; the others then finish
    assert isinstance(error, DeadlockError)
    message = str(error)
    assert message.startswith("deadlock: ")
    assert message.count(" waits for Lock at ") == n
    assert len(error.cycle) == n
    assert len({thread for thread, _ in error.cycle}) == n
    assert len(diagnostics.inversions()) == 1  # and the order detector saw it coming


def test_mutex_abba_deadlock_raises(
    detector: Callable[..., None], thread_errors: list[BaseException]
) -> None:
    a, b = Mutex(), Mutex()
    overlap = Overlap(2, lambda obj: obj is a or obj is b)
    detector("collect")
    with overlap:
        run_threads(*abba(a, b))
    (error,) = thread_errors
    assert isinstance(error, DeadlockError)
    assert "'T1' waits for Mutex at" in str(error)
    assert "'T2' waits for Mutex at" in str(error)
    assert not a.locked()
    assert not b.locked()


def test_rwlock_deadlock_raises(
    detector: Callable[..., None], thread_errors: list[BaseException]
) -> None:
    rw, m = RWLock(), Mutex()
    overlap = Overlap(2, lambda obj: obj is rw or obj is m)

    def reader() -> None:
        with rw.read(), m:
            pass

    def writer() -> None:
        with m, rw.write():
            pass

    detector("collect")
    with overlap:
        run_threads(reader, writer)
    (error,) = thread_errors
    assert isinstance(error, DeadlockError)
    assert "RWLock at" in str(error)
    assert "Mutex at" in str(error)


def test_join_cycle_raises(
    detector: Callable[..., None], thread_errors: list[BaseException]
) -> None:
    # Made before the detector is on (not traced): set from inside the parent's "park"
    # event, with its join wait already registered, a traced lock would be one more edge.
    joining = threading.Event()
    detector("collect")
    lock = threading.Lock()
    box: dict[str, threading.Thread] = {}

    def on_park(event: str, obj: object, detail: object) -> None:
        if event == "park" and obj is box.get("child"):
            joining.set()

    def child() -> None:
        joining.wait(10)  # until the parent is blocked joining this thread
        with lock:  # held by the parent, which waits for this thread to end
            pass

    def parent() -> None:
        with lock:
            box["child"] = t = threading.Thread(target=child, name="child")
            t.start()
            t.join()

    _hooks.add_listener(on_park)
    try:
        run_threads(parent)
    finally:
        _hooks.remove_listener(on_park)
    (error,) = thread_errors
    assert isinstance(error, DeadlockError)
    assert "'child' waits for Lock at" in str(error)
    assert "'T1' waits for the end of thread 'child'" in str(error)


def test_future_waited_on_by_the_thread_running_it(detector: Callable[..., None]) -> None:
    detector("collect")
    box: dict[str, threadkit.futures.Future[object]] = {}
    submitted = threading.Event()

    def task() -> object:
        submitted.wait(10)
        return box["f"].result()  # its own future: it can never finish

    with threadkit.futures.ThreadPoolExecutor(1) as pool:
        box["f"] = pool.submit(task)
        submitted.set()
        error = box["f"].exception(20)
    assert isinstance(error, DeadlockError)
    assert "running" in str(error)


def test_a_timed_wait_is_not_a_deadlock(
    detector: Callable[..., None], thread_errors: list[BaseException]
) -> None:
    detector("collect")
    a, b = threading.Lock(), threading.Lock()  # made while on: traced
    overlap = Overlap(2, lambda obj: obj is a or obj is b)
    outcome: list[bool] = []

    def first() -> None:
        with a, b:
            pass

    def second() -> None:
        with b:
            got = a.acquire(timeout=0.2)  # ends by itself: not a deadlock
            outcome.append(got)
            if got:
                a.release()

    with overlap:
        run_threads(first, second)
    assert thread_errors == []
    assert outcome == [False]


def test_deadlock_detection_can_be_left_off(detector: Callable[..., None]) -> None:
    detector("collect", deadlocks=False)
    assert _detector_listeners() == 1
    diagnostics.enable("collect")
    assert _detector_listeners() == 2
    diagnostics.enable("collect", deadlocks=False)
    assert _detector_listeners() == 1


def _detector_listeners() -> int:
    from threadkit.diagnostics import _detector

    return sum(
        1 for f in _hooks._listeners if f in (_detector._order_listener, _detector._wait_listener)
    )


def test_no_warnings_from_a_clean_program(detector: Callable[..., None]) -> None:
    detector("warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q: threadkit.queue.Queue[int] = threadkit.queue.Queue()
        with threadkit.futures.ThreadPoolExecutor(2) as pool:
            for f in [pool.submit(q.put, i) for i in range(20)]:
                f.result()
        assert sorted(q.get() for _ in range(20)) == list(range(20))


def test_raise_mode_with_rwlock_gives_the_lock_back(detector: Callable[..., None]) -> None:
    detector("raise")
    rw, m = RWLock(), Mutex()
    rw.acquire_read()
    with m:  # rw -> m
        pass
    rw.release_read()
    with m:
        with pytest.raises(LockOrderError):  # m -> rw: taken (it was free), then given back
            rw.acquire_read()
        assert rw.statistics().readers == 0
        with pytest.raises(LockOrderError):  # the with-block form too
            with rw.write():
                pass
        assert rw.statistics().writer is None
    assert len(diagnostics.inversions()) == 1


# -- found in review ----------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_a_forked_child_can_use_the_detector(detector: Callable[..., None]) -> None:
    detector("collect")
    from threadkit.diagnostics import _detector

    _detector._lock.acquire()  # as if another thread were inside the detector at the fork
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # (fork with threads: 3.12+)
            pid = os.fork()
        if pid == 0:  # the child: a new order needs the detector's lock
            code = 1
            try:
                a, b = threading.Lock(), threading.Lock()
                with a, b:
                    code = 0
            finally:
                os._exit(code)
    finally:
        _detector._lock.release()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_finalizer_that_takes_locks_inside_the_detector(detector: Callable[..., None]) -> None:
    detector("collect")
    from threadkit.diagnostics import _detector

    x, y = threading.Lock(), threading.Lock()
    ran: list[bool] = []

    def take_two() -> None:  # what a __del__ or a signal handler might do
        with x, y:
            ran.append(True)

    real = _detector._user_stack

    def stack_then_finalizer() -> object:
        take_two()  # runs while _check holds the detector's lock
        return real()

    a, b = threading.Lock(), threading.Lock()
    _detector._user_stack = stack_then_finalizer  # type: ignore[assignment]
    try:
        with a, b:  # a new order: _check runs, and the "finalizer" inside it
            pass
    finally:
        _detector._user_stack = real
    assert ran == [True]


def test_future_holder_is_the_worker_running_it(detector: Callable[..., None]) -> None:
    detector("collect")
    lock = threading.Lock()
    helper_waiting = threading.Event()
    with threadkit.futures.ThreadPoolExecutor(2) as pool:

        def helper() -> None:
            helper_waiting.set()
            with lock:  # waits for the main thread's lock
                pass

        def task() -> int:
            pool.submit(helper)  # the helper inherits this task's cancel scope
            helper_waiting.wait(10)
            return 42

        with lock:
            future = pool.submit(task)
            # main waits for the future, whose worker will finish; the helper waits for
            # main, but the future does not wait for the helper: no cycle
            assert future.result(20) == 42


@pytest.mark.parametrize("make", [threading.Condition, threadkit.Condition])
def test_a_refused_reacquire_keeps_the_condition_usable(
    detector: Callable[..., None], make: Callable[[], threading.Condition]
) -> None:
    detector("raise")
    cond = make()
    inner = threading.Lock()
    with cond:
        with inner, pytest.warns(LockOrderWarning, match="lock order inversion"):  # cond -> inner
            cond.wait(0.01)  # then cond again, holding inner: inverted, but only reported
        assert cond._is_owned()  # type: ignore[attr-defined]
    assert len(diagnostics.inversions()) == 1


def test_held_lists_are_emptied_by_disable(detector: Callable[..., None]) -> None:
    detector("raise")
    a, b = threading.Lock(), threading.Lock()
    a.acquire()  # taken while on ...
    diagnostics.disable()
    a.release()  # ... released while off
    detector("raise")
    with b, a:  # only ever b -> a: no phantom a -> b from the stale hold
        pass
    assert diagnostics.inversions() == []


def test_new_inversions_on_reused_addresses_are_reported(detector: Callable[..., None]) -> None:
    detector("collect")
    for _ in range(30):
        a, b = threading.Lock(), threading.Lock()
        run_threads(*abba(a, b), sequential=True)
        del a, b
        gc.collect()
    assert len(diagnostics.inversions()) == 30


def test_a_refused_acquire_records_no_order(detector: Callable[..., None]) -> None:
    detector("raise")
    a, b, x = threading.Lock(), threading.Lock(), threading.Lock()
    with x, b:  # x -> b
        pass
    with a, b:
        with pytest.raises(LockOrderError):
            x.acquire()  # a -> x and b -> x: refused (b -> x inverts x -> b), so neither counts
    with x, a:  # x -> a: fine, since a -> x was never recorded
        pass


def test_timeout_zero_is_a_try(detector: Callable[..., None]) -> None:
    detector("raise")
    a, b, m = threading.Lock(), threading.Lock(), Mutex()
    with a:
        assert b.acquire(timeout=0)  # a try: no a -> b
        b.release()
        assert m.acquire(timeout=0)
        m.release()
    with b, a, m:  # b -> a, a -> m, b -> m: nothing inverted
        pass
    assert diagnostics.inversions() == []


def test_a_join_is_one_wait(detector: Callable[..., None]) -> None:
    events: list[str] = []
    done = threading.Event()

    def listener(event: str, obj: object, detail: object) -> None:
        if obj is t:
            events.append(event)

    t = threadkit.Thread(target=done.wait, args=(10,))
    detector("collect")
    _hooks.add_listener(listener)
    try:
        t.start()
        threading.Timer(0.05, done.set).start()
        t.join()
    finally:
        _hooks.remove_listener(listener)
    assert events == ["park", "unpark", "wake"]  # one wait (unpark: the thread ending)


def test_traced_locks_cannot_be_pickled_or_copied(detector: Callable[..., None]) -> None:
    import copy

    detector("collect")
    for lock in (threading.Lock(), threading.RLock()):
        with pytest.raises(TypeError, match="cannot pickle"):
            copy.copy(lock)


def test_a_mutex_condition_reacquire_is_never_refused(detector: Callable[..., None]) -> None:
    detector("raise")
    m = Mutex()
    cond = threadkit.Condition(m)
    inner = threading.Lock()
    with cond:
        with inner, pytest.warns(LockOrderWarning):  # m -> inner, then m again holding inner
            cond.wait(0.01)
        assert m.owner is threading.current_thread()
    assert not m.locked()


def test_a_warning_made_an_error_keeps_the_condition_lock(detector: Callable[..., None]) -> None:
    detector("warn")
    cond = threading.Condition()
    inner = threading.Lock()
    with warnings.catch_warnings():
        warnings.simplefilter("error", LockOrderWarning)
        with pytest.raises(LockOrderWarning), cond:  # the with exit still has the lock
            with inner:  # cond -> inner
                cond.wait(0.01)  # cond again, holding inner: the warning is raised
    assert not cond._is_owned()  # type: ignore[attr-defined]


def test_a_deadlock_at_the_condition_reacquire_surfaces_as_itself(
    detector: Callable[..., None], thread_errors: list[BaseException]
) -> None:
    waiting = threading.Event()  # (made before the detector is on: not traced)
    detector("collect")
    cond = threading.Condition()
    outcome: list[BaseException] = []

    def waiter() -> None:
        try:
            with cond:
                waiting.set()
                cond.wait()  # woken while the main thread holds cond and joins this thread
        except DeadlockError as exc:
            outcome.append(exc)

    def notify_once_joining(event: str, obj: object, detail: object) -> None:
        if event == "park" and obj is t and not outcome:
            cond.notify()  # (the main thread holds cond, and its join is registered)

    t = threading.Thread(target=waiter, name="waiter")
    t.start()
    assert waiting.wait(10)
    _hooks.add_listener(notify_once_joining)
    try:
        with cond:
            t.join()  # the waiter needs cond back to end: a cycle, which it closes
    finally:
        _hooks.remove_listener(notify_once_joining)
    assert thread_errors == []
    (error,) = outcome  # a DeadlockError, not "cannot release un-acquired lock"
    assert "'waiter' waits for RLock at" in str(error)
    assert "waits for the end of thread 'waiter'" in str(error)


def test_a_contended_mutex_try_with_timeout_zero(detector: Callable[..., None]) -> None:
    detector("raise")
    a, m = threading.Lock(), Mutex()
    with m, a:  # m -> a
        pass
    holding = threading.Event()
    done = threading.Event()

    def hold() -> None:
        with m:
            holding.set()
            done.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert holding.wait(10)
        with a:
            assert not m.acquire(timeout=0)  # a try of a held mutex: no a -> m, no refusal
    finally:
        done.set()
        t.join(10)
    assert diagnostics.inversions() == []


PYTEST_FAILING_CASE = textwrap.dedent(
    """
    import threading

    def test_fails_and_inverts():
        a, b = threading.Lock(), threading.Lock()
        with a, b:
            pass
        with b, a:
            pass
        assert False, "the test's own failure"
    """
)


def test_pytest_option_reports_inversions_of_a_failing_test(tmp_path: Path) -> None:
    (tmp_path / "test_case.py").write_text(PYTEST_FAILING_CASE)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA"]
    cmd += ["-p", "threadkit.diagnostics.pytest_plugin", "--threadkit-lock-order"]
    out = subprocess.run(  # noqa: PLW1510 - the return code is checked
        [*cmd, "test_case.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 1, out.stdout
    assert "the test's own failure" in out.stdout
    assert "threadkit lock order" in out.stdout
    assert "lock order inversion (a potential deadlock)" in out.stdout
