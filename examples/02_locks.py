"""02 locks: `with lock:` is the safe spelling, and a plain Lock doesn't know who holds it.

The notebook increments a shared counter under lock.acquire() / lock.release(), then under
`with lock:`. Both work, but a hand-written release is skipped when the code between raises,
leaving the lock held for ever; `with` always releases. And a threading.Lock has no owner:
any thread may release it, and a thread that acquires it twice waits for itself for ever.

threadkit.Lock *is* the C lock (a drop-in, same speed). threadkit.Mutex is the lock that
knows its owner: a release from another thread raises, naming both threads, and a second
acquire by the holder raises DeadlockError instead of hanging.
"""

import threading

import threadkit

print("threadkit.Lock is threading.Lock:", threadkit.Lock is threading.Lock)

# The notebook's counter: two threads, each adds one under the lock (here 1000 times each).
lock = threadkit.Lock()
name = 10


def worker() -> None:
    global name
    for _ in range(1000):
        with lock:  # acquire, then release even if the body raises
            name += 1


with threadkit.TaskGroup() as tg:  # waits for both threads at the end of the block
    for _ in range(2):
        tg.start(worker)
print("two threads x 1000 increments under `with lock:` ->", name)


# A Mutex knows its owner.
def release_from_elsewhere(mutex: threadkit.Mutex) -> str:
    try:
        mutex.release()  # a threading.Lock lets any thread do this
    except RuntimeError as exc:
        return f"RuntimeError: {exc}"
    return "released"


mutex = threadkit.Mutex()
with mutex:
    print("while held:", mutex.statistics())
    intruder = threadkit.Thread(target=release_from_elsewhere, args=(mutex,), name="intruder")
    intruder.start()
    print("release from thread 'intruder' ->", intruder.result(timeout=5))
    try:
        mutex.acquire()  # a threading.Lock would hang here for ever
    except threadkit.DeadlockError as exc:
        print("the holder acquires it again -> DeadlockError:", exc)
print("after the block:", mutex.statistics())

print("ok: the counter is exact and the Mutex refused both misuses")
