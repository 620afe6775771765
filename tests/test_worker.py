"""``Worker`` and ``Service`` (``threadkit._worker``): lifecycle, stopping, failure, owner."""

from __future__ import annotations

import gc
import threading

import pytest

import threadkit
import threadkit.queue
from conftest import current, wait_for_waiters, wait_until
from threadkit import _exit
from threadkit._worker import Service, Worker, WorkerState, WorkerStatistics


def _blocked_worker(**kwargs: object) -> tuple[Worker, threadkit.queue.Queue[object]]:
    q: threadkit.queue.Queue[object] = threadkit.queue.Queue()
    return Worker(target=q.get, **kwargs), q  # type: ignore[arg-type]


@pytest.mark.timeout(30)
def test_stop_cancels_a_blocked_target_and_joins() -> None:
    w, q = _blocked_worker(name="consumer")
    assert w.state is WorkerState.NEW
    assert str(w.state) == "new"  # (a StrEnum: it is its string value)
    w.start()
    assert current(w, "state") == "running"
    wait_for_waiters(q, 1, field="threads_waiting_get")  # blocked in get()
    assert w.stop() is True
    assert current(w, "state") is WorkerState.STOPPED
    assert not w.is_alive()
    w.join()  # a stopped worker joins without raising


@pytest.mark.timeout(30)
def test_a_target_that_returns_ends_stopped() -> None:
    w = Worker(target=lambda: None)
    w.start()
    w.join(timeout=10)
    assert w.state is WorkerState.STOPPED
    assert w.failure is None


@pytest.mark.timeout(30)
def test_failure_is_recorded_and_reraised_by_join_not_by_stop() -> None:
    def boom() -> None:
        raise OSError("disk on fire")

    w = Worker(target=boom, name="failing")
    w.start()
    with pytest.raises(OSError, match="disk on fire"):
        w.join()
    assert w.state is WorkerState.FAILED
    assert isinstance(w.failure, OSError)
    assert w.stop() is True  # stop() reports it finished; it does not raise the failure
    stats = w.statistics()
    assert stats == WorkerStatistics("failing", WorkerState.FAILED, stats.ident, 1, repr(w.failure))


@pytest.mark.timeout(30)
def test_stop_is_idempotent_and_callable_from_many_threads() -> None:
    w, _ = _blocked_worker()
    w.start()
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(w.stop(timeout=10))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 4
    assert w.stop() is True
    assert w.state == "stopped"


@pytest.mark.timeout(30)
def test_stop_from_the_worker_itself_does_not_deadlock() -> None:
    seen = []

    def stop_myself() -> None:
        seen.append(me.stop(timeout=5))  # only asks: the next cancellation point raises
        threadkit.Event().wait()

    me = Worker(target=stop_myself)
    me.start()
    me.join(timeout=10)
    assert seen == [False]
    assert me.state == "stopped"


@pytest.mark.timeout(30)
def test_stop_with_a_timeout_returns_false_when_the_worker_does_not_finish() -> None:
    release = threading.Event()  # the stdlib's: not a cancellation point
    entered = threading.Event()

    def ignores_cancellation() -> None:
        entered.set()
        release.wait()

    w = Worker(target=ignores_cancellation)
    w.start()
    entered.wait()
    try:
        assert w.stop(timeout=0.05) is False
        assert w.state is WorkerState.STOPPING
        with pytest.raises(TimeoutError, match=r"did not finish within 0\.01 seconds"):
            w.join(timeout=0.01)
    finally:
        release.set()
    assert w.stop(timeout=10) is True
    assert current(w, "state") == "stopped"  # it returned normally after the stop was asked


@pytest.mark.timeout(30)
def test_checkpoint_lets_a_busy_loop_be_stopped() -> None:
    spins = []

    def busy() -> None:
        while True:
            spins.append(1)
            threadkit.checkpoint()

    w = Worker(target=busy)
    w.start()
    wait_until(lambda: spins, what="the loop to spin")
    assert w.stop(timeout=10)


def test_stopping_a_new_worker_makes_it_stopped_then_restart_runs_it() -> None:
    ran = threading.Event()
    w = Worker(target=ran.set)
    assert w.stop() is True
    assert w.state == "stopped"
    with pytest.raises(RuntimeError, match="workers can only be started once"):
        w.start()
    w.restart()
    w.join(timeout=10)
    assert ran.is_set()


