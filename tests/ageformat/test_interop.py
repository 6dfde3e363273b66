"""Our age files against other implementations: the stock `age` CLI (Go) and pyrage (Rust rage)
decrypt what AgeWriter writes, and we decrypt what they write, for each recipient alone."""

from __future__ import annotations

import io
import random
import subprocess
from pathlib import Path

import pyrage
import pytest

from ageformat import CHUNK_SIZE, AgeWriter, decrypt_chunks, decrypt_file, load_identities
from ageformat.keys import generate_identity
from tests.services import require_tool

SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE]


def plaintext(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def ours(data: bytes, recipients: list[str]) -> bytes:
    sink = io.BytesIO()
    with AgeWriter(sink, recipients) as writer:
        writer.write(data)
    return sink.getvalue()


def age_decrypt(age_file: bytes, identity: str, tmp_path: Path) -> bytes:
    age = require_tool("age", "age")
    identity_file = tmp_path / "identity.txt"
    identity_file.write_text(f"# test key\n{identity}\n")
    result = subprocess.run(
        [age, "-d", "-i", str(identity_file)], input=age_file, capture_output=True, check=True
    )
    return result.stdout


@pytest.mark.parametrize("size", SIZES)
def test_age_cli_and_pyrage_decrypt_ours(size: int, tmp_path: Path) -> None:
    identity, recipient = generate_identity()
    data = plaintext(size)
    age_file = ours(data, [recipient])
    assert age_decrypt(age_file, identity, tmp_path) == data
    assert pyrage.decrypt(age_file, [pyrage.x25519.Identity.from_str(identity)]) == data


def test_each_of_several_recipients_alone_decrypts_ours_with_the_cli(tmp_path: Path) -> None:
    pairs = [generate_identity() for _ in range(3)]
    data = plaintext(2 * CHUNK_SIZE + 3)
    age_file = ours(data, [recipient for _, recipient in pairs])
    for identity, _ in pairs:
        assert age_decrypt(age_file, identity, tmp_path) == data
        assert pyrage.decrypt(age_file, [pyrage.x25519.Identity.from_str(identity)]) == data
    stranger, _ = generate_identity()
    with pytest.raises(subprocess.CalledProcessError):
        age_decrypt(age_file, stranger, tmp_path)


def test_the_cli_refuses_our_file_cut_short(tmp_path: Path) -> None:
    identity, recipient = generate_identity()
    age_file = ours(plaintext(CHUNK_SIZE + 10), [recipient])
    with pytest.raises(subprocess.CalledProcessError):
        age_decrypt(age_file[:-20], identity, tmp_path)


@pytest.mark.parametrize("size", SIZES)
def test_we_decrypt_files_from_the_age_cli(size: int, tmp_path: Path) -> None:
    age = require_tool("age", "age")
    keygen = require_tool("age-keygen", "age")
    identity_files = []
    recipients = []
    for number in range(2):
        path = tmp_path / f"key{number}.txt"
        subprocess.run([keygen, "-o", str(path)], capture_output=True, check=True)
        identity_files.append(path)
        recipients += ["-r", _public_key(path)]
    data = plaintext(size)
    (tmp_path / "data.age").write_bytes(
        subprocess.run([age, *recipients], input=data, capture_output=True, check=True).stdout
    )
    for path in identity_files:
        # age-keygen's file, comments and all, is what a partner would hand us.
        identities = load_identities(path.read_text())
        with (tmp_path / "data.age").open("rb") as source:
            assert b"".join(decrypt_chunks(source, identities)) == data
        decrypt_file(tmp_path / "data.age", path.read_text(), tmp_path / "data.bin")
        assert (tmp_path / "data.bin").read_bytes() == data


def _public_key(identity_file: Path) -> str:
    line = next(x for x in identity_file.read_text().splitlines() if "public key:" in x)
    return line.split(": ", 1)[1]


@pytest.mark.parametrize("size", [0, CHUNK_SIZE, CHUNK_SIZE + 1])
def test_we_decrypt_files_from_pyrage(size: int) -> None:
    first = pyrage.x25519.Identity.generate()
    second = pyrage.x25519.Identity.generate()
    data = plaintext(size)
    age_file = pyrage.encrypt(data, [first.to_public(), second.to_public()])
    for identity in (first, second):
        assert b"".join(decrypt_chunks(io.BytesIO(age_file), str(identity))) == data


def test_our_key_pairs_agree_with_pyrage() -> None:
    identity, recipient = generate_identity()
    assert str(pyrage.x25519.Identity.from_str(identity).to_public()) == recipient
