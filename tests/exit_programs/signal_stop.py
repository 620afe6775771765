"""SIGTERM with ``install_signal_handlers()``: an orderly exit that stops the workers in order.

The main thread unwinds (``finally``), then the exit supervisor stops the workers: the one
started last (``second``) first; each prints from its ``on_stop``.
"""

import time

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
    # (Short sleeps, not one long wait: the kernel may deliver the signal to a worker
    # thread, and then only the main thread's next return to the interpreter runs the
    # handler; a signal.pause() or a lock wait in the main thread would not wake.)
    while True:
        time.sleep(0.05)
finally:
    print("main: unwound", flush=True)
