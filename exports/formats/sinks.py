"""Where delivery bytes go: hashing on the way, and files that appear only when complete.

`HashingStream` sits between two writers and counts and hashes what passes, so one pass yields
the SHA-256 of the plaintext (format writer -> HashingStream -> AgeWriter) and of the ciphertext
(AgeWriter -> HashingStream -> file) for the manifest.

`StagedFile` is the file side of the publish order (issue 5, item 8): data goes to
`<final>.partial` (exclusive create, mode 0600), `commit()` makes it durable, `publish()` moves it
to its final name without ever replacing an existing file and makes the move durable; leaving the
block any other way removes the partial file. So a crash or a full disk leaves either a complete
file under its final name or nothing but a `.partial` file, which `remove_partials` clears at the
next start.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol

PARTIAL_SUFFIX = ".partial"


class WriteSink(Protocol):
    """The least the format writers need of their target (pyarrow checks `closed` too):
    AgeWriter, HashingStream and binary files all fit."""

    @property
    def closed(self) -> bool: ...

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class HashingStream(BinaryIO):
    """A write-only binary file that forwards every byte to `inner` and keeps their count
    (`size`) and SHA-256 (`sha256`, hex). `close()` does not close `inner`.

    A BinaryIO so it can stand wherever a file can (AgeWriter, ParquetWriter, CSVWriter,
    zipfile); it cannot seek, so zipfile writes data descriptors and Parquet writes forward.
    """

    def __init__(self, inner: WriteSink) -> None:
        self._inner = inner
        self._hash = hashlib.sha256()
        self.size = 0
        self._closed = False

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of everything written so far."""
        return self._hash.hexdigest()

    def write(self, data: bytes | bytearray | memoryview, /) -> int:  # type: ignore[override]
        if self._closed:
            raise ValueError("write to a closed HashingStream")
        view = memoryview(data).cast("B")
        total = len(view)
        while view:
            # A raw file may take fewer bytes than offered; hash exactly what it took.
            count = self._inner.write(view)  # type: ignore[arg-type]
            taken = len(view) if count is None else count
            self._hash.update(view[:taken])
            self.size += taken
            view = view[taken:]
        return total

    def writelines(self, lines: Iterable[bytes | bytearray | memoryview], /) -> None:  # type: ignore[override]
        for line in lines:
            self.write(line)

    def tell(self) -> int:
        """Bytes written so far (what Parquet and zipfile take as the position)."""
        return self.size

    def flush(self) -> None:
        if not self._closed:
            self._inner.flush()

    def close(self) -> None:
        """Flush and stop accepting writes; `inner` stays open (its owner closes it)."""
        if not self._closed:
            self.flush()
            self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def isatty(self) -> bool:
        return False

    @property
    def mode(self) -> str:
        return "wb"

    @property
    def name(self) -> str:
        return "<hashing stream>"

    def fileno(self) -> int:
        raise io.UnsupportedOperation("HashingStream has no file descriptor")

    def read(self, n: int = -1, /) -> bytes:
        raise io.UnsupportedOperation("HashingStream is write-only")

    def readline(self, limit: int = -1, /) -> bytes:
        raise io.UnsupportedOperation("HashingStream is write-only")

    def readlines(self, hint: int = -1, /) -> list[bytes]:
        raise io.UnsupportedOperation("HashingStream is write-only")

    def seek(self, offset: int, whence: int = 0, /) -> int:
        raise io.UnsupportedOperation("HashingStream cannot seek")

    def truncate(self, size: int | None = None, /) -> int:
        raise io.UnsupportedOperation("HashingStream cannot truncate")

    def __iter__(self) -> Iterator[bytes]:
        raise io.UnsupportedOperation("HashingStream is write-only")

    def __next__(self) -> bytes:
        raise io.UnsupportedOperation("HashingStream is write-only")

    def __enter__(self) -> HashingStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class StagedFile:
    """A delivery file written as `<final>.partial` and published under `final` only at the end.

        with StagedFile(path) as staged:
            write into staged.file …
            staged.commit()      # flushed, fsynced, closed: durable but not yet visible
            … audit entry, manifest …
            staged.publish()     # renamed to `path`, directory fsynced

    Refuses (FileExistsError naming the file) if `final` exists, at the start and again at
    publish, and never overwrites it. Leaving the block without publish, by an exception or not,
    removes the partial file.
    """

    def __init__(self, final: str | os.PathLike[str]) -> None:
        self.final = Path(final)
        self.partial = self.final.with_name(self.final.name + PARTIAL_SUFFIX)
        self._file: BinaryIO | None = None
        self.committed = False
        self.published = False

    @property
    def file(self) -> BinaryIO:
        """The open partial file (until commit)."""
        if self._file is None:
            raise ValueError(f"{self.partial.name} is not open for writing")
        return self._file

    def __enter__(self) -> StagedFile:
        _refuse_existing(self.final)
        fd = os.open(
            self.partial,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
            0o600,
        )
        self._file = os.fdopen(fd, "wb")
        return self

    def commit(self) -> None:
        """Flush and fsync the partial file and close it; it is not yet under its final name."""
        if self.committed:
            return
        target = self.file
        target.flush()
        os.fsync(target.fileno())
        target.close()
        self._file = None
        self.committed = True

    def publish(self) -> None:
        """Give the committed file its final name, never replacing a file, durably."""
        if not self.committed:
            raise ValueError(f"{self.partial.name} must be committed before it is published")
        if self.published:
            return
        _link_no_replace(self.partial, self.final)
        fsync_directory(self.final.parent)
        self.published = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.published:
            return
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        with contextlib.suppress(FileNotFoundError):
            self.partial.unlink()


def remove_partials(directory: str | os.PathLike[str]) -> list[str]:
    """Remove the `.partial` files a crash left in `directory`; returns their names, sorted."""
    folder = Path(directory)
    removed = []
    for entry in sorted(folder.iterdir()):
        if entry.name.endswith(PARTIAL_SUFFIX) and entry.is_file() and not entry.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed.append(entry.name)
    if removed:
        fsync_directory(folder)
    return removed


def _refuse_existing(final: Path) -> None:
    if os.path.lexists(final):
        raise FileExistsError(
            errno.EEXIST, "delivery file already exists; refusing to overwrite it", str(final)
        )


def _link_no_replace(partial: Path, final: Path) -> None:
    """Move `partial` to `final` atomically, failing if `final` exists (rename would replace
    it): a hard link refuses an existing name; then the partial name is dropped."""
    try:
        os.link(partial, final)
    except FileExistsError:
        _refuse_existing(final)
        raise
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # A filesystem without hard links: check, then rename (a narrow race, but no worse).
        _refuse_existing(final)
        os.rename(partial, final)
        return
    partial.unlink()


def fsync_directory(directory: Path) -> None:
    # Makes the name change itself durable; a filesystem that refuses to open a directory
    # costs durability, not correctness.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
