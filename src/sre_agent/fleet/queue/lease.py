"""`LeaseKeeper`: renews every claim a process holds, from one thread.

Each held claim is renewed every `lease_s / 3` (with its current `stage`, which the queue
shows to a UI); the claims due within half a period are renewed together, in one transaction
(SQLite: one fsync) or one round trip (Redis). One at a time, 64 leases on a loaded machine
could not all be renewed within a lease: the first sweep at concurrency 64 lost 38 of them.

A lease is `lost` when the queue refuses the renewal (someone reclaimed it), or when no
renewal succeeded before the lease would have run out by this process's own monotonic clock
(self-fencing: a worker cut off from the queue stops before another worker can have taken
over). It is `cancelled` when someone asked the queue to cancel the item. Either calls the
holder's `on_stop`, which cancels the run; the holder then records nothing (lost) or its
cancelled result (cancelled).

One thread for every lease of the process, not one per incident: a fan-out of 64 in flight
adds one thread, not 64.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sre_agent.fleet.queue.base import Claim, DurableQueue

logger = logging.getLogger(__name__)


@dataclass
class Lease:
    """One held claim: what the holder reads (`lost`, `cancelled`) and sets (`stage`)."""

    claim: Claim
    on_stop: Callable[[], None] | None = None
    stage: str | None = None
    lost: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)
    deadline: float = 0.0  # monotonic: when the lease runs out without another renewal
    due: float = 0.0  # monotonic: when to renew next

    def _stop(self) -> None:
        if self.on_stop is not None:
            try:
                self.on_stop()
            except Exception:  # the holder's callback must not stop the other renewals
                logger.exception("lease %s: stop callback failed", self.claim.id)


class LeaseKeeper:
    """Renews the leases of one queue's claims (thread started on first `hold`)."""

    def __init__(self, queue: DurableQueue, *, every_s: float | None = None) -> None:
        self.queue = queue
        self.every_s = every_s
        self._held: dict[tuple[str, int], Lease] = {}
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.renewals = 0
        self.lost = 0

    def hold(self, claim: Claim, on_stop: Callable[[], None] | None = None) -> Lease:
        now = time.monotonic()
        lease = Lease(claim, on_stop, deadline=now + claim.lease_s,
                      due=now + self._period(claim))
        if claim.cancel_requested:
            lease.cancelled.set()
        with self._cv:
            self._held[(claim.id, claim.token)] = lease
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="lease-keeper",
                                                daemon=True)
                self._thread.start()
            self._cv.notify_all()
        if lease.cancelled.is_set():
            lease._stop()
        return lease

    def drop(self, lease: Lease) -> None:
        with self._cv:
            self._held.pop((lease.claim.id, lease.claim.token), None)

    def held(self) -> int:
        with self._cv:
            return len(self._held)

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(10)

    def _period(self, claim: Claim) -> float:
        return self.every_s or max(0.05, claim.lease_s / 3)

    def _loop(self) -> None:
        while True:
            with self._cv:
                if self._closed:
                    return
                now = time.monotonic()
                if not any(lease.due <= now for lease in self._held.values()):
                    wake = min((lease.due for lease in self._held.values()), default=now + 1)
                    self._cv.wait(max(0.01, wake - now))
                    continue
                # renew every lease due within half a period too: one batch, not one
                # transaction (and fsync) per lease, however many the process holds
                due = [lease for lease in self._held.values()
                       if lease.due <= now + self._period(lease.claim) / 2]
            self._renew(due)

    def _renew(self, leases: list[Lease]) -> None:
        sent = time.monotonic()
        for lease in leases:
            lease.due = sent + self._period(lease.claim)
        try:
            oks: list[bool | None] = list(self.queue.renew_many(
                [(lease.claim, lease.stage) for lease in leases]))
        except Exception as exc:  # unreachable: keep trying until the leases would be over
            logger.warning("renewal of %d lease(s) failed: %s", len(leases), exc)
            oks = [None] * len(leases)
        for lease, ok in zip(leases, oks, strict=True):
            if ok:
                self.renewals += 1
                lease.deadline = sent + lease.claim.lease_s
                if lease.claim.cancel_requested and not lease.cancelled.is_set():
                    lease.cancelled.set()
                    lease._stop()
            elif ok is False or time.monotonic() >= lease.deadline:
                self.lost += 1
                lease.lost.set()
                self.drop(lease)
                lease._stop()


__all__ = ["Lease", "LeaseKeeper"]
