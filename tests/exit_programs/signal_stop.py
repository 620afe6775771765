"""SIGTERM with ``install_signal_handlers()``: an orderly exit that stops the workers in order.

The main thread unwinds (``finally``), then the exit supervisor stops the workers: the one
started last (``second``) first; each prints from its ``on_stop``.
"""

import signal

import threadkit.queue
from threadkit import _exit
from threadkit._worker import Worker

_exit.install_signal_handlers()
q: threadkit.queue.Queue[object] = threadkit.queue.Queue()


def report(worker: Worker) -> None:
    print(f"on_stop: {worker.name}", flush=True)


for name in ("first", "second"):
    Worker(target=q.get, name=name, on_stop=report).start()
try:
    print("ready", flush=True)  # (inside the try: the signal may come at once)
    # (signal.pause(), not a lock wait: on 3.13t a signal sometimes fails to wake the main
    # thread from a lock wait, threading's or threadkit's alike)
    while True:
        signal.pause()
finally:
    print("main: unwound", flush=True)
