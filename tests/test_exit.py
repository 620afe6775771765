"""The exit supervisor (``threadkit._exit``): registration, order, deadlines, and real exits.

In-process tests use their own ``Supervisor`` (the process's one would stop every pool and
worker of the test run). What happens at interpreter exit is tested in subprocesses running
the programs of ``tests/exit_programs/``.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import threadkit
from conftest import current
from threadkit import _exit
from threadkit._exit import ExitPriority, ExitReport, Supervisor

PROGRAMS = Path(__file__).resolve().parent / "exit_programs"


class Stoppable:
    """A registered object: records the order of stops and the timeout each got."""

    def __init__(self, name: str, log: list[tuple[str, float | None]]) -> None:
        self.name = name
        self.log = log

    def stop(self, timeout: float | None) -> None:
        self.log.append((self.name, timeout))


def test_stops_by_priority_then_last_registered_first() -> None:
    sup = Supervisor()
    log: list[tuple[str, float | None]] = []
    objs = [Stoppable(n, log) for n in ("pool", "w1", "timer", "w2")]
    prios = [ExitPriority.POOLS, ExitPriority.WORKERS, ExitPriority.TIMERS, ExitPriority.WORKERS]
    for obj, prio in zip(objs, prios, strict=True):
        sup.register(obj, Stoppable.stop, priority=prio)
    report, left = sup.stop_all()
    assert [name for name, _ in log] == ["timer", "w2", "w1", "pool"]
    assert report.stopped == (
        "Stoppable 'timer'",
        "Stoppable 'w2'",
        "Stoppable 'w1'",
        "Stoppable 'pool'",
    )
    assert report.ok
    assert left == []
    # Stopped entries are unregistered: a second stop does nothing.
    assert sup.stop_all()[0].stopped == ()


def test_each_entry_gets_its_deadline_or_the_default() -> None:
    sup = Supervisor()
    sup.set_default_deadline(7.0)
    log: list[tuple[str, float | None]] = []
    a, b = Stoppable("a", log), Stoppable("b", log)  # (held weakly: keep them)
    sup.register(a, Stoppable.stop, deadline=3.0)
    sup.register(b, Stoppable.stop)
    sup.stop_all()
    (second, tb), (first, ta) = log
    assert (first, second) == ("a", "b")
    assert tb is not None
    assert 6.0 < tb <= 7.0
    assert ta is not None
    assert 2.0 < ta <= 3.0


def test_no_default_deadline_means_no_limit_and_timeout_bounds_the_whole_call() -> None:
    sup = Supervisor()
    sup.set_default_deadline(None)
    log: list[tuple[str, float | None]] = []
    a, b = Stoppable("a", log), Stoppable("b", log)
    sup.register(a, Stoppable.stop)
    sup.stop_all()
    assert log == [("a", None)]
    sup.register(b, Stoppable.stop)
    sup.stop_all(timeout=1.5)
    assert log[1][1] is not None
    assert 0.5 < log[1][1] <= 1.5


def test_objects_are_held_weakly() -> None:
    sup = Supervisor()
    log: list[tuple[str, float | None]] = []
    obj = Stoppable("gone", log)
    handle = sup.register(obj, Stoppable.stop)
    assert handle.registered
    del obj
    gc.collect()
    assert not current(handle, "registered")
    assert sup.stop_all()[0].stopped == ()
    assert log == []


def test_unregister_is_idempotent() -> None:
    sup = Supervisor()
    log: list[tuple[str, float | None]] = []
    obj = Stoppable("x", log)
    handle = sup.register(obj, Stoppable.stop, name="custom")
    assert "custom" in repr(handle)
    assert "registered" in repr(handle)
    _exit.unregister(handle)
    handle.unregister()
    assert not handle.registered
    sup.stop_all()
    assert log == []


def test_a_stop_that_raises_is_reported_and_the_others_still_stop() -> None:
    sup = Supervisor()
    log: list[tuple[str, float | None]] = []

    def bad(obj: Stoppable, timeout: float | None) -> None:
        raise OSError("boom")

    keep = Stoppable("bad", log), Stoppable("good", log)
    sup.register(keep[1], Stoppable.stop)
    sup.register(keep[0], bad)
    report, _ = sup.stop_all()
    assert [n for n, _ in log] == ["good"]
    assert not report.ok
    assert report.errors[0][0] == "Stoppable 'bad'"
    assert "stopping Stoppable 'bad' raised OSError('boom')" in str(report)


def test_entries_registered_while_stopping_are_stopped_too() -> None:
    sup = Supervisor()
    log: list[tuple[str, float | None]] = []
    later = Stoppable("later", log)

    def first(obj: Stoppable, timeout: float | None) -> None:
        log.append((obj.name, timeout))
        sup.register(later, Stoppable.stop)

    keep = Stoppable("first", log)
    sup.register(keep, first)
    sup.stop_all()
    assert [n for n, _ in log] == ["first", "later"]


def test_bad_arguments() -> None:
    sup = Supervisor()
    with pytest.raises(TypeError, match="needs a stop function for a object"):
        sup.register(object())
    with pytest.raises(TypeError, match="stop must be callable"):
        sup.register(Stoppable("x", []), stop=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="deadline"):
        sup.register(threading.Thread(target=print), deadline=-1)
    with pytest.raises(TypeError, match="priority must be an int"):
        sup.register(threading.Thread(target=print), priority=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seconds"):
        _exit.set_default_deadline(float("nan"))
    with pytest.raises(ValueError, match="timeout"):
        _exit.stop_all(timeout=-1)


def test_default_deadline_is_settable() -> None:
    before = _exit.get_default_deadline()
    assert before == _exit.DEFAULT_DEADLINE
    try:
        _exit.set_default_deadline(2.5)
        assert _exit.get_default_deadline() == 2.5
    finally:
        _exit.set_default_deadline(before)


@pytest.mark.timeout(30)
def test_a_threadkit_thread_is_cancelled_and_joined() -> None:
    sup = Supervisor()
    t = threadkit.Thread(target=threadkit.Event().wait, name="waiter")
    t.start()
    sup.register(t)
    report, left = sup.stop_all()
    assert report.stopped == ("thread 'waiter'",)
    assert left == []
    assert not t.is_alive()


@pytest.mark.timeout(30)
def test_a_thread_that_does_not_stop_is_a_straggler_with_its_stack() -> None:
    sup = Supervisor()
    release = threading.Event()

    def stuck_in_a_stdlib_wait() -> None:
        release.wait()  # not a threadkit cancellation point

    t = threading.Thread(target=stuck_in_a_stdlib_wait, name="stuck", daemon=True)
    t.start()
    try:
        sup.register(t, deadline=0.05)
        report, left = sup.stop_all()
    finally:
        release.set()
        t.join()
    assert left == [t]
    (straggler,) = report.stragglers
    assert (straggler.entry, straggler.thread, straggler.ident) == (
        "thread 'stuck'",
        "stuck",
        t.ident,
    )
    assert "stuck_in_a_stdlib_wait" in straggler.stack
    assert "1 thread(s) did not stop in time" in str(report)
    assert "stuck_in_a_stdlib_wait" in str(report)


def test_report_text() -> None:
    assert str(ExitReport(("a",), elapsed=0.25)) == "stopped 1 object(s) in 0.250 s"


# --------------------------------------------------------------------------------------------
# Real exits, in subprocesses


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Unbuffered streams have no buffer lock to be frozen holding: the crash needs buffering.
    env.pop("PYTHONUNBUFFERED", None)
    src = str(Path(threadkit.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


def _run(*args: str, timeout: float) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        cwd=PROGRAMS,
    )
    return proc, time.monotonic() - start


@pytest.mark.timeout(60)
def test_stdlib_worker_blocked_in_get_hangs_the_exit() -> None:
    proc = subprocess.Popen(
        [sys.executable, "worker_blocked_in_get.py", "stdlib"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        cwd=PROGRAMS,
    )
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=2)
    finally:
        proc.kill()
        proc.communicate()


@pytest.mark.timeout(60)
def test_threadkit_worker_blocked_in_get_is_stopped_at_exit() -> None:
    proc, elapsed = _run("worker_blocked_in_get.py", "threadkit", timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["main: done", "on_stop: consumer is stopping"]
    assert proc.stderr == ""
    assert elapsed < 10  # its deadline (10 s) is not even needed: get() is cancelled at once


@pytest.mark.timeout(60)
def test_threads_that_ignore_cancellation_are_reported_and_abandoned() -> None:
    deadline = 0.5
    proc, elapsed = _run("stuck_threads.py", str(deadline), timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "main: done\n"
    err = proc.stderr
    assert "3 thread(s) did not stop in time" in err
    for entry in (
        "thread 'stuck-plain'",
        "Worker 'stuck-worker'",
        "ThreadPoolExecutor 'stuck-pool'",
    ):
        assert f"of {entry}:" in err
    assert err.count("in stuck_in_c_lock") == 3  # each with its stack
    assert elapsed < 3 * deadline + 5


@pytest.mark.timeout(60)
@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="POSIX signals")
def test_sigterm_exits_in_order() -> None:
    proc = subprocess.Popen(
        [sys.executable, "signal_stop.py"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=PROGRAMS,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert out.splitlines() == ["main: unwound", "on_stop: second", "on_stop: first"]


def _fork_runs(mode: str, runs: int) -> list[dict[str, object]]:
    proc, _ = _run("fork_runs.py", mode, str(runs), "4", "100", timeout=290)
    assert proc.returncode == 0, proc.stderr
    results: list[dict[str, object]] = json.loads(proc.stdout)
    assert len(results) == runs
    return results


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="runs are forked")


@needs_fork
@pytest.mark.skipif(
    not getattr(sys, "_is_gil_enabled", lambda: True)(),
    reason="free-threaded: the stdlib program aborts in some runs but also hangs in others",
)
@pytest.mark.timeout(180)
def test_stdlib_printing_daemon_threads_can_abort_the_interpreter() -> None:
    # cpython issue 129536: "Fatal Python error: _enter_buffered_busy: could not acquire
    # lock for <_io.BufferedWriter name='<stdout>'> at interpreter shutdown". On the machine
    # this was written on, about half the runs abort (3.11, 3.12, 3.13, 3.13t).
    # Under load the window moves: try more batches before concluding it never aborts.
    aborted: list[dict[str, object]] = []
    for _ in range(5):
        aborted = [r for r in _fork_runs("stdlib", 20) if r["fatal"]]
        if aborted:
            break
    assert aborted, "the stdlib program never crashed here: the threadkit test proves less"
    assert all(r["exitcode"] == -signal.SIGABRT for r in aborted)


@needs_fork
@pytest.mark.timeout(300)  # about 10 s with the GIL, 100 s free-threaded (2 CPUs)
def test_threadkit_printing_daemon_threads_exit_cleanly_200_times() -> None:
    results = _fork_runs("threadkit", 200)
    bad = [r for r in results if r["exitcode"] != 0 or r["fatal"]]
    assert bad == []
