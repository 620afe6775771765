"""Run every program in examples/ and check that it does what it says.

Each example runs in a subprocess of this interpreter, as ``python examples/NN_name.py``
would run it, under ``-X dev`` (so a ResourceWarning or an unclosed resource shows up on
stderr). It must exit 0 within ``TIMEOUT`` seconds, write nothing to stderr, end its output
with an ``ok: ...`` line and leave no thread running once the interpreter has finished its
exit. The files are found by globbing, so a new example is covered without changing this file;
``EXPECTED`` adds what the known examples must print on the way.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))

#: Seconds an example may take, interpreter start and exit included (they take well under 2).
TIMEOUT = 30.0

# Runs the example at argv[1] as `python <file>` would (as __main__, its folder first on
# sys.path), and reports on stderr any thread still alive at the very end of the exit: after
# threading's shutdown has joined the non-daemon threads and threadkit's exit supervisor has
# stopped what it stops (atexit handlers run after both, the first registered last).
RUNNER = """\
import atexit, os, runpy, sys, threading

def report_threads_left():
    main = threading.main_thread()
    left = [t for t in threading.enumerate() if t is not main and t.is_alive()]
    if left:
        print(f"threads still running at exit: {left}", file=sys.stderr)

atexit.register(report_threads_left)
path = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(path))
runpy.run_path(path, run_name="__main__")
"""

#: What some examples must print besides their final line (stable parts of their output).
EXPECTED: dict[str, list[str]] = {
    "01_threads.py": [".join() -> None", "-> [0, 1, 4, 9]", "CancelledError"],
    "02_locks.py": ["-> 2010", "from thread 'intruder'", "DeadlockError"],
    "03_event.py": [
        "wait(); ev.clear()  -> one set() let through: ['consumer-1', 'consumer-2']",
        "wait_and_clear()    -> one set() let through: ['consumer-",
    ],
    "04_condition.py": ["wait(timeout=0.1) -> False", "woken: ['func1', 'func2']"],
    "05_semaphore.py": ["s._value = 11", "max_value 7", "value=0/7, 3 waiting", "value = 4"],
    "06_thread_pool.py": ["foo(4)", "did not finish by its deadline", "queue.Full"],
    "07_queues.py": ["the same object: True", "['A', 'B', 'C']", "handing back the item: 5"],
    "08_worker.py": ["still alive (its thread holds it): True", "state stopped"],
    "09_cancel.py": ["was cancelled", "cancelled_caught: True", "did not finish within"],
    "10_daemon_exit.py": ["main: line 2", "logger: stopped at exit"],
    "11_timer.py": ["threads can only be started once", "Canceled timer -> True", "Heellloo"],
}


def run_example(path: Path) -> subprocess.CompletedProcess[str]:
    """Run the example at ``path`` in a fresh interpreter; return what happened."""
    return subprocess.run(
        [sys.executable, "-X", "dev", "-c", RUNNER, str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=EXAMPLES_DIR.parent,
    )


def test_examples_exist() -> None:
    assert EXAMPLES, f"no examples found in {EXAMPLES_DIR}"


def test_readme_lists_every_example() -> None:
    readme = (EXAMPLES_DIR / "README.md").read_text(encoding="utf-8")
    missing = [path.name for path in EXAMPLES if f"`{path.name}`" not in readme]
    assert not missing, f"examples/README.md does not list {missing}"


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs(path: Path) -> None:
    assert re.fullmatch(r"\d\d_\w+\.py", path.name), "name it NN_topic.py"
    proc = run_example(path)
    report = f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 0, report
    assert proc.stderr == "", report
    lines = proc.stdout.splitlines()
    assert lines, report
    assert lines[-1].startswith("ok: "), f"the last line is not 'ok: ...'\n{report}"
    for expected in EXPECTED.get(path.name, []):
        assert expected in proc.stdout, f"{expected!r} not printed\n{report}"