@pytest.mark.timeout(30)
def test_restart_only_from_stopped_or_failed() -> None:
    w, _ = _blocked_worker()
    with pytest.raises(RuntimeError, match="not a new one"):
        w.restart()
    w.start()
    with pytest.raises(RuntimeError, match="not a running one"):
        w.restart()
    with pytest.raises(RuntimeError, match="workers can only be started once"):
        w.start()
    w.stop()
    first = w.thread
    w.restart()
    assert w.state == "running"
    assert w.statistics().starts == 2
    assert w.stop(timeout=10)
    assert w.thread is not first  # a new thread


@pytest.mark.timeout(30)
def test_stop_does_not_wait_for_a_run_restarted_after_it_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # stop() asks the run to end, then waits for it; another thread's restart() between
    # the two starts a new run, which stop() did not ask to end: it returns once its own
    # run has finished instead of waiting for the next one (it waited until its timeout).
    w, _ = _blocked_worker()
    w.start()
    first = w.thread
    ask = Worker._request_stop

    def ask_then_restart_elsewhere(self: Worker, reason: str = "stop() was called") -> object:
        run = ask(self, reason)
        wait_until(lambda: self.state == "stopped", what="the first run to end")
        restarter = threading.Thread(target=self.restart)
        restarter.start()
        restarter.join(10)
        return run

    monkeypatch.setattr(Worker, "_request_stop", ask_then_restart_elsewhere)
    assert w.stop(timeout=5) is True
    monkeypatch.undo()
    assert w.state == "running"  # the second run goes on
    assert w.thread is not first
    assert first is not None
    assert not first.is_alive()  # (joined: its thread is past its last step)
    assert w.stop(timeout=10) is True
    assert w.state == "stopped"


@pytest.mark.timeout(30)
def test_restart_after_failure_clears_the_failure() -> None:
    calls = []

    def fails_once() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("first time")

    w = Worker(target=fails_once)
    w.start()
    with pytest.raises(ValueError, match="first time"):
        w.join()
    w.restart()
    w.join()
    assert w.state == "stopped"
    assert w.failure is None
    assert calls == [1, 1]


@pytest.mark.timeout(30)
def test_on_stop_runs_in_the_worker_thread_whatever_the_outcome() -> None:
    seen: list[tuple[str, bool]] = []

    def on_stop(worker: Worker) -> None:
        seen.append((str(worker.state), threading.current_thread() is worker.thread))

    w, _ = _blocked_worker(on_stop=on_stop)
    w.start()
    w.stop()

    def boom() -> None:
        raise KeyError("x")

    f = Worker(target=boom, on_stop=on_stop)
    f.start()
    with pytest.raises(KeyError):
        f.join()
    assert seen == [("stopping", True), ("running", True)]


@pytest.mark.timeout(30)
def test_on_stop_method_override_and_its_failure() -> None:
    class Cleanup(Worker):
        def run(self) -> None:
            pass

        def on_stop(self) -> None:
            raise RuntimeError("cleanup failed")

    w = Cleanup()
    w.start()
    with pytest.raises(RuntimeError, match="cleanup failed"):
        w.join()
    assert w.state == "failed"

    class Both(Cleanup):
        def run(self) -> None:
            raise ValueError("run failed")

    b = Both()
    b.start()
    with pytest.raises(ValueError, match="run failed") as info:
        b.join()
    assert "on_stop() also raised RuntimeError('cleanup failed')" in info.value.__notes__


@pytest.mark.timeout(30)
def test_subclass_overriding_run() -> None:
    class Counter(Worker):
        def __init__(self) -> None:
            super().__init__(name="counter")
            self.count = 0

        def run(self) -> None:
            while True:
                self.count += 1
                threadkit.sleep(0.001)

    with Counter() as c:
        wait_until(lambda: c.count > 2, what="a few rounds")
    assert c.state == "stopped"


@pytest.mark.timeout(30)
def test_context_manager_reraises_the_failure_unless_the_block_raised() -> None:
    def boom() -> None:
        raise OSError("x")

    w = Worker(target=boom)
    with pytest.raises(OSError, match="x"), w:
        wait_until(lambda: w.state == "failed")
    w2 = Worker(target=boom)

    def block_raises() -> None:
        with w2:
            wait_until(lambda: w2.state == "failed")
            raise KeyError("the block's own error wins")

    with pytest.raises(KeyError, match="own error"):
        block_raises()


