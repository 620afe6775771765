"""The ``threadkit`` command: ``tour``, ``trace``, ``dump``, ``explore``, ``bench``, ``doctor``.

Each subcommand is a function that adds its parser to the subparsers and sets ``handler``,
listed in ``_COMMANDS``; a handler takes the parsed arguments and the output streams and
returns the exit status. ``main()`` never raises ``SystemExit``: it returns the status
(argparse's own exits included), so tests call it directly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, TextIO

from . import __version__
from ._core._util import python_command

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


# --------------------------------------------------------------------------------------------
# threadkit tour


def _add_tour(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "tour",
        help="run the standard library's surprises live, then threadkit's answers",
        description=(
            "Each scene runs what the standard library does (the surprise, live), then "
            "what threadkit does instead. With no options, runs every scene in order."
        ),
    )
    parser.add_argument(
        "--list", action="store_true", help="list the scenes' names and titles, run nothing"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only these scenes (repeat it, or separate names with commas)",
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the headings and labels: auto (the default) on a terminal, unless "
        "NO_COLOR is set",
    )
    parser.set_defaults(handler=_tour)


def _tour(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from . import _tour

    names = [name.strip() for value in args.only for name in value.split(",") if name.strip()]
    try:
        selected = _tour.select(names) if names else _tour.scenes()
    except _tour.UnknownSceneError as exc:
        stderr.write(f"threadkit tour: error: {exc} (see `threadkit tour --list`)\n")
        return 2
    if args.list:
        width = max(len(s.name) for s in selected)
        for s in selected:
            stdout.write(f"{s.name.ljust(width)}  {s.title}\n")
        return 0
    colour = {"auto": None, "always": True, "never": False}[args.color]
    _tour.run(selected, _tour.Printer(stdout, colour=colour))
    return 0


# --------------------------------------------------------------------------------------------
# threadkit trace

DEFAULT_TRACE = "threadkit-trace.json"


def _add_trace(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "trace",
        help="run a Python script and record a timeline of its threads for Perfetto",
        description=(
            "Run SCRIPT as __main__ (with ARG... as its sys.argv[1:]) inside threadkit.trace(): "
            "every wait, lock hold, queue operation and pool task is recorded, the timeline is "
            "written as Chrome trace-event JSON (open it in https://ui.perfetto.dev or "
            "chrome://tracing) and a contention summary is printed to stderr. Put the "
            "script's own options after '--': threadkit trace -o out.json app.py -- --verbose"
        ),
    )
    parser.add_argument(
        "-o",
        "--output",
        default=DEFAULT_TRACE,
        metavar="FILE",
        help=f"where to write the trace (default: {DEFAULT_TRACE})",
    )
    _add_script_arguments(parser, _trace)


def _trace(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from .diagnostics._trace import trace

    script: str = args.script
    if not _check_script("trace", script, stderr):
        return 2
    output: str = args.output
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        stderr.write(f"threadkit trace: error: no such directory for the output: {output!r}\n")
        return 2
    with trace(output, summary=True, file=stderr):
        status = _run_script(script, args.args, stderr)
    stderr.write(
        f"threadkit trace: wrote {output} (open it in https://ui.perfetto.dev or "
        "chrome://tracing)\n"
    )
    return status


def _add_script_arguments(parser: argparse.ArgumentParser, handler: Handler) -> None:
    """The SCRIPT [ARG...] of ``trace`` and ``dump``, and the command's handler."""
    parser.add_argument("script", help="the Python script to run")
    parser.add_argument("args", nargs="*", metavar="ARG", help="the script's arguments")
    parser.set_defaults(handler=handler)


def _check_script(command: str, script: str, stderr: TextIO) -> bool:
    """True if ``script`` is a file; else the usage error is written to ``stderr``."""
    if os.path.isfile(script):
        return True
    stderr.write(f"threadkit {command}: error: no such script: {script!r}\n")
    return False


