"""threadkit on a dask.distributed cluster: the thread pool's API, one constructor away.

``DaskExecutor()`` (a local cluster of worker processes), ``DaskExecutor(address)`` (a
running scheduler) or ``DaskExecutor(client=client)``: ``submit``, ``map``, ``shutdown``,
``stats()`` and futures that are threadkit futures, as with ``threadkit.futures.
ThreadPoolExecutor``. Needs ``pip install 'threadkit[dask]'``; see docs/distributed.md.
"""

from __future__ import annotations

from ._core import fixup_module_metadata as _fixup
from ._dask import DaskExecutor, DaskFuture

__all__ = ["DaskExecutor", "DaskFuture"]

_fixup(__name__, globals())
del _fixup