@pytest.mark.timeout(30)
def test_join_errors() -> None:
    w = Worker(target=lambda: None)
    with pytest.raises(RuntimeError, match="cannot join worker before it is started"):
        w.join()
    inner: list[BaseException] = []

    def join_myself() -> None:
        try:
            me.join()
        except RuntimeError as exc:
            inner.append(exc)

    me = Worker(target=join_myself)
    me.start()
    me.join(timeout=10)
    assert "cannot join current worker" in str(inner[0])


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="target must be callable"):
        Worker(target=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_stop must be callable"):
        Worker(on_stop=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exit_deadline"):
        Worker(exit_deadline=-1)
    w = Worker()
    with pytest.raises(ValueError, match="timeout"):
        w.stop(timeout=-1)
    with pytest.raises(ValueError, match="timeout"):
        w.join(timeout=float("nan"))


@pytest.mark.timeout(30)
def test_owner_collected_stops_the_worker() -> None:
    # The notebook's Example, without __del__: the owner holds the worker and its queue;
    # the worker's target holds only the queue.
    class Example:
        def __init__(self) -> None:
            self.q: threadkit.queue.Queue[object] = threadkit.queue.Queue()
            self.worker = Worker(target=_drain, args=(self.q,), owner=self, name="example")
            self.worker.start()

    ex = Example()
    worker = ex.worker
    ex.q.put(1)
    del ex
    gc.collect()
    assert worker.stop(timeout=10) is True  # (it is stopping already; this waits)
    assert worker.state == "stopped"


def _drain(q: threadkit.queue.Queue[object]) -> None:
    while True:
        q.get()
        q.task_done()


def test_a_target_bound_to_the_owner_is_refused() -> None:
    class Owner:
        def work(self) -> None:
            pass

    o = Owner()
    with pytest.raises(ValueError, match="target is a method of owner"):
        Worker(target=o.work, owner=o)


@pytest.mark.timeout(30)
def test_a_running_worker_stays_alive_through_its_thread_and_registers_for_exit() -> None:
    w, _ = _blocked_worker(name="anonymous")
    w.start()
    handle = w._exit_handle
    assert handle is not None
    assert handle.registered
    assert handle.priority == _exit.ExitPriority.WORKERS
    assert w.thread is not None
    assert w.thread.daemon
    del w
    gc.collect()
    assert handle.registered  # the thread keeps it alive, as a running Thread is
    worker = handle._ref()
    assert worker is not None
    worker.stop(timeout=10)
    assert not handle.registered  # unregistered once it finished


@pytest.mark.timeout(30)
def test_exit_stop_stops_it_within_the_timeout() -> None:
    w, _ = _blocked_worker()
    w.start()
    w._exit_stop(10)
    assert w.state == "stopped"
    assert not w.is_alive()


@pytest.mark.timeout(30)
def test_repr_and_statistics() -> None:
    w, _ = _blocked_worker(name="r")
    assert repr(w) == "<Worker 'r' new>"
    assert w.statistics() == WorkerStatistics("r", WorkerState.NEW, None, 0, None)
    w.start()
    assert repr(w) == "<Worker 'r' running>"
    assert w.statistics().ident == w.ident is not None
    w.stop()
    assert str(w.state) == "stopped"


@pytest.mark.timeout(30)
def test_service_setup_serve_teardown() -> None:
    events: list[str] = []

    class Echo(Service):
        def __init__(self) -> None:
            super().__init__(name="echo")
            self.inbox: threadkit.queue.Queue[str] = threadkit.queue.Queue()

        def setup(self) -> None:
            events.append("setup")

        def serve(self) -> None:
            item = self.inbox.get()
            events.append(item)
            if item == "last":
                self.stop()

        def teardown(self) -> None:
            events.append("teardown")

    s = Echo()
    s.start()
    s.inbox.put("a")
    s.inbox.put("last")
    s.join(timeout=10)
    assert events == ["setup", "a", "last", "teardown"]
    assert s.state == "stopped"


@pytest.mark.timeout(30)
def test_service_without_serve_fails() -> None:
    s = Service()
    s.start()
    with pytest.raises(NotImplementedError, match="overrides serve"):
        s.join(timeout=10)
