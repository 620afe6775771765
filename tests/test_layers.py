"""Keep threadkit's layering: one OS shim, and a self-contained ``_core``.

* Only ``_core/_primitives.py`` may import ``_thread``, ``threading`` or ``time`` (so the
  explorer and the deadlock detector can swap the OS primitives in one place).
* Nothing in ``_core`` imports from outside ``_core``.

The source is parsed, not run, so imports inside functions count too and a docstring that
mentions ``import time`` does not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import threadkit

PACKAGE = Path(threadkit.__file__).resolve().parent
CORE = PACKAGE / "_core"
SHIM = CORE / "_primitives.py"
OS_MODULES = frozenset({"_thread", "threading", "time"})


def _sources(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def os_imports(source: str) -> list[str]:
    """Return the OS modules (``_thread``, ``threading``, ``time``) that ``source`` imports."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.extend(n for n in names if n.split(".")[0] in OS_MODULES)
    return found


def outside_core_imports(source: str) -> list[str]:
    """Return the imports of ``source`` (a ``_core`` module) that reach outside ``_core``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level >= 2:
                found.append("." * node.level + (node.module or ""))
            elif node.level == 0 and node.module and node.module.split(".")[0] == "threadkit":
                if not node.module.startswith("threadkit._core"):
                    found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(
                alias.name
                for alias in node.names
                if alias.name.split(".")[0] == "threadkit"
                and not alias.name.startswith("threadkit._core")
            )
    return found


def test_sources_are_found() -> None:
    files = _sources(PACKAGE)
    assert SHIM in files
    assert PACKAGE / "_sync.py" in files
    assert len(_sources(CORE)) >= 5


def test_only_the_shim_imports_thread_threading_or_time() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): imports
        for path in _sources(PACKAGE)
        if (imports := os_imports(path.read_text(encoding="utf-8")))
    }
    # The shim must import them (or this test checks nothing), and nobody else may.
    assert sorted(offenders.pop(str(SHIM.relative_to(PACKAGE)))) == sorted(OS_MODULES)
    assert offenders == {}


def test_core_imports_nothing_from_outside_core() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): imports
        for path in _sources(CORE)
        if (imports := outside_core_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import time", ["time"]),
        ("import time as _t", ["time"]),
        ("from time import monotonic", ["time"]),
        ("import os, threading", ["threading"]),
        ("from threading import Lock as L", ["threading"]),
        ("import _thread", ["_thread"]),
        ("from _thread import allocate_lock", ["_thread"]),
        ("def f():\n    import time\n", ["time"]),
        ("import timeit", []),
        ("from . import _primitives", []),
        ("from .time import x", []),
        ('"""import time"""', []),
        ("import threadkit", []),
    ],
)
def test_os_import_check_catches_every_form(source: str, expected: list[str]) -> None:
    assert os_imports(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from .. import _sync", [".."]),
        ("from .._sync import Event", [".._sync"]),
        ("from threadkit import Event", ["threadkit"]),
        ("from threadkit._sync import Event", ["threadkit._sync"]),
        ("import threadkit._threads", ["threadkit._threads"]),
        ("from . import _clock", []),
        ("from ._clock import MockClock", []),
        ("from threadkit._core import _clock", []),
        ("import heapq", []),
    ],
)
def test_outside_core_check_catches_every_form(source: str, expected: list[str]) -> None:
    assert outside_core_imports(source) == expected
