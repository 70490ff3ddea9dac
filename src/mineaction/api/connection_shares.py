# SPDX-License-Identifier: GPL-3.0-or-later
"""How many connections each worker of `mineaction serve` holds, so that a new
connection goes to a worker holding the fewest.

A keep-alive connection stays with the worker that accepted it, and a worker serves its
connections' requests in turn, on one core: a client waits about as long as its worker
has clients. When the kernel spread connections over the workers by address hash
(SO_REUSEPORT), 50 clients split anywhere from 26/24 to 17/33 between runs of issue 20's
bench, and the 33 waited twice as long as the 17 (55 against 26 ms a round of the
worker's clients): the p99 followed the larger share. So the workers share one listening
socket and each keeps its count of open connections in a small shared file (`create`,
`ConnectionShares`): a worker takes a waiting connection only while it holds fewer than
its even share of all of them, held and waiting (`may_take`; the kernel says how many
wait, `waiting`). The worker that should take it may be stopped or busy for long;
api/serving.py then lets any worker take it after a short while (`HANDOVER_S` there).

Counting at accept time is not enough on its own. A worker counts a connection closed
only when its loop comes round to it, up to a round of its clients later; wrk's 50
clients reconnecting as one run ends and the next begins found the other worker's old
connections still counted, and split 28/22 to 30/20, once 38/12 (p99 135 ms against
89 in a balanced run). So a worker holding more than its even share of the connections
held and waiting (`over_share`) closes one after its answer (HTTP's `Connection:
close`, api/serving.py), and the client's next connection goes to a worker holding
fewer. It counts such a connection closed at once (`shed`), and its client in the total
its share is measured against for RETURN_S: a client told to close is neither held nor
waiting until it sends its next request, and without it a worker would go on shedding
the very connections it had just shed. Counts of the others run ahead of what they hold,
never behind, so a worker sheds too few rather than too many, and the rest at its next
answers.

Each worker claims a slot of the file by locking a small file of that slot (flock): the
kernel releases the lock when the worker exits or dies, so a slot whose lock can be taken
belongs to no running worker, and the worker started in its place claims it again.
Counts are written by their own worker only (8-byte aligned words); the others only read
them, so no lock is needed on the counts.
"""

from __future__ import annotations

import collections
import glob
import mmap
import os
import socket
import struct
import tempfile
import time
from collections.abc import Callable
from typing import Any

# The supervisor names the file to its workers through the environment (uvicorn starts
# them as fresh processes).
ENV = "MINEACTION_CONNECTION_SHARES"
SLOTS = 64  # workers at most; a worker beyond them takes connections freely
_FREE = -1  # a slot no running worker holds
# How long a client told to close counts as coming back (`over_share`): longer than it
# takes to (its next request), short enough to follow clients that have gone for good.
RETURN_S = 1.0
_now = time.monotonic
_WORD = struct.calcsize("q")


def create() -> str:
    """A new shares file with every slot free (in shared memory where there is some);
    its path. `remove` it when the server stops."""
    where = "/dev/shm" if os.path.isdir("/dev/shm") else None
    fd, path = tempfile.mkstemp(prefix="mineaction-serve-", suffix=".shares", dir=where)
    with os.fdopen(fd, "wb") as out:
        out.write(struct.pack(f"{SLOTS}q", *([_FREE] * SLOTS)))
    return path


def remove(path: str) -> None:
    """The shares file and its slots' lock files."""
    for name in [path, *glob.glob(glob.escape(path) + ".*")]:
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass


class NoFreeSlot(RuntimeError):
    """More running workers than the file has slots."""


