"""The ``threadkit`` command, and ``threadkit tour``: each scene shows what it claims."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import threadkit
from threadkit import _bench as bench
from threadkit import _tour
from threadkit._cli import main

pytestmark = pytest.mark.timeout(30)

SCENES = [
    "locks",
    "event-clear",
    "semaphore",
    "thread-result",
    "barrier",
    "condition",
    "worker-shutdown",
    "cancel",
    "pool",
    "timer",
    "worker",
    "exit",
    "rwlock",
    "lock-order",
    "lost-update",
    "lost-wakeup",
]


@pytest.fixture(autouse=True)
def _no_thread_left_running() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leaked = [t.name for t in threading.enumerate() if t not in before]
    assert not leaked, f"threads left running: {leaked}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``threadkit *argv``; return the status, stdout and stderr."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def flat(text: str) -> str:
    """``text`` with every run of whitespace made one space (the tour wraps long lines)."""
    return " ".join(text.split())


def scene_output(capsys: pytest.CaptureFixture[str], name: str) -> str:
    status, out, err = run(capsys, "tour", "--only", name)
    assert (status, err) == (0, "")
    return flat(out)


class TestCommand:
    def test_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, _ = run(capsys, "--version")
        assert status == 0
        assert out.strip() == f"threadkit {threadkit.__version__}"

    def test_no_subcommand_prints_help(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, _ = run(capsys)
        assert status == 0
        assert out.startswith("usage: threadkit")
        assert "tour" in out
        assert "trace" in out

    def test_unknown_subcommand_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, err = run(capsys, "frobnicate")
        assert status == 2
        assert out == ""
        assert "invalid choice: 'frobnicate'" in err

    @pytest.mark.timeout(60)
    def test_python_dash_m_runs_a_scene(self) -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "threadkit", "tour", "--only", "semaphore"],
            capture_output=True,
            text=True,
            timeout=50,
            check=False,
        )
        assert (proc.returncode, proc.stderr) == (0, "")
        out = flat(proc.stdout)
        assert "[1/1] semaphore:" in out
        assert "s._value 7 -> 11" in out


class TestTour:
    def test_a_closed_pipe_is_not_an_error(self) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "threadkit", "tour"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        proc.stdout.readline()
        proc.stdout.close()  # as `threadkit tour | head -1` does
        _, err = proc.communicate(timeout=25)
        assert proc.returncode == 0
        assert err == b""

    def test_runs_every_scene_in_order(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, err = run(capsys, "tour")
        assert (status, err) == (0, "")
        headings = [line for line in out.splitlines() if line.startswith("[")]
        assert headings == [
            f"[{i}/{len(SCENES)}] {name}: {_tour.select([name])[0].title}"
            for i, name in enumerate(SCENES, 1)
        ]
        assert "Chapter 1:" in out
        closing = flat(out).rsplit("That's the tour.", 1)[1]
        assert "README.md" in closing

    def test_list(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, err = run(capsys, "tour", "--list")
        assert (status, err) == (0, "")
        lines = out.splitlines()
        assert [line.split()[0] for line in lines] == SCENES
        assert lines[2].split(None, 1)[1] == _tour.select(["semaphore"])[0].title
        assert "stdlib:" not in out  # listed, not run

    def test_only_runs_just_that_scene(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, _ = run(capsys, "tour", "--only", "barrier")
        assert status == 0
        headings = [line for line in out.splitlines() if line.startswith("[")]
        assert len(headings) == 1
        assert headings[0].startswith("[1/1] barrier:")

    def test_only_is_repeatable_and_takes_commas(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, _ = run(
            capsys, "tour", "--only", "barrier, semaphore", "--only", "locks,barrier"
        )
        assert status == 0
        headings = [line.split(":")[0] for line in out.splitlines() if line.startswith("[")]
        assert headings == ["[1/3] barrier", "[2/3] semaphore", "[3/3] locks"]

    def test_unknown_scene_exits_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, err = run(capsys, "tour", "--only", "semaphore,nope")
        assert status == 2
        assert out == ""  # nothing ran
        assert err.startswith("threadkit tour: error: unknown scene 'nope'; the scenes are: ")
        assert ", ".join(SCENES) in err
        assert "threadkit tour --list" in err

    def test_unknown_scenes_are_all_named(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, _, err = run(capsys, "tour", "--list", "--only", "nope", "--only", "nada")
        assert status == 2
        assert "unknown scenes 'nope', 'nada';" in err

    def test_scene_names_are_unique(self) -> None:
        with pytest.raises(ValueError, match=r"^scene 'locks' is already registered$"):
            _tour.scene("locks", "again", order=1)(lambda out: None)


class TestScenes:
    def test_locks(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = scene_output(capsys, "locks")
        assert out.count("4 threads x 1000 increments -> 4000") == 1
        assert "threadkit.Lock() -> 4000, with threadkit.Mutex() -> 4000" in out
        assert "threadkit.Lock is threading.Lock -> True" in out
        # stdlib: another thread may release a Lock; threadkit's Mutex refuses, naming both.
        assert "released by thread 'intruder' -> no error, lock.locked() -> False" in out
        assert (
            "Mutex.release() from thread 'intruder' -> RuntimeError: cannot release a Mutex "
            "held by thread 'MainThread'"
        ) in out
        assert "from thread 'intruder' (ident" in out
        # stdlib: re-acquiring hangs (a timeout shows it); threadkit: DeadlockError.
        assert "acquire(timeout=0.2) -> False after 0.2s" in out
        assert "the holder acquires the Mutex again -> DeadlockError: thread 'MainThread'" in out
        assert "acquiring it again would deadlock" in out

    def test_event_clear(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = scene_output(capsys, "event-clear")
        assert "one ev.set() -> 2 proceeded (consumer-1, consumer-2)" in out
        assert "ev.wait_and_clear(), one ev.set() -> 1 proceeded" in out
        assert "EventStatistics(is_set=False, threads_waiting=1)" in out
        assert "a second ev.set() -> consumer-" in out

    def test_semaphore(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = scene_output(capsys, "semaphore")
        assert "s._value 7 -> 11" in out
        assert (
            "ValueError: Semaphore released too many times: release(1) would raise value "
            "to 8 > max_value 7"
        ) in out
        assert "s.value=7, s.initial_value=7, s.max_value=7" in out
        assert (
            "SemaphoreStatistics(value=7, initial_value=7, max_value=7, threads_waiting=0)" in out
        )
        assert "repr(s) -> <threadkit.Semaphore at 0x" in out
        assert ": value=7/7>" in out

    def test_thread_result(self, capsys: pytest.CaptureFixture[str]) -> None:
        hook = threading.excepthook
        out = scene_output(capsys, "thread-result")  # stderr is empty: the hook was silenced
        assert threading.excepthook is hook  # and put back
        assert "join() returns None and nothing keeps the 42" in out
        assert "the error (ZeroDivisionError: division by zero in 'divide') only reaches" in out
        assert "threadkit.Thread(target=lambda: 6 * 7).result() -> 42" in out
        assert "result() raises ZeroDivisionError: division by zero" in out

    def test_barrier(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = scene_output(capsys, "barrier")
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        if sys.version_info >= (3, 13):
            # 3.13.0 says "> 0", later 3.13s ">= 1"
            with pytest.raises(ValueError, match=r"^parties must be") as stdlib:
                threading.Barrier(0)
            assert f"Barrier(0) on Python {version} -> ValueError: {stdlib.value}" in out
        else:
            assert f"Barrier(0) on Python {version} -> accepted" in out
            assert "wait(timeout=0.1) -> BrokenBarrierError" in out
        assert re.search(
            r"threadkit.Barrier\(0\) -> ValueError: parties must be (>= 1|> 0), on every", out
        )

    def test_condition(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = scene_output(capsys, "condition")
        assert (
            "A's wait() returns False, B still waiting: the notification went to A and was lost"
        ) in out
        assert (
            "the same with threadkit.Condition -> A's wait() returns False, notify(1) wakes B"
        ) in out

    def test_worker_shutdown(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = scene_output(capsys, "worker-shutdown")
        assert "came out of get() like any item (2 items, 1 of them the sentinel)" in out
        assert "'del worker' ran __del__: False" in out
        assert re.search(r"shutdown\(\) took \d+\.\d\d s to be noticed \(one poll\)", out)
        assert "accepted and never processed (1 lost)" in out
        assert "After tx.close() it processed [1, 2] and ended" in out
        assert (
            "tx.send(3) after close -> ChannelClosed: send on a closed Sender "
            "(the item, 3, is handed back on it)"
        ) in out
        assert "'for item in q:' got [1, 2] and ended at q.shutdown(); q.put(3) after it" in out

    def test_cancel(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = scene_output(capsys, "cancel")
        assert "== Chapter 3: cancelling a thread ==" in out
        # stdlib: nothing stops a thread blocked in get(); join(timeout=...) just gives up.
        assert "blocked in queue.Queue().get(): there is no cancel() or kill()" in out
        assert "thread.join(timeout=0.2) returns None and thread.is_alive() -> True" in out
        # threadkit: cancel() wakes it; result() raises CancelledError caused by Cancelled.
        assert re.search(r"t\.cancel\(\) -> the thread ended \d+\.\d ms later", out)
        assert (
            "t.result() raises CancelledError: thread 'getter' was cancelled, whose __cause__ "
            "is Cancelled: <threadkit.CancelScope cancelled>: cancel() was called "
            "(the tour is done with it)"
        ) in out
        assert "qsize=0, threads_waiting_get=0" in out
        # TaskGroup: the failure is raised in a group, the blocked sibling is cancelled.
        assert (
            "the block raises ExceptionGroup: 1 task(s) of 'tour' failed (1 sub-exception): "
            "[ValueError('bad input')]"
        ) in out
        assert (
            "'receiver' was cancelled at once: its task's exception() -> CancelledError, "
            "from Cancelled (source='explicit', reason=\"task 'failer' raised ValueError\")"
        ) in out

    def test_pool(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = scene_output(capsys, "pool")
        assert "== Chapter 4: the thread pool ==" in out
        assert (
            "ran [0, 1, 2, 3, 4] with concurrent.futures and [0, 1, 2, 3, 4] with "
            "threadkit.futures, unchanged"
        ) in out
        # stdlib: every submit is queued; a running task cannot be cancelled.
        assert re.search(r"20,000 submits all accepted in \d+\.\d\d s and queued \(20,000", out)
        assert "future.cancel() on the running task -> False" in out
        assert "(20,000 queued ones cancelled at shutdown)" in out
        # threadkit: the bounded queue refuses, the running task is interrupted.
        assert (
            "of a million submits, 100 were queued and the next raised Full: the pool's queue "
            "is full (max_queue=100)"
        ) in out
        assert "threadkit.Event.wait() -> True, state() -> 'cancelled'" in out
        assert re.search(r"the task unwound \d+\.\d ms later", out)
        assert "-> TimeoutError: task 'slow-call' did not finish by its deadline" in out
        assert re.search(
            r"shutdown\(timeout=0\.1\) .* returned after 0\.\d\d s with a report: "
            r"finished=False, still running: \['stuck-in-threading'\]",
            out,
        )

    def test_timer(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = scene_output(capsys, "timer")
        assert "== Chapter 5: timers, workers and a clean exit ==" in out
        assert "start() again -> RuntimeError: threads can only be started once" in out
        assert "500 pending Timers: 500 more threads, one per timer" in out
        assert "threadkit.Timer fired (True); restart() -> it fired again (True)" in out
        match = re.search(r"500 pending Timers: (\d) more threads", " ".join(out.split()))
        assert match is not None
        assert int(match.group(1)) <= 2  # the scheduler and its watchdog, at most
        assert "cancel() returned True for 500 of them" in " ".join(out.split())

    def test_worker(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = scene_output(capsys, "worker")
        assert "'del owner' ran __del__ -> False" in out
        assert (
            "new -> running -> on_stop ran in the worker (stopping) -> stopped. "
            "It did jobs [0, 1, 2]; stop(timeout) -> True"
        ) in out
        assert "'del obj' stopped it too (stopped)" in out

    @pytest.mark.timeout(90)
    def test_exit(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = scene_output(capsys, "exit")
        assert "it printed 'main: done', then was still exiting after" in out
        assert "it printed 'main: done' and exited with code 0 after" in out
        assert "1 thread(s) did not stop in time" in out

    def test_rwlock(self, capsys: pytest.CaptureFixture[str]) -> None:
        out = scene_output(capsys, "rwlock")
        assert "== Chapter 6: the rest of the toolbox ==" in out
        assert "acquire_write(timeout=0.2) returned False after" in out
        assert "the same request raises at once -> DeadlockError: thread 'MainThread'" in out
        assert "(cache now {'answer': 42})" in out


# A tiny threaded program for `threadkit trace`: two threads contend for a Mutex.
SCRIPT = """\
import sys
import threading

