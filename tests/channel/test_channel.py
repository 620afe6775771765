"""One behaviour suite, run over every channel flavor (after crossbeam-channel's tests/*.rs).

The ``capacity`` fixture runs each test on the rendezvous (0), bounded (1 and 64) and
unbounded (inf) flavors; tests that only make sense for some flavors say so in their name.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections import Counter
from collections.abc import Iterator

import pytest

import threadkit
from conftest import STRESS, Workers, wait_for_waiters, wait_until
from threadkit import ChannelClosed, EndOfChannel, Receiver, Sender, WouldBlock

CAPACITIES = [0, 1, 64, math.inf]


@pytest.fixture(params=CAPACITIES, ids=["zero", "one", "array64", "list"])
def capacity(request: pytest.FixtureRequest) -> float:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def chan(capacity: float) -> Iterator[tuple[Sender[int], Receiver[int]]]:
    tx, rx = threadkit.open_channel(capacity)
    yield tx, rx
    tx.close()
    rx.close()


def waiting_receivers(rx: Receiver[int], n: int) -> None:
    wait_for_waiters(rx, n, field="threads_waiting_receive")


def waiting_senders(tx: Sender[int], n: int) -> None:
    wait_for_waiters(tx, n, field="threads_waiting_send")


def fill(tx: Sender[int], capacity: float) -> int:
    """Fill a bounded buffer; return how many items went in."""
    n = int(capacity) if capacity != math.inf else 10
    for i in range(n):
        tx.try_send(i)
    return n


class TestOpen:
    @pytest.mark.parametrize(
        ("capacity", "exc", "message"),
        [
            (-1, ValueError, r"^capacity must be 0, a positive int or math.inf, not -1$"),
            (1.5, ValueError, r"^capacity must be 0, a positive int or math.inf, not 1.5$"),
            (math.nan, ValueError, r"^capacity must be 0, a positive int or math.inf, not nan$"),
            (-math.inf, ValueError, r"^capacity must be 0, .* not -inf$"),
            ("3", TypeError, r"^capacity must be an int or math.inf, not str$"),
            (True, TypeError, r"^capacity must be an int or math.inf, not bool$"),
        ],
    )
    def test_bad_capacity(self, capacity: object, exc: type[Exception], message: str) -> None:
        with pytest.raises(exc, match=message):
            threadkit.open_channel(capacity)  # type: ignore[arg-type]

    def test_ends_are_made_only_by_open_channel(self) -> None:
        with pytest.raises(TypeError, match=r"^Sender objects are made by threadkit.open_c"):
            Sender()
        with pytest.raises(TypeError, match=r"^Receiver objects are made by threadkit.open_"):
            Receiver()

    def test_integral_float_capacity_is_bounded(self) -> None:
        tx, rx = threadkit.open_channel(2.0)
        with tx, rx:
            assert tx.statistics().capacity == 2


class TestBehaviour:
    def test_smoke(self, chan: tuple[Sender[int], Receiver[int]], capacity: float) -> None:
        tx, rx = chan
        if capacity == 0:
            with Workers(lambda: tx.send(7)):
                assert rx.recv(timeout=10) == 7
        else:
            tx.send(7)
            assert rx.recv() == 7
        with pytest.raises(WouldBlock):
            rx.try_recv()

    def test_capacity_and_statistics(
        self, chan: tuple[Sender[int], Receiver[int]], capacity: float
    ) -> None:
        tx, rx = chan
        s = rx.statistics()
        assert (s.buffer_used, s.capacity, s.open_senders, s.open_receivers) == (0, capacity, 1, 1)
        if capacity == 0:
            with pytest.raises(WouldBlock, match=r"^no receiver is waiting$"):
                tx.try_send(1)
            return
        n = fill(tx, capacity)
        assert tx.statistics().buffer_used == n
        if capacity != math.inf:
            with pytest.raises(WouldBlock, match=r"^the channel is full$"):
                tx.try_send(99)
        assert [rx.try_recv() for _ in range(n)] == list(range(n))
        assert rx.statistics().buffer_used == 0

    def test_try_recv_empty(self, chan: tuple[Sender[int], Receiver[int]], capacity: float) -> None:
        _, rx = chan
        message = "no sender is waiting" if capacity == 0 else "the channel is empty"
        with pytest.raises(WouldBlock, match=f"^{message}$"):
            rx.try_recv()

    def test_try_ops_meet_blocked_partners(
        self, chan: tuple[Sender[int], Receiver[int]], capacity: float
    ) -> None:
        tx, rx = chan
        with Workers(rx.recv) as w:
            waiting_receivers(rx, 1)
            tx.try_send(5)
        assert w.results == [5]
        if capacity == 0:
            with Workers(lambda: tx.send(6)):
                waiting_senders(tx, 1)
                assert rx.try_recv() == 6

    def test_recv_timeout(self, chan: tuple[Sender[int], Receiver[int]]) -> None:
        _, rx = chan
        with pytest.raises(TimeoutError, match=r"^timed out waiting to receive$"):
            rx.recv(timeout=0.01)
        assert rx.statistics().threads_waiting_receive == 0

    def test_send_timeout(self, chan: tuple[Sender[int], Receiver[int]], capacity: float) -> None:
        tx, rx = chan
        if capacity == math.inf:
            tx.send(1, timeout=0)  # never blocks
            assert rx.recv() == 1
            return
        if capacity:
            fill(tx, capacity)
        with pytest.raises(TimeoutError, match=r"^timed out waiting to send$"):
            tx.send(99, timeout=0.01)
        assert tx.statistics().threads_waiting_send == 0
        assert tx.statistics().buffer_used == (0 if capacity == 0 else capacity)

    @pytest.mark.parametrize(
        ("timeout", "message"),
        [
            (-1, r"^timeout must be >= 0, not -1$"),
            (math.nan, r"^timeout must be a number, not NaN$"),
        ],
    )
    def test_bad_timeouts(
        self, chan: tuple[Sender[int], Receiver[int]], timeout: float, message: str
    ) -> None:
        tx, rx = chan
        with pytest.raises(ValueError, match=message):
            rx.recv(timeout=timeout)
        with pytest.raises(ValueError, match=message):
            tx.send(1, timeout=timeout)

    def test_iteration_ends_when_senders_close_and_buffer_drains(
        self, chan: tuple[Sender[int], Receiver[int]]
    ) -> None:
        tx, rx = chan
        tx2 = tx.clone()

        def produce(sender: Sender[int], base: int) -> None:
            with sender:
                for i in range(50):
                    sender.send(base + i)

        with Workers(lambda: produce(tx, 0), lambda: produce(tx2, 1000)):
            got = list(rx)
        assert sorted(got) == [*range(50), *range(1000, 1050)]
        with pytest.raises(EndOfChannel, match=r"^receive on a channel that is closed and drained"):
            rx.recv()

    def test_close_wakes_receivers_with_end_of_channel(
        self, chan: tuple[Sender[int], Receiver[int]]
    ) -> None:
        tx, rx = chan
        ends: list[str] = []

        def receive() -> None:
            with pytest.raises(EndOfChannel):
                rx.recv()
            ends.append("end")

        with Workers(receive, receive):
            waiting_receivers(rx, 2)
            tx.close()
        assert ends == ["end", "end"]

    @pytest.mark.parametrize("capacity", [0, 1, 64])  # an unbounded send never blocks
    def test_close_wakes_senders(
        self, chan: tuple[Sender[int], Receiver[int]], capacity: float
    ) -> None:
        tx, rx = chan
        if capacity:
            fill(tx, capacity)
        unsent: list[int] = []

        def send(item: int) -> None:
            with pytest.raises(ChannelClosed, match=r"^send on a channel whose receivers") as info:
                tx.send(item)
            unsent.append(info.value.item)

        with Workers(lambda: send(100), lambda: send(200)):
            waiting_senders(tx, 2)
            rx.close()
        assert sorted(unsent) == [100, 200]
        assert tx.statistics().buffer_used == 0  # the buffer was dropped

    def test_send_after_close(self, chan: tuple[Sender[int], Receiver[int]]) -> None:
        tx, rx = chan
        rx.close()
        with pytest.raises(
            ChannelClosed, match=r"^send on a channel whose receivers are all closed$"
        ) as info:
            tx.send(42)
        assert info.value.item == 42
        with pytest.raises(ChannelClosed) as info:
            tx.try_send(43)
        assert info.value.item == 43

    def test_use_after_own_close(self, chan: tuple[Sender[int], Receiver[int]]) -> None:
        tx, rx = chan
        tx2 = tx.clone()
        tx.close()
        tx.close()  # idempotent
        with pytest.raises(ChannelClosed, match=r"^send on a closed Sender$") as info:
            tx.send(1)
        assert info.value.item == 1
        with pytest.raises(ChannelClosed, match=r"^clone of a closed Sender$"):
            tx.clone()
        with pytest.raises(ChannelClosed, match=r"^send on a closed Sender$"):
            tx.send_op(1)
        rx.close()
        with pytest.raises(ChannelClosed, match=r"^receive on a closed Receiver$"):
            rx.recv()
        with pytest.raises(ChannelClosed, match=r"^receive on a closed Receiver$"):
            rx.try_recv()
        assert tx.closed
        assert rx.closed
        assert not tx2.closed
        tx2.close()

    @pytest.mark.parametrize("capacity", [1, 64, math.inf])  # a rendezvous buffers nothing
    def test_buffer_drains_after_senders_close(
        self, chan: tuple[Sender[int], Receiver[int]], capacity: float
    ) -> None:
        tx, rx = chan
        n = fill(tx, capacity)
        tx.close()
        assert list(rx) == list(range(n))

    def test_counts_follow_clones(self, chan: tuple[Sender[int], Receiver[int]]) -> None:
        tx, rx = chan
        clones = [tx.clone() for _ in range(3)]
        rclone = rx.clone()
        s = rx.statistics()
        assert (s.open_senders, s.open_receivers) == (4, 2)
        for c in clones:
            c.close()
        rclone.close()
        s = rx.statistics()
        assert (s.open_senders, s.open_receivers) == (1, 1)

    def test_collected_sender_warns_and_closes(self, capacity: float) -> None:
        tx, rx = threadkit.open_channel(capacity)
        with pytest.warns(ResourceWarning, match=r"^unclosed Sender"):
            del tx  # the last reference: collected at once
        with pytest.raises(EndOfChannel):
            rx.recv(timeout=5)
        rx.close()

    def test_collected_receiver_warns_and_fails_sends(self, capacity: float) -> None:
        tx, rx = threadkit.open_channel(capacity)
        with pytest.warns(ResourceWarning, match=r"^unclosed Receiver"):
            del rx
        with pytest.raises(ChannelClosed):
            tx.send(1, timeout=5)
        tx.close()

    def test_collected_while_its_lock_is_held_closes_later(self, capacity: float) -> None:
        """The garbage collector may finalise an end inside a channel operation of the same
        thread, which holds the channel's lock: the close must not deadlock."""
        tx, rx = threadkit.open_channel(capacity)
        tx2 = tx.clone()
        lock = tx._flavor.lock
        with lock, pytest.warns(ResourceWarning, match=r"^unclosed Sender of a channel"):
            del tx2  # finalised here, lock held
        wait_until(lambda: rx.statistics().open_senders == 1, what="the deferred close")
        tx.close()
        with pytest.raises(EndOfChannel):
            rx.recv(timeout=5)
        rx.close()

    def test_closing_a_clone_wakes_the_threads_blocked_on_it(
        self, chan: tuple[Sender[int], Receiver[int]], capacity: float
    ) -> None:
        tx, rx = chan
        rx2 = rx.clone()

        def blocked() -> None:
            with pytest.raises(ChannelClosed, match=r"^receive on a closed Receiver$"):
                rx2.recv(timeout=10)

        with Workers(blocked, lambda: rx.recv(timeout=10)) as w:
            waiting_receivers(rx, 2)
            rx2.close()  # rx stays open: the channel does not end
            waiting_receivers(rx, 1)  # the other receiver waits on
            if capacity == 0:
                with Workers(lambda: tx.send(5)):
                    pass
            else:
                tx.send(5)
        assert w.results[1] == 5

    @pytest.mark.parametrize("capacity", [0, 1])  # an unbounded send never blocks
    def test_closing_a_sender_clone_wakes_its_blocked_send(self, capacity: float) -> None:
        tx, rx = threadkit.open_channel(capacity)
        tx2 = tx.clone()
        if capacity:
            tx.send(0)

        def blocked() -> None:
            with pytest.raises(ChannelClosed, match=r"^send on a closed Sender$") as info:
                tx2.send(7, timeout=10)
            assert info.value.item == 7

        with Workers(blocked):
            waiting_senders(tx, 1)
            tx2.close()
        assert not rx.ended
        tx.close()
        assert list(rx) == ([0] if capacity else [])
        rx.close()

    def test_dropping_a_receiver_after_recv_op_closes_at_once(self, capacity: float) -> None:
        tx, rx = threadkit.open_channel(capacity)
        rx.recv_op()
        with pytest.warns(ResourceWarning):
            del rx  # no reference cycle through the op: finalised here
        with pytest.raises(ChannelClosed):
            tx.send(1, timeout=5)
        tx.close()

    def test_collected_end_closes_even_if_the_warning_raises(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        tx, rx = threadkit.open_channel(math.inf)
        unraisable: list[object] = []
        monkeypatch.setattr("sys.unraisablehook", unraisable.append)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            del tx
        assert len(unraisable) == 1
        assert rx.ended
        rx.close()

    def test_repr(self, chan: tuple[Sender[int], Receiver[int]], capacity: float) -> None:
        tx, rx = chan
        assert repr(tx) == (
            f"<threadkit.Sender (open) capacity={capacity} buffered=0 senders=1 receivers=1>"
        )
        rx.close()
        assert repr(rx).startswith("<threadkit.Receiver (closed)")

    def test_spsc_order(self, chan: tuple[Sender[int], Receiver[int]]) -> None:
        tx, rx = chan
        count = 2000 * STRESS

        def produce() -> None:
            with tx:
                for i in range(count):
                    tx.send(i)

        with Workers(produce):
            got = list(rx)
        assert got == list(range(count))

    @pytest.mark.timeout(120)
    def test_mpmc_stress_no_item_lost_or_duplicated(self, capacity: float) -> None:
        producers, consumers, per = 4, 4, 2000 * STRESS
        tx, rx = threadkit.open_channel(capacity)
        senders = [tx.clone() for _ in range(producers)]
        receivers = [rx.clone() for _ in range(consumers)]
        tx.close()
        rx.close()
        results: list[list[int]] = [[] for _ in range(consumers)]

        def produce(sender: Sender[int], base: int) -> None:
            with sender:
                for i in range(per):
                    sender.send(base + i)

        def consume(receiver: Receiver[int], out: list[int]) -> None:
            with receiver:
                out.extend(receiver)

        fns = [lambda s=s, i=i: produce(s, i * per) for i, s in enumerate(senders)]
        fns += [lambda r=r, o=o: consume(r, o) for r, o in zip(receivers, results, strict=True)]
        with Workers(*fns, timeout=100):
            pass
        everything = sorted(x for out in results for x in out)
        assert everything == list(range(producers * per))

    def test_fairness_between_receivers(self, chan: tuple[Sender[int], Receiver[int]]) -> None:
        """Blocked receivers are served oldest first: two of them share the items."""
        tx, rx = chan
        rx2 = rx.clone()
        count = 200
        hits: Counter[str] = Counter()

        def consume(receiver: Receiver[int], name: str) -> None:
            for _ in receiver:
                hits[name] += 1

        with Workers(lambda: consume(rx, "a"), lambda: consume(rx2, "b")):
            for i in range(count):
                waiting_receivers(rx, 2)  # both blocked: the next item goes to the older
                tx.send(i)
            tx.close()
        rx2.close()
        assert sum(hits.values()) == count
        assert min(hits.values()) >= count // 2 // 2, hits


class TestRendezvous:
    def test_send_blocks_until_received(self) -> None:
        tx, rx = threadkit.open_channel(0)
        done = threading.Event()

        def send() -> None:
            tx.send(1)
            done.set()

        with Workers(send):
            waiting_senders(tx, 1)
            assert not done.is_set()
            assert rx.recv() == 1
        assert done.is_set()
        tx.close()
        rx.close()

    def test_senders_served_in_order(self) -> None:
        tx, rx = threadkit.open_channel(0)
        with Workers(lambda: tx.send(1)):
            waiting_senders(tx, 1)
            with Workers(lambda: tx.send(2)):
                waiting_senders(tx, 2)
                assert [rx.recv(), rx.recv()] == [1, 2]
        tx.close()
        rx.close()


class TestBounded:
    def test_receive_wakes_a_blocked_sender(self) -> None:
        tx, rx = threadkit.open_channel(1)
        tx.send(1)
        with Workers(lambda: tx.send(2)):
            waiting_senders(tx, 1)
            assert rx.recv() == 1
        assert rx.recv() == 2
        tx.close()
        rx.close()


def test_generic_ends_are_typed() -> None:
    tx: Sender[int]
    rx: Receiver[int]
    tx, rx = threadkit.open_channel(1)
    with tx, rx:
        tx.send(1)
        value: int = rx.recv()
        assert value == 1
