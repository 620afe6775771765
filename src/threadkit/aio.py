"""threadkit for asyncio: await threadkit's primitives from any event loop, threads alongside.

Every blocking call has an awaitable twin, usable from coroutines on any number of event
loops and from plain threads at once on the same objects::

    item = await aio.recv(rx)            # rx.recv()
    await aio.send(tx, item)             # tx.send(item)
    await aio.wait(event)                # event.wait()
    async with aio.locked(mutex): ...    # with mutex: ... (Mutex, Semaphore, ...)
    async with aio.holding(rw.read_op(), rw.release_read): ...  # any op + its release
    value = await aio.result(future)     # future.result()
    index, value = await aio.select(rx1.recv_op(), event.wait_op())
    value = await aio.perform(op)        # any select operation

``to_thread(fn, *args)`` runs a call in a thread whose cancel scope follows the awaiting
task's cancellation; ``Portal``/``from_thread.run`` let a plain thread run a coroutine on a
loop and wait for it. See docs/aio.md.
"""

from __future__ import annotations

from ._aio import (
    Lockable,
    Portal,
    acquire,
    from_thread,
    holding,
    locked,
    perform,
    recv,
    release,
    result,
    select,
    send,
    start_portal,
    to_thread,
    wait,
)
from ._core import fixup_module_metadata as _fixup

__all__ = [
    "Lockable",
    "Portal",
    "acquire",
    "from_thread",
    "holding",
    "locked",
    "perform",
    "recv",
    "release",
    "result",
    "select",
    "send",
    "start_portal",
    "to_thread",
    "wait",
]

_fixup(__name__, globals())
