"""The router's index cache: built once per key, even under concurrent first use."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sre_agent.skills import indexcache


def test_concurrent_misses_build_once_and_share_the_value() -> None:
    built = []
    key = ("test", time.monotonic_ns())

    def build() -> object:
        built.append(threading.get_ident())
        time.sleep(0.2)  # every other thread arrives while this one builds
        return object()

    with ThreadPoolExecutor(8) as pool:
        values = list(pool.map(lambda _: indexcache.cached(key, build), range(8)))
    assert len(built) == 1 and all(v is values[0] for v in values)


def test_the_least_recently_used_key_goes_first() -> None:
    stamp = time.monotonic_ns()
    keys = [("lru", stamp, i) for i in range(indexcache.CACHE_SIZE + 1)]
    first = indexcache.cached(keys[0], object)
    for key in keys[1:-1]:
        indexcache.cached(key, object)
    assert indexcache.cached(keys[0], object) is first  # used again: now the most recent
    indexcache.cached(keys[-1], object)  # one too many: keys[1] goes, keys[0] stays
    assert indexcache.cached(keys[0], object) is first
    again = indexcache.cached(keys[1], lambda: "rebuilt")
    assert again == "rebuilt"
