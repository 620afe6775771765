"""Closeable channels and select: one front, several flavors (see ``_protocol.py``)."""

from __future__ import annotations

from ._broadcast import Broadcast, BroadcastStatistics, Subscriber, SubscriberStatistics
from ._errors import ChannelClosed, EndOfChannel, Lagged
from ._front import ChannelStatistics, Receiver, Sender, open_channel
from ._select import Select, select
from ._sources import after, never, tick

__all__ = [
    "Broadcast",
    "BroadcastStatistics",
    "ChannelClosed",
    "ChannelStatistics",
    "EndOfChannel",
    "Lagged",
    "Receiver",
    "Select",
    "Sender",
    "Subscriber",
    "SubscriberStatistics",
    "after",
    "never",
    "open_channel",
    "select",
    "tick",
]
