"""One behaviour suite, two backends: the executor contract on threads and on dask.

Every test takes ``make``, a factory of executors, parametrised over ``threads``
(``threadkit.futures.ThreadPoolExecutor``) and ``dask-local`` (``threadkit.dask.DaskExecutor``
on a real ``LocalCluster`` of two worker processes, started once for the module and closed at
its end). The dask rows need the ``[dask]`` extra; without it they are skipped, visibly.
Tasks are module-level functions: dask pickles them by value (``register_pickle_by_value``).
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import threadkit
from conftest import wait_until
from threadkit.futures import ThreadPoolExecutor

pytestmark = pytest.mark.timeout(120)

Make = Callable[[], Any]


# -- tasks (sent to other processes by the dask backend) --------------------------------------


def square(x: int) -> int:
    return x * x


def add(x: int, y: int) -> int:
    return x + y


def fail(message: str) -> None:
    raise ValueError(message)


def sleep_forever() -> None:
    while True:
        threadkit.sleep(0.05)  # a cancellation point: a deadline or a cancel ends it


def spin_with_checkpoints() -> None:
    while True:  # never blocks: only checkpoint() lets a cancellation or deadline in
        sum(range(1000))
        threadkit.checkpoint()


def die() -> None:
    os._exit(1)  # the worker process dies mid-task


# -- the two backends -------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def dask_client() -> Iterator[Any]:
    """The module's cluster, set up before any test (and its threads before the leak
    check's first look: the cluster's threads live as long as the module's tests)."""
    try:
        import distributed
    except ModuleNotFoundError:
        yield None
        return
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=50,
    )
    client = distributed.Client(cluster)
    warm = client.submit(square, 1)  # (dask starts its helper threads on first use)
    called = threadkit.Event()
    warm.add_done_callback(lambda _: called.set())
    assert warm.result(60) == 1
    assert called.wait(60)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture(params=["threads", "dask-local"])
def make(request: pytest.FixtureRequest) -> Iterator[Make]:
    made: list[Any] = []
    if request.param == "threads":

        def factory() -> Any:
            made.append(ThreadPoolExecutor(2))
            return made[-1]

    else:
        client = request.getfixturevalue("dask_client")
        if client is None:
            pytest.skip("the dask backend needs threadkit[dask] (distributed)")
        from threadkit.dask import DaskExecutor

        def factory() -> Any:
            made.append(DaskExecutor(client=client))
            return made[-1]

    yield factory
    for executor in made:
        executor.shutdown(wait=True, cancel_futures=True, cancel_running=True, timeout=30)


# -- the contract -----------------------------------------------------------------------------


def test_submit_returns_the_result_or_raises_the_exception(make: Make) -> None:
    ex = make()
    assert ex.submit(square, 7).result(60) == 49
    assert ex.submit(add, 2, y=3).result(60) == 5
    with pytest.raises(ValueError, match="boom"):
        ex.submit(fail, "boom").result(60)


def test_futures_are_threadkit_futures_the_stdlib_accepts(make: Make) -> None:
    ex = make()
    futures = [ex.submit(square, i) for i in range(6)]
    assert all(isinstance(f, threadkit.futures.Future) for f in futures)
    done, not_done = cf.wait(futures, timeout=60)
    assert len(done) == 6
    assert not not_done
    assert sorted(f.result() for f in cf.as_completed(futures, timeout=60)) == [
        i * i for i in range(6)
    ]
    assert futures[3].then(lambda v: v + 1).result(60) == 10
    index, _ = threadkit.select(futures[0].done_op(), timeout=60)
    assert index == 0


def test_map_keeps_the_order_and_chunks(make: Make) -> None:
    ex = make()
    assert list(ex.map(square, range(50), timeout=60)) == [i * i for i in range(50)]
    assert list(ex.map(add, range(5), range(5), chunksize=2)) == [0, 2, 4, 6, 8]
    assert sorted(ex.map(square, range(8), ordered=False)) == [i * i for i in range(8)]


def test_a_task_past_its_deadline_raises_timeout(make: Make) -> None:
    ex = make()
    future = ex.submit(sleep_forever, timeout=0.3)
    with pytest.raises(TimeoutError):
        future.result(60)


def test_cancelling_a_running_task_ends_it(make: Make) -> None:
    ex = make()
    future = ex.submit(sleep_forever)
    follower = ex.submit(square, 3)
    assert follower.result(60) == 9  # (one worker is free: the other runs sleep_forever)
    assert future.cancel(interrupt=True)
    assert future.cancelled()
    with pytest.raises(cf.CancelledError):
        future.result(60)
    # The task unwound on its worker: both workers take tasks again.
    assert sorted(ex.map(square, range(4), chunksize=1)) == [0, 1, 4, 9]


def test_a_computation_that_only_checkpoints_is_cancelled_and_timed_out(make: Make) -> None:
    ex = make()
    running = ex.submit(spin_with_checkpoints)
    assert ex.submit(square, 6).result(60) == 36  # (the other worker is free)
    assert running.cancel(interrupt=True)
    with pytest.raises(TimeoutError):
        ex.submit(spin_with_checkpoints, timeout=0.3).result(60)
    assert sorted(ex.map(square, range(4), chunksize=1)) == [0, 1, 4, 9]  # both free again


def test_shutdown_refuses_new_tasks_and_reports(make: Make) -> None:
    ex = make()
    assert ex.submit(square, 2).result(60) == 4
    report = ex.shutdown(wait=True)
    assert report.finished
    assert report.running == ()
    with pytest.raises(RuntimeError, match="cannot schedule new futures after shutdown"):
        ex.submit(square, 2)