import threadkit

mutex = threadkit.Mutex()
print("argv:", sys.argv[1:])


def work():
    for _ in range(50):
        with mutex:
            pass


threads = [threading.Thread(target=work, name=f"worker-{i}") for i in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "prog.py"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def trace_events(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["displayTimeUnit"] == "ms"
    events: list[dict[str, Any]] = doc["traceEvents"]
    for event in events:
        assert {"name", "ph", "ts", "pid", "tid"} <= set(event), event
    return events


class TestTrace:
    @pytest.mark.timeout(60)
    def test_python_dash_m_traces_a_script(self, script: Path, tmp_path: Path) -> None:
        out = tmp_path / "out.json"
        proc = subprocess.run(
            [sys.executable, "-m", "threadkit", "trace", str(script), "-o", str(out)],
            capture_output=True,
            text=True,
            timeout=50,
            check=False,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "argv: []\n"
        assert proc.stderr.startswith("threadkit trace: ")
        assert f"threadkit trace: wrote {out} (open it in https://ui.perfetto.dev" in proc.stderr
        assert "Lock holds:" in proc.stderr
        events = trace_events(out)
        names = {e["args"]["name"] for e in events if e["name"] == "thread_name"}
        assert {"MainThread", "worker-0", "worker-1"} <= names
        holds = [e for e in events if e["ph"] == "b" and e["name"].startswith("hold Mutex@")]
        assert len(holds) == 100

    def test_in_process_with_arguments(
        self, capsys: pytest.CaptureFixture[str], script: Path, tmp_path: Path
    ) -> None:
        out = tmp_path / "out.json"
        argv, path = sys.argv[:], sys.path[:]
        status, stdout, err = run(capsys, "trace", str(script), "a", "-b", "-o", str(out))
        assert status == 2  # -b is taken for an option of threadkit trace
        assert "unrecognized arguments: -b" in err
        status, stdout, err = run(capsys, "trace", "-o", str(out), str(script), "--", "a", "-b")
        assert status == 0, err
        assert stdout == "argv: ['a', '-b']\n"
        assert "Lock holds:" in err
        assert trace_events(out)
        assert (sys.argv, sys.path) == (argv, path)  # put back

    def test_output_after_the_script_arguments(
        self, capsys: pytest.CaptureFixture[str], script: Path, tmp_path: Path
    ) -> None:
        out = tmp_path / "after.json"
        status, stdout, _ = run(capsys, "trace", str(script), "x", "y", "-o", str(out))
        assert status == 0
        assert stdout == "argv: ['x', 'y']\n"
        assert trace_events(out)

    def test_default_output(
        self,
        capsys: pytest.CaptureFixture[str],
        script: Path,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.chdir(tmp_path)
        status, _, err = run(capsys, "trace", str(script))
        assert status == 0
        assert "threadkit trace: wrote threadkit-trace.json" in err
        assert trace_events(tmp_path / "threadkit-trace.json")

    def test_the_scripts_exit_status_is_returned(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        prog, out = tmp_path / "exits.py", tmp_path / "out.json"
        prog.write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
        status, _, err = run(capsys, "trace", str(prog), "-o", str(out))
        assert status == 3
        assert trace_events(out)  # written all the same
        assert "threadkit trace: wrote" in err

    def test_a_failing_script_prints_its_traceback(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        prog, out = tmp_path / "fails.py", tmp_path / "out.json"
        prog.write_text("raise LookupError('from the script')\n", encoding="utf-8")
        status, _, err = run(capsys, "trace", str(prog), "-o", str(out))
        assert status == 1
        assert "LookupError: from the script" in err
        assert trace_events(out)

    def test_a_missing_script_exits_2(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        missing = tmp_path / "nope.py"
        status, out, err = run(capsys, "trace", str(missing))
        assert (status, out) == (2, "")
        assert err == f"threadkit trace: error: no such script: {str(missing)!r}\n"
        assert not (tmp_path / "threadkit-trace.json").exists()

    def test_an_output_in_a_missing_directory_exits_2(
        self, capsys: pytest.CaptureFixture[str], script: Path, tmp_path: Path
    ) -> None:
        out = tmp_path / "no" / "such" / "dir.json"
        status, stdout, err = run(capsys, "trace", str(script), "-o", str(out))
        assert (status, stdout) == (2, "")
        assert err.startswith("threadkit trace: error: no such directory for the output")

    def test_no_script_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, err = run(capsys, "trace")
        assert (status, out) == (2, "")
        assert "usage: threadkit trace" in err
        assert "required: script" in err


class TestTourColour:
    def test_plain_when_piped(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, _ = run(capsys, "tour", "--only", "locks")
        assert status == 0
        assert "\033[" not in out

    def test_always(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, _ = run(capsys, "tour", "--only", "locks", "--color", "always")
        assert status == 0
        assert "\033[1m[1/1] locks:" in out
        assert "  \033[33mstdlib:\033[0m    with threading.Lock()" in out
        assert "  \033[32mthreadkit:\033[0m " in out
        # Coloured or not, the text and its wrapping are the same.
        plain = re.sub(r"\033\[[0-9;]*m", "", out)
        never = run(capsys, "tour", "--only", "locks", "--color", "never")[1]
        ident = re.compile(r"\d{6,}")  # (thread idents differ from run to run)
        assert ident.sub("N", plain) == ident.sub("N", never)

    def test_a_terminal_gets_colour_unless_no_color(self, monkeypatch: pytest.MonkeyPatch) -> None:
        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        monkeypatch.delenv("NO_COLOR", raising=False)
        monkeypatch.delenv("FORCE_COLOR", raising=False)
        tty = Terminal()
        _tour.Printer(tty).heading("title")
        assert tty.getvalue() == "\n\033[1mtitle\033[0m\n"
        monkeypatch.setenv("NO_COLOR", "1")
        tty = Terminal()
        _tour.Printer(tty).heading("title")
        assert tty.getvalue() == "\ntitle\n"

    def test_force_color(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("NO_COLOR", raising=False)
        monkeypatch.setenv("FORCE_COLOR", "1")
        out = io.StringIO()
        _tour.Printer(out).threadkit("done")
        assert out.getvalue() == "  \033[32mthreadkit:\033[0m done\n"

    def test_bad_choice_exits_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, err = run(capsys, "tour", "--color", "sometimes")
        assert (status, out) == (2, "")
        assert "invalid choice: 'sometimes'" in err


class TestBench:
    def test_list(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, err = run(capsys, "bench", "--list")
        assert (status, err) == (0, "")
        lines = out.splitlines()
        assert len(lines) == len(bench.cases())
        assert {line.split()[0] for line in lines} == set(bench.GROUPS)
        assert "with Lock()  (vs threading.Lock)" in out

    def test_a_group_prints_its_ratio_table(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, err = run(
            capsys, "bench", "--group", "queues", "--rounds", "1", "--scale", "0.01"
        )
        assert (status, err) == (0, "")
        assert out.startswith(f"threadkit {threadkit.__version__} vs the standard library on ")
        assert "ratio = stdlib time / threadkit time" in out
        rows = [line for line in out.splitlines() if line.startswith("  ")]
        names = [c.name for c in bench.cases() if c.group == "queues"]
        assert len(rows) == len(names)
        for name, row in zip(names, rows):
            assert row.strip().startswith(name)
            std, tk, ratio = row[len(name) + 2 :].split()
            assert float(std) > 0
            assert float(tk) > 0
            assert ratio.endswith("x")
            assert float(ratio[:-1]) == pytest.approx(float(std) / float(tk), rel=0.1, abs=0.01)
        assert "primitives" not in out

    def test_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, _ = run(
            capsys, "bench", "--json", "--group", "timers", "--group", "pool", "--quick",
            "--scale", "0.1",
        )  # fmt: skip
        assert status == 0
        report = json.loads(out)
        assert report["threadkit"] == threadkit.__version__
        assert report["rounds"] == 3
        assert report["scale"] == pytest.approx(0.01)  # a tenth of --scale
        status, out, _ = run(capsys, "bench", "--json", "--group", "timers", "--quick",
                             "--rounds", "2", "--scale", "0.1")  # fmt: skip
        assert json.loads(out)["rounds"] == 2  # --rounds still applies
        groups = [r["group"] for r in report["results"]]
        assert groups == ["pool", "pool", "pool", "timers"]  # in the suite's order
        for r in report["results"]:
            assert r["ratio"] == pytest.approx(r["stdlib_us"] / r["threadkit_us"])

    def test_progress_on_a_terminal(self) -> None:
        seen: list[tuple[int, int]] = []
        selected = [c for c in bench.cases() if c.name == "with Lock()"]
        results = bench.run(
            selected, rounds=3, scale=0.001, progress=lambda d, t: seen.append((d, t))
        )
        assert seen == [(1, 3), (2, 3), (3, 3)]
        assert [r.name for r in results] == ["with Lock()"]

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--rounds", "0"], "must be at least 1, got 0"),
            (["--rounds", "x"], "expected a whole number, got 'x'"),
            (["--scale", "-1"], "must be a finite number above 0, got -1"),
            (["--scale", "nan"], "must be a finite number above 0, got nan"),
            (["--group", "gpu"], "invalid choice: 'gpu'"),
        ],
    )
    def test_bad_arguments_exit_2(
        self, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
    ) -> None:
        status, out, err = run(capsys, "bench", *argv)
        assert (status, out) == (2, "")
        assert message in err


HUNG = """\
import sys, threadkit
from pathlib import Path

ready = threadkit.Event()
release = threadkit.Event()

def waiter():
    ready.set()
    release.wait()

t = threadkit.Thread(target=waiter, name="stuck-waiter")
t.start()
ready.wait()
out = sys.argv[1]
while "blocked for" not in Path(out).read_text():  # until the dump has been written
    release.wait(0.01)
release.set()
t.join()
print("released")
"""


class TestDump:
    def test_after_dumps_a_hung_script(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        script = tmp_path / "hung.py"
        script.write_text(HUNG, encoding="utf-8")
        out = tmp_path / "dump.txt"
        out.write_text("", encoding="utf-8")
        status, stdout, _ = run(
            capsys, "dump", "--after", "0.05", "-o", str(out), str(script), "--", str(out)
        )
        assert (status, stdout) == (0, "released\n")
        text = out.read_text(encoding="utf-8")
        assert text.startswith("threadkit dump: ")
        assert "Thread 'stuck-waiter'" in text
        assert "  blocked for " in text
        assert "release.wait()" in text  # the waiter's stack, at the line it waits on
        assert threadkit.diagnostics.dump_enabled() is False  # put back after the run

    @pytest.mark.timeout(60)
    def test_after_dumps_while_the_exit_waits_for_a_thread(self, tmp_path: Path) -> None:
        # The main thread ends; the interpreter's exit waits for a non-daemon thread blocked
        # in get(): the dump still comes (this one ends once it has been written).
        script = tmp_path / "hangs_at_exit.py"
        script.write_text(
            textwrap.dedent(
                """\
                import sys, threadkit, threadkit.queue
                from pathlib import Path

                out, q = Path(sys.argv[1]), threadkit.queue.Queue()

                def consume():
                    while "blocked for" not in out.read_text():  # until the dump came
                        try:
                            q.get(timeout=0.05)
                        except threadkit.queue.Empty:
                            pass

                threadkit.Thread(target=consume, name="consumer").start()
                print("main: done")
                """
            ),
            encoding="utf-8",
        )
        out = tmp_path / "dump.txt"
        out.write_text("", encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, "-m", "threadkit", "dump", "--after", "0.2", "-o", str(out),
             str(script), "--", str(out)],
            capture_output=True, text=True, timeout=50, check=False,
        )  # fmt: skip
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "main: done\n", "")
        text = out.read_text(encoding="utf-8")
        assert "Thread 'consumer'" in text
        assert "q.get(timeout=0.05)" in text  # where it waits, at the exit

    @pytest.mark.skipif(not hasattr(signal, "SIGQUIT"), reason="POSIX signals")
    def test_sigquit_dumps_and_the_status_is_the_scripts(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        script = tmp_path / "quit.py"
        script.write_text(
            "import os, signal, sys\nos.kill(os.getpid(), signal.SIGQUIT)\nsys.exit(3)\n",
            encoding="utf-8",
        )
        before = signal.getsignal(signal.SIGQUIT)
        status, _, err = run(capsys, "dump", str(script))
        assert status == 3
        assert err.startswith("threadkit dump: ")
        assert "Thread 'MainThread'" in err
        assert signal.getsignal(signal.SIGQUIT) == before

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["missing.py"], "no such script: 'missing.py'"),
            (["--repeat", "{script}"], "--repeat needs --after SECONDS"),
            (["--after", "-1", "{script}"], "must be a finite number above 0, got -1"),
            (["-o", "{tmp}/no/such/dir.txt", "{script}"], "cannot open"),
        ],
    )
    def test_bad_arguments_exit_2(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
    ) -> None:
        script = tmp_path / "ok.py"
        script.write_text("print('ran')\n", encoding="utf-8")
        argv = [a.format(script=script, tmp=tmp_path) for a in argv]
        status, out, err = run(capsys, "dump", *argv)
        assert (status, out) == (2, "")
        assert message in err