class ConnectionShares:
    """One worker's view of the shares file at `path`: its own slot, and every count."""

    def __init__(self, path: str) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR)
        try:
            self._map = mmap.mmap(fd, SLOTS * _WORD)
        finally:
            os.close(fd)
        self._counts = memoryview(self._map).cast("q")
        self._lock_fd, self.slot = self._claim()
        self._counts[self.slot] = 0
        # connections counted closed when told to close (`shed`), not yet lost
        self._shed = 0
        # when each connection told to close lately was (`over_share`), oldest first
        self._returning: collections.deque[float] = collections.deque()

    def _claim(self) -> tuple[int, int]:
        import fcntl  # POSIX only: Windows serves without uvloop, so without shares

        for slot in range(SLOTS):
            fd = self._lock_file(slot)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a running worker's slot
                os.close(fd)
                continue
            return fd, slot
        raise NoFreeSlot(f"{self.path}: more than {SLOTS} workers")

    def _lock_file(self, slot: int) -> int:
        return os.open(f"{self.path}.{slot}", os.O_RDWR | os.O_CREAT, 0o600)

    def counts(self) -> list[int]:
        """Every slot's count (-1: no running worker there), as the file says now."""
        return list(self._counts.tolist())

    def may_take(self, waiting: int) -> bool:
        """Whether this worker holds fewer than its even share (rounded up) of the
        connections the running workers hold and the `waiting` ones: 50 waiting at once
        go 25 to each of two workers, each taking its share in one turn, and one more
        goes to the worker holding fewer. Before leaving them to the others, any slot
        whose worker is gone (its lock free) is freed."""
        if self._within_share(waiting):
            return True
        freed = False
        for slot, count in enumerate(self._counts.tolist()):
            if count >= 0 and slot != self.slot and not self._running(slot):
                self._counts[slot] = _FREE
                freed = True
        return freed and self._within_share(waiting)

    def _within_share(self, waiting: int) -> bool:
        return bool(self._counts[self.slot] < self._share(waiting))

    def _share(self, waiting: int) -> int:
        """The even share, rounded up, of the connections the running workers hold and
        the `waiting` ones."""
        counts = [c for c in self._counts.tolist() if c >= 0]
        return -(-(sum(counts) + waiting) // len(counts))

    def over_share(self, waiting: int) -> bool:
        """Whether this worker holds more than its even share (rounded up) of the
        connections held and `waiting`, and of the clients it told to close in the last
        RETURN_S (the module says why): then one of them should close after its answer
        (`shed`)."""
        if self._lock_fd < 0:  # left: the server is stopping
            return False
        since = _now() - RETURN_S
        while self._returning and self._returning[0] < since:
            self._returning.popleft()
        return bool(self._counts[self.slot] > self._share(waiting + len(self._returning)))

    def shed(self) -> None:
        """One of this worker's connections closes after its answer: counted closed now,
        so that the next answer's look sees it, and not again when it is lost."""
        if self._lock_fd >= 0 and self._counts[self.slot] > 0:
            self._counts[self.slot] -= 1
            self._shed += 1
            self._returning.append(_now())

    def _running(self, slot: int) -> bool:
        import fcntl

        fd = self._lock_file(slot)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # and with it the lock, if this took it
        return False

    def opened(self) -> None:
        self._counts[self.slot] += 1

    def closed(self) -> None:
        if self._shed > 0:  # counted closed already (whichever of them this one is, the
            self._shed -= 1  # count comes out the same once they are all gone)
        elif self._counts[self.slot] > 0:
            self._counts[self.slot] -= 1

    def counting(self, factory: Callable[[], Any]) -> Callable[[], Any]:
        """`factory`, its protocols counting their connection closed (`closed`) when it
        is lost. The connection was counted open when accepted (`opened`)."""

        def make() -> Any:
            protocol = factory()
            lost = protocol.connection_lost

            def connection_lost(exc: Exception | None) -> None:
                self.closed()
                lost(exc)

            protocol.connection_lost = connection_lost
            return protocol

        return make

    def leave(self) -> None:
        """Free this worker's slot (the server is stopping)."""
        if self._lock_fd < 0:
            return
        self._counts[self.slot] = _FREE
        os.close(self._lock_fd)  # releases the slot's lock
        self._lock_fd = -1


# struct tcp_info (linux/tcp.h): eight one-byte fields, then u32 rto, ato, snd_mss,
# rcv_mss and unacked, which for a listening socket is its accept queue's length.
_TCP_INFO_BYTES = 32
_QUEUED_AT = 24


def waiting(listening: socket.socket) -> int | None:
    """How many connections wait in the listening socket's accept queue (Linux), or None
    where the kernel does not say."""
    option = getattr(socket, "TCP_INFO", None)
    if option is None:
        return None
    try:
        info = listening.getsockopt(socket.IPPROTO_TCP, option, _TCP_INFO_BYTES)
    except OSError:
        return None
    if len(info) < _TCP_INFO_BYTES:
        return None
    return int(struct.unpack_from("I", info, _QUEUED_AT)[0])


def from_environment() -> ConnectionShares | None:
    """This worker's shares when its supervisor made a file for them (ENV), else None
    (one worker: nothing to share)."""
    path = os.environ.get(ENV)
    if not path or not os.path.exists(path):
        return None
    try:
        return ConnectionShares(path)
    except NoFreeSlot:
        return None
