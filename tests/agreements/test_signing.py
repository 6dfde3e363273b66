"""SSHSIG signing and verification against stock ssh-keygen, and the allowed_signers format."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agreements.errors import BadSignature, Invalid
from agreements.signing import (
    AllowedSigner,
    AllowedSigners,
    fingerprint,
    load_private_key,
    parse_public_key,
    public_key_line,
    sign,
    verify,
)
from tests.services import require_tool

NS = "pks-agreement"
DATA = b'{"agreement":{"number":"500.12/PKS/2026"},"scope":{}}'


@dataclass(frozen=True)
class KeyFiles:
    ssh_keygen: str
    path: Path
    key: Ed25519PrivateKey
    public_line: str


def _keygen(tool: str, path: Path, comment: str) -> KeyFiles:
    subprocess.run(
        [tool, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    key = load_private_key(path.read_bytes())
    return KeyFiles(tool, path, key, path.with_suffix(".pub").read_text().strip())


@pytest.fixture(scope="module")
def kadis(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    tool = require_tool("ssh-keygen", "openssh-client")
    return _keygen(tool, tmp_path_factory.mktemp("keys") / "kadis", "kadis@paser")


def _ssh_sign(k: KeyFiles, file: Path, namespace: str = NS, *extra: str) -> str:
    subprocess.run(
        [k.ssh_keygen, "-Y", "sign", "-n", namespace, "-f", str(k.path), *extra, str(file)],
        check=True,
        capture_output=True,
    )
    return file.with_name(file.name + ".sig").read_text()


def _signers(k: KeyFiles, principal: str = "kadis@paser", **options: object) -> AllowedSigners:
    entry = AllowedSigner.for_key("-", k.key.public_key(), namespaces=[NS])
    entry = replace(entry, principals=tuple(principal.split(",")))
    return AllowedSigners((replace(entry, **options),))  # type: ignore[arg-type]


def test_stock_ssh_keygen_signature_verifies_with_ours(kadis: KeyFiles, tmp_path: Path) -> None:
    file = tmp_path / "canonical.json"
    file.write_bytes(DATA)
    armored = _ssh_sign(kadis, file)
    result = verify(DATA, armored, NS, _signers(kadis))
    assert result.principal == "kadis@paser"
    assert result.hash_algorithm == "sha512"
    printed = subprocess.run(
        [kadis.ssh_keygen, "-l", "-f", str(kadis.path.with_suffix(".pub"))],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[1]
    assert result.fingerprint == printed


def test_ssh_keygen_sha256_signature_is_accepted(kadis: KeyFiles, tmp_path: Path) -> None:
    file = tmp_path / "data"
    file.write_bytes(DATA)
    armored = _ssh_sign(kadis, file, NS, "-O", "hashalg=sha256")
    assert verify(DATA, armored, NS, _signers(kadis)).hash_algorithm == "sha256"


def test_ours_is_byte_identical_to_ssh_keygen(kadis: KeyFiles, tmp_path: Path) -> None:
    # Ed25519 is deterministic, so the same key over the same bytes gives the same armor.
    file = tmp_path / "data"
    file.write_bytes(DATA)
    assert sign(DATA, kadis.key, NS) == _ssh_sign(kadis, file)


def test_ours_verifies_with_ssh_keygen(kadis: KeyFiles, tmp_path: Path) -> None:
    file, sig, allowed = tmp_path / "data", tmp_path / "data.sig", tmp_path / "allowed_signers"
    file.write_bytes(DATA)
    sig.write_text(sign(DATA, kadis.key, NS, hash_algorithm="sha256"))
    signers = _signers(
        kadis,
        valid_after=datetime(2020, 1, 1, tzinfo=UTC),
        valid_before=datetime(2099, 12, 31, 23, 59, tzinfo=UTC),
    )
    allowed.write_text("# signers of the PKS Gateway\n" + signers.dumps())
    command = [kadis.ssh_keygen, "-Y", "verify", "-f", str(allowed), "-I", "kadis@paser"]
    good = subprocess.run(
        [*command, "-n", NS, "-s", str(sig)], input=DATA, capture_output=True, check=False
    )
    assert good.returncode == 0, good.stderr
    wrong_ns = subprocess.run(
        [*command, "-n", "pks-manifest", "-s", str(sig)], input=DATA, capture_output=True
    )
    assert wrong_ns.returncode != 0
    changed = subprocess.run(
        [*command, "-n", NS, "-s", str(sig)], input=DATA + b" ", capture_output=True
    )
    assert changed.returncode != 0


def test_changed_byte_fails(kadis: KeyFiles) -> None:
    armored = sign(DATA, kadis.key, NS)
    tampered = DATA.replace(b"2026", b"2027")
    with pytest.raises(BadSignature, match="does not match the signed bytes"):
        verify(tampered, armored, NS, _signers(kadis))


def test_wrong_namespace_fails(kadis: KeyFiles) -> None:
    armored = sign(DATA, kadis.key, "pks-manifest")
    with pytest.raises(BadSignature, match="namespace mismatch"):
        verify(DATA, armored, NS, _signers(kadis))


def test_namespace_not_allowed_by_the_signer_line_fails(kadis: KeyFiles) -> None:
    armored = sign(DATA, kadis.key, "pks-manifest")
    assert verify(DATA, armored, "pks-manifest", _signers(kadis, namespaces=None)).principal
    with pytest.raises(BadSignature, match="not allowed for this principal, namespace"):
        verify(DATA, armored, "pks-manifest", _signers(kadis))


def test_unknown_key_fails(kadis: KeyFiles) -> None:
    stranger = Ed25519PrivateKey.generate()
    with pytest.raises(BadSignature, match="not an allowed signer") as caught:
        verify(DATA, sign(DATA, stranger, NS), NS, _signers(kadis))
    # The error names no key material.
    assert public_key_line(stranger).split()[1] not in str(caught.value)


def test_revoked_key_fails_both_ways(kadis: KeyFiles) -> None:
    armored = sign(DATA, kadis.key, NS)
    signers = _signers(kadis)
    key_print = fingerprint(kadis.key.public_key())
    with pytest.raises(BadSignature, match="revoked"):
        verify(DATA, armored, NS, signers, revoked=[key_print])
    with pytest.raises(BadSignature, match="not an allowed signer"):
        verify(DATA, armored, NS, signers.remove(key_print))


def test_principal_and_validity_window(kadis: KeyFiles) -> None:
    armored = sign(DATA, kadis.key, NS)
    signers = _signers(kadis, principal="*@paser,!intruder@paser")
    assert verify(DATA, armored, NS, signers, principal="kadis@paser").principal == "kadis@paser"
    with pytest.raises(BadSignature):
        verify(DATA, armored, NS, signers, principal="intruder@paser")
    expired = _signers(kadis, valid_before=datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(BadSignature, match="time"):
        verify(DATA, armored, NS, expired, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert verify(DATA, armored, NS, expired, now=datetime(2024, 6, 1, tzinfo=UTC)).principal


@pytest.mark.parametrize(
    "armored",
    [
        "",
        "-----BEGIN SSH SIGNATURE-----\n!!!\n-----END SSH SIGNATURE-----\n",
        "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n",
    ],
)
def test_malformed_signatures_fail_cleanly(kadis: KeyFiles, armored: str) -> None:
    with pytest.raises(BadSignature, match="malformed"):
        verify(DATA, armored, NS, _signers(kadis))


def test_allowed_signers_round_trip_and_options(kadis: KeyFiles) -> None:
    text = (
        "# comment line\n\n"
        f'kadis@paser,wakil@paser namespaces="pks-agreement,pks-manifest",'
        f'valid-after="20260101" {kadis.public_line}\n'
        f"ca@paser cert-authority {kadis.public_line}\n"
    )
    signers = AllowedSigners.parse(text)
    first, second = signers.entries
    assert first.principals == ("kadis@paser", "wakil@paser")
    assert first.namespaces == ("pks-agreement", "pks-manifest")
    assert first.valid_after == datetime(2026, 1, 1, tzinfo=UTC)
    assert first.comment == "kadis@paser"
    assert second.cert_authority and second.namespaces is None
    assert AllowedSigners.parse(signers.dumps()) == signers
    # A cert-authority line does not make the plain key an allowed signer.
    only_ca = AllowedSigners((second,))
    with pytest.raises(BadSignature):
        verify(DATA, sign(DATA, kadis.key, NS), NS, only_ca, now=datetime(2026, 6, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("kadis@paser", "must be: principals"),
        ('kadis@paser frobnicate="x" ssh-ed25519 AAAA', "unsupported option frobnicate"),
        ('kadis@paser valid-after="2026" ssh-ed25519 AAAA', "YYYYMMDD"),
        ("kadis@paser ssh-ed25519 not*base64", "not base64"),
    ],
)
def test_bad_allowed_signers_lines_name_the_line(line: str, rule: str) -> None:
    with pytest.raises(Invalid, match=rule) as caught:
        AllowedSigners.parse("# first\n" + line + "\n")
    assert caught.value.field == "allowed_signers.line2"


def test_public_key_line_round_trip(kadis: KeyFiles) -> None:
    assert (
        public_key_line(parse_public_key(kadis.public_line)) == kadis.public_line.rsplit(" ", 1)[0]
    )
    with pytest.raises(Invalid, match="public_key"):
        parse_public_key("ssh-rsa AAAAB3NzaC1yc2E")


def test_private_key_must_be_ed25519(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="private_key"):
        load_private_key(b"not a key")
