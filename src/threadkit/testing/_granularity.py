"""Line and opcode scheduling points: the explorer's view of plain Python code.

At ``granularity="sync"`` only the modelled primitives' operations are scheduling points. At
``"line"`` every line of the code under test is one too, and at ``"opcode"`` every bytecode
instruction (the only level at which ``x += 1`` on one line can be interleaved). Which code
is "under test": every file that is not threadkit's, the standard library's or
site-packages' (``_runtime.code_kind``), adjusted by ``include=`` / ``exclude=`` patterns
(``fnmatch`` on the file name).

Mechanism (``../shared/EXPLORER.md`` sec. 1):

* 3.12 and later: ``sys.monitoring`` LINE or INSTRUCTION events, under a free tool id, for
  the whole exploration; a location outside the code under test returns ``DISABLE`` once and
  costs nothing after; a thread that is not a logical thread of the run is ignored. This is
  the only mechanism on free-threaded builds (legacy opcode tracing crashed there,
  gh-118415).
* 3.11: ``sys.settrace`` in each logical thread (``f_trace_opcodes`` for "opcode"), set when
  the thread starts and removed when it ends.

A line or opcode point never switches inside threadkit's own code, so a primitive's
internal state is never seen half-changed.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Callable, Sequence
from types import CodeType, FrameType, TracebackType
from typing import Any

from . import _runtime
from ._runtime import THREADKIT, USER, code_kind, runtime_here

__all__ = ["GRANULARITIES", "Granularity"]

GRANULARITIES = ("sync", "line", "opcode")
_TOOL_IDS = (4, 3, 5)  # free by convention: 0 debuggers, 1 coverage, 2 profilers


class Granularity:
    """Scheduling points on lines or instructions of the code under test, while entered.

    ``thread_hook(True)`` / ``thread_hook(False)`` is called by each logical thread when it
    starts and ends (settrace needs it; sys.monitoring does not).
    """

    def __init__(
        self, level: str, include: Sequence[str] = (), exclude: Sequence[str] = ()
    ) -> None:
        if level not in GRANULARITIES:
            raise ValueError(f"unknown granularity {level!r}: sync, line or opcode")
        self.level = level
        self.include = tuple(include)
        self.exclude = tuple(exclude)
        self._traced: dict[str, bool] = {}
        self._lines: dict[int, tuple[CodeType, dict[int, int]]] = {}
        self._tool: int | None = None
        self.thread_hook: Callable[[bool], None] | None = None
        self.monitoring = sys.version_info >= (3, 12)

    def traced(self, filename: str) -> bool:
        """Whether code of ``filename`` is under test (has line or opcode points)."""
        traced = self._traced.get(filename)
        if traced is None:
            kind = code_kind(filename)
            # threadkit's own code never: a point inside a model would split its operation.
            if kind == THREADKIT or any(fnmatch.fnmatch(filename, p) for p in self.exclude):
                traced = False
            elif any(fnmatch.fnmatch(filename, p) for p in self.include):
                traced = True
            else:
                traced = kind == USER
            self._traced[filename] = traced
        return traced

    # -- entering and leaving ----------------------------------------------------------

    def __enter__(self) -> Granularity:
        if self.level == "sync":
            return self
        if not self.monitoring:
            self.thread_hook = self._settrace
            return self
        mon = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
        for tool in _TOOL_IDS:
            if mon.get_tool(tool) is None:
                mon.use_tool_id(tool, "threadkit explore")
                self._tool = tool
                break
        else:
            raise RuntimeError(
                "no free sys.monitoring tool id (3, 4 and 5 are taken) for line or opcode "
                "granularity"
            )
        if self.level == "line":
            mon.register_callback(tool, mon.events.LINE, self._on_line)
            mon.set_events(tool, mon.events.LINE)
        else:
            mon.register_callback(tool, mon.events.INSTRUCTION, self._on_instruction)
            mon.set_events(tool, mon.events.INSTRUCTION)
        mon.restart_events()  # (locations an earlier use disabled)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._tool is not None:
            mon = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
            mon.set_events(self._tool, 0)
            mon.free_tool_id(self._tool)
            self._tool = None

    # -- sys.monitoring (3.12+) ----------------------------------------------------------

    def _on_line(self, code: CodeType, line: int) -> Any:
        if not self.traced(code.co_filename):
            return sys.monitoring.DISABLE  # type: ignore[attr-defined,unused-ignore]
        rt = runtime_here()
        if rt is not None:
            rt.point_at("line", code, line)
        return None

    def _on_instruction(self, code: CodeType, offset: int) -> Any:
        if not self.traced(code.co_filename):
            return sys.monitoring.DISABLE  # type: ignore[attr-defined,unused-ignore]
        rt = runtime_here()
        if rt is not None:
            rt.point_at("op", code, self._line_of(code, offset))
        return None

    def _line_of(self, code: CodeType, offset: int) -> int:
        entry = self._lines.get(id(code))
        if entry is None or entry[0] is not code:
            lines = {}
            for start, end, line in code.co_lines():
                for at in range(start, end, 2):
                    lines[at] = line or 0
            entry = self._lines[id(code)] = (code, lines)
        return entry[1].get(offset, 0)

    # -- sys.settrace (3.11) -------------------------------------------------------------

    def _settrace(self, starting: bool) -> None:
        sys.settrace(self._on_call if starting else None)

    def _on_call(self, frame: FrameType, event: str, arg: object) -> Any:
        if event != "call" or not self.traced(frame.f_code.co_filename):
            return None
        if self.level == "opcode":
            frame.f_trace_opcodes = True
            frame.f_trace_lines = False
        return self._on_event

    def _on_event(self, frame: FrameType, event: str, arg: object) -> Any:
        if event in ("line", "opcode"):
            rt = _runtime._current
            if rt is not None:
                rt.point_at("line" if event == "line" else "op", frame.f_code, frame.f_lineno)
        return self._on_event
