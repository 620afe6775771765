"""07 queues: threads talk through a queue, end it with a sentinel, and share what they put.

The notebook's "Communicating Between Threads": a queue.Queue between threads, a sentinel
value to tell the consumer to stop, task_done()/join() to know the work is done, and, in
bold, "an object put on the queue is just a reference, not the object itself!".

threadkit.queue.Queue is queue.Queue name for name, plus 3.13's shutdown() on every Python
and `for item in q:`, which ends at shutdown: no sentinel. A channel (open_channel) goes
further: the producer's end is closed, and a send after that raises instead of being lost.
The reference rule does not change: send immutable items, or copies.
"""

import math

import threadkit
import threadkit.queue

# An object on a queue is a reference: a change after put() is seen by whoever gets it.
q: threadkit.queue.Queue[list[int]] = threadkit.queue.Queue()
batch = [1, 2]
q.put(batch)
batch.append(3)  # after the put
got = q.get()
print("put [1, 2], then appended 3; get() ->", got, "- the same object:", got is batch)

# A queue between two threads, no sentinel: `for item in jobs` ends at jobs.shutdown().
jobs: threadkit.queue.Queue[str] = threadkit.queue.Queue()
done: list[str] = []


def consumer() -> None:
    for job in jobs:  # get() until the queue is shut down and drained
        done.append(job.upper())
        jobs.task_done()


with threadkit.TaskGroup() as tg:
    tg.start(consumer)
    for job in ("a", "b", "c"):
        jobs.put(job)
    jobs.join()  # every job task_done()
    print("after join():", done)
    jobs.shutdown()  # the consumer's loop ends once the queue is empty
try:
    jobs.put("d")
except threadkit.queue.ShutDown:
    print("put() after shutdown() -> ShutDown (not silently queued for nobody)")

# A channel: tx is the producer's end, rx the consumer's. Closing every Sender ends the
# consumer's `for item in rx` once it has drained what was sent.
tx, rx = threadkit.open_channel(math.inf)  # capacity: 0 rendezvous, n bounded, inf unbounded
received: list[int] = []


def receive() -> None:
    with rx:
        for item in rx:
            received.append(item)


with threadkit.TaskGroup() as tg:
    tg.start(receive)
    with tx:  # closes tx at the end of the block
        for i in range(5):
            tx.send(i)
print("the receiver got", received, "and ended when tx was closed")
try:
    tx.send(5)
except threadkit.ChannelClosed as exc:
    print(f"send after close -> ChannelClosed, handing back the item: {exc.item}")

print("ok: the queue and the channel ended without a sentinel")
