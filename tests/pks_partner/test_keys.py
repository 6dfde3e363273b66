"""The keys a partner holds: the known-keys file (pinned manifest keys, as known_hosts), a
configured manifest key in the forms the office prints, one-key SSHSIG checks, and the age
identity — none of them ever quoted in an error."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import pks_partner
from ageformat import generate_identity
from pks_partner.errors import PartnerError
from pks_partner.identity import identities_of
from pks_partner.known_keys import KnownKeys, read_public_key
from pks_partner.sshsig import SignatureError, fingerprint, public_key_line, sign, verify_by_key


def test_pinned_keys_are_read_per_gateway_and_written_private(tmp_path: Path) -> None:
    known = KnownKeys(tmp_path / "config" / "known_keys")
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    assert known.pinned("https://a.example") is None
    known.pin("https://a.example", first.public_key())
    known.pin("https://b.example:8443", second.public_key())
    assert stat.S_IMODE(known.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(known.path.parent.stat().st_mode) == 0o700
    pinned = known.pinned("https://b.example:8443")
    assert pinned is not None and fingerprint(pinned) == fingerprint(second.public_key())
    assert known.pinned("https://b.example") is None
    known.path.write_text("# mine\n\nhttps://c.example not-a-key\n", encoding="utf-8")
    with pytest.raises(PartnerError, match="line 3 is not '<gateway> ssh-ed25519 <key>'"):
        known.pinned("https://c.example")


def test_a_manifest_key_is_taken_as_the_office_prints_it(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate().public_key()
    line = public_key_line(key, "pks-gateway-manifest")
    allowed = f'pks-gateway namespaces="pks-manifest" {public_key_line(key)}'
    (tmp_path / "manifest.pub").write_text(line + "\n")
    for given in (line, allowed, tmp_path / "manifest.pub", str(tmp_path / "manifest.pub")):
        assert fingerprint(read_public_key(given)) == fingerprint(key)
    with pytest.raises(PartnerError, match="manifest key: cannot read"):
        read_public_key(tmp_path / "missing.pub")
    with pytest.raises(PartnerError, match="manifest key: not a valid ssh-ed25519 key"):
        read_public_key("ssh-ed25519 AAAAnotbase64")


def test_a_manifest_signature_verifies_by_its_one_key_only() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    signature = sign(b"manifest", key, "pks-manifest")
    verify_by_key(b"manifest", signature, "pks-manifest", key.public_key())
    cases = [
        (b"manifesT", signature, key, "does not match the signed bytes"),
        (b"manifest", signature, other, "not an allowed signer"),
        (b"manifest", sign(b"manifest", key, "pks-agreement"), key, "namespace mismatch"),
        (b"manifest", "-----BEGIN SSH SIGNATURE-----\n", key, "malformed"),
    ]
    for data, armored, signer, rule in cases:
        with pytest.raises(SignatureError, match=rule):
            verify_by_key(data, armored, "pks-manifest", signer.public_key())


def test_an_identity_is_a_file_or_its_text_and_never_quoted(tmp_path: Path) -> None:
    secret, _ = generate_identity()
    (tmp_path / "partner.key").write_text(f"# created\n{secret}\n")
    assert len(identities_of(tmp_path / "partner.key")) == len(identities_of(secret)) == 1
    broken = secret[:-3] + ("qqq" if not secret.endswith("qqq") else "ppp")
    with pytest.raises(PartnerError) as caught:
        identities_of(broken)
    assert secret[20:40] not in str(caught.value)
    with pytest.raises(PartnerError, match="cannot read identity file"):
        identities_of(tmp_path / "missing.key")


def test_the_package_names_load_their_modules_when_used() -> None:
    for name in pks_partner.__all__:
        assert getattr(pks_partner, name) is not None
    with pytest.raises(AttributeError):
        pks_partner.no_such_name  # noqa: B018
