"""age encryption on its own: round trips of every size class, flat buffering, and damaged files
that release only their authenticated prefix and leave no output behind."""

from __future__ import annotations

import hashlib
import io
import os
import random
import socket
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ageformat import (
    CHUNK_SIZE,
    AgeError,
    AgeWriter,
    KeyFormatError,
    decrypt_chunks,
    decrypt_file,
    generate_identity,
    load_identities,
    parse_identity,
    recipient_fingerprint,
)
from ageformat.header import encode_header, parse_header
from ageformat.recipients import encode_age_recipient

SEALED = CHUNK_SIZE + 16
EDGE_SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE]
IDENTITY, RECIPIENT = generate_identity()
# Hypothesis runs many examples per test; no deadline, since a test must not depend on timing.
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

sizes = st.one_of(st.sampled_from(EDGE_SIZES), st.integers(0, 4 * CHUNK_SIZE + 10))


def plaintext(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def encrypt(data: bytes, recipients: list[str], pieces: list[int] | None = None) -> bytes:
    sink = io.BytesIO()
    with AgeWriter(sink, recipients) as writer:
        start = 0
        for cut in sorted(pieces or []):
            writer.write(data[start : max(start, cut)])
            start = max(start, cut)
        writer.write(data[start:])
    return sink.getvalue()


def payload_offset(age_file: bytes) -> int:
    """Where the first STREAM chunk starts: after the header and the 16-byte nonce."""
    source = io.BytesIO(age_file)
    parse_header(source)
    return source.tell() + 16


@PROPERTY
@given(size=sizes, seed=st.integers(0, 2**32), cuts=st.lists(st.integers(0, 4 * CHUNK_SIZE)))
def test_round_trip_in_any_write_pattern(size: int, seed: int, cuts: list[int]) -> None:
    data = plaintext(size, seed)
    age_file = encrypt(data, [RECIPIENT], [c for c in cuts if c <= size])
    chunks = list(decrypt_chunks(io.BytesIO(age_file), IDENTITY))
    assert b"".join(chunks) == data
    # One chunk per started 64 KiB, and one (empty) chunk for an empty payload.
    assert len(chunks) == max(1, -(-size // CHUNK_SIZE))
    assert len(age_file) - payload_offset(age_file) == size + 16 * len(chunks)


@pytest.mark.parametrize("size", EDGE_SIZES)
def test_edge_sizes_round_trip_through_a_file(size: int, tmp_path: Path) -> None:
    data = plaintext(size, size)
    (tmp_path / "data.age").write_bytes(encrypt(data, [RECIPIENT]))
    decrypt_file(tmp_path / "data.age", IDENTITY, tmp_path / "data.bin")
    assert (tmp_path / "data.bin").read_bytes() == data
    assert stat.S_IMODE((tmp_path / "data.bin").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.age", "data.bin"]


def test_a_promised_plaintext_hash_is_checked_before_anything_appears(tmp_path: Path) -> None:
    data = plaintext(70_000, 3)
    (tmp_path / "data.age").write_bytes(encrypt(data, [RECIPIENT]))
    (tmp_path / "data.bin").write_bytes(b"kept")
    with pytest.raises(AgeError, match="SHA-256 differs") as refused:
        decrypt_file(tmp_path / "data.age", IDENTITY, tmp_path / "data.bin", expected_sha256="00")
    assert refused.value.stage == "payload"
    assert (tmp_path / "data.bin").read_bytes() == b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.age", "data.bin"]
    promised = hashlib.sha256(data).hexdigest().upper()
    decrypt_file(tmp_path / "data.age", IDENTITY, tmp_path / "data.bin", expected_sha256=promised)
    assert (tmp_path / "data.bin").read_bytes() == data


class RecordingSink(io.BytesIO):
    """A sink that notes how many bytes had arrived after each write to the AgeWriter."""

    def __init__(self) -> None:
        super().__init__()
        self.closed_by_writer = False

    def close(self) -> None:
        self.closed_by_writer = True


@PROPERTY
@given(writes=st.lists(st.integers(0, 3 * CHUNK_SIZE), min_size=1, max_size=8))
def test_writer_holds_back_at_most_one_chunk(writes: list[int]) -> None:
    sink = RecordingSink()
    writer = AgeWriter(sink, [RECIPIENT])
    header = len(sink.getvalue())
    total = 0
    for size in writes:
        writer.write(bytes(size))
        total += size
        emitted_chunks = (len(sink.getvalue()) - header) // SEALED
        # Everything but the last (possibly full) chunk has gone out as ciphertext.
        assert emitted_chunks == max(0, -(-total // CHUNK_SIZE) - 1)
        assert writer.tell() == total
    writer.close()
    assert not sink.closed_by_writer
    assert b"".join(decrypt_chunks(io.BytesIO(sink.getvalue()), IDENTITY)) == bytes(total)


def test_close_sink_on_request_and_close_is_idempotent() -> None:
    sink = RecordingSink()
    writer = AgeWriter(sink, [RECIPIENT], close_sink=True)
    writer.write(b"isi")
    writer.close()
    writer.close()
    assert sink.closed_by_writer
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"lagi")


def test_an_exception_inside_with_leaves_a_file_no_reader_accepts() -> None:
    sink = io.BytesIO()
    with pytest.raises(RuntimeError), AgeWriter(sink, [RECIPIENT]) as writer:
        writer.write(b"sebagian data")
        raise RuntimeError("the extract failed")
    with pytest.raises(AgeError, match="truncated") as caught:
        list(decrypt_chunks(io.BytesIO(sink.getvalue()), IDENTITY))
    assert caught.value.stage == "payload"


class FullDisk(io.BytesIO):
    """A sink that takes the header, then fails part-way through the first chunk."""

    def write(self, data: bytes | bytearray | memoryview, /) -> int:  # type: ignore[override]
        if self.tell() > 0:
            super().write(bytes(data)[:1000])
            raise OSError(28, "No space left on device")
        return super().write(data)


def test_after_a_failed_write_close_refuses_to_seal() -> None:
    sink = FullDisk()
    writer = AgeWriter(sink, [RECIPIENT])
    with pytest.raises(OSError, match="No space"):
        writer.write(bytes(3 * CHUNK_SIZE))
    with pytest.raises(ValueError, match="failed"):
        writer.write(b"more")
    with pytest.raises(AgeError, match="earlier write failed"):
        writer.close()
    with pytest.raises(AgeError, match="chunk 0 failed to authenticate"):
        list(decrypt_chunks(io.BytesIO(sink.getvalue()), IDENTITY))


def test_a_low_order_recipient_is_refused_before_and_at_the_key_exchange() -> None:
    zero = encode_age_recipient(bytes(32))
    with pytest.raises(AgeError, match="recipient 1: is a low-order X25519 point") as refused:
        AgeWriter(io.BytesIO(), [RECIPIENT, zero])
    assert refused.value.stage == "key" and zero not in str(refused.value)
    # Past the recipient check, the all-zero shared secret itself is refused (the age spec's rule).
    for key in (bytes(32), b"\x01" + bytes(31)):
        with pytest.raises(AgeError, match="low-order"):
            encode_header(bytes(16), [key])


def test_every_recipient_alone_decrypts_and_a_stranger_does_not() -> None:
    pairs = [generate_identity() for _ in range(3)]
    data = plaintext(CHUNK_SIZE + 5, 7)
    age_file = encrypt(data, [recipient for _, recipient in pairs])
    for identity, _ in pairs:
        assert b"".join(decrypt_chunks(io.BytesIO(age_file), identity)) == data
    with pytest.raises(AgeError, match="no identity matches") as caught:
        list(decrypt_chunks(io.BytesIO(age_file), generate_identity()[0]))
    assert caught.value.stage == "no match"


def damage(age_file: bytes, kind: str, where: int, flip: int) -> tuple[bytes, int]:
    """The damaged file and the byte offset from which it differs from the original."""
    if kind == "truncate":
        cut = where % len(age_file)
        return age_file[:cut], cut
    if kind == "append":
        return age_file + bytes([flip]), len(age_file)
    at = where % len(age_file)
    return age_file[:at] + bytes([age_file[at] ^ flip]) + age_file[at + 1 :], at


@PROPERTY
@given(
    size=sizes,
    seed=st.integers(0, 2**32),
    kind=st.sampled_from(["truncate", "flip", "append"]),
    where=st.integers(0, 2**40),
    flip=st.integers(1, 255),
)
def test_damaged_files_release_only_the_authenticated_prefix(
    size: int, seed: int, kind: str, where: int, flip: int, tmp_path: Path
) -> None:
    data = plaintext(size, seed)
    age_file = encrypt(data, [RECIPIENT])
    damaged, first_changed = damage(age_file, kind, where, flip)
    released = bytearray()
    with pytest.raises(AgeError):
        for chunk in decrypt_chunks(io.BytesIO(damaged), IDENTITY):
            released += chunk
    # Exactly the chunks stored wholly before the first damaged byte come out, nothing more.
    start = payload_offset(age_file)
    intact_chunks = max(0, first_changed - start) // SEALED if first_changed >= start else 0
    assert bytes(released) == data[: min(size, intact_chunks * CHUNK_SIZE)]

    directory = Path(tempfile.mkdtemp(dir=tmp_path))  # one per example: tmp_path is shared
    (directory / "in.age").write_bytes(damaged)
    with pytest.raises(AgeError):
        decrypt_file(directory / "in.age", IDENTITY, directory / "out.bin")
    assert [p.name for p in directory.iterdir()] == ["in.age"]


def test_a_failed_decrypt_leaves_an_existing_output_untouched(tmp_path: Path) -> None:
    (tmp_path / "in.age").write_bytes(encrypt(plaintext(100, 1), [RECIPIENT])[:-1])
    (tmp_path / "out.bin").write_bytes(b"previous delivery")
    with pytest.raises(AgeError, match="chunk 0 failed to authenticate"):
        decrypt_file(tmp_path / "in.age", IDENTITY, tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == b"previous delivery"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.age", "out.bin"]


def special_file(path: Path, kind: str) -> None:
    """Make a `kind` of non-regular file at `path`: what `decrypt_file` must not replace."""
    if kind == "symlink to a file":
        (path.parent / "elsewhere").write_bytes(b"previous")
        path.symlink_to(path.parent / "elsewhere")
    elif kind == "dangling symlink":
        path.symlink_to(path.parent / "nowhere")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        with socket.socket(socket.AF_UNIX) as listening:
            listening.bind(str(path))
    else:  # a character device: /dev/null's numbers, made where the test may write
        try:
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("making a device node needs CAP_MKNOD")


@pytest.mark.parametrize(
    "kind", ["symlink to a file", "dangling symlink", "fifo", "socket", "character device"]
)
def test_decrypt_file_refuses_to_replace_what_is_not_a_regular_file(
    tmp_path: Path, kind: str
) -> None:
    (tmp_path / "in.age").write_bytes(encrypt(b"secret rows", [RECIPIENT]))
    out = tmp_path / "out"
    special_file(out, kind)
    before = os.lstat(out)
    with pytest.raises(FileExistsError, match="not a regular file") as refused:
        decrypt_file(tmp_path / "in.age", IDENTITY, out)
    assert refused.value.filename == str(out)
    after = os.lstat(out)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_identity_files_skip_comments_and_blank_lines() -> None:
    second, second_recipient = generate_identity()
    text = f"# created: today\r\n# public key: {RECIPIENT}\r\n\r\n{IDENTITY}\r\n  {second}  \n"
    identities = load_identities(text)
    assert len(identities) == 2
    age_file = encrypt(b"data", [second_recipient])
    assert b"".join(decrypt_chunks(io.BytesIO(age_file), identities)) == b"data"


def test_key_errors_never_echo_the_key() -> None:
    bad = IDENTITY[:-1] + ("Q" if IDENTITY[-1] != "Q" else "P")  # checksum no longer matches
    with pytest.raises(AgeError, match="line 2: age identity: Bech32 checksum") as caught:
        load_identities(f"# komentar\n{bad}\n")
    assert caught.value.stage == "key"
    assert bad not in str(caught.value) and bad[20:40] not in str(caught.value)
    assert IDENTITY[16:] not in repr(parse_identity(IDENTITY))
    with pytest.raises(AgeError, match="upper case"):
        parse_identity(IDENTITY.lower())
    with pytest.raises(AgeError, match="no AGE-SECRET-KEY"):
        load_identities("# only a comment\n")
    bad_recipient = RECIPIENT[:-1] + ("q" if RECIPIENT[-1] != "q" else "p")
    with pytest.raises(AgeError, match="recipient 1: Bech32 checksum") as caught:
        AgeWriter(io.BytesIO(), [RECIPIENT, bad_recipient])
    assert bad_recipient not in str(caught.value)
    with pytest.raises(AgeError, match="at least one"):
        AgeWriter(io.BytesIO(), [])
    with pytest.raises(AgeError, match="no identity given"):
        list(decrypt_chunks(io.BytesIO(encrypt(b"x", [RECIPIENT])), []))


def test_recipient_fingerprint_is_sha256_of_the_string_in_openssh_style() -> None:
    fingerprint = recipient_fingerprint(RECIPIENT)
    assert fingerprint.startswith("SHA256:") and "=" not in fingerprint
    assert len(fingerprint) == len("SHA256:") + 43
    assert fingerprint != recipient_fingerprint(generate_identity()[1])
    # The same string as `ssh-keygen -l` would print for these bytes: base64 of the raw digest.
    import base64
    import hashlib

    digest = base64.b64decode(fingerprint.removeprefix("SHA256:") + "=")
    assert digest == hashlib.sha256(RECIPIENT.encode()).digest()
    with pytest.raises(KeyFormatError, match="lower case"):
        recipient_fingerprint(RECIPIENT.upper())


def test_random_keys_differ_per_file() -> None:
    first, second = encrypt(b"same", [RECIPIENT]), encrypt(b"same", [RECIPIENT])
    assert first != second
    # Different ephemeral share, wrapped key, MAC and nonce: nothing links two deliveries.
    one, two = parse_header(io.BytesIO(first)), parse_header(io.BytesIO(second))
    assert one.stanzas[0].args[1] != two.stanzas[0].args[1]
    assert one.stanzas[0].body != two.stanzas[0].body and one.mac != two.mac
    start = payload_offset(first)
    assert start == payload_offset(second)
    assert first[start - 16 : start] != second[start - 16 : start]
