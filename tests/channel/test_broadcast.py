"""``Broadcast``: every subscriber gets every item; a slow one is told what it missed."""

from __future__ import annotations

import math

import pytest

import threadkit
from conftest import STRESS, Workers, wait_for_waiters
from threadkit import (
    Broadcast,
    ChannelClosed,
    EndOfChannel,
    Lagged,
    Subscriber,
    SubscriberStatistics,
    WouldBlock,
)


class TestBroadcast:
    @pytest.mark.parametrize(
        ("capacity", "exc", "message"),
        [
            (0, ValueError, r"^capacity must be >= 1, not 0$"),
            (1.0, TypeError, r"^capacity must be an int, not float$"),
            (math.inf, TypeError, r"^capacity must be an int, not float$"),
        ],
    )
    def test_bad_capacity(self, capacity: object, exc: type[Exception], message: str) -> None:
        with pytest.raises(exc, match=message):
            Broadcast(capacity)  # type: ignore[arg-type]

    def test_every_subscriber_gets_every_item(self) -> None:
        b: Broadcast[int] = Broadcast(8)
        subs = [b.subscribe() for _ in range(3)]
        for i in range(5):
            b.send(i)
        b.close()
        assert [list(s) for s in subs] == [list(range(5))] * 3

    def test_subscriber_starts_at_subscription(self) -> None:
        b: Broadcast[int] = Broadcast(8)
        b.send(1)
        late = b.subscribe()
        b.send(2)
        assert late.try_recv() == 2
        with pytest.raises(WouldBlock, match=r"^no new item$"):
            late.try_recv()

    def test_lagged_once_then_continues(self) -> None:
        b: Broadcast[int] = Broadcast(3)
        slow = b.subscribe()
        for i in range(10):
            b.send(i)
        assert slow.statistics() == SubscriberStatistics(pending=3, missed=7, closed=False)
        assert repr(slow) == "<threadkit.Subscriber (open) pending=3 missed=7>"
        with pytest.raises(Lagged, match=r"^fell behind: 7 items missed$") as info:
            slow.recv()
        assert info.value.missed == 7
        assert [slow.recv(), slow.recv(), slow.recv()] == [7, 8, 9]

    def test_blocked_subscribers_are_woken_by_send(self) -> None:
        b: Broadcast[str] = Broadcast(4)
        subs = [b.subscribe() for _ in range(3)]
        with Workers(*(lambda s=s: s.recv(timeout=10) for s in subs)) as w:
            wait_for_waiters(b, 3)
            b.send("hi")
        assert w.results == ["hi"] * 3

    def test_close_wakes_subscribers_with_end_of_channel(self) -> None:
        b: Broadcast[int] = Broadcast(4)
        sub = b.subscribe()

        def receive() -> None:
            with pytest.raises(EndOfChannel, match=r"^receive on a Broadcast that is closed"):
                sub.recv(timeout=10)

        with Workers(receive):
            wait_for_waiters(b, 1)
            b.close()

    def test_send_and_subscribe_after_close(self) -> None:
        b: Broadcast[int] = Broadcast(4)
        b.close()
        b.close()  # idempotent
        with pytest.raises(ChannelClosed, match=r"^send on a closed Broadcast$") as info:
            b.send(5)
        assert info.value.item == 5
        with pytest.raises(ChannelClosed, match=r"^subscribe to a closed Broadcast$"):
            b.subscribe()

    def test_unsubscribe(self) -> None:
        with Broadcast[int](2) as b:
            sub = b.subscribe()
            assert b.statistics().subscribers == 1
            with sub:
                pass
            sub.close()
            assert b.statistics().subscribers == 0
            with pytest.raises(ChannelClosed, match=r"^receive on a closed Subscriber$"):
                sub.try_recv()
        assert b.statistics().closed

    def test_closing_a_subscriber_wakes_its_blocked_recv(self) -> None:
        b: Broadcast[int] = Broadcast(2)
        sub = b.subscribe()

        def blocked() -> None:
            with pytest.raises(ChannelClosed, match=r"^receive on a closed Subscriber$"):
                sub.recv(timeout=10)

        with Workers(blocked):
            wait_for_waiters(b, 1)
            sub.close()
        assert b.statistics().threads_waiting == 0

    def test_statistics_and_repr(self) -> None:
        b: Broadcast[int] = Broadcast(2)
        b.subscribe()
        for i in range(3):
            b.send(i)
        s = b.statistics()
        assert (s.capacity, s.buffered, s.sent, s.subscribers, s.closed) == (2, 2, 3, 1, False)
        assert repr(b) == "<threadkit.Broadcast (open) capacity=2 buffered=2 subscribers=1>"

    def test_made_only_by_subscribe(self) -> None:
        with pytest.raises(TypeError, match=r"^Subscriber objects are made by Broadcast"):
            Subscriber()

    def test_recv_timeout(self) -> None:
        sub = Broadcast[int](2).subscribe()
        with pytest.raises(TimeoutError, match=r"^timed out waiting to receive$"):
            sub.recv(timeout=0.01)

    def test_select_recv_op(self) -> None:
        b: Broadcast[int] = Broadcast(2)
        sub = b.subscribe()
        with Workers(lambda: threadkit.select(sub.recv_op(), timeout=10)) as w:
            wait_for_waiters(b, 1)
            b.send(3)
        assert w.results == [(0, 3)]
        assert threadkit.select(sub.recv_op(), default=True) == (-1, None)

    @pytest.mark.timeout(120)
    def test_stress_each_subscriber_sees_a_gapless_tail(self) -> None:
        """Under load each subscriber sees increasing items; gaps are exactly the Lagged counts."""
        count = 5000 * STRESS
        b: Broadcast[int] = Broadcast(16)
        subs = [b.subscribe() for _ in range(3)]

        def consume(sub: Subscriber[int]) -> int:
            expected = 0
            while True:
                try:
                    item = sub.recv(timeout=30)
                except Lagged as lag:
                    expected += lag.missed
                    continue
                except EndOfChannel:
                    return expected
                assert item == expected
                expected += 1

        def produce() -> None:
            for i in range(count):
                b.send(i)
            b.close()

        with Workers(produce, *(lambda s=s: consume(s) for s in subs)) as w:
            pass
        assert w.results[1:] == [count] * 3
