"""Sinks: hashes that match hashlib over the bytes, staged files that appear only when published
and never replace a file, and a full disk mid-write that leaves nothing behind."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import random
import stat
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from ageformat import AgeWriter, decrypt_chunks, generate_identity
from exports.formats.sinks import HashingStream, StagedFile, remove_partials
from exports.formats.writers import FORMATS, open_writer

IDENTITY, RECIPIENT = generate_identity()
SCHEMA = pa.schema([("nik", pa.string()), ("kode", pa.int32())])


def batches(count: int, rows: int = 5_000) -> list[pa.RecordBatch]:
    """Synthetic 16-digit identifiers, random enough that compression cannot shrink them away."""
    generator = random.Random(7)
    return [
        pa.record_batch(
            [
                pa.array([f"{generator.randrange(10**16):016d}" for _ in range(rows)]),
                pa.array([generator.randrange(100) for _ in range(rows)], pa.int32()),
            ],
            schema=SCHEMA,
        )
        for _ in range(count)
    ]


class Trickle(io.RawIOBase):
    """A raw file that takes at most `most` bytes per write, as raw files may."""

    def __init__(self, most: int) -> None:
        self.data = bytearray()
        self.most = most

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        taken = bytes(memoryview(data)[: self.most])
        self.data += taken
        return len(taken)


class FullDisk(io.RawIOBase):
    """Forwards to `inner` until `room` bytes are used, then fails like a full disk."""

    def __init__(self, inner: io.BufferedIOBase, room: int) -> None:
        self.inner = inner
        self.room = room

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.inner.write(data)

    def flush(self) -> None:
        self.inner.flush()


def test_hashing_stream_counts_and_hashes_what_passes() -> None:
    inner = io.BytesIO()
    stream = HashingStream(inner)
    pieces = [b"", b"abc", bytearray(b"\x00" * 70_000), memoryview(b"xyz")]
    for piece in pieces:
        assert stream.write(piece) == len(piece)
    expected = b"".join(bytes(p) for p in pieces)
    assert inner.getvalue() == expected
    assert stream.size == stream.tell() == len(expected)
    assert stream.sha256 == hashlib.sha256(expected).hexdigest()
    assert not stream.seekable() and stream.writable() and not stream.readable()


def test_hashing_stream_hashes_only_what_a_raw_file_took() -> None:
    inner = Trickle(3)
    stream = HashingStream(inner)  # type: ignore[arg-type]
    stream.write(b"0123456789")
    assert bytes(inner.data) == b"0123456789"
    assert stream.sha256 == hashlib.sha256(b"0123456789").hexdigest()


def test_hashing_stream_close_keeps_the_inner_file_open() -> None:
    inner = io.BytesIO()
    with HashingStream(inner) as stream:
        stream.write(b"data")
    assert stream.closed and not inner.closed
    with pytest.raises(ValueError, match="closed"):
        stream.write(b"more")


@pytest.mark.parametrize("format", FORMATS)
def test_plaintext_and_ciphertext_hashes_in_one_pass(format: str) -> None:
    sink = io.BytesIO()
    ciphertext = HashingStream(sink)
    encrypted = AgeWriter(ciphertext, [RECIPIENT])
    plaintext = HashingStream(encrypted)
    writer = open_writer(format, plaintext, SCHEMA)
    for batch in batches(2, 2_000):
        writer.write_batch(batch)
    writer.close()
    encrypted.close()
    sealed = sink.getvalue()
    opened = b"".join(decrypt_chunks(io.BytesIO(sealed), IDENTITY))
    assert (ciphertext.size, ciphertext.sha256) == (len(sealed), hashlib.sha256(sealed).hexdigest())
    assert (plaintext.size, plaintext.sha256) == (len(opened), hashlib.sha256(opened).hexdigest())


def test_hashing_stream_is_a_file_for_parquet_csv_and_zipfile() -> None:
    table = pa.Table.from_batches(batches(1, 100))
    for write, read in [
        (lambda s: pq.write_table(table, s), lambda b: pq.read_table(io.BytesIO(b))),
        (lambda s: pcsv.write_csv(table, s), lambda b: pcsv.read_csv(io.BytesIO(b))),
    ]:
        inner = io.BytesIO()
        write(HashingStream(inner))
        assert read(inner.getvalue()).num_rows == 100
    inner = io.BytesIO()
    with zipfile.ZipFile(HashingStream(inner), "w") as archive:
        archive.writestr("a.txt", "isi")
    assert zipfile.ZipFile(io.BytesIO(inner.getvalue())).read("a.txt") == b"isi"


def test_staged_file_appears_only_when_published(tmp_path: Path) -> None:
    final = tmp_path / "delivery.parquet.age"
    with StagedFile(final) as staged:
        staged.file.write(b"ciphertext")
        assert [p.name for p in tmp_path.iterdir()] == ["delivery.parquet.age.partial"]
        assert stat.S_IMODE(staged.partial.stat().st_mode) == 0o600
        staged.commit()
        assert not final.exists()
        staged.publish()
    assert [p.name for p in tmp_path.iterdir()] == ["delivery.parquet.age"]
    assert final.read_bytes() == b"ciphertext"
    assert stat.S_IMODE(final.stat().st_mode) == 0o600


@pytest.mark.parametrize("stage", ["writing", "committed"])
def test_staged_file_is_removed_on_an_exception(tmp_path: Path, stage: str) -> None:
    with (
        pytest.raises(RuntimeError, match="audit failed"),
        StagedFile(tmp_path / "d.age") as staged,
    ):
        staged.file.write(b"ciphertext")
        if stage == "committed":
            staged.commit()
        raise RuntimeError("audit failed")
    assert list(tmp_path.iterdir()) == []


def test_staged_file_left_without_publish_is_removed(tmp_path: Path) -> None:
    with StagedFile(tmp_path / "d.age") as staged:
        staged.file.write(b"ciphertext")
        staged.commit()
    assert list(tmp_path.iterdir()) == []


def test_publish_needs_commit(tmp_path: Path) -> None:
    with StagedFile(tmp_path / "d.age") as staged, pytest.raises(ValueError, match="committed"):
        staged.publish()
    assert list(tmp_path.iterdir()) == []


def test_staged_file_refuses_an_existing_final_name(tmp_path: Path) -> None:
    final = tmp_path / "d.age"
    final.write_bytes(b"earlier delivery")
    with pytest.raises(FileExistsError, match=r"d\.age"), StagedFile(final):
        pass
    assert final.read_bytes() == b"earlier delivery"
    assert [p.name for p in tmp_path.iterdir()] == ["d.age"]


def test_publish_never_replaces_a_file_that_appeared_meanwhile(tmp_path: Path) -> None:
    final = tmp_path / "d.age"
    with pytest.raises(FileExistsError, match=r"d\.age"), StagedFile(final) as staged:
        staged.file.write(b"new")
        staged.commit()
        final.write_bytes(b"someone else's")
        staged.publish()
    assert final.read_bytes() == b"someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["d.age"]


def test_remove_partials_clears_only_partial_files(tmp_path: Path) -> None:
    (tmp_path / "a.parquet.age.partial").write_bytes(b"x")
    (tmp_path / "b.manifest.json.partial").write_bytes(b"x")
    (tmp_path / "c.parquet.age").write_bytes(b"kept")
    (tmp_path / "d.partial").mkdir()
    assert remove_partials(tmp_path) == ["a.parquet.age.partial", "b.manifest.json.partial"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.parquet.age", "d.partial"]
    assert remove_partials(tmp_path) == []


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("room", [0, 300, 100_000])
def test_a_full_disk_mid_write_leaves_nothing(tmp_path: Path, format: str, room: int) -> None:
    with pytest.raises(OSError) as failed, StagedFile(tmp_path / f"d.{format}.age") as staged:
        with AgeWriter(FullDisk(staged.file, room), [RECIPIENT]) as encrypted:  # type: ignore[arg-type]
            writer = open_writer(format, HashingStream(encrypted), SCHEMA)
            for batch in batches(4):
                writer.write_batch(batch)
            writer.close()
        staged.commit()
        staged.publish()
    assert failed.value.errno == errno.ENOSPC
    assert "No space left" in str(failed.value)
    assert list(tmp_path.iterdir()) == []
