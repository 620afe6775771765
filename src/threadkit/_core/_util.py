"""Small helpers shared by the feature modules."""

from __future__ import annotations

from . import _primitives

__all__ = ["fixup_module_metadata", "thread_name"]


def fixup_module_metadata(module_name: str, namespace: dict[str, object]) -> None:
    """Make public objects say ``threadkit.X`` (not ``threadkit._sync.X``) in reprs and pickles.

    After trio's ``_util.fixup_module_metadata``: only objects defined inside threadkit are
    touched, and only their ``__module__``.
    """
    for name, obj in namespace.items():
        if name.startswith("_"):
            continue
        mod = getattr(obj, "__module__", None)
        if isinstance(mod, str) and mod.startswith("threadkit.") and isinstance(obj, type):
            obj.__module__ = module_name


def thread_name(ident: int | None) -> str:
    """Describe the thread with identifier ``ident`` for an error message."""
    if ident is None:
        return "no thread"
    for thread in _primitives.enumerate_threads():
        if thread.ident == ident:
            return f"thread {thread.name!r} (ident {ident})"
    return f"a thread that has exited (ident {ident})"
