"""A readers-writer lock with upgradable reads, three policies, and deadlocks reported.

After Rust's ``parking_lot::RwLock`` (upgradable reads, ``downgrade``) and Java's
``ReentrantReadWriteLock`` (a fairness policy, opt-in read re-entrancy). Everything that
blocks parks on ``_core.WaitQueue``, so every blocking acquire is a cancellation point, takes
a deadline on the injectable clock, and has a select operation.

Design. The shared state lives under one C lock (``_lock``, shared by the four wait queues),
so the lock is correct on free-threaded builds without relying on the GIL. A read while a
writer is around is one acquisition of that lock on the way in and one on the way out,
around a dict update (the holder's entry); a read while only readers use the lock takes no
shared lock at all (fast reads, below). A blocked thread is never woken to compete: whoever makes a
grant possible (a release, a waiter giving up) runs ``_dispatch``, which *hands* the lock to
the waiters the policy admits (records them as holders) before they run. So the order is
decided once, under the lock, and a woken thread owns what it waited for.

State (all guarded by ``_lock``):

* ``_readers``: thread -> read holds (more than 1 only with ``reentrant_reads``);
* ``_writer``: the thread holding the write lock, or None;
* ``_upgradable``: the thread holding the upgradable read lock (not yet upgraded), or None;
* ``_rq``, ``_wq``, ``_uq``: threads waiting to read, to write, for the upgradable read;
  ``_upq``: the upgradable holder waiting for the readers to leave (at most one);
* ``_ticket``: arrival order of waiters; each queued entry's ``payload`` is
  ``(thread, ticket, when queued)``, so ``fair`` can admit the readers that came before the
  next writer;
* ``_bias`` (written under ``_lock``; the fast paths read it without, then again holding
  their slot's lock), ``_slots`` (weak references to every reading thread's ``_Slot``) and
  ``_draining`` (slots a revocation found held): the fast reads, below.

Invariants (lock held, between calls): a writer excludes readers and the upgradable holder;
``_upq`` is non-empty only while ``_upgradable`` waits there; nothing waits that
``_dispatch`` could admit (every change that could admit a waiter runs it).

Fast reads (after folly's ``SharedMutex`` "deferred readers" and the Linux kernel's
``percpu_rw_semaphore``). A shared lock and a shared dict make every reader write the same
memory: under a GIL that costs little, but on the free-threaded build readers on different
cores then serialize on that memory. So while nobody but readers uses the lock, a reader does
not touch it: each thread has its own ``_Slot`` per RWLock (found through a thread-local)
holding a C lock that the thread keeps acquired while it holds a *fast* read. ``_bias`` says
whether fast reads are allowed; a reader takes its slot's lock, checks ``_bias`` and is in
(else it lets go and takes the slow path above). Writes (and the upgradable read) first
*revoke* the bias under ``_lock`` (``_revoke``): ``_bias`` becomes False, then every slot's
lock is tried: a slot whose lock is free holds no read (and a reader that takes it later
sees ``_bias`` False: the lock orders the two); a slot whose lock is held is *draining*: it
counts as a reader (``_draining``) until its thread lets go, which it reports
(``_fast_left``, told by ``revoked``, set before the second try of the slot's lock) and
which is checked by taking the slot's lock once more. So a writer is admitted only after
it has seen each fast reader's lock free, which is the ordering a lock guarantees. The
report itself is a hint (``revoked`` is read without the lock): a writer that waits while
slots drain looks at them itself every few milliseconds (``_POLL_FIRST``, doubling), so a
missed report delays it and never strands it. A slot belongs to its thread's thread-local
(``_slots`` holds it weakly), so it goes when the thread ends. The bias comes back when a
reader takes the slow path and finds nobody but readers using the lock (``_may_bias``: no
writer holding or queued, no upgradable holder or other waiter), even while readers of the
shared state still hold (a writer waits for both kinds). A writer woken to retry that has not
yet come back, and the readers queued behind it, do not hold it off: the writer may take a
while to be scheduled, the lock is free meanwhile, and once back it revokes the bias as any
writer does (it was woken to retry, so running readers may go first). While readers of the
shared state hold, ``_bias`` is ``_MIXED`` instead of True until the last of those leaves,
and the fast paths look a thread up in ``_readers`` while it is: one that holds a read there
and reads again goes to the slow path, where its re-entry is checked (the look needs no
lock: the thread's own entry changes only by its calls or while it waits). Fast
holds are visible to ``statistics()`` and to the diagnostics (``_reader_threads``), and
refused re-entry raises ``DeadlockError`` as before (``_holds_read`` looks at the thread's
slot too).
The explorer turns fast reads off (``_FAST_READS``): its logical threads share OS threads.

Read guards. ``with rw.read():`` is the common way in, and on the free-threaded build every
use of an object that threads share is a contended reference count: a read guard shared by
all threads, and the thread-local that finds a thread's slot, cost a fast read more than
the rest of it (4 threads: 0.7-0.8 us per read against 0.3 us with objects of their own, in
a model). So there (``_OWN_GUARDS``) ``read()`` gives each thread its own guard, which holds
the thread's slot and finds it at hand when its own thread uses it; used from another
thread it looks the caller's slot up, and when its thread ends it forgets both (a thread's
id is reused). Under a GIL one guard serves all threads (it needs no check of its thread).
"""

from __future__ import annotations

import functools
import sys
import weakref
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Literal

from ._core import (
    WOKEN,
    Arm,
    DeadlockError,
    SelectOp,
    WaitQueue,
    _hooks,
    deadline_after,
    describe_thread,
    get_clock,
)
from ._core import _primitives as _p

__all__ = ["RWLock", "RWLockPolicy", "RWLockStatistics"]

RWLockPolicy = Literal["fair", "write_preferring", "read_preferring"]

_POLICIES: Final = ("fair", "write_preferring", "read_preferring")
_FAIR: Final = 0
_WRITE_PREFERRING: Final = 1
_READ_PREFERRING: Final = 2

# What a thread asks for; each has its own wait queue.
_READ: Final = 0
_WRITE: Final = 1
_UPGRADABLE: Final = 2
_UPGRADE: Final = 3
_WHAT: Final = ("the read lock", "the write lock", "the upgradable read lock", "the upgrade")

_INF: Final = float("inf")
# What a waker passes to a waiter it wakes: the lock is now its, or its turn to try.
_HANDOFF: Final = "handoff"
_RETRY: Final = "retry"

# What the thread asking already holds, for _REFUSALS.
_AS_NONE: Final = 0
_AS_WRITER: Final = 1
_AS_READER: Final = 2
_AS_UPGRADABLE: Final = 3
_AS_BOTH: Final = 4  # the upgradable read and, re-entered, a plain read

