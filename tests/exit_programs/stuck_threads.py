"""Threads that ignore cancellation (blocked on a C lock) when the main thread ends.

A Worker, a registered non-daemon ``threading.Thread`` and a pool task, each stuck in
``Lock.acquire()`` on a lock nobody releases (not a threadkit cancellation point). The exit
supervisor gives each its deadline (``argv[1]`` seconds), reports them with their stacks,
abandons them, and the process exits.
"""

import sys
import threading

import threadkit
from threadkit import _exit
from threadkit._worker import Worker

_exit.set_default_deadline(float(sys.argv[1]))
never = threading.Lock()
never.acquire()


def stuck_in_c_lock() -> None:
    never.acquire()


started = threading.Barrier(4)


def stuck_after_barrier() -> None:
    started.wait()
    stuck_in_c_lock()


Worker(target=stuck_after_barrier, name="stuck-worker").start()
plain = threading.Thread(target=stuck_after_barrier, name="stuck-plain")  # not a daemon
plain.start()
_exit.register(plain)
pool = threadkit.futures.ThreadPoolExecutor(1, thread_name_prefix="stuck-pool")
pool.submit(stuck_after_barrier)
started.wait()
print("main: done", flush=True)
