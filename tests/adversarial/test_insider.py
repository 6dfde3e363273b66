"""A writer of the metadata database who holds none of the key files (issue 9, items 1-3).

Each test performs one attack directly on the database and finds it refused: the CLI exits 1 with
one line naming the agreement (or key, or log) and the mismatch, and nothing is delivered. Each
says the threat it covers (docs/security.md lists them with these tests).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from ageformat import generate_identity
from agreements.canonical import CANONICAL_FORMAT, SIGNATURE_NAMESPACE
from agreements.signing import AllowedSigner, fingerprint, load_private_key, sign
from tests.harness import SHORT
from tests.office import OTHER, Office, current_example, refused

SIGNED_COLUMNS = ("identity_json", "scope_json", "scope_hash", "signature", "signer_fingerprint")


def resign(
    office: Office, short_id: str, version: int, key: Ed25519PrivateKey, **edits: Any
) -> None:
    """Rewrite a version's scope (`edits` applied to its JSON), recompute its hash and sign the
    new canonical bytes with `key`: all an attacker can do without the gateway's files."""
    row = office.version_row(short_id, version)
    identity, scope = json.loads(row["identity_json"]), json.loads(row["scope_json"])
    for path, value in edits.items():
        target = scope
        *parents, leaf = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[leaf] = value
    canonical = rfc8785.dumps({"format": CANONICAL_FORMAT, "agreement": identity, "scope": scope})
    office.sql(
        "UPDATE agreement_versions SET scope_json = :scope, scope_hash = :hash, signature = :sig, "
        "signer_fingerprint = :fp WHERE id = :id",
        scope=json.dumps(scope),
        hash=sha256(canonical).hexdigest(),
        sig=sign(canonical, key, SIGNATURE_NAMESPACE),
        fp=fingerprint(key.public_key()),
        id=row["id"],
    )


