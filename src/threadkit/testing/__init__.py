"""Testing tools: ``threadkit.testing.explore``, the interleaving explorer."""

from __future__ import annotations

from . import explore

__all__ = ["explore"]
