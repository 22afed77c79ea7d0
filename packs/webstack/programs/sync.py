"""order-sync: an internal client that polls an order's status through nginx (open loop).

Settings from etc/sync.env (read at every start): SYNC_URL, SYNC_RATE (requests/s),
SYNC_TIMEOUT_MS, SYNC_RETRIES, SYNC_BACKOFF_MS (exponential, with jitter),
SYNC_RETRY_BUDGET_PCT (retries allowed as a share of first attempts over the last 10 s),
SYNC_MAX_INFLIGHT. Logs a stats line every second: the counts of the last 5 s.
"""

from __future__ import annotations

import collections
import http.client
import os
import random
import sys
import threading
import time
import urllib.parse


def env(name: str, default: str) -> str:
    return os.environ.get(name, default).strip()


URL = env("SYNC_URL", "http://127.0.0.1:8080/health")
RATE = max(float(env("SYNC_RATE", "5")), 0.1)
TIMEOUT = float(env("SYNC_TIMEOUT_MS", "1000")) / 1000
RETRIES = int(env("SYNC_RETRIES", "2"))
BACKOFF = float(env("SYNC_BACKOFF_MS", "200")) / 1000
BUDGET = float(env("SYNC_RETRY_BUDGET_PCT", "10")) / 100
MAX_INFLIGHT = int(env("SYNC_MAX_INFLIGHT", "16"))
WINDOW = 5.0  # seconds each stats line covers
REPORT_EVERY = 1.0

lock = threading.Lock()
stats: collections.Counter[str] = collections.Counter()
firsts: collections.deque[float] = collections.deque()
retries_sent: collections.deque[float] = collections.deque()
inflight = threading.BoundedSemaphore(MAX_INFLIGHT)
last_error = [""]


def budget_allows() -> bool:
    now = time.monotonic()
    with lock:
        for queue in (firsts, retries_sent):
            while queue and now - queue[0] > 10:
                queue.popleft()
        if BUDGET >= 1 or len(retries_sent) < max(1, BUDGET * len(firsts)):
            retries_sent.append(now)
            return True
    return False


def fetch() -> None:
    """One lookup on a fresh connection, closed by us as soon as the answer is read (this
    client does not pool connections: each call leaves a TIME-WAIT socket on its side)."""
    url = urllib.parse.urlsplit(URL)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80,
                                      timeout=TIMEOUT)
    try:
        conn.request("GET", url.path or "/")
        resp = conn.getresponse()
        resp.read()
        if resp.status >= 500:
            raise OSError(f"HTTP {resp.status}")
    finally:
        conn.close()


def call() -> None:
    try:
        for attempt in range(RETRIES + 1):
            try:
                fetch()
                with lock:
                    stats["ok"] += 1
                return
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    stats["timeout" if "timed out" in str(exc) else "error"] += 1
                    last_error[0] = str(exc)[:120]
            if attempt == RETRIES or not budget_allows():
                with lock:
                    stats["gave_up"] += 1
                return
            with lock:
                stats["retry"] += 1
            if BACKOFF > 0:
                time.sleep(BACKOFF * (2 ** attempt) * random.uniform(0.5, 1.5))
    finally:
        inflight.release()


def reporter() -> None:
    """Every second, the counts of the last 5 s (a sliding window: a change shows within a
    second, and each line covers the same span once the client has run that long)."""
    started = time.monotonic()
    marks: collections.deque[tuple[float, collections.Counter[str]]] = collections.deque()
    marks.append((started, collections.Counter()))
    while True:
        time.sleep(REPORT_EVERY)
        now = time.monotonic()
        with lock:
            counts = collections.Counter(stats)
        while len(marks) > 1 and now - marks[1][0] >= WINDOW - REPORT_EVERY / 2:
            marks.popleft()
        since, base = marks[0]
        marks.append((now, counts))
        delta = {k: counts[k] - base[k] for k in ("sent", "ok", "timeout", "error", "retry",
                                                  "gave_up", "shed")}
        error = f" last_error={last_error[0]!r}" if delta["error"] or delta["timeout"] else ""
        sys.stderr.write(time.strftime("%Y-%m-%d %H:%M:%S ") +
                         f"order-sync: last {round(now - since)}s " +
                         " ".join(f"{k}={v}" for k, v in delta.items()) + error + "\n")
        sys.stderr.flush()


def main() -> int:
    sys.stderr.write(f"order-sync: {RATE:g} req/s to {URL}, timeout {TIMEOUT:g}s, retries "
                     f"{RETRIES}, backoff {BACKOFF * 1000:g} ms, retry budget "
                     f"{BUDGET * 100:g}%, max in flight {MAX_INFLIGHT}\n")
    sys.stderr.flush()
    threading.Thread(target=reporter, daemon=True).start()
    interval = 1.0 / RATE
    due = time.monotonic()
    while True:
        due += interval
        time.sleep(max(0.0, due - time.monotonic()))
        if not inflight.acquire(blocking=False):
            with lock:
                stats["shed"] += 1
            continue
        with lock:
            stats["sent"] += 1
            firsts.append(time.monotonic())
        threading.Thread(target=call, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
