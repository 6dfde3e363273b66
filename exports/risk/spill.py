"""Spilling 64-bit keyed counts to disk by partition, so that counting stays in flat memory.

A `Spill` takes structured entries (a uint64 `key` first, then counts) and keeps them in memory up
to a buffer's size; past it, it appends them to one file as a run ordered by partition (the key's
top bits), keeping each run's partition bounds, so that a partition is read back as one slice of
each run. `SpillDirectory` is the private directory (mode 0700) the files live in, removed on
close or when its owner is garbage-collected. Used by `exports.risk.counter`; what the keys mean,
and why the files are not population data, is said there.

A process killed outright (`kill -9`, a power cut) cannot remove its directory, so the owner holds
an exclusive `flock` on the directory for as long as it lives, and `remove_abandoned` (run by the
gateway at start-up) removes exactly the `pks-risk-*` directories nobody holds: a live counter in
another process keeps its own. The lock dies with its process, however that ends.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

PREFIX = "pks-risk-"
log = logging.getLogger(__name__)


class SpillDirectory:
    """The counter's private spill directory: made on first use inside `parent` (the system's
    temporary directory if None; `parent` itself is made, mode 0700, if missing), locked while
    its owner lives, removed on close or when the counter is garbage-collected
    (`weakref.finalize`, which also runs at interpreter exit)."""

    def __init__(self, parent: str | Path | None) -> None:
        self.parent = parent
        self.path: Path | None = None
        self.closed = False
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def get(self) -> Path:
        self.check()
        if self.path is None:
            self.path, lock = _locked_directory(self.parent)
            self._finalizer = weakref.finalize(self, _remove, self.path, lock)
        return self.path

    def check(self) -> None:
        if self.closed:
            raise ValueError("the risk counter is closed")

    def remove(self) -> None:
        self.closed = True
        if self._finalizer is not None:
            self._finalizer()
        self.path = None


def _locked_directory(parent: str | Path | None) -> tuple[Path, int]:
    """A new `pks-risk-*` directory (mode 0700) and the descriptor holding its lock. One that
    `remove_abandoned` took before it was locked has no links left once the lock is ours: then
    another is made."""
    if parent is not None:
        Path(parent).mkdir(mode=0o700, parents=True, exist_ok=True)
    while True:
        path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
        try:
            lock = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.fstat(lock).st_nlink:
            return path, lock
        os.close(lock)


def _remove(path: Path, lock: int) -> None:
    try:
        shutil.rmtree(path, ignore_errors=True)
    finally:
        os.close(lock)  # the lock goes only once the files are gone


def remove_abandoned(parent: str | Path) -> list[str]:
    """Remove the spill directories in `parent` whose owner is gone (nobody holds their lock);
    their names, sorted. A locked one belongs to a live counter and is left alone."""
    folder = Path(parent)
    removed: list[str] = []
    for path in sorted(folder.glob(PREFIX + "*")) if folder.is_dir() else []:
        try:
            lock = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:  # gone meanwhile, or not a directory of ours
            continue
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(path)
            removed.append(path.name)
        except BlockingIOError:
            pass  # a live counter's
        except OSError as error:
            log.warning(
                "spill directory %s of a stopped run could not be removed (%s)",
                path,
                error.strerror or type(error).__name__,
            )
        finally:
            os.close(lock)
    return removed


class Spill:
    """Entries (a 64-bit key first, then counts) by partition of the key's top bits: in memory up
    to a buffer's size, then appended to one file as a run ordered by partition, whose bounds
    are kept, so a partition is read back as one slice of each run."""

    def __init__(
        self, name: str, dtype: np.dtype[Any], files: SpillDirectory, partitions: int, buffer: int
    ) -> None:
        self.name, self.dtype, self.files = name, dtype, files
        self.settings = (files, partitions, buffer)
        self.count, self.buffer = partitions, buffer
        self.shift = np.uint64(64 - (partitions.bit_length() - 1))
        self.pending: list[NDArray[Any]] = []
        self.pending_entries = 0
        self.written = 0  # entries in the file
        self.runs: list[tuple[int, NDArray[np.int64]]] = []  # (first entry, partition bounds)

    def add(self, entries: NDArray[Any]) -> None:
        self.pending.append(entries)
        self.pending_entries += len(entries)
        if self.pending_entries >= self.buffer:
            self._write(self._take())

    def partitions(self) -> Iterator[NDArray[Any]]:
        """Every entry added, one partition at a time (unsorted, a key possibly repeated)."""
        pending = reduce_by_key(self._take())
        if not self.runs:
            self.pending, self.pending_entries = [pending], len(pending)
            yield pending
            return
        self._write(pending)
        with self._path().open("rb") as file:
            for part in range(self.count):
                slices = []
                for first, bounds in self.runs:
                    if bounds[part + 1] > bounds[part]:
                        file.seek((first + int(bounds[part])) * self.dtype.itemsize)
                        count = int(bounds[part + 1] - bounds[part])
                        slices.append(np.fromfile(file, dtype=self.dtype, count=count))
                if slices:
                    yield np.concatenate(slices)

    def remove(self) -> None:
        if self.runs:
            self._path().unlink(missing_ok=True)
        self.runs.clear()
        self.pending.clear()
        self.written = 0

    def _take(self) -> NDArray[Any]:
        entries = np.concatenate(self.pending) if self.pending else np.zeros(0, self.dtype)
        self.pending, self.pending_entries = [], 0
        return entries

    def _write(self, entries: NDArray[Any]) -> None:
        if not len(entries):
            return
        part = (entries["key"] >> self.shift).astype(np.uint16)
        order = np.argsort(part, kind="stable")  # a radix sort on 16 bits
        bounds = np.searchsorted(part[order], np.arange(self.count + 1)).astype(np.int64)
        with self._path().open("ab") as file:
            entries[order].tofile(file)
        self.runs.append((self.written, bounds))
        self.written += len(entries)

    def _path(self) -> Path:
        return self.files.get() / self.name


def entries_of(dtype: np.dtype[Any], **columns: NDArray[Any]) -> NDArray[Any]:
    entries = np.empty(len(columns["key"]), dtype=dtype)
    for name, values in columns.items():
        entries[name] = values
    return entries


def reduce_by_key(entries: NDArray[Any]) -> NDArray[Any]:
    """One entry per key, sorted by key, its counts summed (a uint64 sum wraps modulo 2**64)."""
    if len(entries) < 2:
        return entries
    order = np.argsort(entries["key"])
    keys = entries["key"][order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    reduced = np.empty(len(starts), dtype=entries.dtype)
    reduced["key"] = keys[starts]
    for name in (entries.dtype.names or ())[1:]:
        reduced[name] = np.add.reduceat(entries[name][order], starts)
    return reduced
