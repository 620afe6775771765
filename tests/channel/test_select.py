"""``select`` and ``Select`` over every kind of operation.

The rule checked throughout: exactly one operation takes effect; one that is not taken has
no effect (no item consumed, no permit or lock taken).
"""

from __future__ import annotations

import functools
import math
import random
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

import threadkit
from conftest import STRESS, Workers, wait_for_waiters, wait_until
from threadkit import (
    ChannelClosed,
    EndOfChannel,
    MockClock,
    Receiver,
    Select,
    SelectOp,
    Sender,
    WouldBlock,
    after,
    never,
    select,
    tick,
)


@pytest.fixture
def two() -> Iterator[tuple[tuple[Sender[int], Receiver[int]], tuple[Sender[int], Receiver[int]]]]:
    a = threadkit.open_channel(math.inf)
    b = threadkit.open_channel(math.inf)
    yield a, b
    for end in (*a, *b):
        end.close()


def selecting(rx: Receiver[int], n: int = 1) -> None:
    """Wait until ``n`` select arms (or receivers) are parked on ``rx``'s channel."""
    wait_for_waiters(rx, n, field="threads_waiting_receive")


class TestArguments:
    def test_needs_an_operation(self) -> None:
        with pytest.raises(ValueError, match=r"^select\(\) needs at least one operation$"):
            select()

    def test_rejects_what_is_not_an_operation(self) -> None:
        with pytest.raises(TypeError, match=r"^select operation 1 must be a SelectOp .* not int$"):
            select(never(), 3)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("timeout", "message"),
        [
            (-1, r"^timeout must be >= 0, not -1$"),
            (math.nan, r"^timeout must be a number, not NaN$"),
        ],
    )
    def test_bad_timeout(self, timeout: float, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            select(never(), timeout=timeout)

    @pytest.mark.parametrize("count", [1, 2, 3])
    def test_timeout_is_checked_even_when_an_operation_is_ready(self, count: int) -> None:
        ops = [after(0) for _ in range(count)]
        with pytest.raises(ValueError, match=r"^timeout must be >= 0, not -1$"):
            select(*ops, timeout=-1)
        with pytest.raises(TypeError, match=r"^timeout must be a number or None, not str$"):
            select(*ops, timeout="soon")  # type: ignore[arg-type]

    def test_timeout(self) -> None:
        with pytest.raises(TimeoutError, match=r"^timed out waiting on select$"):
            select(never(), timeout=0.01)

    def test_default_returns_at_once(self, two) -> None:  # type: ignore[no-untyped-def]
        (_, rx1), (_, rx2) = two
        assert select(rx1.recv_op(), rx2.recv_op(), default=True) == (-1, None)

    @pytest.mark.parametrize("bad", [-1, math.nan])
    def test_sources_validate(self, bad: float) -> None:
        with pytest.raises(ValueError, match=r"^delay must be"):
            after(bad)
        with pytest.raises(ValueError, match=r"^interval must be"):
            tick(bad)
        with pytest.raises(ValueError, match=r"^interval must be > 0, not 0$"):
            tick(0)


class TestChoice:
    def test_takes_the_ready_one(self, two) -> None:  # type: ignore[no-untyped-def]
        (_, rx1), (tx2, rx2) = two
        tx2.send(5)
        assert select(rx1.recv_op(), rx2.recv_op()) == (1, 5)

    def test_not_taken_means_no_effect(self, two) -> None:  # type: ignore[no-untyped-def]
        (tx1, rx1), (tx2, rx2) = two
        tx1.send(1)
        tx2.send(2)
        index, value = select(rx1.recv_op(), rx2.recv_op())
        assert value == index + 1
        other = (rx2, rx1)[index]
        assert other.statistics().buffer_used == 1
        assert other.try_recv() == 2 - index

    def test_biased_takes_the_first_ready(self, two) -> None:  # type: ignore[no-untyped-def]
        (tx1, rx1), (tx2, rx2) = two
        for _ in range(20):
            tx1.send(1)
            tx2.send(2)
            assert select(rx2.recv_op(), rx1.recv_op(), biased=True) == (0, 2)
            assert rx1.try_recv() == 1

    def test_fair_among_ready(self, two) -> None:  # type: ignore[no-untyped-def]
        (tx1, rx1), (tx2, rx2) = two
        count = 1000
        hits: Counter[int] = Counter()
        tx1.send(1)
        tx2.send(2)
        for _ in range(count):
            index, _ = select(rx1.recv_op(), rx2.recv_op())
            hits[index] += 1
            (tx1, tx2)[index].send(index + 1)  # both stay ready
        assert min(hits[0], hits[1]) >= count // 2 // 2, hits

    def test_seeded_choice_is_reproducible(self, two) -> None:  # type: ignore[no-untyped-def]
        (tx1, rx1), (tx2, rx2) = two
        tx1.send(1)
        tx2.send(2)

        def run(seed: int) -> list[int]:
            picks = []
            with threadkit.use_random(random.Random(seed)):
                for _ in range(50):
                    index, _ = select(rx1.recv_op(), rx2.recv_op())
                    picks.append(index)
                    (tx1, tx2)[index].send(index + 1)
            return picks

        assert run(7) == run(7)
        assert run(7) != run(8)
        rng = random.Random(3)
        first = [select(rx1.recv_op(), rx2.recv_op(), rng=rng)[0] for _ in range(1)]
        (tx1, tx2)[first[0]].send(first[0] + 1)
        rng = random.Random(3)
        assert select(rx1.recv_op(), rx2.recv_op(), rng=rng)[0] == first[0]


class TestBlocking:
    def test_wakes_for_a_later_send(self, two) -> None:  # type: ignore[no-untyped-def]
        (_tx1, rx1), (tx2, rx2) = two
        with Workers(lambda: select(rx1.recv_op(), rx2.recv_op(), timeout=10)) as w:
            selecting(rx2)
            tx2.send(9)
        assert w.results == [(1, 9)]
        assert rx1.statistics().threads_waiting_receive == 0  # every arm was unregistered

    def test_losing_arm_leaves_the_item(self, two) -> None:  # type: ignore[no-untyped-def]
        (tx1, rx1), (tx2, rx2) = two
        with Workers(lambda: select(rx1.recv_op(), rx2.recv_op(), timeout=10)) as w:
            selecting(rx1)
            selecting(rx2)
            tx1.send(1)
        tx2.send(2)
        assert w.results == [(0, 1)]
        assert rx2.try_recv() == 2
        with pytest.raises(WouldBlock):
            rx1.try_recv()

    def test_a_fired_select_passes_the_wake_up_on(self, two) -> None:  # type: ignore[no-untyped-def]
        """Two items, one select and one plain receiver on the same channel: both get one."""
        (tx1, rx1), (_, rx2) = two
        with Workers(
            lambda: select(rx1.recv_op(), rx2.recv_op(), timeout=10), lambda: rx1.recv(timeout=10)
        ) as w:
            selecting(rx1, 2)
            tx1.send(1)
            tx1.send(2)
        assert sorted([w.results[0][1], w.results[1]]) == [1, 2]  # type: ignore[index]

    def test_an_op_keeps_its_receiver_alive(self, two) -> None:  # type: ignore[no-untyped-def]
        (tx1, rx1), _ = two
        tx1.send(5)
        with pytest.warns(ResourceWarning, match=r"^unclosed Receiver"):
            assert select(rx1.clone().recv_op(), timeout=5) == (0, 5)  # the clone is not closed

    def test_close_ends_a_blocked_select(self, two) -> None:  # type: ignore[no-untyped-def]
        (tx1, rx1), (_, rx2) = two
        errors: list[BaseException] = []

        def run() -> None:
            try:
                select(rx1.recv_op(), rx2.recv_op(), timeout=10)
            except EndOfChannel as exc:
                errors.append(exc)

        with Workers(run):
            selecting(rx1)
            tx1.close()
        assert len(errors) == 1
        assert "raised by select operation 0 (<recv_op()>)" in errors[0].__notes__

    def test_timeout_unregisters(self, two) -> None:  # type: ignore[no-untyped-def]
        (tx1, rx1), (_, rx2) = two
        with pytest.raises(TimeoutError):
            select(rx1.recv_op(), rx2.recv_op(), timeout=0.01)
        assert rx1.statistics().threads_waiting_receive == 0
        assert rx2.statistics().threads_waiting_receive == 0
        tx1.send(1)
        assert rx1.try_recv() == 1


class TestRendezvous:
    def test_select_send_meets_plain_receiver(self) -> None:
        tx, rx = threadkit.open_channel(0)
        with Workers(lambda: rx.recv(timeout=10)) as w:
            selecting(rx)
            assert select(tx.send_op(3), timeout=10) == (0, None)
        assert w.results == [3]
        tx.close()
        rx.close()

    def test_select_against_select(self) -> None:
        tx, rx = threadkit.open_channel(0)
        with Workers(lambda: select(rx.recv_op(), after(10))) as w:
            selecting(rx)
            assert select(tx.send_op(4), after(10)) == (0, None)
        assert w.results == [(0, 4)]
        tx.close()
        rx.close()

    def test_only_the_taken_send_happens(self) -> None:
        a_tx, a_rx = threadkit.open_channel(0)
        b_tx, b_rx = threadkit.open_channel(0)
        with Workers(lambda: select(a_tx.send_op(1), b_tx.send_op(2), timeout=10)) as w:
            wait_for_waiters(a_tx, 1, field="threads_waiting_send")
            wait_for_waiters(b_tx, 1, field="threads_waiting_send")
            assert b_rx.recv(timeout=10) == 2
        assert w.results == [(1, None)]
        with pytest.raises(WouldBlock):
            a_rx.try_recv()  # the other send did not happen
        for end in (a_tx, a_rx, b_tx, b_rx):
            end.close()

    def test_send_op_on_closed_channel_hands_the_item_back(self) -> None:
        tx, rx = threadkit.open_channel(0)
        rx.close()
        with pytest.raises(ChannelClosed) as info:
            select(tx.send_op(8))
        assert info.value.item == 8
        tx.close()


class TestOps:
    def test_bounded_send_op(self) -> None:
        tx, rx = threadkit.open_channel(1)
        tx.send(1)
        with Workers(lambda: select(tx.send_op(2), timeout=10)) as w:
            wait_for_waiters(tx, 1, field="threads_waiting_send")
            assert rx.recv() == 1
        assert w.results == [(0, None)]
        assert rx.recv() == 2
        tx.close()
        rx.close()

    def test_queue_get_and_put_ops_not_taken_have_no_effect(self) -> None:
        import threadkit.queue

        source: threadkit.queue.Queue[int] = threadkit.queue.Queue()
        sink: threadkit.queue.Queue[int] = threadkit.queue.Queue(maxsize=1)
        source.put(1)
        index, value = select(source.get_op(), sink.put_op(2), biased=True)
        assert (index, value) == (0, 1)
        assert sink.qsize() == 0  # the put was not taken
        index, value = select(source.get_op(), sink.put_op(2), biased=True)
        assert (index, value) == (1, None)  # nothing to get: the put goes in
        assert sink.get_nowait() == 2
        with Workers(lambda: select(source.get_op(), timeout=10)) as w:
            wait_for_waiters(source, 1)
            source.put(3)
        assert w.results == [(0, 3)]
        source.shutdown()
        with pytest.raises(threadkit.queue.ShutDown):
            select(source.get_op())

    def test_event_wait_op(self) -> None:
        event = threadkit.Event()
        with Workers(lambda: select(event.wait_op(), timeout=10)) as w:
            wait_for_waiters(event, 1)
            event.set()
        assert w.results == [(0, True)]
        assert select(event.wait_op()) == (0, True)

    def test_event_set_then_cleared_still_fires_the_select(self) -> None:
        """As wait() returns True for a set() it slept through, so does the select."""
        event = threadkit.Event()
        with Workers(lambda: event.wait(10), lambda: select(event.wait_op(), timeout=10)) as w:
            wait_for_waiters(event, 2)
            event.set()
            event.clear()
        assert w.results == [True, (0, True)]

    def test_semaphore_acquire_op_not_taken_keeps_the_unit(self, two) -> None:  # type: ignore[no-untyped-def]
        (tx1, rx1), _ = two
        sem = threadkit.Semaphore(0)
        with Workers(lambda: select(sem.acquire_op(), rx1.recv_op(), timeout=10)) as w:
            wait_for_waiters(sem, 1)
            selecting(rx1)
            tx1.send(1)
        assert w.results == [(1, 1)]
        sem.release()
        assert sem.value == 1  # the losing arm took nothing
        assert select(sem.acquire_op()) == (0, True)
        assert sem.value == 0

    def test_semaphore_acquire_op_wakes_on_release(self) -> None:
        sem = threadkit.Semaphore(0)
        with Workers(lambda: select(sem.acquire_op(), timeout=10)) as w:
            wait_for_waiters(sem, 1)
            sem.release()
        assert w.results == [(0, True)]
        assert sem.value == 0

    def test_mutex_acquire_op(self) -> None:
        mutex = threadkit.Mutex()
        mutex.acquire()
        owner: list[object] = []

        def take() -> object:
            result = select(mutex.acquire_op(), timeout=10)
            owner.append(mutex.owner)
            mutex.release()
            return result

        with Workers(take) as w:
            wait_for_waiters(mutex, 1)
            mutex.release()
        assert w.results == [(0, True)]
        assert owner == [w.threads[0]]
        mutex.acquire()
        with pytest.raises(threadkit.DeadlockError, match=r"selecting on acquire_op\(\) would"):
            select(mutex.acquire_op())
        mutex.release()

    def test_thread_join_op(self) -> None:
        go = threading.Event()
        t = threadkit.Thread(target=lambda: go.wait(10) and 42)
        with pytest.raises(RuntimeError, match=r"^cannot join thread before it is started$"):
            t.join_op()
        t.start()
        assert select(t.join_op(), default=True) == (-1, None)
        go.set()
        assert select(t.join_op(), timeout=10) == (0, None)
        assert t.result(timeout=10) == 42

    def test_after_fires_once(self) -> None:
        op = after(0)
        index, when = select(op)
        assert index == 0
        assert isinstance(when, float)
        assert select(op, default=True) == (-1, None)

    def test_after_and_tick_in_virtual_time(self) -> None:
        clock = MockClock()
        with threadkit.use_clock(clock):
            ticker = tick(1.0)
            deadline = after(2.5)
            tx, rx = threadkit.open_channel(math.inf)
            fired: list[int] = []

            def run() -> None:
                while True:
                    index, _ = select(ticker, deadline, rx.recv_op())
                    fired.append(index)
                    if index == 1:
                        return

            with Workers(run):
                for expected in ([0], [0, 0], [0, 0, 1]):
                    wait_until(lambda: clock.pending() >= 1)
                    clock.advance(1.0 if len(expected) < 3 else 0.5)
                    wait_until(lambda e=expected: fired == e)  # type: ignore[misc]
            tx.close()
            rx.close()
        assert fired == [0, 0, 1]

    def test_tick_drops_missed_ticks(self) -> None:
        clock = MockClock()
        with threadkit.use_clock(clock):
            ticker = tick(1.0)
            clock.advance(5.0)
            assert select(ticker, default=True)[0] == 0
            assert select(ticker, default=True) == (-1, None)  # not four more

    def test_never(self) -> None:
        assert select(never(), default=True) == (-1, None)
        assert repr(never()) == "<never>"

    def test_custom_operation_joins_in(self) -> None:
        class Always(SelectOp[str]):
            def try_select(self) -> tuple[bool, str]:
                return True, "yes"

            def register(self, arm: object) -> bool:
                return True

        assert select(never(), Always()) == (1, "yes")


class TestSelectBuilder:
    def test_add_and_select(self, two) -> None:  # type: ignore[no-untyped-def]
        (_tx1, rx1), (tx2, rx2) = two
        sel = Select(biased=True)
        assert sel.add(rx1.recv_op()) == 0
        assert sel.add(rx2.recv_op()) == 1
        assert len(sel) == 2
        assert sel.select(default=True) == (-1, None)
        tx2.send(2)
        assert sel.select(timeout=10) == (1, 2)
        assert repr(sel) == "<threadkit.Select of 2 operations>"
        with pytest.raises(TypeError):
            sel.add("op")  # type: ignore[arg-type]


@pytest.mark.timeout(120)
def test_select_stress_many_consumers() -> None:
    per = 2000 * STRESS
    (tx1, rx1), (tx2, rx2) = threadkit.open_channel(0), threadkit.open_channel(8)
    consumers = 3
    clones = [(rx1.clone(), rx2.clone()) for _ in range(consumers)]
    rx1.close()
    rx2.close()
    received: list[list[int]] = [[] for _ in range(consumers)]

    def produce(tx: Sender[int], base: int) -> None:
        with tx:
            for i in range(per):
                tx.send(base + i)

    def consume(pair: tuple[Receiver[int], Receiver[int]], out: list[int]) -> None:
        live = list(pair)
        try:
            while live:
                try:
                    _, value = select(*(rx.recv_op() for rx in live), timeout=30)
                except EndOfChannel:
                    for rx in [rx for rx in live if rx.ended]:
                        live.remove(rx)
                        rx.close()
                    continue
                out.append(value)
        finally:
            for rx in live:
                rx.close()

    fns = [lambda: produce(tx1, 0), lambda: produce(tx2, per)]
    fns += [functools.partial(consume, p, o) for p, o in zip(clones, received, strict=True)]
    with Workers(*fns, timeout=100):
        pass
    assert sorted(x for out in received for x in out) == list(range(2 * per))
