"""Store reads shared by every session of one dashboard process.

A class opens the same pages at once: 30 sessions asking for the run
listing together must cost one read of the store, not 30. `shared` keeps one
result per call (function and arguments) for the whole process and computes
it in one session while the others wait for it (st.cache_data computes a
missing entry in every session that asks for it, and forgets it after its
ttl even when nothing changed).

An entry is valid while the store has not changed: the stamp of a SQLite
store is its file's and its write-ahead log's size and modification time
(every commit changes one of them); a tracking server has no such stamp, so
its entries last `min_age` seconds. After a change the next caller reads
the store again; callers that arrive while it does get the previous result
at once (while runs train, the store changes all the time: one read at a
time, whatever the number of sessions). Each caller gets its own copy of a
table or a dict (pages may add columns).
"""
from __future__ import annotations

import copy
import functools
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable


def store_stamp(home_dir: str) -> tuple:
    """What changes whenever the store changes (cheap: two stat calls)."""
    from experiments.settings import remote_store

    home = Path(home_dir)
    if remote_store(home):
        return ("server",)
    stamp = []
    for name in ("mlflow.db", "mlflow.db-wal"):
        try:
            info = os.stat(home / name)
            stamp.append((info.st_mtime_ns, info.st_size, info.st_ino))
        except OSError:
            stamp.append(None)
    return tuple(stamp)


def _copy(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return value.copy()
    if isinstance(value, (dict, list)):
        return copy.deepcopy(value)
    return value


class _Entry:
    __slots__ = ("stamp", "at", "value")

    def __init__(self, stamp: tuple, at: float, value: Any):
        self.stamp, self.at, self.value = stamp, at, value


class SharedRead:
    def __init__(self, fn: Callable, min_age: float, stamped: bool, ttl: float | None, max_entries: int):
        self.fn, self.min_age, self.stamped, self.ttl, self.max_entries = fn, min_age, stamped, ttl, max_entries
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._locks: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()
        self.computed = 0  # how many times fn ran (for tests and benchmarks)
        functools.update_wrapper(self, fn)

    def _valid(self, entry: _Entry | None, stamp: tuple) -> bool:
        if entry is None:
            return False
        age = time.monotonic() - entry.at
        if self.ttl is not None and age >= self.ttl:
            return False
        if not self.stamped:
            return True
        if stamp == ("server",):
            return age < self.min_age
        return entry.stamp == stamp

    def __call__(self, home_dir: str, *args: Any, **kwargs: Any) -> Any:
        key = (str(home_dir), args, tuple(sorted(kwargs.items())))
        stamp = store_stamp(home_dir) if self.stamped else ()
        with self._lock:
            entry = self._entries.get(key)
            if self._valid(entry, stamp):
                self._entries.move_to_end(key)
                return _copy(entry.value)
            key_lock = self._locks.setdefault(key, threading.Lock())
            expired = entry is not None and self.ttl is not None and time.monotonic() - entry.at >= self.ttl
            if entry is not None and not expired and key_lock.locked():
                return _copy(entry.value)  # another session is reading the changed store: the last result meanwhile
        with key_lock:  # one session computes; the others wait for its result
            stamp = store_stamp(home_dir) if self.stamped else ()
            with self._lock:
                entry = self._entries.get(key)
            if self._valid(entry, stamp):
                return _copy(entry.value)
            value = self.fn(home_dir, *args, **kwargs)  # stamped before: a write meanwhile means read again
            self.computed += 1
            _mark(value, (id(self), stamp, self.computed))
            with self._lock:
                self._entries[key] = _Entry(stamp, time.monotonic(), value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    old, _ = self._entries.popitem(last=False)
                    self._locks.pop(old, None)
        return _copy(value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def shared(min_age: float = 2.0, stamped: bool = True, ttl: float | None = None,
           max_entries: int = 256) -> Callable[[Callable], SharedRead]:
    """A process-wide, single-flight cache of a store read whose first
    argument is the data folder; `stamped=False` for results that depend only
    on their arguments (kept `ttl` seconds, or until cleared)."""
    def wrap(fn: Callable) -> SharedRead:
        return SharedRead(fn, min_age, stamped, ttl, max_entries)
    return wrap


# -- what pages compute from a shared table, shared too ----------------------------------------------
VERSION = "arena_version"  # DataFrame.attrs key: which shared read a table (and every table cut from it) came from


def _mark(value: Any, version: tuple) -> None:
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        value.attrs[VERSION] = version


def _fingerprint(value: Any) -> Any:
    """A hashable stand-in for an argument: a table cut from a shared read is
    known by that read's version and its rows; other values are themselves."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        version = value.attrs.get(VERSION)
        if version is None:
            raise TypeError("not from a shared read")
        return ("frame", version, value.shape, tuple(value.columns), hash(tuple(value.index)))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(_fingerprint(v) for v in value))
    if isinstance(value, dict):
        return ("map", tuple((k, _fingerprint(v)) for k, v in sorted(value.items())))
    hash(value)  # anything else unhashable: computed, not cached
    return value


def per_table(max_entries: int = 512) -> Callable[[Callable], Callable]:
    """Memoise a pure function of a table from a shared read (and plain
    arguments) for every session: 30 sessions opening a page compute its
    groupings once. Called with anything else, it just computes. The result
    is shared: callers must not change it in place."""
    def wrap(fn: Callable) -> Callable:
        cache: OrderedDict[tuple, Any] = OrderedDict()
        lock = threading.Lock()

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                key = (tuple(_fingerprint(a) for a in args),
                       tuple((k, _fingerprint(v)) for k, v in sorted(kwargs.items())))
            except TypeError:
                return fn(*args, **kwargs)
            with lock:
                if key in cache:
                    cache.move_to_end(key)
                    return cache[key]
            value = fn(*args, **kwargs)
            with lock:
                cache[key] = value
                while len(cache) > max_entries:
                    cache.popitem(last=False)
            return value
        return call
    return wrap
