"""The ``threadkit`` command: ``threadkit tour``, ``threadkit trace``.

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
from typing import TextIO

from . import __version__

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
    _tour.run(selected, _tour.Printer(stdout))
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
    parser.add_argument("script", help="the Python script to run")
    parser.add_argument("args", nargs="*", metavar="ARG", help="the script's arguments")
    parser.set_defaults(handler=_trace)


def _trace(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    import runpy
    import traceback

    from .diagnostics._trace import trace

    script: str = args.script
    if not os.path.isfile(script):
        stderr.write(f"threadkit trace: error: no such script: {script!r}\n")
        return 2
    output: str = args.output
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        stderr.write(f"threadkit trace: error: no such directory for the output: {output!r}\n")
        return 2
    status = 0
    saved_argv, saved_path = sys.argv, sys.path[:]
    # As `python script.py` does: the script's arguments, and its directory first on the path.
    sys.argv = [script, *args.args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        with trace(output, summary=True, file=stderr):
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
    stderr.write(
        f"threadkit trace: wrote {output} (open it in https://ui.perfetto.dev or "
        "chrome://tracing)\n"
    )
    return status


# --------------------------------------------------------------------------------------------
# The command


_COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_tour,
    _add_trace,
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
