"""A bounded cache of mixed voice packs, so a thousand chatters with their own mixes never grow memory
without limit.

A Kokoro voice pack is a 510 x 1 x 256 float tensor (~0.5 MB). With ``voice_mode: per_user`` every chatter has
their own mix; building it costs two or three pack loads and a weighted sum (a few milliseconds), so the most
recently used ``size`` mixes are kept and the least recently used is dropped first. (Base packs, one per Kokoro
id, are kept by kokoro's pipeline itself: bounded by the voice files that exist.)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

#: Mixed packs kept (~0.5 MB each on the engine's device).
MIXED_PACKS = 64

T = TypeVar("T")


class LruCache(Generic[T]):
    """Thread-safe least-recently-used cache; ``get`` builds a missing entry with ``build`` (outside the lock:
    two threads may build the same entry once each, which is harmless and keeps renders from waiting)."""

    def __init__(self, build: Callable[[str], T], size: int) -> None:
        if size < 1:
            raise ValueError("the cache needs room for at least one entry")
        self._build = build
        self.size = size
        self._entries: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, key: str) -> T:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = self._build(key)  # may raise: nothing is cached then
        with self._lock:
            self.builds += 1
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries
