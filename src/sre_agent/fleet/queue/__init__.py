"""The durable incident queue: every accepted incident is stored before it is acknowledged,
claimed under a renewed lease, reclaimed when its holder dies, and finished exactly once.

`open_queue(url)` picks the backend: `SqliteQueue` (embedded, the default, nothing to start)
or `RedisQueue` (redis-py streams and consumer groups, for many machines). `LeaseKeeper`
renews a process's claims from one thread. See docs/fleet.md.
"""

from sre_agent.fleet.queue.base import (
    CANCELLED,
    DONE,
    FAILED,
    FINAL,
    OPEN,
    QUEUED,
    RUNNING,
    Claim,
    DurableQueue,
    ItemView,
    JobRecord,
    NewItem,
    QueueError,
    QueueUnavailable,
    holder_dead,
    worker_identity,
)
from sre_agent.fleet.queue.lease import Lease, LeaseKeeper
from sre_agent.fleet.queue.open import QUEUE_URL_ENV, default_queue_url, open_queue, shown_url
from sre_agent.fleet.queue.redis import RedisQueue
from sre_agent.fleet.queue.sqlite import SqliteQueue

__all__ = ["CANCELLED", "DONE", "FAILED", "FINAL", "OPEN", "QUEUED", "QUEUE_URL_ENV", "RUNNING",
           "Claim", "DurableQueue", "ItemView", "JobRecord", "Lease", "LeaseKeeper", "NewItem",
           "QueueError", "QueueUnavailable", "RedisQueue", "SqliteQueue", "default_queue_url",
           "holder_dead", "open_queue", "shown_url", "worker_identity"]
