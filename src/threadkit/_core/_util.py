"""Small helpers shared by the feature modules."""

from __future__ import annotations

import os

from . import _primitives

__all__ = ["describe_thread", "fixup_module_metadata", "in_threadkit", "python_command"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_TOUR = _PACKAGE + "_tour.py"  # the tour's demo code is user code, not threadkit's


def in_threadkit(filename: str) -> bool:
    """Whether code of ``filename`` is threadkit's own implementation (what reports of
    where a user's call came from skip: a wrapper, a Mutex method, the explorer's models)."""
    return filename.startswith(_PACKAGE) and filename != _TOUR


def python_command(start: str) -> str:
    """How to name the running interpreter in a command to paste in ``start``: its bare
    name when that is what the PATH finds, else its path (relative when under ``start``)."""
    import shutil
    import sys

    executable = sys.executable
    name = os.path.basename(executable)
    found = shutil.which(name)
    if found is not None and os.path.realpath(found) == os.path.realpath(executable):
        return name
    relative = os.path.relpath(executable, start)
    return executable if relative.startswith("..") else relative


def fixup_module_metadata(module_name: str, namespace: dict[str, object]) -> None:
    """Make public objects say ``threadkit.X`` (not ``threadkit._sync.X``) in reprs and pickles.

    After trio's ``_util.fixup_module_metadata``: only objects defined inside threadkit are
    touched, and only their ``__module__``.
    """
    for name, obj in namespace.items():
        if name.startswith("_") or getattr(obj, "__name__", name) != name:
            continue  # private, or another name for it (threadkit.Lock when it is TracedLock)
        mod = getattr(obj, "__module__", None)
        if isinstance(mod, str) and mod.startswith("threadkit.") and isinstance(obj, type):
            obj.__module__ = module_name


def describe_thread(thread: _primitives.StdThread | None) -> str:
    """Name a thread for a message: its name, ident, and whether it has exited."""
    if thread is None:
        return "no thread"
    gone = "" if thread.is_alive() else ", exited"
    return f"thread {thread.name!r} (ident {thread.ident}{gone})"