def test_shutdown_can_cancel_what_is_outstanding(make: Make) -> None:
    ex = make()
    futures = [ex.submit(sleep_forever) for _ in range(4)]
    report = ex.shutdown(wait=True, cancel_futures=True, cancel_running=True, timeout=30)
    assert report.finished
    assert all(f.cancelled() for f in futures)


def test_stats(make: Make) -> None:
    ex = make()
    before = ex.stats().completed
    assert [f.result(60) for f in [ex.submit(square, i) for i in range(5)]] == [0, 1, 4, 9, 16]
    # A task is counted just after its future is settled (PoolStatistics.completed).
    wait_until(lambda: ex.stats().completed - before == 5, what="five tasks counted")
    stats = ex.stats()
    assert stats.workers >= 1
    assert stats.queued >= 0
    assert stats.active >= 0


def test_a_task_group_over_the_backend(make: Make) -> None:
    ex = make()
    with threadkit.TaskGroup(backend=ex) as tg:
        a = tg.start(square, 3)
        b = tg.start(add, 1, 2)
    assert (a.result(), b.result()) == (9, 3)
    started: list[threadkit.Task[None]] = []

    def failing_group() -> None:
        with threadkit.TaskGroup(backend=ex) as tg:
            started.append(tg.start(sleep_forever))
            tg.start(fail, "the first failure")

    with pytest.raises(ExceptionGroup) as caught:
        failing_group()
    assert [str(e) for e in caught.value.exceptions] == ["the first failure"]
    assert started[0].done()  # cancelled with its group, not counted as a failure
    with pytest.raises(cf.CancelledError):
        started[0].result()


def test_a_task_group_on_a_backend_ends_with_its_enclosing_scope(make: Make) -> None:
    ex = make()
    with threadkit.CancelScope(timeout=0.5) as outer:
        with threadkit.TaskGroup(backend=ex) as tg:
            endless = tg.start(sleep_forever)
    assert outer.cancelled_caught
    assert endless.done()


def greet(name: str) -> str:
    return f"hello {name}"


def test_a_pool_keyword_the_function_takes_too_is_refused(make: Make) -> None:
    ex = make()
    with pytest.raises(TypeError, match=r"greet\(\) takes 'name' too"):
        ex.submit(greet, name="bob")
    assert ex.submit(functools.partial(greet, name="bob"), name="greeting").result(60) == (
        "hello bob"
    )


def test_a_task_group_task_may_take_a_name_parameter(make: Make) -> None:
    ex = make()
    with threadkit.TaskGroup(backend=ex) as tg:
        task = tg.start(greet, "bob")
    assert task.result() == "hello bob"


def test_cancelled_futures_are_done_for_wait_and_shutdown(make: Make) -> None:
    ex = make()
    blockers = [ex.submit(sleep_forever) for _ in range(2)]  # both workers busy
    queued = ex.submit(square, 2)
    assert queued.cancel()
    assert queued.cancelled()
    assert queued.done()
    report = ex.shutdown(wait=True, cancel_futures=True, cancel_running=True)  # no timeout
    assert report.finished
    assert all(b.cancelled() for b in blockers)
    done, not_done = cf.wait([queued, *blockers], timeout=30)  # the stdlib's wait hears of it
    assert not not_done
    assert len(done) == 3


def test_deadlines_are_on_the_threadkit_clock(make: Make) -> None:
    ex = make()
    from threadkit._core._clock import get_clock

    now = get_clock().now()
    assert ex.submit(square, 5, deadline=now + 60).result(60) == 25
    with pytest.raises(TimeoutError):
        ex.submit(sleep_forever, deadline=now + 0.3).result(60)


# -- faults (the dask backend) ----------------------------------------------------------------


def test_an_unpicklable_task_is_refused_at_submit(dask_client: Any) -> None:
    if dask_client is None:
        pytest.skip("needs threadkit[dask] (distributed)")
    from threadkit.dask import DaskExecutor

    ex = DaskExecutor(client=dask_client)
    with pytest.raises(TypeError, match="cannot be pickled"):
        ex.submit(square, threadkit.Mutex())
    assert ex.stats().queued == 0  # nothing was sent
    assert ex.submit(square, 4).result(60) == 16  # and the executor keeps serving
    ex.shutdown()


def test_a_killed_worker_fails_its_future_and_the_executor_goes_on(dask_client: Any) -> None:
    if dask_client is None:
        pytest.skip("needs threadkit[dask] (distributed)")
    from threadkit.dask import DaskExecutor

    # A cluster of its own, made by the executor: no retry on another worker.
    with DaskExecutor(n_workers=2, allowed_failures=0) as ex:
        doomed = ex.submit(die)
        with pytest.raises(Exception, match=r"died|KilledWorker") as caught:
            doomed.result(90)
        assert "KilledWorker" in type(caught.value).__name__
        assert ex.submit(square, 5).result(90) == 25  # the executor keeps serving


def test_a_program_that_cancels_a_running_task_exits_cleanly(dask_client: Any) -> None:
    if dask_client is None:
        pytest.skip("needs threadkit[dask] (distributed)")
    import subprocess

    script = (
        "import time, threadkit\n"
        "from threadkit.dask import DaskExecutor\n"
        "def long():\n"
        "    while True:\n"
        "        threadkit.checkpoint()\n"
        "if __name__ == '__main__':\n"
        "    with DaskExecutor(silence_logs=50) as pool:\n"
        "        f = pool.submit(long)\n"
        "        time.sleep(0.5)\n"
        "        f.cancel()\n"
        "    print('cancelled', f.cancelled())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=90, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "cancelled True\n"
    assert "Traceback" not in proc.stderr
    assert "Exception ignored" not in proc.stderr