_REENTRANT_ADVICE: Final = "pass reentrant_reads=True to allow re-entrant reads"
# The DeadlockError messages (after the thread's description) for a wait that cannot end.
_REFUSALS: Final = {
    (_AS_WRITER, _READ): "already holds the write lock of this RWLock; waiting for a read "
    "lock would deadlock (use downgrade() to turn the write lock into a read lock)",
    (_AS_WRITER, _WRITE): "already holds the write lock of this RWLock; waiting for it "
    "again would deadlock (write locks are not re-entrant)",
    (_AS_WRITER, _UPGRADABLE): "already holds the write lock of this RWLock; waiting for "
    "the upgradable read lock would deadlock (use downgrade_to_upgradable())",
    (_AS_READER, _READ): "already holds a read lock on this RWLock; taking it again "
    f"deadlocks once a writer waits ({_REENTRANT_ADVICE})",
    (_AS_READER, _WRITE): "holds a read lock on this RWLock; waiting for the write lock "
    "would wait for itself forever (take upgradable_read() instead of read(), then "
    "upgrade())",
    (_AS_READER, _UPGRADABLE): "holds a read lock on this RWLock; waiting for the "
    "upgradable read lock too can deadlock (release the read lock first, or take "
    "upgradable_read() from the start)",
    (_AS_READER, _UPGRADE): "holds a plain read lock on this RWLock, which cannot be "
    "upgraded (two readers upgrading at once deadlock); take upgradable_read() instead of "
    "read(), then upgrade()",
    (_AS_BOTH, _UPGRADE): "holds a plain read lock on this RWLock besides the upgradable "
    "one; upgrade() would wait for itself forever (release the read lock first)",
    (_AS_UPGRADABLE, _READ): "holds the upgradable read lock of this RWLock; taking a read "
    f"lock too deadlocks once a writer waits ({_REENTRANT_ADVICE})",
    (_AS_UPGRADABLE, _WRITE): "holds the upgradable read lock of this RWLock; waiting for "
    "the write lock would wait for itself forever (use upgrade())",
    (_AS_UPGRADABLE, _UPGRADABLE): "already holds the upgradable read lock of this RWLock; "
    "waiting for it again would deadlock (it is not re-entrant)",
}
_current_thread = _p.current_thread
# The OS thread's id (_thread.get_ident), for a read guard to know its own thread.
_get_ident = _p.get_ident

# How long a writer waiting for draining fast reads waits before it looks at their slots
# itself (then twice as long each time, up to _POLL_MAX): see _acquire.
_POLL_FIRST: Final = 0.002
_POLL_MAX: Final = 0.1

# The value of RWLock._bias while fast reads are on and readers of the shared state still
# hold (True: none does, and the fast paths need not look for one).
_MIXED: Final = 2

# Whether read() gives each thread its own guard: on the free-threaded build (there, every use
# of an object that threads share is a contended reference count), not under a GIL (there a
# shared guard is cheaper: it needs no check of which thread uses it).
_OWN_GUARDS = not getattr(sys, "_is_gil_enabled", lambda: True)()

# Whether new slots may take fast reads (the explorer sets it False while it runs).
_FAST_READS = True


class _Slot:
    """One thread's fast-read slot in one RWLock (see the module docstring).

    ``lock`` is acquired while the thread holds a fast read; ``held`` says so (written by
    the thread only); ``revoked`` is set by a revoking writer (under the RWLock's lock) and
    tells the thread to report its leaving (``_fast_left``).
    """

    __slots__ = ("__weakref__", "held", "lock", "revoked", "thread")

    def __init__(self, thread: _p.StdThread) -> None:
        self.lock = _p.allocate_lock()
        self.held = False
        self.revoked = False
        self.thread = thread


class _SlotLocal(_p.local):
    slot: _Slot | None = None  # the calling thread's slot in this RWLock, once made
    guard: _ReadGuard | None = None  # the calling thread's own read(), once made
    token: _Token | None = None  # (see _ReadGuard)


class _Local(_p.local):
    thread: _p.StdThread | None = None  # a class default: no AttributeError on first use


_tls = _Local()


def _thread_local() -> _p.StdThread:
    """The calling thread's Thread, cached in a thread-local (cheaper than current_thread())."""
    thread = _tls.thread = _current_thread()
    return thread


@dataclass(frozen=True, slots=True)
class RWLockStatistics:
    """A snapshot of an RWLock.

    Attributes:
        policy: ``"fair"``, ``"write_preferring"`` or ``"read_preferring"``.
        readers: threads holding a read lock (an upgradable holder is not counted here).
        reader_threads: those threads.
        writer: the thread holding the write lock, or None.
        upgradable: the thread holding the upgradable read lock, or None (None once it
            has upgraded: it is then the ``writer``).
        threads_waiting_read: threads blocked in a read acquire.
        threads_waiting_write: threads blocked in a write acquire.
        threads_waiting_upgradable: threads blocked in an upgradable-read acquire.
        threads_waiting_upgrade: 1 while the upgradable holder waits in ``upgrade()``.

    Examples:
        >>> rw = RWLock(policy="write_preferring")
        >>> with rw.read():
        ...     s = rw.statistics()
        >>> s.policy, s.readers, s.writer, s.threads_waiting
        ('write_preferring', 1, None, 0)
    """

    policy: str
    readers: int
    reader_threads: tuple[_p.StdThread, ...]
    writer: _p.StdThread | None
    upgradable: _p.StdThread | None
    threads_waiting_read: int
    threads_waiting_write: int
    threads_waiting_upgradable: int
    threads_waiting_upgrade: int

    @property
    def threads_waiting(self) -> int:
        """Threads blocked on the lock, whatever they wait for."""
        return (
            self.threads_waiting_read
            + self.threads_waiting_write
            + self.threads_waiting_upgradable
            + self.threads_waiting_upgrade
        )


