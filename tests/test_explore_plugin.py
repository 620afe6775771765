"""The explorer's pytest plugin (``@pytest.mark.explore``) and ``threadkit explore``.

The plugin runs in pytest subprocesses (``pytester``) on a small test file: a lost update
that takes one preemption, its fix, and a test that counts how often its fixture and its
body ran. Every marked test uses the dfs strategy, which is deterministic.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from threadkit._cli import main

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.timeout(60)

PLUGIN = "threadkit.testing.pytest_plugin"

# Two threads each read a counter under the lock, then write it back under the lock: one
# preemption between the two critical sections loses an update. test_fixed takes a fixture.
INNER = """\
import threading

import pytest

def increment_twice(step, locked_throughout):
    box = {"n": 0}
    lock = threading.Lock()

    def inc():
        if locked_throughout:
            with lock:
                box["n"] += step
            return
        with lock:
            seen = box["n"]
        with lock:
            box["n"] = seen + step

    threads = [threading.Thread(target=inc) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert box["n"] == 2 * step, box["n"]


@pytest.fixture
def one():
    return 1


@pytest.mark.parametrize("step", [1])
@pytest.mark.explore(strategy="dfs", max_preemptions=1, schedules=200)
def test_lost_update(step):
    increment_twice(step, locked_throughout=False)


@pytest.mark.explore(strategy="dfs", max_preemptions=2, schedules=500)
def test_fixed(one):
    increment_twice(one, locked_throughout=True)


def test_unmarked():
    increment_twice(1, locked_throughout=False)  # (no explorer: runs without preemption)
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> Path:
    return pytester.makepyfile(test_inner=INNER)


def run_plugin(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", PLUGIN, "--strict-markers", "-p", "no:cacheprovider", *args, timeout=50
    )


def printed_command(output: str, program: str) -> list[str]:
    """The replay command a failure printed (the line after "replay it with:"), split."""
    match = re.search(r"^replay it with:\n  (.*)$", output, re.M)
    assert match is not None, output
    words = shlex.split(match.group(1))
    # `python -m pytest ...`: the interpreter that ran it (its environment has threadkit),
    # by the name the PATH finds or by its path.
    assert shutil.which(words[0]) is not None, words
    assert os.path.realpath(shutil.which(words[0]) or "") == os.path.realpath(sys.executable)
    assert words[1:3] == ["-m", program], words
    return words[3:]


class TestPlugin:
    def test_the_buggy_test_fails_with_the_replay_command(
        self, pytester: pytest.Pytester, inner: Path
    ) -> None:
        result = run_plugin(pytester)
        result.assert_outcomes(passed=2, failed=1)
        out = result.stdout.str()
        assert "threadkit explore: schedule " in out
        assert "assertion in 'MainThread' at " in out
        assert "AssertionError: 1" in out
        assert "schedule (1 preemption(s)):" in out
        assert "--tk-replay=tk1:sync:" in out
        args = printed_command(out, "pytest")
        assert args[:3] == ["test_inner.py::test_lost_update[1]", "-p", PLUGIN]
        assert args[3].startswith("--tk-replay=tk1:sync:")

    def test_the_printed_command_replays_the_same_failure(
        self, pytester: pytest.Pytester, inner: Path
    ) -> None:
        first = run_plugin(pytester).stdout.str()
        location = re.search(r"assertion in 'MainThread' at (\S+): AssertionError: 1", first)
        assert location is not None, first
        again = pytester.runpytest_subprocess(*printed_command(first, "pytest"), timeout=50)
        again.assert_outcomes(failed=1)
        out = again.stdout.str()
        assert "threadkit explore: the replayed schedule fails:" in out
        assert f"assertion in 'MainThread' at {location.group(1)}: AssertionError: 1" in out
        assert printed_command(out, "pytest") == printed_command(first, "pytest")

    def test_the_command_names_the_file_from_where_pytest_ran(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        pytester.makeini("[pytest]\n")  # the rootdir stays here
        sub = pytester.mkdir("sub")
        (sub / "test_inner.py").write_text(INNER, encoding="utf-8")
        monkeypatch.chdir(sub)
        result = run_plugin(pytester, "-k", "lost_update")
        result.assert_outcomes(failed=1, deselected=2)
        args = printed_command(result.stdout.str(), "pytest")
        assert args[0] == "test_inner.py::test_lost_update[1]"  # not sub/test_inner.py
        pytester.runpytest_subprocess(*args, timeout=50).assert_outcomes(failed=1)

    def test_the_plugin_from_a_conftest(self, pytester: pytest.Pytester, inner: Path) -> None:
        pytester.makeconftest(f"pytest_plugins = [{PLUGIN!r}]\n")
        result = pytester.runpytest_subprocess("--strict-markers", timeout=50)
        result.assert_outcomes(passed=2, failed=1)
        # The printed command loads the plugin again with -p: that is harmless.
        args = printed_command(result.stdout.str(), "pytest")
        pytester.runpytest_subprocess(*args, timeout=50).assert_outcomes(failed=1)

    def test_fixtures_are_set_up_once_and_the_body_runs_per_schedule(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(
            """
            import threading

            import pytest

            SETUPS, RUNS = [], []

            @pytest.fixture
            def counted():
                SETUPS.append(1)
                return lambda: threading.Lock()  # (made in the body: the explorer's model)

            @pytest.mark.explore(strategy="dfs", schedules=7)
            def test_body(counted):
                RUNS.append(1)
                lock = counted()
                t = threading.Thread(target=lambda: lock.acquire() and lock.release())
                t.start()
                with lock:
                    pass
                t.join()

            def test_count():
                assert (len(SETUPS), len(RUNS)) == (1, 7)
            """
        )
        run_plugin(pytester).assert_outcomes(passed=2)

    def test_tk_schedules_overrides_the_marker(
        self, pytester: pytest.Pytester, inner: Path
    ) -> None:
        # The first dfs schedule has no preemption, and the bug needs one.
        run_plugin(pytester, "--tk-schedules=1").assert_outcomes(passed=3)

    def test_tk_strategy_overrides_the_marker(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(
            test_inner=INNER.replace('strategy="dfs", max_preemptions=1', 'strategy="random"')
        )
        run_plugin(pytester, "--tk-strategy=dfs", "--tk-schedules=1").assert_outcomes(passed=3)
        result = run_plugin(pytester, "--tk-strategy=fast")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert "invalid choice: 'fast'" in result.stderr.str()

    def test_tk_granularity_overrides_the_marker(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(
            """
            import threading

            import pytest

            @pytest.mark.explore(strategy="dfs", max_preemptions=1)
            def test_two_lines():
                box = {"n": 0}

                def inc():
                    seen = box["n"]
                    box["n"] = seen + 1

                threads = [threading.Thread(target=inc) for _ in range(2)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                assert box["n"] == 2, box["n"]
            """
        )
        run_plugin(pytester).assert_outcomes(passed=1)  # sync: no point between the lines
        result = run_plugin(pytester, "--tk-granularity=line")
        result.assert_outcomes(failed=1)
        args = printed_command(result.stdout.str(), "pytest")
        assert args[3].startswith("--tk-replay=tk1:line@")
        pytester.runpytest_subprocess(*args, timeout=50).assert_outcomes(failed=1)

    def test_a_bad_replay_string_fails_the_marked_tests(
        self, pytester: pytest.Pytester, inner: Path
    ) -> None:
        result = run_plugin(pytester, "--tk-replay=nonsense")
        result.assert_outcomes(failed=2, passed=1)  # the unmarked test runs as usual
        assert "threadkit explore: --tk-replay: not a threadkit schedule string" in (
            result.stdout.str()
        )

    def test_bad_marker_options_fail_the_test(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(
            """
            import pytest

            @pytest.mark.explore(100)
            def test_positional():
                pass

            @pytest.mark.explore(schedule=100)
            def test_misspelt():
                pass

            @pytest.mark.explore(strategy="fast")
            def test_bad_value():
                pass

            @pytest.mark.explore(schedules=5)
            def test_fine():
                pass
            """
        )
        result = run_plugin(pytester)
        result.assert_outcomes(failed=3, passed=1)
        result.stdout.fnmatch_lines(
            [
                "*@pytest.mark.explore takes keyword options only, not (100,)",
                "*threadkit explore: bad options {'schedule': 100}: *"
                "unexpected keyword argument 'schedule'*",  # (3.13 adds "Did you mean")
                "*threadkit explore: bad options {'strategy': 'fast'}: unknown strategy 'fast'*",
            ]
        )
        run_plugin(pytester, "--tk-schedules=0", "-k", "fine").stdout.fnmatch_lines(
            ["*threadkit explore: bad options {'schedules': 0}: schedules must be >= 1"]
        )

    def test_the_marker_is_registered(self, pytester: pytest.Pytester) -> None:
        result = run_plugin(pytester, "--markers")
        result.stdout.fnmatch_lines(["@pytest.mark.explore(**options): *"])
        help_text = run_plugin(pytester, "--help").stdout.str()
        for option in ("--tk-schedules", "--tk-seed", "--tk-strategy", "--tk-replay"):
            assert option in help_text


# --------------------------------------------------------------------------------------------
# threadkit explore

CLI_TARGETS = """\
import threading

from threadkit.testing import explore
from explore_cli_helper import increment_twice  # a sibling module


def lost_update():
    increment_twice(locked_throughout=False)


def fixed():
    increment_twice(locked_throughout=True)


@explore.test(strategy="dfs", schedules=3)
def decorated():
    increment_twice(locked_throughout=False)


def two_lines():
    box = {"n": 0}

    def inc():
        seen = box["n"]  # no lock: only a line boundary separates the read and the write
        box["n"] = seen + 1

    threads = [threading.Thread(target=inc) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert box["n"] == 2, box["n"]


def if_not_while():
    cond = threading.Condition()
    state = {"ready": False}

    def waiter():
        with cond:
            if not state["ready"]:  # a spurious wake-up gets past this
                cond.wait()
            assert state["ready"], "woken before ready"

    t = threading.Thread(target=waiter)
    t.start()
    with cond:
        state["ready"] = True
        cond.notify()
    t.join()


def impatient():
    ev = threading.Event()
    got = []
    t = threading.Thread(target=lambda: got.append(ev.wait(timeout=1.0)))
    t.start()
    ev.set()
    t.join()
    assert got == [True], got


def needs(a, b=1):
    pass


NOT_A_FUNCTION = 3
"""

HELPER = """\
import threading


def increment_twice(locked_throughout):
    box = {"n": 0}
    lock = threading.Lock()

    def inc():
        if locked_throughout:
            with lock:
                box["n"] += 1
            return
        with lock:
            seen = box["n"]
        with lock:
            box["n"] = seen + 1

    threads = [threading.Thread(target=inc) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert box["n"] == 2, box["n"]
"""


@pytest.fixture
def targets(tmp_path: Path) -> str:
    # Unique module names: the CLI leaves the helper imported (as a script's imports are).
    (tmp_path / "explore_cli_helper.py").write_text(HELPER, encoding="utf-8")
    path = tmp_path / "cli_targets.py"
    path.write_text(CLI_TARGETS, encoding="utf-8")
    return str(path)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["explore", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


class TestCommand:
    def test_no_failure(self, capsys: pytest.CaptureFixture[str], targets: str) -> None:
        status, out, err = cli(capsys, f"{targets}::fixed", "--schedules", "50")
        assert (status, out, err) == (0, "no failure in 50 schedule(s)\n", "")

    def test_dfs_exhausted(self, capsys: pytest.CaptureFixture[str], targets: str) -> None:
        status, out, _ = cli(capsys, f"{targets}::fixed", "--strategy", "dfs")
        assert status == 0
        assert re.fullmatch(
            r"no failure in \d+ schedule\(s\)\n"
            r"exhausted: no failing schedule within 2 preemption\(s\)\n",
            out,
        )
        status, out, _ = cli(
            capsys, f"{targets}::fixed", "--strategy=dfs", "--max-preemptions=1", "--schedules=2"
        )
        assert status == 0
        assert out.splitlines()[1] == (
            "not exhausted: more schedules exist within 1 preemption(s) (raise --schedules)"
        )

    def test_failure_prints_the_report_and_the_replay_command(
        self, capsys: pytest.CaptureFixture[str], targets: str
    ) -> None:
        status, out, err = cli(capsys, f"{targets}::lost_update", "--strategy", "dfs")
        assert (status, err) == (1, "")
        assert re.match(r"schedule \d+ fails:\nassertion in 'MainThread' at ", out)
        assert "schedule (1 preemption(s)):" in out
        args = printed_command(out, "threadkit")
        assert args[:2] == ["explore", f"{targets}::lost_update"]
        assert args[2] == "--replay"
        assert args[3].startswith("tk1:sync:")
        # The printed command replays the same failure.
        status, again, _ = cli(capsys, *args[1:])
        assert status == 1
        assert again.startswith("the schedule fails:\n")
        assert again.split("\n", 1)[1] == out.split("\n", 1)[1]

    def test_a_schedule_that_does_not_fit_exits_2(
        self, capsys: pytest.CaptureFixture[str], targets: str
    ) -> None:
        status, out, _ = cli(capsys, f"{targets}::lost_update", "--strategy=dfs")
        schedule = printed_command(out, "threadkit")[3]
        # The fixed body makes other decisions: the schedule does not fit it.
        status, out, err = cli(capsys, f"{targets}::fixed", "--replay", schedule)
        assert (status, out) == (2, "")
        assert err.startswith(f"threadkit explore: error: the schedule does not fit {targets}")

    def test_the_decorated_function_is_explored_itself(
        self, capsys: pytest.CaptureFixture[str], targets: str
    ) -> None:
        status, out, _ = cli(capsys, f"{targets}::decorated")  # its options: dfs, 3 schedules
        assert status == 0
        assert "no failure in 3 schedule(s)" in out
        status, out, _ = cli(capsys, f"{targets}::decorated", "--schedules=100")
        assert status == 1
        assert "schedule (1 preemption(s)):" in out  # not a nested explorer's report

    def test_the_marker_options_are_defaults(self, targets: str) -> None:
        # In a process of its own: this session's --strict-markers does not know the marker.
        path = Path(targets).with_name("marked_target.py")
        path.write_text(
            "import pytest\n"
            "from explore_cli_helper import increment_twice\n\n"
            '@pytest.mark.explore(strategy="dfs", max_preemptions=0)\n'
            "def marked():\n"
            "    increment_twice(locked_throughout=False)\n",
            encoding="utf-8",
        )

        def explore_marked(*options: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "threadkit", "explore", f"{path}::marked", *options],
                capture_output=True,
                text=True,
                timeout=50,
                check=False,
            )

        proc = explore_marked()
        assert (proc.returncode, proc.stderr) == (0, "")
        assert "exhausted: no failing schedule within 0 preemption(s)" in proc.stdout
        proc = explore_marked("--max-preemptions=1")
        assert proc.returncode == 1
        assert "schedule (1 preemption(s)):" in proc.stdout

    @pytest.mark.parametrize(
        ("name", "option"),
        [
            ("two_lines", "--granularity=line"),
            ("if_not_while", "--spurious-wakeups"),
            ("impatient", "--timeouts=early"),
        ],
    )
    def test_the_options_that_find_more(
        self, capsys: pytest.CaptureFixture[str], targets: str, name: str, option: str
    ) -> None:
        status, out, _ = cli(capsys, f"{targets}::{name}", "--strategy=dfs")
        assert status == 0
        assert "exhausted: no failing schedule within 2 preemption(s)" in out
        status, out, _ = cli(capsys, f"{targets}::{name}", "--strategy=dfs", option)
        assert status == 1
        # The schedule string records the options: the replay needs none of them.
        args = printed_command(out, "threadkit")
        assert cli(capsys, *args[1:])[0] == 1

    def test_no_progress_bar_off_a_terminal(
        self, capsys: pytest.CaptureFixture[str], targets: str
    ) -> None:
        status, _, err = cli(capsys, f"{targets}::fixed", "--schedules=20")
        assert (status, err) == (0, "")

    def test_the_progress_bar(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, targets: str
    ) -> None:
        monkeypatch.setattr("sys.stderr.isatty", lambda: True)
        status, _, err = cli(capsys, f"{targets}::fixed", "--schedules=20")
        assert status == 0
        assert "\r[" + "#" * 30 + "] 20/20" in err
        assert "\r[" + "#" * 15 + " " * 15 + "] 10/20" in err
        assert err.endswith("\r")  # the bar is wiped before the result is printed

    @pytest.mark.parametrize(
        ("target", "message"),
        [
            ("{path}", "expected PATH::TEST (a file and a function in it), got '{path}'"),
            ("{path}::", "expected PATH::TEST"),
            ("::fixed", "expected PATH::TEST"),
            ("{path}::C::method", "{path}::C::method: only a module-level function can be"),
            ("{path}.nope::fixed", "no such file: '{path}.nope'"),
            ("{path}::nope", "no function 'nope' in '{path}'"),
            ("{path}::NOT_A_FUNCTION", "{path}::NOT_A_FUNCTION is not a function"),
            ("{path}::needs", "{path}::needs takes arguments (a): only a function without"),
        ],
    )
    def test_bad_targets_exit_2(
        self, capsys: pytest.CaptureFixture[str], targets: str, target: str, message: str
    ) -> None:
        status, out, err = cli(capsys, target.format(path=targets))
        assert (status, out) == (2, "")
        assert err.startswith("threadkit explore: error: " + message.format(path=targets))

    def test_a_file_that_fails_to_import_exits_2(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        path = tmp_path / "broken_target.py"
        path.write_text("raise RuntimeError('at import')\n", encoding="utf-8")
        status, _, err = cli(capsys, f"{path}::anything")
        assert status == 2
        assert err.startswith(f"threadkit explore: error: importing '{path}' failed:")
        assert "RuntimeError: at import" in err

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            (["--replay", "nonsense"], "not a threadkit schedule string: 'nonsense'"),
            (["--schedules", "0"], "schedules must be >= 1"),
        ],
    )
    def test_bad_options_exit_2(
        self,
        capsys: pytest.CaptureFixture[str],
        targets: str,
        options: list[str],
        message: str,
    ) -> None:
        status, out, err = cli(capsys, f"{targets}::fixed", *options)
        assert (status, out) == (2, "")
        assert err == f"threadkit explore: error: {message}\n"

    def test_argparse_errors_exit_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, _, err = cli(capsys, "x.py::f", "--strategy", "fast")
        assert status == 2
        assert "invalid choice: 'fast'" in err
        status, _, err = cli(capsys, "x.py::f", "--max-preemptions", "-1")
        assert status == 2
        assert "--max-preemptions: must be at least 0, got -1" in err
        status, _, err = cli(capsys)
        assert status == 2
        assert "PATH::TEST" in err

    def test_help(self, capsys: pytest.CaptureFixture[str]) -> None:
        status, out, _ = cli(capsys, "--help")
        assert status == 0
        assert out.startswith("usage: threadkit explore")
        for option in ("--schedules", "--seed", "--strategy", "--max-preemptions", "--replay"):
            assert option in out

    def test_the_module_is_not_left_imported(
        self, capsys: pytest.CaptureFixture[str], targets: str
    ) -> None:
        path = list(sys.path)
        cli(capsys, f"{targets}::fixed", "--schedules=1")
        assert "cli_targets" not in sys.modules
        assert sys.path == path