def insert_signer(office: Office, key: Ed25519PrivateKey, principal: str = "kadis") -> str:
    entry = AllowedSigner.for_key(principal, key.public_key(), namespaces=["pks-agreement"])
    office.sql(
        "INSERT INTO signers (principal, fingerprint, allowed_signers_line, added_at) "
        "VALUES (:p, :f, :l, :a)",
        p=principal,
        f=entry.fingerprint,
        l=entry.line(),
        a=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return entry.fingerprint


def assert_nothing_delivered(office: Office, short_id: str = SHORT) -> None:
    result = office.extract(short_id)
    refused(result, short_id)
    assert office.published() == [] and office.visible() == []
    starts = [e for e in office.audit() if e["action"] == "delivery.start"]
    assert starts and starts[-1]["outcome"] == "refused"


def test_inserted_signer_and_a_resigned_scope_are_refused(office: Office) -> None:
    """Threat: a database writer registers their own key as a Kepala Dinas key (with a forged
    `signer.added` audit row), then re-signs the scope with it: recipient switched to their own age
    key, NIK and birth date in clear."""
    office.agree()
    own = Ed25519PrivateKey.generate()
    own_fingerprint = insert_signer(office, own)
    _secret, own_recipient = generate_identity()
    resign(
        office,
        SHORT,
        1,
        own,
        recipients__0__age_recipient=own_recipient,
        elements__nik={"mask": "keep"},
    )
    output = refused(office("agreement", "verify", SHORT, ok=False), f"agreement {SHORT}")
    assert "changed outside the gateway" in output
    assert_nothing_delivered(office)
    assert own_fingerprint in str(office.sql("SELECT fingerprint FROM signers"))  # still there


def test_a_forged_signer_row_alone_is_named(office: Office) -> None:
    """Threat: a key inserted into the signer registry (nothing else touched) is never trusted."""
    office.agree()
    own_fingerprint = insert_signer(office, Ed25519PrivateKey.generate())
    output = refused(office("agreement", "verify", SHORT, ok=False), own_fingerprint)
    assert "not written by the gateway" in output
    assert_nothing_delivered(office)


def test_a_replaced_allowed_signers_line_is_refused(office: Office) -> None:
    """Threat: the Kepala Dinas's allowed_signers line replaced by one with the attacker's key."""
    office.agree()
    own = Ed25519PrivateKey.generate()
    line = AllowedSigner.for_key("kadis", own.public_key(), namespaces=["pks-agreement"]).line()
    office.sql("UPDATE signers SET allowed_signers_line = :l", l=line)
    refused(office("agreement", "verify", SHORT, ok=False), "signer key", "changed outside")
    assert_nothing_delivered(office)


def test_an_unrevoked_key_is_refused(office: Office) -> None:
    """Threat: a revoked (compromised) signer key made valid again with `revoked_at = NULL`."""
    office.agree()
    [(key_fingerprint,)] = office.sql("SELECT fingerprint FROM signers")
    office("signer", "revoke", key_fingerprint, "--as", "admin")
    office("agreement", "verify", SHORT)  # signed before the revocation: still valid
    office.sql("UPDATE signers SET revoked_at = NULL")
    refused(office("agreement", "verify", SHORT, ok=False), key_fingerprint, "changed outside")
    assert_nothing_delivered(office)


def test_a_backdated_signature_of_a_revoked_key_is_refused(office: Office) -> None:
    """Threat: the holder of a revoked key signs a draft after the revocation and back-dates
    `signed_at` to before it, setting the version active."""
    office.agree(sign=False)
    [(key_fingerprint, added_at)] = office.sql("SELECT fingerprint, added_at FROM signers")
    office("signer", "revoke", key_fingerprint, "--as", "admin")
    stolen = load_private_key(office.kadis_key.read_bytes())
    row = office.version_row(SHORT, 1)
    canonical = rfc8785.dumps(
        {
            "format": CANONICAL_FORMAT,
            "agreement": json.loads(row["identity_json"]),
            "scope": json.loads(row["scope_json"]),
        }
    )
    office.sql(
        "UPDATE agreement_versions SET signature = :s, signer_fingerprint = :f, signed_at = :t, "
        "status = 'active'",
        s=sign(canonical, stolen, SIGNATURE_NAMESPACE),
        f=key_fingerprint,
        t=datetime.now(UTC) - timedelta(minutes=5) if added_at is None else added_at,
    )
    output = refused(office("agreement", "verify", SHORT, ok=False), f"agreement {SHORT} version 1")
    assert "changed outside the gateway" in output
    assert_nothing_delivered(office)


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_a_stopped_version_set_back_to_active_is_refused(office: Office, action: str) -> None:
    """Threat: a suspended or revoked version set back to `active` in the database."""
    office.agree()
    office("agreement", action, SHORT, "--reason", "audit finding", "--as", "kadis")
    office.sql("UPDATE agreement_versions SET status = 'active'")
    refused(office.extract(), f"agreement {SHORT} version 1", "changed outside the gateway")
    assert office.published() == []


def test_an_amendment_rolled_back_by_copying_version_1_is_refused(office: Office) -> None:
    """Threat: version 1's signed columns copied over version 2 (a silent rollback of an
    amendment that narrowed the scope): each signature verifies on its own bytes."""
    office.agree()
    first = office.version_row(SHORT, 1)
    amended = current_example().replace(
        "\nversion = 1", f'\nversion = 2\nprevious_scope_hash = "{first["scope_hash"]}"'
    )
    office.agree(amended)
    assignments = ", ".join(f"{column} = :{column}" for column in SIGNED_COLUMNS)
    office.sql(
        f"UPDATE agreement_versions SET {assignments} WHERE version = 2",
        **{column: first[column] for column in SIGNED_COLUMNS},
    )
    output = refused(office("agreement", "verify", SHORT, ok=False), f"agreement {SHORT} version 2")
    assert "signed identity differs from the row" in output and "version" in output
    assert_nothing_delivered(office)


def test_one_agreements_signed_row_copied_into_another_is_refused(office: Office) -> None:
    """Threat: agreement A's signed scope copied into agreement B's row, to deliver A's scope
    under B's identity, quota and validity."""
    office.agree()
    office.agree(current_example(OTHER, "470/124/"))
    donor = office.version_row(SHORT, 1)
    target = office.version_row(OTHER, 1)
    assignments = ", ".join(f"{column} = :{column}" for column in SIGNED_COLUMNS)
    office.sql(
        f"UPDATE agreement_versions SET {assignments} WHERE id = :id",
        id=target["id"],
        **{column: donor[column] for column in SIGNED_COLUMNS},
    )
    output = refused(office("agreement", "verify", OTHER, ok=False), f"agreement {OTHER}")
    assert "signed identity differs from the row" in output and "short_id" in output
    assert_nothing_delivered(office, OTHER)


def test_a_removed_version_row_is_named(office: Office) -> None:
    """Threat: a version row deleted so that an older one counts as current again."""
    office.agree()
    first = office.version_row(SHORT, 1)
    office.agree(
        current_example().replace(
            "\nversion = 1", f'\nversion = 2\nprevious_scope_hash = "{first["scope_hash"]}"'
        )
    )
    office.sql("DELETE FROM agreement_versions WHERE version = 2")
    office.sql("UPDATE agreement_versions SET status = 'active'")
    refused(office("agreement", "verify", SHORT, ok=False), f"agreement {SHORT}")
    assert_nothing_delivered(office)


# --- the audit log and its kept checkpoint (item 3) --------------------------------------------


def deliver(office: Office) -> None:
    office.agree()
    result = office("delivery", "extract", SHORT, "--as", "adb")
    assert result.exit_code == 0, result.output
    assert len(office.published()) == 1


def truncate_log(office: Office, keep: int) -> None:
    office.sql("DELETE FROM audit_checkpoints")
    office.sql("DELETE FROM audit_entries WHERE seq >= :k", k=keep)
    office.sql("UPDATE audit_head SET tree_size = :k", k=keep)


def test_deleted_checkpoints_do_not_let_a_truncated_log_pass(office: Office) -> None:
    """Threat: `audit_checkpoints` rows deleted and the log truncated, so that `audit verify`
    accepts the shorter history and the gateway signs a checkpoint contradicting one it already
    handed a partner (two signed roots for one size)."""
    deliver(office)
    size = len(office.audit())
    truncate_log(office, size - 3)
    verify = refused(office("audit", "verify", ok=False), "kept checkpoint")
    assert "does NOT verify" in verify
    checkpoint = office("audit", "checkpoint", ok=False)
    refused(checkpoint, "refusing to sign", "kept checkpoint")
    assert office.sql("SELECT count(*) FROM audit_checkpoints") == [(0,)]
    extract = office.extract()
    refused(extract, "audit log no longer extends")


def test_a_rewritten_entry_with_its_hash_is_caught_by_the_kept_checkpoint(office: Office) -> None:
    """Threat: an entry's leaf bytes and hash rewritten consistently and the stored checkpoints
    deleted: only the checkpoint kept outside the database (and the partners' manifests) still
    remember the old root."""
    deliver(office)
    [(leaf,)] = office.sql("SELECT leaf FROM audit_entries WHERE seq = 1")
    forged = bytes(leaf).replace(b'"audit"', b'"audix"')
    assert forged != bytes(leaf)
    from pks_partner.merkle import leaf_hash

    office.sql("DELETE FROM audit_checkpoints")
    office.sql(
        "UPDATE audit_entries SET leaf = :l, leaf_hash = :h, object_id = 'audix' WHERE seq = 1",
        l=forged,
        h=leaf_hash(forged),
    )
    output = refused(office("audit", "verify", ok=False), "kept checkpoint")
    assert "manifest" in output  # the published manifest's checkpoint is held too
    refused(office.extract(), "audit log no longer extends")


def test_a_partner_detects_a_fork_offline(office: Office) -> None:
    """Threat: history rewritten after a partner received a manifest. The partner holds the
    manifest's checkpoint; shown a newer checkpoint and a consistency proof, `delivery verify`
    accepts an honest extension and rejects a fork."""
    deliver(office)
    [manifest] = list((office.home / "deliveries").rglob("*.manifest.json"))
    old_size = json.loads(manifest.read_bytes())["audit"]["seq"] + 1
    office("staff", "add", "auditor", "--role", "compliance", "--as", "admin")
    office("audit", "checkpoint", "--out", str(office.root / "newer.note"))
    proof = office("audit", "prove", "--from", str(old_size)).stdout
    (office.root / "proof.txt").write_text(proof, encoding="utf-8")
    args = ("--newer-checkpoint", str(office.root / "newer.note"))
    args += ("--consistency-proof", str(office.root / "proof.txt"))
    honest = office("delivery", "verify", str(manifest), *args)
    assert "ok   consistency" in honest.output

    # The fork: the log cut back below the manifest's entry, re-anchored (as after a restore),
    # and grown past the old size again with other entries.
    truncate_log(office, old_size - 2)
    office("audit", "re-anchor", "--reason", "restored from backup", "--as", "admin")
    for name in ("a1", "a2", "a3", "a4"):
        office("staff", "add", name, "--role", "admin", "--as", "admin")
    office("audit", "checkpoint", "--out", str(office.root / "forked.note"))
    forked_proof = office("audit", "prove", "--from", str(old_size)).stdout
    (office.root / "forked.txt").write_text(forked_proof, encoding="utf-8")
    forked = office(
        "delivery",
        "verify",
        str(manifest),
        "--newer-checkpoint",
        str(office.root / "forked.note"),
        "--consistency-proof",
        str(office.root / "forked.txt"),
        ok=False,
    )
    refused(forked, "FAIL consistency", "does not extend the manifest's checkpoint")
    reanchors = [e for e in office.audit() if e["action"] == "audit.reanchor"]
    assert [e["details"]["reason"] for e in reanchors] == ["restored from backup"]


def test_import_and_sign_of_an_edited_draft_are_refused(office: Office) -> None:
    """Threat: a draft's scope edited in the database before the Kepala Dinas signs it: the
    signature would cover bytes nobody in the office drafted."""
    office.agree(sign=False)
    office.sql(
        "UPDATE agreement_versions SET scope_json = replace(scope_json, :a, :b)",
        a='"nama_lengkap": {"mask": "keep"}',
        b='"nama_lengkap": {"mask": "keep"}, "nik_ibu": {"mask": "keep"}',
    )
    result = office(
        "agreement", "sign", SHORT, "--key", str(office.kadis_key), "--as", "kadis", ok=False
    )
    refused(result, f"agreement {SHORT} version 1")
    assert office.version_row(SHORT, 1)["signature"] is None


# --- found by the review of this suite (docs/security.md) ---------------------------------------


@pytest.mark.parametrize("delivery_id", ["../keys/audit", "../keys/state", "*"])
def test_recovery_does_not_follow_an_edited_delivery_id_out_of_its_directory(
    office: Office, delivery_id: str
) -> None:
    """Threat: a `running` delivery row whose id (or agreement short id) is a path or a glob,
    so that crash recovery deletes the kept checkpoint, the state key or other deliveries."""
    deliver(office)
    [(agreement_id,)] = office.sql("SELECT id FROM agreements")
    office.sql(
        "INSERT INTO deliveries (id, agreement_id, version, status, format, file_name, "
        "requested_by, started_at) VALUES (:i, :a, 1, 'running', 'csv', 'x', 'adb', :t)",
        i=delivery_id,
        a=agreement_id,
        t=datetime(2020, 1, 1, tzinfo=UTC),
    )
    kept = sorted(p.name for p in (office.home / "keys").iterdir())
    office.extract()  # runs recovery first (and is refused by the quota)
    assert sorted(p.name for p in (office.home / "keys").iterdir()) == kept
    assert len(office.published()) == 1
    office("audit", "verify")


def test_a_trigger_that_undoes_a_suspension_is_refused(office: Office) -> None:
    """Threat: a trigger that sets a suspended version back to active right after the gateway
    writes it, so that the gateway seals the attacker's state."""
    office.agree()
    if office.engine.dialect.name == "sqlite":
        trigger = (
            "CREATE TRIGGER keep_active AFTER UPDATE OF status ON agreement_versions "
            "WHEN NEW.status = 'suspended' BEGIN "
            "UPDATE agreement_versions SET status = 'active' WHERE id = NEW.id; END"
        )
        office.sql(trigger)
    else:
        office.sql(
            "CREATE FUNCTION keep_active() RETURNS trigger AS $$ BEGIN "
            "NEW.status := 'active'; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        office.sql(
            "CREATE TRIGGER keep_active BEFORE UPDATE ON agreement_versions "
            "FOR EACH ROW EXECUTE FUNCTION keep_active()"
        )
    suspend = office("agreement", "suspend", SHORT, "--reason", "r", "--as", "kadis", ok=False)
    refused(suspend, "triggers or rules the gateway did not create", "keep_active")
    refused(office.extract(), "keep_active")
    assert office.published() == []


def test_a_nulled_request_link_is_refused(office: Office) -> None:
    """Threat: a version's request link edited (an SOP version unlinked from its request, so that
    the Kepala Dinas's signature would put it in force without step 7, or the reverse)."""
    office.agree(sign=False)
    with office.engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # a DBA can switch foreign keys off
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("UPDATE agreement_versions SET request_id = 1"))
    sign_it = ("agreement", "sign", SHORT, "--key", str(office.kadis_key), "--as", "kadis")
    refused(office(*sign_it, ok=False), f"agreement {SHORT} version 1", "changed outside")


