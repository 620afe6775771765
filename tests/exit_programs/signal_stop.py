"""SIGTERM with ``install_signal_handlers()``: the workers are stopped in order, then exit.

The worker started last (``second``) stops first; each prints from its ``on_stop``.
"""

import threadkit
import threadkit.queue
from threadkit import _exit
from threadkit._worker import Worker

_exit.install_signal_handlers()
q: threadkit.queue.Queue[object] = threadkit.queue.Queue()


def report(worker: Worker) -> None:
    print(f"on_stop: {worker.name}", flush=True)


for name in ("first", "second"):
    Worker(target=q.get, name=name, on_stop=report).start()
print("ready", flush=True)
try:
    threadkit.Event().wait()
finally:
    print("main: unwound", flush=True)