def _run_script(script: str, argv: Sequence[str], stderr: TextIO) -> int:
    """Run ``script`` as ``__main__`` as ``python script.py ARG...`` would; its exit status.

    ``sys.argv`` is the script and its arguments and its directory goes first on
    ``sys.path`` (both put back after); ``SystemExit`` becomes the status, and an uncaught
    exception is printed to ``stderr`` (status 1).
    """
    import runpy
    import traceback

    status = 0
    saved_argv, saved_path = sys.argv, sys.path[:]
    sys.argv = [script, *argv]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        code = exc.code
        if code is None or isinstance(code, int):
            status = code or 0
        else:  # sys.exit("message"): printed, status 1, as Python does
            stderr.write(f"{code}\n")
            status = 1
    except Exception:
        traceback.print_exc(file=stderr)
        status = 1
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
    return status


# --------------------------------------------------------------------------------------------
# threadkit dump


def _add_dump(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dump",
        help="run a Python script and show what each of its threads is blocked on, on demand",
        description=(
            "Run SCRIPT as __main__ (with ARG... as its sys.argv[1:]) with "
            "threadkit.diagnostics.enable_dump() on, and print threadkit.dump() (every thread, "
            "what it is blocked on, for how long, who holds it, its stack, and any wait-for "
            "cycle) when SIGQUIT arrives (Ctrl-\\ in a terminal; POSIX) and, with --after, "
            "if the script still runs that many seconds after it started: a hung program "
            "shows where it hangs, also while the interpreter's exit waits for threads the "
            "script left running. Put the script's own options after '--'."
        ),
    )
    parser.add_argument(
        "--after",
        type=_positive_float,
        metavar="SECONDS",
        help="print the dump if the script is still running after SECONDS",
    )
    parser.add_argument(
        "--repeat", action="store_true", help="with --after: print it every SECONDS"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="append the dumps to FILE instead of writing them to stderr",
    )
    _add_script_arguments(parser, _dump)


