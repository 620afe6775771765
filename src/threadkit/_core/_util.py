"""Small helpers shared by the feature modules."""

from __future__ import annotations

from . import _primitives

__all__ = ["describe_thread", "fixup_module_metadata"]


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
