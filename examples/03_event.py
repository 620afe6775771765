"""03 event: Event.clear() is not atomic with wait(), so one set() can wake two consumers.

The notebook's docstring: "it has clear, but that's still not atomic". A consumer that does
`ev.wait(); ev.clear()` to take one signal races with every other consumer doing the same:
set() wakes all of them before any has cleared it, so one set() is taken twice. (And its
test calls set() then clear() at once: a waiter may or may not see that set().)

threadkit.Event keeps the stdlib behaviour (it is a drop-in, as the first part shows) and
adds wait_and_clear(): it waits and clears in one step, so each set() is taken by exactly one
consumer. Its statistics() say how many threads wait, which is how the program below knows
both consumers are waiting before it calls set(), rather than sleeping and hoping.
"""

import threadkit


def wait_until_waiting(ev: threadkit.Event, n: int) -> None:
    """Until n threads wait on ev (polling its public statistics; a failure after 5 s)."""
    with threadkit.fail_after(5):
        while ev.statistics().threads_waiting < n:
            threadkit.sleep(0.001)


def race(atomic: bool) -> list[str]:
    """Two consumers wait; one set(); return the names of those that got through."""
    ev = threadkit.Event()
    passed: list[str] = []

    def consumer(name: str) -> None:
        if atomic:
            got = ev.wait_and_clear(timeout=0.2)  # threadkit: one step
        else:
            got = ev.wait(timeout=0.2)  # the notebook's way: wait, then clear
            ev.clear()
        if got:
            passed.append(name)

    with threadkit.TaskGroup() as tg:
        tg.start(consumer, "consumer-1")
        tg.start(consumer, "consumer-2")
        wait_until_waiting(ev, 2)
        ev.set()  # one signal; the consumer that misses it times out after 0.2 s
    return sorted(passed)


print("ev.wait(); ev.clear()  -> one set() let through:", race(atomic=False))
print("ev.wait_and_clear()    -> one set() let through:", race(atomic=True))

print("ok: wait_and_clear() hands each set() to exactly one consumer")
