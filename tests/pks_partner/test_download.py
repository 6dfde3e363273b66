"""A download and its checks, against a fake gateway that misbehaves on purpose: nothing is put in
place before the check that vouches for it passed, an interruption resumes with If-Range on the
ETag the download started with, and the manifest key is pinned on first use and held to."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ageformat import generate_identity
from pks_partner.client import Client
from pks_partner.errors import KeyChanged, PartnerError, TransportError, VerificationFailed
from pks_partner.known_keys import KnownKeys
from pks_partner.sshsig import fingerprint, public_key_line
from tests.pks_partner.fake_gateway import TOKEN, Delivery, FakeGateway, Knobs, make_delivery


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_download_is_checked_decrypted_and_put_in_place(
    client: Client, delivery: Delivery, tmp_path: Path
) -> None:
    done = client.download(delivery.manifest.delivery_id, tmp_path / "in")
    assert done.check.ok
    assert [c.name for c in done.check.checks] == [
        "signature", "canonical", "version", "format", "entry", "data_file", "plaintext",
    ]  # fmt: skip
    assert done.encrypted.read_bytes() == delivery.encrypted
    assert done.data is not None and done.data.read_bytes() == delivery.plaintext
    assert done.data.name == f"{delivery.manifest.delivery_id}.parquet"
    assert done.manifest_path.read_bytes() == delivery.manifest_bytes
    signature = done.manifest_path.with_name(done.manifest_path.name + ".sig")
    assert signature.read_text() == delivery.signature
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == sorted(
        [done.manifest_path.name, signature.name, done.encrypted.name, done.data.name]
    )
    assert (done.resumed_from, done.fetched) == (0, len(delivery.encrypted))


def test_the_audit_key_adds_the_checkpoint_and_the_inclusion_proof(
    gateway: FakeGateway, delivery: Delivery, tmp_path: Path
) -> None:
    client = Client(gateway.url, TOKEN, audit_key=delivery.verifier_key)
    done = client.download(delivery.manifest.delivery_id, tmp_path)
    names = [c.name for c in done.check.checks]
    assert names[4:6] == ["checkpoint", "inclusion"] and done.check.ok
    assert done.data is None  # no identity: checked, not decrypted
    stranger = Client(gateway.url, TOKEN, audit_key=Ed25519PrivateKey.generate().public_key())
    with pytest.raises(ValueError, match="origin"):
        stranger.download(delivery.manifest.delivery_id, tmp_path / "other")
    other_log = make_delivery().verifier_key
    refused = Client(gateway.url, TOKEN, audit_key=other_log)
    with pytest.raises(VerificationFailed, match="checkpoint") as caught:
        refused.download(delivery.manifest.delivery_id, tmp_path / "other")
    assert caught.value.failed == ("checkpoint", "inclusion")
    assert not (tmp_path / "other").exists()


def test_an_interrupted_download_resumes_with_if_range_and_ends_with_the_same_hashes(
    gateway: FakeGateway, knobs: Knobs, delivery: Delivery, client: Client, tmp_path: Path
) -> None:
    knobs.cut_after = 5000
    delivery_id = delivery.manifest.delivery_id
    with pytest.raises(TransportError, match=r"stopped at 5000 of \d+ bytes.*run it again"):
        client.download(delivery_id, tmp_path)
    partial = tmp_path / f"{delivery.manifest.file.name}.partial"
    assert partial.stat().st_size == 5000
    assert not (tmp_path / delivery.manifest.file.name).exists()
    assert not (tmp_path / f"{delivery_id}.parquet").exists()
    done = client.download(delivery_id, tmp_path)
    assert (done.resumed_from, done.fetched) == (5000, len(delivery.encrypted) - 5000)
    resumed = gateway.files_seen()[-1]
    assert resumed["Range"] == "bytes=5000-" and resumed["If-Range"] == delivery.etag
    assert sha256(done.encrypted) == delivery.manifest.file.sha256
    assert done.data is not None and sha256(done.data) == delivery.manifest.file.plaintext_sha256
    assert not partial.exists() and not partial.with_name(partial.name + ".etag").exists()


def test_a_partial_file_of_another_etag_or_no_resume_starts_again(
    gateway: FakeGateway, knobs: Knobs, delivery: Delivery, client: Client, tmp_path: Path
) -> None:
    partial = tmp_path / f"{delivery.manifest.file.name}.partial"
    partial.write_bytes(b"\0" * 4000)
    partial.with_name(partial.name + ".etag").write_text('"' + "1" * 64 + '"\n')
    done = client.download(delivery.manifest.delivery_id, tmp_path)
    assert done.resumed_from == 0 and "Range" not in gateway.files_seen()[-1]
    assert done.encrypted.read_bytes() == delivery.encrypted
    knobs.cut_after = 3000
    done.encrypted.unlink()
    with pytest.raises(TransportError):
        client.download(delivery.manifest.delivery_id, tmp_path)
    again = client.download(delivery.manifest.delivery_id, tmp_path, resume=False)
    assert again.resumed_from == 0 and "Range" not in gateway.files_seen()[-1]
    assert again.encrypted.read_bytes() == delivery.encrypted


def test_a_complete_file_in_place_is_checked_not_fetched_again(
    gateway: FakeGateway, delivery: Delivery, client: Client, tmp_path: Path
) -> None:
    client.download(delivery.manifest.delivery_id, tmp_path)
    again = client.download(delivery.manifest.delivery_id, tmp_path)
    assert again.fetched == 0 and len(gateway.files_seen()) == 1
    assert again.check.ok


@pytest.mark.parametrize("knob", ["corrupt", "other_etag"])
def test_a_file_that_is_not_the_signed_one_is_refused_and_not_kept(
    knob: str, knobs: Knobs, delivery: Delivery, client: Client, tmp_path: Path
) -> None:
    setattr(knobs, knob, True)
    with pytest.raises(VerificationFailed) as caught:
        client.download(delivery.manifest.delivery_id, tmp_path)
    assert caught.value.failed == ("data_file",)
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("known"))
    assert not [name for name in left if ".age" in name or name.endswith(".parquet")], left


def test_a_manifest_key_is_pinned_on_first_use_and_a_changed_one_is_refused(
    gateway: FakeGateway, delivery: Delivery, client: Client, tmp_path: Path
) -> None:
    first = client.download(delivery.manifest.delivery_id, tmp_path / "a")
    assert first.key.source == "first use"
    known = KnownKeys()
    pinned = known.pinned(client.origin)
    assert pinned is not None and fingerprint(pinned) == first.key.fingerprint
    assert client.download(delivery.manifest.delivery_id, tmp_path / "a").key.source == "pinned"
    # The gateway now signs with another key: refused, with the way out in the message.
    gateway.delivery = make_delivery(delivery.plaintext)
    with pytest.raises(KeyChanged) as caught:
        client.download(gateway.delivery.manifest.delivery_id, tmp_path / "b")
    message = str(caught.value)
    assert first.key.fingerprint in message and str(known.path) in message
    assert "channel you trust" in message
    assert not (tmp_path / "b").exists()
    # A key the partner configured wins over the pinned one.
    configured = public_key_line(gateway.delivery.manifest_key.public_key())
    trusting = Client(client.origin, TOKEN, manifest_key=configured)
    assert trusting.download(gateway.delivery.manifest.delivery_id, tmp_path / "b").check.ok


def test_a_configured_key_that_did_not_sign_fails_the_signature_check(
    gateway: FakeGateway, delivery: Delivery, tmp_path: Path
) -> None:
    key_file = tmp_path / "manifest.pub"
    key_file.write_text(public_key_line(Ed25519PrivateKey.generate()) + " office\n")
    client = Client(gateway.url, TOKEN, manifest_key=key_file)
    with pytest.raises(VerificationFailed, match="signing key is not an allowed signer") as caught:
        client.download(delivery.manifest.delivery_id, tmp_path / "out")
    assert caught.value.failed == ("signature",)
    assert not KnownKeys().path.exists()  # a configured key is never pinned over


def test_an_identity_that_is_no_recipient_is_told_so_before_anything_is_fetched(
    gateway: FakeGateway, delivery: Delivery, tmp_path: Path
) -> None:
    stranger, _ = generate_identity()
    client = Client(gateway.url, TOKEN, identity=stranger)
    with pytest.raises(PartnerError, match="Divisi Uji: none of the given age identities"):
        client.download(delivery.manifest.delivery_id, tmp_path)
    assert gateway.files_seen() == []
    assert stranger not in str(gateway.knobs.seen)


def test_a_plaintext_that_is_not_the_signed_one_never_appears(tmp_path: Path) -> None:
    lying = make_delivery(claimed_plaintext_sha256="ab" * 32)  # signed, logged, and wrong
    with FakeGateway(lying) as gateway:
        client = Client(gateway.url, TOKEN, identity=lying.identity)
        with pytest.raises(VerificationFailed, match="SHA-256 differs") as caught:
            client.download(lying.manifest.delivery_id, tmp_path)
    assert caught.value.failed == ("plaintext",)
    assert not (tmp_path / f"{lying.manifest.delivery_id}.parquet").exists()
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_an_id_with_path_tricks_never_reaches_the_gateway(
    client: Client, gateway: FakeGateway
) -> None:
    for bad in ("../etc", "a/b", "x%2fy", "", "a" * 101, "ａbc"):
        with pytest.raises(PartnerError, match="not a delivery id"):
            client.download(bad, "unused")
    assert gateway.knobs.seen == []


def test_the_log_is_checked_to_extend_the_checkpoint_a_manifest_carries(
    gateway: FakeGateway, knobs: Knobs, delivery: Delivery
) -> None:
    client = Client(gateway.url, TOKEN, audit_key=delivery.verifier_key)
    history = client.check_history(delivery.manifest_bytes, delivery.signature)
    assert history.check.ok and history.check.checks[-1].name == "consistency"
    assert (
        history.checkpoint is not None
        and history.proof == "consistency 1 3\n" + (history.proof.split("\n", 1)[1])
    )
    knobs.forked = True
    forked = client.check_history(delivery.manifest_bytes, delivery.signature)
    assert forked.check.failed == ("consistency",)
    assert "history was rewritten or forked" in forked.check.checks[-1].reason
    with pytest.raises(PartnerError, match="needs the office's audit key"):
        Client(gateway.url, TOKEN).check_history(delivery.manifest_bytes, delivery.signature)
