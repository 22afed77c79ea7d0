"""The router's built indexes (a catalogue's lexical index, an example set's index for a
catalogue), kept by key, most recently used last, each built once even when many threads ask
for it at the same time: a fan-out's incidents all route at its start, and a build costs about
a second of CPU.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

CACHE_SIZE = 16
_CACHE: OrderedDict[tuple[object, ...], object] = OrderedDict()
_LOCK = threading.Lock()
_BUILDING: dict[tuple[object, ...], threading.Lock] = {}


def cached[T](key: tuple[object, ...], build: Callable[[], T]) -> T:
    """The value kept for `key`, built by `build()` on a miss (one build per key at a time)."""
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit  # type: ignore[return-value]
        building = _BUILDING.setdefault(key, threading.Lock())
    with building:
        with _LOCK:
            hit = _CACHE.get(key)
        if hit is None:
            hit = build()
            with _LOCK:
                _CACHE[key] = hit
                _BUILDING.pop(key, None)
                while len(_CACHE) > CACHE_SIZE:
                    _CACHE.popitem(last=False)
    return hit  # type: ignore[return-value]


__all__ = ["CACHE_SIZE", "cached"]
