"""The awaitable twins as methods: recv_async/send_async, wait_async, ``async with`` on
Mutex, Semaphore, RWLock and CapacityLimiter, ``await future`` (each delegates to
threadkit.aio, whose own tests are in test_aio.py)."""

from __future__ import annotations

import asyncio
import math

import pytest

import threadkit
import threadkit.futures as tf

pytestmark = pytest.mark.timeout(30)


def test_channel_twins_between_a_thread_and_a_coroutine() -> None:
    tx, rx = threadkit.open_channel(0)  # a rendezvous: each side waits for the other
    back_tx, back_rx = threadkit.open_channel(math.inf)

    def echo() -> None:
        with back_tx:
            for item in rx:
                back_tx.send(item * 2)

    thread = threadkit.Thread(target=echo)
    thread.start()

    async def main() -> list[int]:
        got = []
        for i in range(3):
            await tx.send_async(i)
            got.append(await back_rx.recv_async(timeout=5))
        tx.close()
        with pytest.raises(threadkit.EndOfChannel):
            await back_rx.recv_async(timeout=5)
        return got

    with rx, back_rx:
        assert asyncio.run(main()) == [0, 2, 4]
        thread.join(5)


def test_recv_async_times_out() -> None:
    tx, rx = threadkit.open_channel(math.inf)

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await rx.recv_async(timeout=0.01)

    with tx, rx:
        asyncio.run(main())


def test_event_wait_async() -> None:
    ev = threadkit.Event()

    async def main() -> tuple[bool, bool]:
        early = await ev.wait_async(timeout=0)
        asyncio.get_running_loop().call_soon(ev.set)
        return early, await ev.wait_async(timeout=5)

    assert asyncio.run(main()) == (False, True)


def test_async_with_mutex_and_semaphore() -> None:
    mutex, sem = threadkit.Mutex(), threadkit.Semaphore(1)

    async def main() -> None:
        async with mutex:
            assert mutex.locked()
            with pytest.raises(threadkit.DeadlockError):
                mutex.acquire()  # a blocking acquire in the loop's thread: not a hang
        assert not mutex.locked()
        async with sem:
            assert sem.value == 0
        assert sem.value == 1

    asyncio.run(main())


def test_async_with_rwlock_modes() -> None:
    rw = threadkit.RWLock()

    async def main() -> None:
        async with rw.read():
            assert rw.statistics().readers == 1
        async with rw.write():
            assert rw.statistics().writer is not None
        async with rw.upgradable_read():
            rw.upgrade()
            assert rw.statistics().writer is not None
        stats = rw.statistics()
        assert (stats.readers, stats.writer, stats.upgradable) == (0, None, None)

    asyncio.run(main())


def test_async_with_rwlock_times_out_while_a_thread_writes() -> None:
    rw = threadkit.RWLock()
    assert rw.acquire_write()

    async def main() -> None:
        with pytest.raises(TimeoutError, match="timed out waiting for the read lock"):
            async with rw.read(timeout=0.01):
                pass  # pragma: no cover

    # The loop runs in a thread of its own: this one holds the write lock.
    loop_thread = threadkit.Thread(target=lambda: asyncio.run(main()))
    loop_thread.start()
    loop_thread.result(10)  # re-raises what main() raised
    rw.release_write()


def test_async_with_capacity_limiter() -> None:
    limiter = threadkit.CapacityLimiter(1)

    async def main() -> None:
        async with limiter:
            assert limiter.borrowed_tokens == 1
        assert limiter.borrowed_tokens == 0

    asyncio.run(main())


def test_two_tasks_of_one_loop_cannot_both_wait_for_a_limiter_token() -> None:
    # The borrower is the loop's thread: a second task of the loop asking while the first
    # waits is refused, as while the first holds (both used to get "the" token: three
    # holders of a limiter of two).
    limiter = threadkit.CapacityLimiter(1)
    limiter.acquire_on_behalf_of("a thread")

    async def main() -> list[object]:
        first = asyncio.ensure_future(limiter.__aenter__())
        while not limiter.statistics().threads_waiting:
            await asyncio.sleep(0)  # (until the first task's wait is registered)
        with pytest.raises(RuntimeError, match="already waiting"):
            await limiter.__aenter__()
        limiter.release_on_behalf_of("a thread")
        await first
        held = list(limiter.statistics().borrowers)
        await limiter.__aexit__(None, None, None)
        return held

    assert asyncio.run(main()) == [threadkit.current_thread()]
    assert limiter.borrowed_tokens == 0


def test_await_a_threadkit_future() -> None:
    with tf.ThreadPoolExecutor(1) as pool:
        future = pool.submit(pow, 2, 10)

        async def main() -> int:
            return await future

        assert asyncio.run(main()) == 1024
