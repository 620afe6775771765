"""The outcomes of channel operations, one class each."""

from __future__ import annotations

from typing import Any

__all__ = ["ChannelClosed", "EndOfChannel", "Lagged"]


class ChannelClosed(Exception):  # noqa: N818 - an outcome, like trio's ClosedResourceError
    """Raised by an operation on a closed end, or a send that no receiver can ever take.

    A failed send hands its item back: ``item`` holds it (None for a receive), so nothing is
    lost.

    Examples:
        >>> import threadkit
        >>> tx, rx = threadkit.open_channel(1)
        >>> rx.close()  # no receiver left: no send can ever be taken
        >>> tx.send("lost?")
        Traceback (most recent call last):
          ...
        threadkit.ChannelClosed: ...
        >>> tx.close()
    """

    def __init__(self, message: str, item: Any = None) -> None:
        super().__init__(message)
        self.item = item


class EndOfChannel(Exception):  # noqa: N818 - trio's name for the same outcome
    """Raised by a receive once every sender is closed and the buffer is drained.

    Examples:
        >>> import threadkit
        >>> tx, rx = threadkit.open_channel(1)
        >>> tx.send("last"); tx.close()
        >>> rx.recv()
        'last'
        >>> rx.recv()
        Traceback (most recent call last):
          ...
        threadkit.EndOfChannel: ...
        >>> rx.close()
    """


class Lagged(Exception):  # noqa: N818 - tokio's name for the same outcome
    """Raised once by a broadcast receive that fell behind: ``missed`` items were overwritten.

    The subscriber then continues with the oldest item still buffered.

    Examples:
        >>> import threadkit
        >>> b = threadkit.Broadcast(1)
        >>> sub = b.subscribe()
        >>> b.send("a"); b.send("b")  # "a" is overwritten before sub gets it
        >>> sub.recv()
        Traceback (most recent call last):
          ...
        threadkit.Lagged: fell behind: 1 item missed
        >>> sub.recv()
        'b'
        >>> sub.close(); b.close()
    """

    def __init__(self, missed: int) -> None:
        super().__init__(f"fell behind: {missed} item{'s' if missed != 1 else ''} missed")
        self.missed = missed