@pytest.mark.parametrize(
    ("column", "value"), [("status", "bogus"), ("identity_json", "{"), ("scope_json", "[]")]
)
def test_a_row_the_gateway_cannot_read_is_refused_in_one_line(
    office: Office, column: str, value: str
) -> None:
    """Threat: values the gateway never writes (a crash would skip the audited refusal)."""
    office.agree()
    office.sql(f"UPDATE agreement_versions SET {column} = :v", v=value)
    refused(office("agreement", "verify", SHORT, ok=False), f"agreement {SHORT} version 1")
    refused(office.extract(), "values the gateway never writes")
    starts = [e for e in office.audit() if e["action"] == "delivery.start"]
    assert starts[-1]["outcome"] == "refused"


def test_a_suspension_does_not_seal_a_row_tampered_before_it(office: Office) -> None:
    """Threat: a row edited behind the gateway's back (here a back-dated signing time), then
    suspended by the Kepala Dinas: stopping data must work, but must not seal the edit, or the
    resume would put the forged row back in force."""
    office.agree()
    office.sql("UPDATE agreement_versions SET signed_at = :t", t=datetime(2026, 1, 2, tzinfo=UTC))
    office("agreement", "suspend", SHORT, "--reason", "audit finding", "--as", "kadis")
    assert office.version_row(SHORT, 1)["status"] == "suspended"
    resume = office("agreement", "resume", SHORT, "--reason", "r", "--as", "kadis", ok=False)
    refused(resume, f"agreement {SHORT} version 1", "changed outside the gateway")
    refused(office("agreement", "verify", SHORT, ok=False), "changed outside the gateway")
    [suspension] = [e for e in office.audit() if e["action"] == "agreement.suspend"]
    assert suspension["details"]["left_unsealed"] is True  # the record says it needs re-anchoring


def test_revoking_a_forged_signer_key_does_not_seal_it(office: Office) -> None:
    """Threat: a signer row inserted by hand, then revoked by an Admin who noticed it: the
    revocation must not make the forged row (with its chosen `added_at`) a sealed, trusted one."""
    office.agree()
    forged = insert_signer(office, Ed25519PrivateKey.generate())
    office("signer", "revoke", forged, "--as", "admin")
    refused(office("agreement", "verify", SHORT, ok=False), forged, "not written by the gateway")