class RWLock:
    """A readers-writer lock: many readers at once, or one writer.

    ``read()``, ``write()`` and ``upgradable_read()`` are context managers; each mode also
    has explicit ``acquire_*``/``release_*`` methods. An *upgradable* read (as in Rust's
    ``parking_lot``) coexists with plain readers but excludes writers and other upgradable
    readers, and can become the write lock without letting a writer in between:
    ``upgrade()`` waits for the plain readers to leave. ``downgrade()`` turns the write lock
    (or the upgradable read) into a plain read lock without a gap.

    Policies (``policy=``), deciding who goes next:

    * ``"fair"`` (default): arrival order, with readers batched. A waiting writer holds
      new readers back; when a writer releases, the readers that queued before the next
      waiting writer all go in together, then that writer. Neither side starves.
    * ``"write_preferring"``: while a writer waits, no reader gets in; a releasing writer
      hands over to the next writer before any waiting reader. Readers may starve.
    * ``"read_preferring"``: readers never wait for a waiting writer (nor for a pending
      upgrade), only for a writer that holds the lock. Writers may starve under a steady
      stream of readers.

    Mistakes that can only hang raise ``DeadlockError`` at once instead (a non-blocking
    acquire returns False instead): asking for the write lock (or the upgradable read)
    while holding a read lock, upgrading a plain read lock, taking the write lock twice
    (writes are not re-entrant), and taking a read lock again while holding one. The last
    is allowed with ``reentrant_reads=True``: a thread may then re-take the read lock
    while it holds it, even when a writer waits (which would otherwise deadlock under
    ``fair`` and ``write_preferring``). Releasing a lock the thread does not hold raises
    ``RuntimeError`` naming the thread.

    Timeouts follow threadkit's convention for new APIs: ``timeout=None`` waits forever, a
    number is seconds (``0``: try once), and a negative or NaN timeout raises
    ``ValueError``. ``blocking=False`` tries once and cannot take a timeout. Every acquire
    that blocks is a cancellation point (``Cancelled`` in a cancelled ``CancelScope``,
    leaving the lock as if the call had not been made), and ``read_op()``, ``write_op()``,
    ``upgradable_read_op()`` and ``upgrade_op()`` wait in a ``select``.

    Examples:
        >>> rw = RWLock()
        >>> with rw.read():
        ...     rw.statistics().readers
        1
        >>> with rw.upgradable_read():
        ...     rw.upgrade()  # now the write lock
        ...     rw.statistics().writer is not None
        True
        >>> rw.statistics().writer is None
        True
    """

    #: A waiter that has waited this long (seconds) is handed the lock; a younger one is
    #: woken to retry, and may find that a running thread took it first.
    _handoff_after: float = 0.001

    def __init__(self, *, policy: RWLockPolicy = "fair", reentrant_reads: bool = False) -> None:
        if policy not in _POLICIES:
            raise ValueError(
                f"unknown RWLock policy {policy!r}: expected 'fair', 'write_preferring' "
                "or 'read_preferring'"
            )
        self._policy: str = policy
        self._mode = _POLICIES.index(policy)
        # Readers get past waiting writers and pending upgrades (read_preferring).
        self._barging = self._mode == _READ_PREFERRING
        self._reentrant = bool(reentrant_reads)
        self._rq = WaitQueue(self)
        # _lock guards everything below and the four queues (it is their own lock).
        self._lock = self._rq.lock
        self._wq = WaitQueue(self, self._lock)
        self._uq = WaitQueue(self, self._lock)
        self._upq = WaitQueue(self, self._lock)
        self._queues = (self._rq, self._wq, self._uq, self._upq)
        self._readers: dict[_p.StdThread, int] = {}
        self._writer: _p.StdThread | None = None
        self._upgradable: _p.StdThread | None = None
        self._ticket = 0
        # Waiters woken to retry and not yet back, by kind (see _wake).
        self._transit = [0, 0, 0, 0]
        # Fast reads (see the module docstring): allowed while _bias (written under _lock,
        # read without it by the fast paths, which check it again holding their slot's
        # lock); _slots, weak references to every thread's slot (its thread-local holds it:
        # it goes when the thread ends); _draining, the slots whose fast read a revocation
        # found held. Both guarded by _lock.
        self._bias: bool | int = False  # True, _MIXED or False
        self._slots: list[weakref.ref[_Slot]] = []
        self._draining: set[_Slot] = set()
        self._local = _SlotLocal()
        self._read_guard = _ReadGuard(self)
        self._write_guard = _Guard(self, _WRITE, None)
        self._upgradable_guard = _Guard(self, _UPGRADABLE, None)

    # ----------------------------------------------------------------------------------
    # Properties and context managers

    @property
    def policy(self) -> str:
        """The policy it was created with."""
        return self._policy

    @property
    def reentrant_reads(self) -> bool:
        """Whether a thread may take the read lock again while it holds it."""
        return self._reentrant

    def read(self, timeout: float | None = None) -> _ReadGuard:
        """Return a context manager that holds a read lock for the ``with`` block.

        Without a timeout it can be kept and used any number of times. On the
        free-threaded build it is the calling thread's own guard (made on its first call),
        so that a fast read touches neither a guard nor a thread-local that other threads
        use: each use of a shared object costs a contended reference count there.

        Raises:
            TimeoutError: (on entering) ``timeout`` seconds passed first.
            DeadlockError: (on entering) the thread holds the write lock, or (without
                ``reentrant_reads``) a read lock already.
            ValueError: ``timeout`` is negative or NaN.
        """
        if timeout is None:
            # (Not while the explorer runs: its logical threads share OS threads.)
            if not (_OWN_GUARDS and _FAST_READS):
                return self._read_guard
            guard = self._local.guard
            if guard is None:
                guard = self._thread_guard()
            return guard
        return _ReadGuard(self, timeout)

    def write(self, timeout: float | None = None) -> _Guard:
        """Return a context manager that holds the write lock for the ``with`` block.

        If the block ``downgrade()``s, the exit releases what it was downgraded to.

        Raises:
            TimeoutError: (on entering) ``timeout`` seconds passed first.
            DeadlockError: (on entering) the thread holds a read lock, the upgradable read
                or the write lock already.
            ValueError: ``timeout`` is negative or NaN.
        """
        if timeout is None:
            return self._write_guard
        return _Guard(self, _WRITE, timeout)

    def upgradable_read(self, timeout: float | None = None) -> _Guard:
        """Return a context manager that holds the upgradable read lock for the block.

        Inside, ``upgrade()`` turns it into the write lock; the exit releases whatever the
        thread then holds (the write lock, the upgradable read, or a read lock after
        ``downgrade()``).

        Raises:
            TimeoutError: (on entering) ``timeout`` seconds passed first.
            DeadlockError: (on entering) the thread holds a lock of this RWLock already.
            ValueError: ``timeout`` is negative or NaN.
        """
        if timeout is None:
            return self._upgradable_guard
        return _Guard(self, _UPGRADABLE, timeout)

    # ----------------------------------------------------------------------------------
    # Acquire and release

    def acquire_read(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a read lock; return True once held, False if it was not free in time.

        Args:
            blocking: False to try once without blocking.
            timeout: seconds to wait at most (None: forever; 0: try once).

        Raises:
            DeadlockError: (blocking calls) the thread holds the write lock, or, without
                ``reentrant_reads``, a read lock or the upgradable read already.
            ValueError: ``timeout`` is negative or NaN, or given with ``blocking=False``.
            Cancelled: the thread's cancel scope was cancelled while it waited.
        """
        if blocking and timeout is None:  # the fast path (kept in step with _ReadGuard)
            slot = self._local.slot
            if slot is not None and not slot.held and self._bias and _FAST_READS:
                lk = slot.lock
                lk.acquire()
                # (Again, and a re-entry of a shared-state read: as in _ReadGuard.)
                bias = self._bias
                if bias is True or (bias and slot.thread not in self._readers):
                    slot.held = True
                    return True
                lk.release()
                if slot.revoked:
                    self._fast_left(slot)
            me = _tls.thread or _thread_local() if slot is None else slot.thread
            if self._try_read(me, slot):
                return True
        else:
            me = _tls.thread or _thread_local()
        return self._acquire(_READ, me, blocking, timeout)

    def release_read(self) -> None:
        """Release a read lock the calling thread holds.

        Raises:
            RuntimeError: the calling thread holds no read lock (the message names it).
        """
        slot = self._local.slot  # (kept in step with _ReadGuard.__exit__)
        if slot is not None and slot.held:
            slot.held = False
            slot.lock.release()
            if slot.revoked:
                self._fast_left(slot)
            return
        self._release_slow(_tls.thread or _thread_local())

    def acquire_write(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take the write lock; return True once held, False if it was not free in time.

        Raises:
            DeadlockError: (blocking calls) the thread holds a read lock (take
                ``upgradable_read()`` and ``upgrade()`` instead), the upgradable read (use
                ``upgrade()``), or the write lock (it is not re-entrant).
            ValueError: ``timeout`` is negative or NaN, or given with ``blocking=False``.
            Cancelled: the thread's cancel scope was cancelled while it waited.
        """
        me = _tls.thread or _thread_local()
        if timeout is None and self._try_write(me):  # the fast path
            return True
        return self._acquire(_WRITE, me, blocking, timeout)

    def release_write(self) -> None:
        """Release the write lock, which the calling thread must hold.

        Raises:
            RuntimeError: the calling thread does not hold it (the message names the
                threads).
        """
        me = _tls.thread or _thread_local()
        with self._lock:
            self._release_locked(_WRITE, me)

    def acquire_upgradable(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take the upgradable read lock; True once held, False if not free in time.

        One thread at a time holds it, alongside any plain readers; ``upgrade()`` turns it
        into the write lock.

        Raises:
            DeadlockError: (blocking calls) the thread holds a lock of this RWLock already.
            ValueError: ``timeout`` is negative or NaN, or given with ``blocking=False``.
            Cancelled: the thread's cancel scope was cancelled while it waited.
        """
        return self._acquire(_UPGRADABLE, _current_thread(), blocking, timeout)

    def release_upgradable(self) -> None:
        """Release the upgradable read lock, which the calling thread must hold.

        Raises:
            RuntimeError: the calling thread does not hold it (after ``upgrade()`` it holds
                the write lock: release that with ``release_write()``).
        """
        me = _current_thread()
        with self._lock:
            self._release_locked(_UPGRADABLE, me)

    # ----------------------------------------------------------------------------------
    # Upgrade and downgrade

    def upgrade(self) -> None:
        """Turn the upgradable read lock into the write lock, once the readers have left.

        While it waits, new readers are held back (except under ``read_preferring``, where
        the upgrade may wait as long as readers keep coming). No writer can get in between:
        the upgradable read already excludes writers.

        Raises:
            DeadlockError: the thread holds a plain read lock instead (use
                ``upgradable_read()``), or also holds a plain read lock (re-entered with
                ``reentrant_reads``), which the upgrade would wait for forever.
            RuntimeError: the thread does not hold the upgradable read lock.
            Cancelled: the thread's cancel scope was cancelled while it waited (it still
                holds the upgradable read lock).
        """
        self._acquire(_UPGRADE, _current_thread(), True, None)

    def try_upgrade(self, timeout: float | None = 0) -> bool:
        """Upgrade, waiting at most ``timeout`` seconds; return False (still upgradable) if not.

        ``timeout=0`` (the default) does not wait; ``None`` waits as ``upgrade()`` does.

        Raises:
            DeadlockError, RuntimeError: as ``upgrade()``.
            ValueError: ``timeout`` is negative or NaN.
        """
        return self._acquire(_UPGRADE, _current_thread(), True, timeout)

    def downgrade(self) -> None:
        """Turn the write lock, or the upgradable read lock, into a plain read lock.

        Atomic: no writer gets in between. Readers that the policy admits (under ``fair``,
        those that queued before the next waiting writer) go in alongside.

        Raises:
            RuntimeError: the thread holds neither the write lock nor the upgradable read.
        """
        me = _current_thread()
        with self._lock:
            if self._writer is me:
                self._writer = None
            elif self._upgradable is me:
                self._upgradable = None
            else:
                raise RuntimeError(
                    f"{describe_thread(me)} holds neither the write lock nor the upgradable "
                    "read lock of this RWLock: nothing to downgrade"
                )
            self._grant(_READ, me)
            self._dispatch()

    def downgrade_to_upgradable(self) -> None:
        """Turn the write lock into the upgradable read lock (``upgrade()`` undone).

        Raises:
            RuntimeError: the thread does not hold the write lock.
        """
        me = _current_thread()
        with self._lock:
            self._release_locked(_UPGRADE, me)

    # ----------------------------------------------------------------------------------
    # Select operations

    def read_op(self) -> SelectOp[bool]:
        """Return a select operation that takes a read lock (its value: True).

        The thread that selects it holds the read lock afterwards, as after
        ``acquire_read()``. Selecting it where ``acquire_read()`` would raise
        ``DeadlockError`` raises the same.
        """
        return _LockOp(self, _READ, "read_op")

    def write_op(self) -> SelectOp[bool]:
        """Return a select operation that takes the write lock (its value: True)."""
        return _LockOp(self, _WRITE, "write_op")

    def upgradable_read_op(self) -> SelectOp[bool]:
        """Return a select operation that takes the upgradable read lock (its value: True)."""
        return _LockOp(self, _UPGRADABLE, "upgradable_read_op")

    def upgrade_op(self) -> SelectOp[bool]:
        """Return a select operation that upgrades the upgradable read lock (its value: True).

        If another operation of the select wins, the thread keeps its upgradable read lock.
        """
        return _LockOp(self, _UPGRADE, "upgrade_op")

    # ----------------------------------------------------------------------------------
    # Statistics

    def statistics(self) -> RWLockStatistics:
        """Return a snapshot: holders, waiting threads by what they wait for, the policy."""
        with self._lock:
            readers = self._reader_threads()
            return RWLockStatistics(
                self._policy,
                len(readers),
                readers,
                self._writer,
                self._upgradable,
                len(self._rq),
                len(self._wq),
                len(self._uq),
                len(self._upq),
            )

    def __repr__(self) -> str:
        s = self.statistics()
        cls = type(self)
        parts = [s.policy]
        if s.writer is not None:
            parts.append(f"write-locked by {describe_thread(s.writer)}")
        if s.readers:
            parts.append(f"{s.readers} reader{'s' if s.readers != 1 else ''}")
        if s.upgradable is not None:
            parts.append(f"upgradable read held by {describe_thread(s.upgradable)}")
        if len(parts) == 1:
            parts.append("unlocked")
        if s.threads_waiting:
            parts.append(f"{s.threads_waiting} waiting")
        return f"<{cls.__module__}.{cls.__qualname__} at {id(self):#x}: {', '.join(parts)}>"

    # ----------------------------------------------------------------------------------
    # Internals (the lock held where the docstring says so)

    def _acquire(self, kind: int, me: _p.StdThread, blocking: bool, timeout: float | None) -> bool:
        """The slow path of every acquire, of ``upgrade`` and ``try_upgrade``."""
        if not blocking:
            if timeout is not None:
                raise ValueError("can't specify a timeout for a non-blocking call")
            deadline = None
        else:
            deadline = deadline_after(timeout)
        queue = self._queues[kind]
        with self._lock:
            if self._try_locked(kind, me, blocking):
                return True
            if not blocking or timeout == 0:
                return False
            self._ticket += 1
            place = (me, self._ticket, get_clock().now())
            waiter = queue.enqueue()
            waiter.payload = place
        poll = _POLL_FIRST
        while True:
            # While fast reads drain, each reader reports its leaving (_fast_left), told so
            # by its slot's `revoked`, which it reads without the lock: should a report be
            # missed, this wait looks at the draining slots itself now and then, staying
            # queued in its place meanwhile (so that no reader gets past a waiting writer).
            # The waiter is queued throughout: whatever interrupts (KeyboardInterrupt, at
            # any point of a look too) withdraws it.
            try:
                wait_until = deadline
                clock = get_clock()
                # (Not with the diagnostics on: a timed wait is never part of a deadlock
                # there.)
                if self._draining and not clock.virtual and not _hooks.enabled:  # (a hint)
                    wait_until = clock.now() + poll
                    if deadline is not None and deadline < wait_until:
                        wait_until = deadline
                    poll = min(poll * 2, _POLL_MAX)
                polling = wait_until is not deadline
                woken = queue.park(waiter, wait_until, stay=polling)
                if not woken and polling:  # a look at the draining slots (still queued)
                    with self._lock:
                        self._recheck_draining()
                    continue
            except BaseException:
                queue.abandon(waiter)
                waiter.payload = None
                self._abandoned(kind, me, waiter.value if waiter.state is WOKEN else None)
                raise
            waiter.payload = None
            if not woken:
                self._abandoned(kind, me, None)
                return False
            if waiter.value is _HANDOFF:
                return True
            with self._lock:  # woken to retry: take it, or wait again at the head
                self._transit[kind] -= 1
                if self._try_locked(kind, me, False, admitted=True):
                    return True
                waiter = queue.enqueue(front=True)
                waiter.payload = place
                # While this thread was in transit, _dispatch admitted nobody (it counts
                # as a holder): a release meanwhile may have freed the lock for another
                # waiter (an upgrade whose last reader left). Look again now.
                self._dispatch()

    def _abandoned(self, kind: int, me: _p.StdThread, wake: object) -> None:
        """A wait ended without the lock: timeout, cancellation, interrupt (lock not held).

        ``wake`` is what woke the thread as the wait was given up (``_HANDOFF``: the lock
        was handed over and goes back; ``_RETRY``: its turn passes on), or None.
        """
        with self._lock:
            if wake is _HANDOFF:
                self._release_locked(kind, me)
                return
            if wake is _RETRY:
                self._transit[kind] -= 1
            self._dispatch()

    def _try_locked(
        self, kind: int, me: _p.StdThread, blocking: bool, *, admitted: bool = False
    ) -> bool:
        """Take ``kind`` for ``me`` if it may go in now (lock held); False if not.

        ``admitted``: ``_dispatch`` chose this waiter, so the policy's gate is open to it
        and only the holders matter. Raises ``DeadlockError`` (blocking calls; ``upgrade``
        always) where waiting could never end, and ``RuntimeError`` for an upgrade without
        the upgradable read.
        """
        if kind != _READ:
            if self._bias:
                self._revoke()
        elif not admitted and self._fast_grant(me):
            return True
        if self._free_locked(kind, me, admitted):
            self._grant(kind, me)
            return True
        if blocking or kind == _UPGRADE:
            refusal = self._refusal(kind, me)
            if refusal is not None:
                raise refusal
        return False

    def _free_locked(self, kind: int, me: _p.StdThread, admitted: bool = False) -> bool:
        """Whether ``me`` may take ``kind`` now, by the holders and the policy (lock held)."""
        if kind == _READ:
            if me is self._upgradable or self._holds_read(me):
                return self._reentrant
            return self._writer is None and (
                admitted or self._barging or not (self._wq or self._upq)
            )
        readers = self._readers or self._draining
        if kind == _WRITE:
            return (
                self._writer is None
                and not readers
                and self._upgradable is None
                and (admitted or not self._wq)  # writers queue in order, under every policy
            )
        if kind == _UPGRADABLE:
            return (
                self._writer is None
                and self._upgradable is None
                and not self._holds_read(me)
                and (admitted or (not self._uq and (self._barging or not self._wq)))
            )
        return self._upgradable is me and not readers  # _UPGRADE

    def _refusal(self, kind: int, me: _p.StdThread) -> Exception | None:
        """The error for ``me`` waiting for ``kind`` if it can only deadlock, else None."""
        if self._writer is me:
            role = _AS_WRITER
        elif self._holds_read(me):
            role = _AS_READER
            if self._upgradable is me:  # re-entered: as the upgradable holder, but upgrade
                role = _AS_BOTH if kind == _UPGRADE else _AS_UPGRADABLE
        elif self._upgradable is me:
            role = _AS_UPGRADABLE
        else:
            role = _AS_NONE
        if kind == _UPGRADE and role in (_AS_NONE, _AS_WRITER):
            held = (
                "already holds the write lock"
                if role == _AS_WRITER
                else "does not hold the upgradable read lock"
            )
            return RuntimeError(f"{describe_thread(me)} {held} of this RWLock")
        message = _REFUSALS.get((role, kind))
        return None if message is None else DeadlockError(f"{describe_thread(me)} {message}")

    def _not_held(self, me: _p.StdThread, kind: int) -> str:
        """The message for releasing ``kind`` that ``me`` does not hold (lock held)."""
        who = describe_thread(me)
        if kind == _WRITE and self._writer is not None:
            return (
                f"cannot release the write lock of this RWLock held by "
                f"{describe_thread(self._writer)} from {who}"
            )
        hint = ""
        if self._writer is me:
            hint = " (it holds the write lock: use release_write())"
        elif self._upgradable is me:
            hint = " (it holds the upgradable read lock: use release_upgradable())"
        elif self._holds_read(me):
            hint = " (it holds a read lock: use release_read())"
        return f"{who} does not hold {_WHAT[kind]} of this RWLock{hint}"

    def _grant(self, kind: int, thread: _p.StdThread) -> None:
        """Record ``thread`` as holding ``kind`` (lock held; it was woken for it)."""
        if kind == _READ:
            self._readers[thread] = self._readers.get(thread, 0) + 1
            if self._bias is True:  # (a re-entrant read nested in a fast one, say)
                self._bias = _MIXED
        elif kind == _WRITE:
            self._writer = thread
        elif kind == _UPGRADABLE:
            self._upgradable = thread
        else:
            self._writer = thread
            self._upgradable = None

    def _release_slow(self, me: _p.StdThread) -> None:
        """Release a read lock that is not a fast one (called without ``_lock``)."""
        with self._lock:
            readers = self._readers
            n = readers.get(me)
            if n == 1:
                del readers[me]
                if not readers:
                    if self._bias is _MIXED:
                        self._bias = True
                    elif not self._draining and (self._wq or self._upq):
                        self._dispatch()
                return
            if n is None:
                raise RuntimeError(self._not_held(me, _READ))
            readers[me] = n - 1

    # Fast reads (see the module docstring); the lock held in each but _fast_left.

    def _holds_read(self, me: _p.StdThread) -> bool:
        """Whether ``me``, the calling thread, holds a read lock (a fast one or not)."""
        if me in self._readers:
            return True
        slot = self._local.slot
        return slot is not None and slot.held

    def _reader_threads(self) -> tuple[_p.StdThread, ...]:
        """The threads that hold a read lock, fast ones included."""
        fast = [slot.thread for ref in self._slots if (slot := ref()) is not None and slot.held]
        return (*self._readers, *(t for t in fast if t not in self._readers))

    def _try_write(self, me: _p.StdThread) -> bool:
        """The write lock for ``me`` if it is free and nobody waits for it (lock not held)."""
        lock = self._lock
        lock.acquire()
        try:
            if self._bias:
                self._revoke()
            if (
                self._writer is None
                and not self._readers
                and not self._draining
                and self._upgradable is None
                and not self._wq
            ):
                self._writer = me
                return True
            return False
        finally:
            lock.release()

    def _try_read(self, me: _p.StdThread, slot: _Slot | None) -> bool:
        """A read lock for ``me`` (the calling thread; ``slot``, its slot) if it needs no
        wait and no check of a re-entry: the common case when fast reads are off (lock not
        held)."""
        if slot is not None and slot.held:
            return False  # a re-entry: the slow path decides
        lock = self._lock
        lock.acquire()
        try:
            if (
                self._writer is None
                and me is not self._upgradable
                and (self._barging or not (self._wq or self._upq))
            ):
                readers = self._readers
                if me not in readers:
                    if not self._fast_grant(me):  # (fast reads on again, if they may be)
                        readers[me] = 1
                        if self._bias is True:
                            self._bias = _MIXED
                    return True
            return False
        finally:
            lock.release()

    def _may_bias(self) -> bool:
        """Whether fast reads may be allowed again: nobody but readers uses the lock.

        Readers of the shared state (``_readers``) may still hold: a writer that comes
        waits for them and for the fast ones alike, and a thread among them that reads
        again is sent to the slow path (its re-entry is checked there) by the fast paths'
        look at ``_readers``. A writer woken to retry that has not come back yet does not
        count, nor do the readers queued behind it: the lock is free meanwhile, the writer
        may take a while to be scheduled, and once back it revokes fast reads as any
        writer does (woken to retry, it may find running threads got in first). An
        upgradable reader woken to retry still counts (kept as it was: it is rare).
        """
        transit = self._transit
        return (
            self._writer is None
            and not self._wq
            and not self._draining
            and self._upgradable is None
            and not (self._uq or self._upq)
            and not (transit[0] or transit[2] or transit[3])
        )

    def _fast_grant(self, me: _p.StdThread) -> bool:
        """Give ``me`` (the calling thread) a fast read if fast reads are, or may be, on."""
        if not _FAST_READS or _hooks.enabled:
            # The explorer runs (a lock made before it may still have them on), or the
            # diagnostics are on: their wait-for graph and timeline see every read there.
            if self._bias:
                self._revoke()
            return False
        if not (self._bias or self._may_bias()) or me in self._readers:
            return False  # (in _readers: a re-entry, which the slow path decides)
        slot = self._local.slot
        if slot is None:
            slot = self._new_slot(me)
        elif slot.held:
            return False  # a re-entry: the slow path decides
        # Free unless an exception came between the slot lock and `held` in a fast path:
        # then do not wait here (under _lock) for what may never come.
        if not slot.lock.acquire(False):
            return False
        self._bias = True if not self._readers else _MIXED
        slot.held = True
        return True

    def _new_slot(self, me: _p.StdThread) -> _Slot:
        """Make the calling thread's slot (lock held); its thread-local holds it, so it goes
        with the thread (``_slots`` refers to it weakly)."""
        slot = self._local.slot = _Slot(me)
        self._slots = [ref for ref in self._slots if ref() is not None]
        self._slots.append(weakref.ref(slot))
        return slot

    def _thread_guard(self) -> _ReadGuard:
        """Make the calling thread's own read guard (see ``read``), with its slot."""
        with self._lock:
            slot = self._local.slot
            if slot is None:
                slot = self._new_slot(_tls.thread or _thread_local())
        guard = self._local.guard = _ReadGuard(self, None, slot)
        return guard

    def _revoke(self) -> None:
        """Stop fast reads; fast reads still held count as readers until they end."""
        self._bias = False
        draining = self._draining
        for ref in self._slots:
            slot = ref()
            if slot is None:
                continue  # its thread ended
            lk = slot.lock
            if lk.acquire(False):  # no fast read there; a later one will see _bias False
                lk.release()
                continue
            slot.revoked = True  # before the second try: either that try finds the lock
            if lk.acquire(False):  # free, or the holder sees revoked when it lets go
                lk.release()
                slot.revoked = False
                continue
            draining.add(slot)

    def _fast_left(self, slot: _Slot) -> None:
        """A revoked slot's thread let go of its lock (called without ``_lock``)."""
        with self._lock:
            if slot in self._draining:
                self._recheck_draining((slot,))

    def _recheck_draining(self, slots: tuple[_Slot, ...] | None = None) -> None:
        """Take the draining ``slots`` (default: all) whose lock is free off the list; admit
        who may go next once none is left (lock held). Taking the lock is the check: it
        orders the reader's read before whatever the lock is given to next."""
        draining = self._draining
        for slot in tuple(draining) if slots is None else slots:
            lk = slot.lock
            if lk.acquire(False):
                lk.release()
                slot.revoked = False
                draining.discard(slot)
        if not draining:
            self._dispatch()

    def _release_locked(self, kind: int, me: _p.StdThread) -> None:
        """Release ``kind`` held by ``me`` and admit who may go next (lock held).

        Raises ``RuntimeError`` if ``me`` does not hold it. ``_UPGRADE`` undoes an upgrade
        (the write lock becomes the upgradable read again).
        """
        if kind == _READ:
            n = self._readers.get(me)
            if n is None:
                raise RuntimeError(self._not_held(me, _READ))
            if n > 1:
                self._readers[me] = n - 1
                return
            del self._readers[me]
            if self._bias is _MIXED and not self._readers:
                self._bias = True
        elif self._writer is me and kind != _UPGRADABLE:
            self._writer = None
            if kind == _UPGRADE:
                self._upgradable = me
        elif self._upgradable is me and kind == _UPGRADABLE:
            self._upgradable = None
        else:
            raise RuntimeError(self._not_held(me, _WRITE if kind == _UPGRADE else kind))
        self._dispatch()

    def _dispatch(self) -> None:
        """Admit the waiters the policy lets in now (lock held).

        Waiters woken to retry (``_transit``) count as holders here, so the policy's
        order between waiters holds whichever way they are woken.
        """
        transit = self._transit
        if self._writer is not None or transit[_WRITE] or transit[_UPGRADE]:
            return
        if self._bias and (self._wq or self._upq or self._uq):
            # (Defensive: every path that queues a writer or an upgradable reader revokes
            # first, and a waiter stays queued while it looks at draining slots. A writer
            # must wait for fast readers, and the upgradable read is never held with fast
            # reads on: its holder's own reads are refused in the slow path.)
            self._revoke()
        readers = self._readers  # (the same dict: the grants below add to it)
        draining = self._draining  # a draining slot is a reader still
        upq = self._upq
        if upq:
            if not (readers or draining or transit[_READ]):
                self._wake(upq, _UPGRADE)
                return
            if not self._barging:
                return  # a pending upgrade holds new readers back
        wq = self._wq
        limit = _INF
        if wq:
            if self._mode == _WRITE_PREFERRING:
                if not (
                    readers
                    or draining
                    or transit[_READ]
                    or self._upgradable is not None
                    or transit[_UPGRADABLE]
                ):
                    self._wake(wq, _WRITE)
                return
            if self._mode == _FAIR:
                limit = wq[0].payload[1]  # type: ignore[index]  # the oldest writer's ticket
        rq = self._rq
        # Admit the readers (and one upgradable reader) that came before `limit`. A select
        # arm at the head that already fired elsewhere is skipped by wake_one(), which may
        # then admit a reader that came after it: harmless, readers share the lock.
        while rq and rq[0].payload[1] < limit:  # type: ignore[index]
            self._wake(rq, _READ)
        uq = self._uq
        while (
            uq
            and self._upgradable is None
            and not transit[_UPGRADABLE]
            and uq[0].payload[1] < limit  # type: ignore[index]
        ):
            self._wake(uq, _UPGRADABLE)
        if wq and not (
            readers
            or draining
            or transit[_READ]
            or self._upgradable is not None
            or transit[_UPGRADABLE]
        ):
            self._wake(wq, _WRITE)

    def _wake(self, queue: WaitQueue, kind: int) -> None:
        """Wake the oldest live waiter of ``queue`` for ``kind`` (lock held).

        A waiter that has waited ``_handoff_after`` seconds or more is handed the lock
        (recorded as its holder before it runs); a younger one is woken to retry, and a
        running thread may take the lock first (barging), as in parking_lot.
        """
        head = queue[0].payload
        if get_clock().now() - head[2] >= self._handoff_after:  # type: ignore[index]
            woke, payload = queue.wake_one(_HANDOFF)
            if woke:
                self._grant(kind, payload[0])  # type: ignore[index]
        else:
            woke, _ = queue.wake_one(_RETRY)
            if woke:
                self._transit[kind] += 1

    # Select support: the lock held in each.

    def _try_select(self, kind: int) -> bool:
        me = _current_thread()
        with self._lock:
            return self._try_locked(kind, me, True)

    def _register(self, kind: int, arm: Arm) -> bool:
        me = _current_thread()
        with self._lock:
            if kind != _READ and self._bias:
                self._revoke()
            if self._free_locked(kind, me):
                return True
            self._ticket += 1
            arm.payload = (me, self._ticket, get_clock().now())
            self._queues[kind].register(arm)
            return False

    def _fired(self, kind: int, wake: object) -> bool:
        """A select arm of ``kind`` fired: the lock was handed over, or retry (admitted)."""
        if wake is _HANDOFF:
            return True
        with self._lock:
            self._transit[kind] -= 1
            if self._try_locked(kind, _current_thread(), False, admitted=True):
                return True
            self._dispatch()  # as in _acquire: others may have been held back meanwhile
            return False

    def _unregister(self, kind: int, arm: Arm) -> None:
        queue = self._queues[kind]
        with self._lock:
            if arm in queue:
                queue.remove(arm)
                self._dispatch()


class _ReadGuard:
    """``with rw.read():``: one per lock, or each thread's own (``_OWN_GUARDS``), reused; or
    one per call with a timeout.

    ``with`` is the common way in, so the fast paths of ``acquire_read`` and
    ``release_read`` are repeated here rather than called (a call costs as much as they do):
    a fast read (the thread's slot), else ``_try_read`` (a read recorded under the lock
    when nothing is in the way), else ``_acquire``; on the way out, the slot's read, else
    ``_release_slow``.

    A thread's own guard (``_own``, its slot) finds the slot without the thread-local when
    its thread uses it (``_ident``): then the shared objects it touches are the lock and its
    ``_bias``. Used from another thread (it was passed on), it finds the calling thread's
    slot as the other guards do, and so it does once its thread has ended: ``_ident`` is
    then cleared (a thread's id is reused), by a callback of a weak reference to a token
    that the thread's thread-local holds.
    """

    __slots__ = ("__weakref__", "_alive", "_ident", "_local", "_own", "_rw", "_timeout")

    def __init__(self, rw: RWLock, timeout: float | None = None, slot: _Slot | None = None) -> None:
        self._rw = rw
        self._timeout = timeout
        self._local = rw._local  # (never replaced)
        # The slot and id of the thread whose own guard this is, or None; cleared (only ever
        # to None, by whichever thread drops the token: see _orphaned) once it has ended.
        self._own = slot
        self._ident: int | None = None
        self._alive: weakref.ref[_Token] | None = None
        if slot is not None:
            token = rw._local.token = _Token()  # goes with the thread's thread-local
            self._alive = weakref.ref(token, functools.partial(_orphaned, weakref.ref(self)))
            self._ident = _get_ident()

    def __enter__(self) -> None:
        slot = self._own  # a thread's own guard, in its own thread: its slot at hand
        if slot is None or self._ident != _get_ident():
            slot = self._local.slot
        rw = self._rw
        if (
            slot is not None
            and rw._bias
            and not slot.held
            and self._timeout is None
            and _FAST_READS
        ):
            lk = slot.lock
            lk.acquire()
            # (Again: a writer may have revoked it meanwhile.) _MIXED: a thread that holds
            # a read of the shared state (taken before the bias came back) re-enters: the
            # slow path decides. Its own entry there changes only in step with it.
            bias = rw._bias
            if bias is True or (bias and slot.thread not in rw._readers):
                slot.held = True
                return
            lk.release()
            if slot.revoked:
                rw._fast_left(slot)
        me = _tls.thread or _thread_local() if slot is None else slot.thread
        if self._timeout is None and rw._try_read(me, slot):
            return
        if not rw._acquire(_READ, me, True, self._timeout):
            raise TimeoutError("timed out waiting for the read lock")

    async def __aenter__(self) -> None:
        """``async with rw.read():`` in a coroutine (held by the event loop's thread)."""
        await _acquire_async(self._rw.read_op(), self._timeout, "the read lock")

    async def __aexit__(self, *exc: object) -> None:
        self._rw.release_read()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        slot = self._own  # (as on entry)
        if slot is None or self._ident != _get_ident():
            slot = self._local.slot
        if slot is not None:
            if slot.held:  # (the lock itself is not touched: a shared object costs there)
                slot.held = False
                slot.lock.release()
                if slot.revoked:
                    self._rw._fast_left(slot)
                return
            me = slot.thread
        else:
            me = _tls.thread or _thread_local()
        self._rw._release_slow(me)


class _Token:
    """Held by a thread's thread-local only: it goes when the thread ends."""

    __slots__ = ("__weakref__",)


def _orphaned(guard_ref: weakref.ref[_ReadGuard], _: object) -> None:
    """A thread ended: its own read guard, if still used, no longer takes its id as its own
    (nor keeps its slot)."""
    guard = guard_ref()
    if guard is not None:
        guard._ident = None
        guard._own = None


class _Guard:
    """``with rw.write():`` / ``with rw.upgradable_read():``; the exit releases what is held.

    The block may have changed the mode (``upgrade()``, ``downgrade()``), so the exit asks
    the lock what the thread holds now: the write lock, else the upgradable read, else a
    read lock.
    """

    __slots__ = ("_kind", "_rw", "_timeout")

    def __init__(self, rw: RWLock, kind: int, timeout: float | None) -> None:
        self._rw = rw
        self._kind = kind
        self._timeout = timeout

    def __enter__(self) -> None:
        rw = self._rw
        me = _tls.thread or _thread_local()
        if self._kind == _WRITE and self._timeout is None and rw._try_write(me):
            return
        if not rw._acquire(self._kind, me, True, self._timeout):
            raise TimeoutError(f"timed out waiting for {_WHAT[self._kind]}")

    async def __aenter__(self) -> None:
        """``async with rw.write():`` / ``rw.upgradable_read()`` in a coroutine."""
        rw = self._rw
        op = rw.write_op() if self._kind == _WRITE else rw.upgradable_read_op()
        await _acquire_async(op, self._timeout, _WHAT[self._kind])

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(None, None, None)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        rw = self._rw
        me = _tls.thread or _thread_local()
        lock = rw._lock
        lock.acquire()
        try:
            if rw._writer is me:
                rw._writer = None
                if rw._rq or rw._wq or rw._uq:
                    rw._dispatch()
                return
            # The block downgraded, or this is an upgradable_read() block not upgraded.
            rw._release_locked(_UPGRADABLE if rw._upgradable is me else _READ, me)
        finally:
            lock.release()


class _LockOp(SelectOp[bool]):
    """A select operation that takes (or upgrades to) one mode of an RWLock.

    The lock is handed over by the releasing thread, as for a blocking acquire: when this
    operation's arm fires, the selecting thread already holds the lock (``complete``), and
    if the select is interrupted after that, ``pass_on`` gives it back.
    """

    __slots__ = ("_kind", "_name", "_rw")

    def __init__(self, rw: RWLock, kind: int, name: str) -> None:
        self._rw = rw
        self._kind = kind
        self._name = name

    def __repr__(self) -> str:
        return f"<{self._name} of {self._rw!r}>"

    def try_select(self) -> tuple[bool, bool]:
        return self._rw._try_select(self._kind), True

    def register(self, arm: Arm) -> bool:
        return self._rw._register(self._kind, arm)

    def unregister(self, arm: Arm) -> None:
        self._rw._unregister(self._kind, arm)

    def complete(self, arm: Arm, value: object) -> tuple[bool, bool]:
        return self._rw._fired(self._kind, value), True

    def pass_on(self, arm: Arm, value: object) -> None:
        self._rw._abandoned(self._kind, _current_thread(), value)


async def _acquire_async(op: SelectOp[Any], timeout: float | None, what: str) -> None:
    """Take ``op`` for the awaiting coroutine; ``TimeoutError`` naming ``what`` after
    ``timeout``. The lock is held by the event loop's thread: two tasks of one loop that
    both want it exclusively get ``DeadlockError`` rather than waiting for each other."""
    from . import _aio  # (imports asyncio: only when used)

    try:
        await _aio.perform(op, timeout)
    except TimeoutError:
        raise TimeoutError(f"timed out waiting for {what}") from None
