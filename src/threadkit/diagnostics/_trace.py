"""``trace()``: a timeline of what each thread waited for, held and ran, for Perfetto.

While a trace is on, the instrumented implementations of ``diagnostics._instrument`` are
swapped in (``install()``, reference-counted, so traces may nest or overlap) and a hook
listener (``_core._hooks``) appends one tuple per event: ``(time, ident, event, obj,
detail)``, with ``time`` from ``_p.monotonic()`` (seconds) and ``ident`` from
``_p.get_ident()``. The listener does nothing else: it runs with internal locks possibly held,
so it never blocks, never calls back into ``obj`` (whose ``repr`` may take its lock) and never
calls ``threading.current_thread()`` (in a thread that is starting, that makes a
``_DummyThread``, which takes a traced lock, which re-enters the listener). Instead it looks
the ident up in ``threading``'s table of running threads (one dict lookup, which creates
nothing): when the ``Thread`` found is not the one last seen with that ident (a thread started
during the trace, or a new thread that reuses a dead one's ident, as Linux does at once), it
first records ``(time, ident, "thread", None, name)``. A thread's name comes from those
records, from the threads alive at the start and at the end, or is ``"thread <ident>"``.

When the trace ends the objects are dropped: each becomes a label made only of its type's
name and ``id`` (a traced lock adds where it was made, a pool task its name, a thread its
name), and the events are matched into the Chrome trace-event "JSON Object Format"
(``{"traceEvents": [...], "displayTimeUnit": "ms"}``), which Perfetto (ui.perfetto.dev) and
``chrome://tracing`` open:

* a wait (``park`` to ``wake``/``timeout``/``abandon``, same thread, same object) is a
  ``B``/``E`` pair on that thread, ``"wait <label>"``, ``args.outcome`` the end;
* a pool task (``task_start`` to ``task_end``, on the worker) is a ``B``/``E`` pair,
  ``"task <name>"``;
* a lock hold (``acquired`` to ``release``) is a nestable async pair (``b``/``e``, category
  ``"hold"``) whose ``id`` is one per (lock, holder thread): holds of different locks overlap
  without nesting (acquire A, acquire B, release A), which ``B``/``E`` on the thread's track
  cannot show, and a plain ``Lock`` may be released by another thread (the release's detail
  names the holder: the ``e`` goes on the holder's ``tid``, ``args.released_by`` names the
  releaser). Every ``b`` has its ``e`` on the same ``tid`` and ``id``, in stack order;
* ``acquire``, ``put``, ``get``, ``submit`` and ``unpark`` are thread-scoped instants
  (``"ph": "i", "s": "t"``);
* thread names are ``M`` (metadata) events; ``tid`` is a small number per thread, in the
  order threads appear (the tracing thread first): a thread's ident can be too large for a
  viewer and is reused by a later thread (the metadata's ``args.ident`` keeps it).

``B``/``E`` pairs are kept nested per thread: a begin still open at the end of the trace is
closed at that time with ``args.unfinished``; an end without a begin (the thread was parked
when the trace started) is dropped; an end that does not close the innermost open span (never
seen in practice) closes the spans above it and opens them again at once (``args.continued``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from types import TracebackType
from typing import IO, Any

from .._core import _hooks
from .._core import _primitives as _p
from .._futures import Future
from . import _instrument
from ._instrument import TracedLock, TracedRLock

__all__ = ["Tracer", "trace"]

# A thread in the timeline: (ident, generation), as idents are reused.
_Thr = tuple[int, int]

#: One recorded event: (time in seconds, thread ident, event, object or label, detail).
Record = tuple[float, int, str, object, object]

# The events that become thread-scoped instants.
_INSTANTS = frozenset({"acquire", "put", "get", "submit", "unpark"})
# The ends of a wait.
_WAIT_ENDS = frozenset({"wake", "timeout", "abandon"})

# How many rows each part of the summary shows.
_TOP = 10
_LONGEST = 5


def trace(
    path: str | os.PathLike[str] | None = None, *, summary: bool = True, file: IO[str] | None = None
) -> Tracer:
    """Record a timeline of every thread's waits, lock holds and pool tasks.

    Use it as a context manager: ``with threadkit.trace("out.json") as tracer:``. While the
    block runs, threadkit's instrumented locks and methods are in (``threading.Lock()``
    makes a traced lock) and every wait, hold, queue operation and task is recorded; at the
    end the originals are back, the timeline is written to ``path`` (when given) as Chrome
    trace-event JSON for https://ui.perfetto.dev or ``chrome://tracing``, and, with
    ``summary`` true, the contention summary is printed to ``file`` (default:
    ``sys.stderr``). Traces may nest and overlap.

    Examples:
        >>> import threadkit
        >>> mutex = threadkit.Mutex()
        >>> with threadkit.trace(summary=False) as tracer:
        ...     with mutex:
        ...         pass
        >>> [e["name"] for e in tracer.to_json()["traceEvents"] if e["ph"] == "b"]
        ['hold Mutex@0x...']
    """
    return Tracer(path, summary=summary, file=file)


@dataclass(frozen=True)
class _Wait:
    label: str
    thread: str  # its name
    duration: float  # seconds
    outcome: str  # "wake", "timeout", "abandon" or "unfinished"


@dataclass(frozen=True)
class _Hold:
    label: str
    thread: str
    duration: float


@dataclass
class _Open:
    kind: str  # "wait" or "task" (a B/E span) or "hold" (a b/e pair)
    key: str  # the label of the object waited on / the task's future / the lock
    since: float
    begin: dict[str, Any]


@dataclass
class _Timeline:
    events: list[dict[str, Any]] = field(default_factory=list)
    waits: list[_Wait] = field(default_factory=list)
    holds: list[_Hold] = field(default_factory=list)
    threads: int = 0


class Tracer:
    """A timeline recording, made by ``threadkit.trace()``; a context manager.

    ``events`` is the list of recorded tuples ``(time, ident, event, obj, detail)`` (once
    the trace has ended, ``obj`` is a label string); ``to_json()`` is the Chrome trace-event
    document; ``summary()`` the contention summary as text. ``start()`` and ``stop()`` do
    what ``with`` does, for a trace that does not fit in a block.

    Examples:
        >>> import threadkit
        >>> tracer = threadkit.trace(summary=False)  # a Tracer, not started yet
        >>> tracer.start().running
        True
        >>> with threadkit.Mutex():
        ...     pass
        >>> tracer.stop()
        >>> [event for _, _, event, label, _ in tracer.events if "Mutex" in str(label)]
        ['acquired', 'release']
        >>> print(tracer.summary().splitlines()[0])
        threadkit trace: ... s, ... thread(s), ... events
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        summary: bool = True,
        file: IO[str] | None = None,
    ) -> None:
        self.path = path
        self._show_summary = summary
        self._file = file
        # _lock guards _state; the recording itself takes no lock.
        self._lock = _p.allocate_lock()
        self._state = "new"  # -> "running" -> "stopped"
        self._recording = False  # read by the listener without a lock
        self._records: list[Record] = []  # appended by the listener (an atomic append)
        self._start_names: dict[int, str] = {}  # ident -> name, threads alive at the start
        self._end_names: dict[int, str] = {}  # ident -> name, threads alive at the end
        # ident -> the Thread last seen with it (the listener's; single dict operations)
        self._seen: dict[int, object] = {}
        self._background: set[str] = set()  # labels whose waits are not contention
        self._ident = 0  # the thread that started the trace
        self._start = 0.0
        self._end = 0.0
        self._timeline: _Timeline | None = None  # made once stopped, on first use
        self._listener = self._make_listener()

    def _make_listener(self) -> Callable[[str, object, object], None]:
        append = self._records.append
        seen = self._seen
        monotonic = _p.monotonic
        get_ident = _p.get_ident
        # threading's table of running threads: a dict lookup creates nothing (as
        # current_thread() would) and takes no lock.
        running: dict[int, Any] = getattr(_p.threading_module, "_active", {})

        def listener(event: str, obj: object, detail: object) -> None:
            if not self._recording:
                return
            ident = get_ident()
            t = monotonic()
            thread = running.get(ident)
            if thread is not None and seen.get(ident) is not thread:
                seen[ident] = thread  # a new thread (a name) for this ident
                append((t, ident, "thread", None, thread.name))
            # A wake's detail is the value handed over: not kept (an item, a result).
            append((t, ident, event, obj, None if event == "wake" else detail))

        return listener

    # -- on and off --

    def start(self) -> Tracer:
        """Start recording (once); ``RuntimeError`` if this tracer already ran."""
        with self._lock:
            if self._state != "new":
                raise RuntimeError("this Tracer has already run; call trace() for a new one")
            self._state = "running"
        self._ident = _p.get_ident()
        for thread in _p.enumerate_threads():
            if thread.ident is not None:
                self._start_names[thread.ident] = thread.name
                self._seen[thread.ident] = thread
        self._start = _p.monotonic()
        self._recording = True
        _instrument.install()
        try:
            _hooks.add_listener(self._listener)
        except BaseException:
            self._recording = False
            self._state = "stopped"
            _instrument.uninstall()
            raise
        return self

    def stop(self) -> None:
        """Stop recording; write the file and print the summary as configured.

        The listener is removed and the instrumentation undone before anything else, even if
        writing fails. Stopping twice (or a tracer never started) does nothing.
        """
        with self._lock:
            if self._state != "running":
                return
            self._state = "stopped"
        self._recording = False
        try:
            _hooks.remove_listener(self._listener)
        finally:
            _instrument.uninstall()
        end = _p.monotonic()
        for thread in _p.enumerate_threads():
            if thread.ident is not None:
                self._end_names[thread.ident] = thread.name  # (a renamed thread)
        self._seen.clear()
        raw = self._records
        records = list(raw)  # (a late event may still be appended: not kept)
        raw.clear()  # the listener's list: the objects are no longer kept alive
        self._end = max(max((r[0] for r in records), default=end), end)
        self._records = self._labelled(records)
        del records
        if self.path is not None:
            with open(self.path, "w", encoding="utf-8") as out:
                json.dump(self.to_json(), out)
        if self._show_summary:
            stream = self._file if self._file is not None else sys.stderr
            stream.write(self.summary() + "\n")
            stream.flush()

    def __enter__(self) -> Tracer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True while recording."""
        return self._state == "running"

    @property
    def events(self) -> list[Record]:
        """The recorded events, ``(time, ident, event, obj, detail)`` (a copy)."""
        return list(self._records)

    # -- export --

    def _labelled(self, records: list[Record]) -> list[Record]:
        """``records`` with each object replaced by its label (objects are not kept)."""
        task_names: dict[int, str] = {}
        for _, _, event, obj, detail in records:
            if event in ("submit", "task_start", "task_end") and isinstance(detail, str):
                task_names.setdefault(id(obj), detail)
        labels: dict[int, str] = {}
        out: list[Record] = []
        for t, ident, event, obj, detail in records:
            if obj is None:
                label = None  # a "thread" record
            elif isinstance(obj, str):
                label = obj
                self._background.add(obj)  # a sleep, idle pool workers, a future's queue
            else:
                key = id(obj)
                found = labels.get(key)
                if found is None:
                    found = labels[key] = _label(obj, task_names.get(key))
                    if isinstance(obj, (_p.StdThread, Future)) or key in task_names:
                        self._background.add(found)  # a join, a result(): not contention
                label = found
            out.append((t, ident, event, label, detail))
        return out

    def _current(self) -> _Timeline:
        if self._state == "stopped":
            if self._timeline is None:  # (made on first use, then kept)
                self._timeline = self._build(self._records, self._end)
            return self._timeline
        # Still recording (or never started): a snapshot up to now.
        records = self._labelled(list(self._records))
        end = max((r[0] for r in records), default=0.0)
        end = max(end, _p.monotonic())
        return self._build(records, end)

    def _build(self, records: list[Record], end: float) -> _Timeline:
        return _build(
            records,
            self._start,
            end,
            first=self._ident,
            start_names=self._start_names,
            end_names=self._end_names,
        )

    def to_json(self) -> dict[str, Any]:
        """The timeline as a Chrome trace-event / Perfetto document (a dict for ``json``)."""
        timeline = self._current()
        return {
            "traceEvents": timeline.events,
            "displayTimeUnit": "ms",
            "otherData": {"generator": "threadkit.trace"},
        }

    def summary(self) -> str:
        """The contention summary: most contended primitives, longest waits, lock holds."""
        timeline = self._current()
        if self._state == "new":
            duration = 0.0
        else:
            duration = (self._end if self._state == "stopped" else _p.monotonic()) - self._start
        lines = [
            f"threadkit trace: {max(duration, 0.0):.3f} s, {timeline.threads} thread(s), "
            f"{len(self._records)} events"
        ]
        contended = [w for w in timeline.waits if w.label not in self._background]
        other = [w for w in timeline.waits if w.label in self._background]
        if contended:
            rows: dict[str, list[_Wait]] = {}
            for w in contended:
                rows.setdefault(w.label, []).append(w)
            ranked = sorted(
                rows.items(), key=lambda kv: (-sum(w.duration for w in kv[1]), -len(kv[1]), kv[0])
            )
            lines.append("Most contended (total time threads waited on each):")
            lines.append("    waits  timeouts    total ms  longest ms  primitive")
            for label, ws in ranked[:_TOP]:
                timeouts = sum(1 for w in ws if w.outcome == "timeout")
                total = sum(w.duration for w in ws)
                longest = max(w.duration for w in ws)
                lines.append(
                    f"  {len(ws):>7}  {timeouts:>8}  {_ms(total):>10}  {_ms(longest):>10}  {label}"
                )
            if len(ranked) > _TOP:
                lines.append(f"  ... and {len(ranked) - _TOP} more")
            lines.append("Longest waits:")
            for w in sorted(contended, key=lambda w: -w.duration)[:_LONGEST]:
                lines.append(f"  {_ms(w.duration):>10} ms  {w.thread!r} on {w.label} ({w.outcome})")
        else:
            lines.append("No thread waited on a lock, queue or other primitive.")
        if timeline.holds:
            per_lock: dict[str, list[_Hold]] = {}
            for h in timeline.holds:
                per_lock.setdefault(h.label, []).append(h)
            ranked_holds = sorted(
                per_lock.items(),
                key=lambda kv: (-sum(h.duration for h in kv[1]), -len(kv[1]), kv[0]),
            )
            lines.append("Lock holds:")
            lines.append("    holds    total ms  longest ms  lock")
            for label, hs in ranked_holds[:_TOP]:
                total = sum(h.duration for h in hs)
                longest = max(h.duration for h in hs)
                lines.append(f"  {len(hs):>7}  {_ms(total):>10}  {_ms(longest):>10}  {label}")
            if len(ranked_holds) > _TOP:
                lines.append(f"  ... and {len(ranked_holds) - _TOP} more")
        if other:
            total = sum(w.duration for w in other)
            lines.append(
                f"Other waits (joins, results, sleeps, idle pool workers): {len(other)}, "
                f"{_ms(total)} ms in all"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<threadkit.Tracer {self._state}, {len(self._records)} events>"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def _label(obj: object, task: str | None) -> str:
    """A name for ``obj`` that does not call into it (its repr may take its lock)."""
    address = f"{id(obj):#x}"
    if isinstance(obj, (TracedLock, TracedRLock)):
        kind = "Lock" if isinstance(obj, TracedLock) else "RLock"
        filename, _, line = obj.site.rpartition(":")
        return f"{kind}@{address} ({os.path.basename(filename)}:{line})"
    if isinstance(obj, _p.StdThread):
        return f"Thread {obj.name!r}@{address}"  # (a plain attribute read)
    if task is not None:
        return f"{type(obj).__name__} {task!r}@{address}"
    return f"{type(obj).__name__}@{address}"


def _build(
    records: list[Record],
    start: float,
    end: float,
    *,
    first: int,
    start_names: dict[int, str],
    end_names: dict[int, str],
) -> _Timeline:
    """Match the labelled ``records`` into trace events, waits and holds (see the module).

    A thread is ``(ident, generation)``: a "thread" record for an ident seen before starts a
    new generation (a new thread that got a dead one's ident), with its own ``tid``.
    """
    pid = os.getpid()
    tl = _Timeline()
    out = tl.events
    generation: dict[int, int] = {}  # ident -> its current generation
    named: set[int] = set(start_names)  # idents that have had a named thread
    names: dict[_Thr, str] = {}
    tids: dict[_Thr, int] = {}

    def current(ident: int) -> _Thr:
        return (ident, generation.get(ident, 0))

    def tid(thread: _Thr) -> int:
        number = tids.get(thread)
        if number is None:
            number = tids[thread] = len(tids) + 1
        return number

    def name(thread: _Thr) -> str:
        ident, gen = thread
        found = names.get(thread)
        if gen == generation.get(ident, 0) and ident in end_names:
            found = end_names[ident]  # alive at the end, maybe renamed
        elif found is None and gen == 0:
            found = start_names.get(ident)
        return found or f"thread {ident}"

    def us(t: float) -> float:
        return round((t - start) * 1e6, 3)

    tid(current(first))
    stacks: dict[_Thr, list[_Open]] = {}  # per thread: its open B/E spans, innermost last
    holds: dict[tuple[str, _Thr], list[_Open]] = {}  # (lock, holder): open, latest last
    hold_ids: dict[tuple[str, _Thr], str] = {}

    def end_span(thread: _Thr, span: _Open, ts: float, args: dict[str, Any]) -> None:
        span.begin["args"].update(args)
        out.append(
            {
                "name": span.begin["name"],
                "cat": span.begin["cat"],
                "ph": "E",
                "ts": ts,
                "pid": pid,
                "tid": tid(thread),
                "args": args,
            }
        )

    def close(thread: _Thr, kind: str, key: str, t: float, args: dict[str, Any]) -> _Open | None:
        stack = stacks.get(thread)
        if not stack:
            return None
        for i in range(len(stack) - 1, -1, -1):
            if stack[i].kind == kind and stack[i].key == key:
                break
        else:
            return None  # its begin was before the trace: dropped
        ts = us(t)
        above = stack[i + 1 :]
        for span in reversed(above):  # (not innermost: keep B/E nested)
            end_span(thread, span, ts, {"interrupted": True})
        target = stack[i]
        end_span(thread, target, ts, args)
        del stack[i:]
        for span in above:
            span.begin = {**span.begin, "ts": ts, "args": {**span.begin["args"], "continued": True}}
            out.append(span.begin)
            stack.append(span)
        return target

    def close_all(thread: _Thr, t: float) -> None:
        """Close what ``thread`` has open (at the end, or when its ident is reused)."""
        stack = stacks.pop(thread, [])
        while stack:
            span = stack.pop()
            end_span(thread, span, us(t), {"unfinished": True})
            if span.kind == "wait":
                tl.waits.append(_Wait(span.key, name(thread), t - span.since, "unfinished"))

    def begin(
        thread: _Thr, kind: str, key: str, t: float, *, title: str, args: dict[str, Any]
    ) -> None:
        event = {
            "name": title,
            "cat": kind,
            "ph": "B",
            "ts": us(t),
            "pid": pid,
            "tid": tid(thread),
            "args": args,
        }
        out.append(event)
        stacks.setdefault(thread, []).append(_Open(kind, key, t, event))

    def end_hold(key: tuple[str, _Thr], span: _Open, t: float, args: dict[str, Any]) -> None:
        out.append(
            {
                "name": span.begin["name"],
                "cat": "hold",
                "ph": "e",
                "id": span.begin["id"],
                "ts": us(t),
                "pid": pid,
                "tid": tid(key[1]),
                "args": args,
            }
        )
        tl.holds.append(_Hold(key[0], name(key[1]), t - span.since))

    for t, ident, event, obj, detail in sorted(records, key=itemgetter(0)):
        if event == "thread":
            # A new thread: with a dead one's ident if that had a name, else the thread
            # whose first events (as it started, before threading listed it) were anonymous.
            if ident in named:
                close_all(current(ident), t)
                generation[ident] = generation.get(ident, 0) + 1
            named.add(ident)
            names[current(ident)] = str(detail)
            continue
        me = current(ident)
        label = str(obj)
        if event == "park":
            begin(me, "wait", label, t, title=f"wait {label}", args={})
        elif event in _WAIT_ENDS:
            span = close(me, "wait", label, t, {"outcome": event})
            if span is not None:
                tl.waits.append(_Wait(label, name(me), t - span.since, event))
        elif event == "task_start":
            begin(me, "task", label, t, title=f"task {detail}", args={"future": label})
        elif event == "task_end":
            close(me, "task", label, t, {})
        elif event == "acquired":
            key = (label, me)
            hid = hold_ids.setdefault(key, f"{len(hold_ids) + 1:#x}")
            event_b = {
                "name": f"hold {label}",
                "cat": "hold",
                "ph": "b",
                "id": hid,
                "ts": us(t),
                "pid": pid,
                "tid": tid(me),
                "args": {},
            }
            out.append(event_b)
            holds.setdefault(key, []).append(_Open("hold", label, t, event_b))
        elif event == "release":
            if type(detail) is not int:
                continue  # held since before the trace (or by an untraced acquire)
            holder = current(detail)
            open_holds = holds.get((label, holder))
            if not open_holds:
                continue
            span = open_holds.pop()
            args: dict[str, Any] = {} if holder == me else {"released_by": name(me)}
            end_hold((label, holder), span, t, args)
        elif event in _INSTANTS:
            args = {"woken": detail} if event == "unpark" else {}
            if event == "submit":
                args = {"future": label}
            out.append(
                {
                    "name": f"submit {detail}" if event == "submit" else f"{event} {label}",
                    "cat": event,
                    "ph": "i",
                    "s": "t",
                    "ts": us(t),
                    "pid": pid,
                    "tid": tid(me),
                    "args": args,
                }
            )

    # What is still open at the end is closed there.
    for thread in list(stacks):
        close_all(thread, end)
    for key, open_holds in holds.items():
        while open_holds:
            span = open_holds.pop()
            span.begin["args"]["unfinished"] = True
            end_hold(key, span, end, {"unfinished": True})

    meta: list[dict[str, Any]] = [
        {
            "name": "process_name",
            "ph": "M",
            "ts": 0,
            "pid": pid,
            "tid": 1,
            "args": {"name": f"python (pid {pid})"},
        }
    ]
    for thread, number in tids.items():
        thread_meta: list[tuple[str, dict[str, Any]]] = [
            ("thread_name", {"name": name(thread), "ident": thread[0]}),
            ("thread_sort_index", {"sort_index": number}),
        ]
        for kind, margs in thread_meta:
            meta.append(
                {"name": kind, "ph": "M", "ts": 0, "pid": pid, "tid": number, "args": margs}
            )
    tl.events = meta + out
    tl.threads = len(tids)
    return tl