def _dump(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    import signal

    from ._core import _primitives as _p
    from .diagnostics import _dump

    script: str = args.script
    if not _check_script("dump", script, stderr):
        return 2
    if args.repeat and args.after is None:
        stderr.write("threadkit dump: error: --repeat needs --after SECONDS\n")
        return 2
    output: str | None = args.output
    try:
        out = stderr if output is None else open(output, "a", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        stderr.write(f"threadkit dump: error: cannot open {output!r}: {exc.strerror}\n")
        return 2
    after: float | None = args.after
    finished = _p.StdEvent()

    def dump_later() -> None:
        assert after is not None
        while not finished.wait(after):
            _dump.dump(out)
            if not args.repeat:
                return

    timer = None
    if after is not None:
        timer = _p.StdThread(target=dump_later, name="threadkit-dump-after", daemon=True)
    restore: Callable[[], None] | None = None

    def stop_dumping() -> None:
        finished.set()
        if timer is not None and timer.ident is not None:
            timer.join()
        if restore is not None:
            restore()
        _dump.disable_dump()
        if out is not stderr:
            out.close()

    before = set(_p.enumerate_threads())
    _dump.enable_dump()
    try:
        if hasattr(signal, "SIGQUIT"):
            restore = _dump.install_dump_signal(file=out)
        if timer is not None:
            timer.start()
        status = _run_script(script, args.args, stderr)
    except BaseException:
        stop_dumping()
        raise
    left = [t for t in _p.enumerate_threads() if t not in before and not t.daemon]
    if left:
        # The interpreter's exit will wait for these threads (a program that hangs at exit,
        # the classic case): keep dumping until it has, and stop after (atexit runs then).
        import atexit

        atexit.register(stop_dumping)
    else:
        stop_dumping()
    return status


# --------------------------------------------------------------------------------------------
# threadkit explore


def _add_explore(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "explore",
        help="run a threaded test function under many thread interleavings; replay a failure",
        description=(
            "Import the file PATH and run its zero-argument function TEST under the "
            "interleaving explorer (threadkit.testing.explore.run): once per schedule, with "
            "threading and time replaced by controlled models. Prints the first failing "
            "schedule, minimised, and the command that replays it (exit 1), or how many "
            "schedules passed (exit 0). A function's @pytest.mark.explore options are its "
            "defaults; the options here override them."
        ),
    )
    parser.add_argument("target", metavar="PATH::TEST", help="the file and the function in it")
    parser.add_argument(
        "--schedules", type=int, metavar="N", help="run at most N schedules (default 1000)"
    )
    parser.add_argument(
        "--seed", type=int, metavar="N", help="the seed of the random schedules (default 0)"
    )
    parser.add_argument(
        "--strategy",
        choices=("portfolio", "random", "pct", "dfs"),
        help="how schedules are chosen (default portfolio: random and PCT alternately; dfs: "
        "every schedule up to --max-preemptions, in order)",
    )
    parser.add_argument(
        "--granularity",
        choices=("sync", "line", "opcode"),
        help="where threads may be switched (default sync: at each primitive operation)",
    )
    parser.add_argument(
        "--max-preemptions",
        type=_non_negative_int,
        metavar="N",
        help="dfs: the largest number of preemptions searched (default 2)",
    )
    parser.add_argument(
        "--timeouts",
        choices=("exact", "early"),
        help="early: a timed wait may also time out while other threads could run (default exact)",
    )
    parser.add_argument(
        "--spurious-wakeups",
        action="store_const",
        const=True,
        help="Condition.wait may return with no notify",
    )
    parser.add_argument(
        "--replay",
        metavar="SCHEDULE",
        help="run just this schedule (the string a failure printed)",
    )
    parser.set_defaults(handler=_explore)


#: The options of ``explore.run`` that ``threadkit explore`` takes (``--max-preemptions``...).
_RUN_OPTIONS = (
    "schedules",
    "seed",
    "strategy",
    "granularity",
    "max_preemptions",
    "timeouts",
    "spurious_wakeups",
)


class _UsageError(Exception):
    """A bad ``threadkit explore`` argument: printed, exit status 2."""


def _explore(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    import inspect
    import shlex

    from .testing import explore

    def error(message: str) -> int:
        stderr.write(f"threadkit explore: error: {message}\n")
        return 2

    target: str = args.target
    saved_path = sys.path[:]
    module_name: str | None = None
    try:
        try:
            fn, options, module_name = _load_test(target)
        except _UsageError as exc:
            return error(str(exc))
        for key in _RUN_OPTIONS:
            value = getattr(args, key)
            if value is not None:
                options[key] = value
        schedule: str | None = args.replay
        bar = _ProgressBar(stderr) if stderr.isatty() and schedule is None else None
        try:
            if schedule is not None:
                takes = inspect.signature(explore.replay).parameters  # (max_steps, ...)
                kwargs = {k: v for k, v in options.items() if k in takes and k != "schedule"}
                result = explore.replay(fn, schedule, **kwargs)
            else:
                result = explore.run(fn, progress=None if bar is None else bar.update, **options)
        except explore.ReplayDivergence as exc:
            return error(f"the schedule does not fit {target}: {exc}")
        except (TypeError, ValueError) as exc:
            return error(str(exc))
        finally:
            if bar is not None:
                bar.clear()
    finally:
        sys.path[:] = saved_path
        if module_name is not None:  # (what the file imported stays imported)
            del sys.modules[module_name]
    failure = result.failure
    if failure is None:
        if schedule is not None:
            stdout.write("no failure: the schedule ran to the end\n")
            return 0
        stdout.write(f"no failure in {result.schedules} schedule(s)\n")
        if options.get("strategy") == "dfs":
            bound = options.get("max_preemptions", explore.DFS_MAX_PREEMPTIONS)
            if result.exhausted:
                stdout.write(f"exhausted: no failing schedule within {bound} preemption(s)\n")
            else:
                stdout.write(
                    f"not exhausted: more schedules exist within {bound} preemption(s) "
                    "(raise --schedules)\n"
                )
        return 0
    found = "the schedule fails" if schedule is not None else f"schedule {result.schedules} fails"
    stdout.write(f"{found}:\n{failure.report()}\n\n")
    python = shlex.quote(python_command(os.getcwd()))  # (this environment's threadkit)
    command = (
        f"{python} -m threadkit explore {shlex.quote(target)} "
        f"--replay {shlex.quote(failure.schedule)}"
    )
    stdout.write(f"replay it with:\n  {command}\n")
    return 1


def _load_test(target: str) -> tuple[Callable[[], object], dict[str, Any], str]:
    """Import ``PATH::NAME``; return its function (unwrapped), its explore marker's options
    and the module's name in ``sys.modules``, which the caller removes after the run. The
    file's directory goes first on ``sys.path`` (the caller restores that too).

    Raises:
        _UsageError: no ``::``, no such file or function, or the function takes arguments.
    """
    import importlib.util

    path, sep, name = target.partition("::")
    if not sep or not path or not name:
        raise _UsageError(f"expected PATH::TEST (a file and a function in it), got {target!r}")
    if "::" in name:
        raise _UsageError(f"{target}: only a module-level function can be explored")
    if not os.path.isfile(path):
        raise _UsageError(f"no such file: {path!r}")
    stem = os.path.splitext(os.path.basename(path))[0]
    module_name = stem if stem.isidentifier() and stem not in sys.modules else "__tk_explore__"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None or module_name in sys.modules:
        raise _UsageError(f"cannot import {path!r}")
    module = importlib.util.module_from_spec(spec)
    # As pytest's default import mode does: the file's directory first, for sibling imports.
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    sys.modules[module_name] = module  # (dataclasses looks its module up)
    try:
        try:
            spec.loader.exec_module(module)
        except Exception:
            import traceback

            raise _UsageError(f"importing {path!r} failed:\n{traceback.format_exc()}") from None
        fn, options = _find_test(module, target, name)
    except BaseException:
        del sys.modules[module_name]
        raise
    return fn, options, module_name


def _find_test(
    module: ModuleType, target: str, name: str
) -> tuple[Callable[[], object], dict[str, Any]]:
    """The function ``name`` of ``module`` (unwrapped) and its explore marker's options."""
    import inspect

    fn = getattr(module, name, None)
    if fn is None:
        raise _UsageError(f"no function {name!r} in {module.__file__!r}")
    if not inspect.isfunction(inspect.unwrap(fn)):
        raise _UsageError(f"{target} is not a function")
    options: dict[str, Any] = {}
    for mark in reversed(getattr(fn, "pytestmark", [])):  # @pytest.mark.explore(...)
        if getattr(mark, "name", None) == "explore":
            options.update(getattr(mark, "kwargs", {}))
    options.update(getattr(fn, "explore_options", {}))  # @explore.test(...)'s
    fn = inspect.unwrap(fn)  # @explore.test(...): explore the test itself
    required = [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if required:
        raise _UsageError(
            f"{target} takes arguments ({', '.join(required)}): only a function without "
            "arguments can be explored (for a pytest test with fixtures, use the pytest "
            "plugin: pytest -p threadkit.testing.pytest_plugin)"
        )
    return fn, options


class _ProgressBar:
    """``[#####     ] 512/1000`` on a terminal, redrawn in place (at most 100 times)."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.drawn = -1
        self.length = 0

    def update(self, done: int, total: int) -> None:
        step = max(1, total // 100)
        if done - self.drawn < step and done != total:
            return
        self.drawn = done
        filled = self.WIDTH * min(done, total) // max(total, 1)
        line = f"[{'#' * filled}{' ' * (self.WIDTH - filled)}] {done}/{total}"
        self.length = len(line)
        self.stream.write(f"\r{line}")
        self.stream.flush()

    def clear(self) -> None:
        if self.length:
            self.stream.write(f"\r{' ' * self.length}\r")
            self.stream.flush()


# --------------------------------------------------------------------------------------------
# threadkit bench


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _non_negative_int(text: str) -> int:
    return _whole_number(text, 0)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def _add_bench(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ._bench import GROUPS

    parser = subparsers.add_parser(
        "bench",
        help="time threadkit against the standard library and print the ratio table",
        description=(
            "Times each case the standard library's way and threadkit's way in alternating "
            "rounds, in this process, and prints the medians per operation and the ratio "
            "stdlib / threadkit (above 1.00x threadkit is faster). About 15 seconds at the "
            "defaults; --quick takes a few seconds. The machine's other work moves these "
            "figures: compare ratios from one run, on a quiet machine. The deeper benchmarks "
            "(peer libraries, memory, free-threaded scaling) are the scripts in the "
            "repository's bench/ folder."
        ),
    )
    parser.add_argument(
        "--group",
        action="append",
        choices=GROUPS,
        default=[],
        help="run only this group of cases (repeat it for several)",
    )
    parser.add_argument("--list", action="store_true", help="list the cases, run nothing")
    parser.add_argument(
        "--rounds", type=_positive_int, metavar="N", help="rounds per case (median; default 5)"
    )
    parser.add_argument(
        "--scale",
        type=_positive_float,
        metavar="X",
        help="multiply every case's operation count by X (default 1)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a quick look: 3 rounds at a tenth of the work (--rounds and --scale still "
        "apply: --scale multiplies the tenth)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(handler=_bench)


def _bench(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    import dataclasses
    import json

    from . import _bench

    groups: list[str] = args.group
    selected = [c for c in _bench.cases() if not groups or c.group in groups]
    if args.list:
        for case in selected:
            stdout.write(f"{case.group:<11} {case.name}  (vs {case.baseline})\n")
        return 0
    rounds: int = args.rounds or (3 if args.quick else 5)
    scale: float = (args.scale or 1.0) / (10 if args.quick else 1)
    bar = _ProgressBar(stderr) if stderr.isatty() else None
    try:
        results = _bench.run(
            selected, rounds=rounds, scale=scale, progress=None if bar is None else bar.update
        )
    finally:
        if bar is not None:
            bar.clear()
    python = _bench.python_description()
    if args.json:
        report = {
            "threadkit": __version__,
            "python": python,
            "rounds": rounds,
            "scale": scale,
            "results": [dataclasses.asdict(r) for r in results],
        }
        stdout.write(json.dumps(report, indent=2) + "\n")
        return 0
    stdout.write(
        f"threadkit {__version__} vs the standard library on {python}: medians of {rounds} "
        f"rounds, microseconds per operation\n"
        "ratio = stdlib time / threadkit time (above 1.00x threadkit is faster)\n"
    )
    width = max(len(r.name) for r in results)
    for group in dict.fromkeys(r.group for r in results):
        stdout.write(
            f"\n{group:<{width + 2}} {'stdlib us':>10} {'threadkit us':>13} {'ratio':>8}\n"
        )
        for r in results:
            if r.group == group:
                stdout.write(
                    f"  {r.name:<{width}} {r.stdlib_us:>10.3f} {r.threadkit_us:>13.3f} "
                    f"{r.ratio:>7.2f}x\n"
                )
    return 0


# --------------------------------------------------------------------------------------------
# threadkit doctor


def _add_doctor(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="this interpreter: its version, GIL or free-threaded, threadkit's extras, and "
        "which of the standard library's traps apply to it",
        description=(
            "Reports the Python version and build (GIL or free-threaded, and whether the GIL "
            "is on now), where threadkit is installed and which of its extras are, and, "
            "checked live on this interpreter, which standard-library traps threadkit "
            "answers apply here."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    import json

    from ._doctor import report

    facts = report()
    if args.json:
        stdout.write(json.dumps(facts, indent=2) + "\n")
        return 0
    stdout.write(f"Python {facts['python']} ({facts['implementation']}), {facts['build']}\n")
    stdout.write(f"threadkit {facts['threadkit']} at {facts['location']}\n")
    stdout.write("extras:\n")
    for name, state in facts["extras"].items():
        stdout.write(f"  {name:<6} {state}\n")
    stdout.write("the standard library's traps on this interpreter (threadkit's answer):\n")
    for trap in facts["traps"]:
        mark = "applies" if trap["applies"] else "fixed here"
        stdout.write(f"  [{mark}] {trap['trap']} ({trap['answer']})\n")
    return 0


_COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_tour,
    _add_trace,
    _add_dump,
    _add_explore,
    _add_bench,
    _add_doctor,
)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``threadkit`` command, with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="threadkit",
        description=(
            "threadkit: threading, queue and concurrent.futures with the traps removed. "
            "New here? Run `threadkit tour`."
        ),
    )
    parser.add_argument("--version", action="version", version=f"threadkit {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in _COMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``threadkit`` command with ``argv`` (default: ``sys.argv[1:]``).

    Returns the exit status: 0 on success, 2 for a usage error. With no subcommand, prints
    the help and returns 0.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stdout)
        return 0
    try:
        return handler(args, sys.stdout, sys.stderr)
    except BrokenPipeError:  # `threadkit tour | head`: the reader left; that is not an error
        # Python would report the failed flush of stdout at exit: point it at devnull.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
