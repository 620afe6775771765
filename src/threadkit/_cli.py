"""The ``threadkit`` command: ``threadkit tour`` for now; more subcommands to come.

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
# The command


_COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_tour,
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
