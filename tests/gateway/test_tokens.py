"""Partner tokens through the CLI (`pks-gateway token`): shown once and kept only as a keyed hash,
issued only for an agreement that could deliver today, for at most a year, by the officers the
role table names; a revocation of a row edited in the database stops it without sealing the edit.
What a token opens (and when it stops) is tested through the API in tests/api/."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from agreements.errors import Invalid
from gateway.keys import load_token_key
from gateway.seals import SealStore
from gateway.services import token_use, tokens
from gateway.settings import load_settings
from tests.harness import SHORT
from tests.office import Office


def create(office: Office, *args: str) -> str:
    return str(office("token", "create", SHORT, *args, "--as", "adb").stdout.strip())


def test_a_token_is_shown_once_and_only_its_keyed_hash_is_kept(office: Office) -> None:
    office.agree()
    token = create(office)
    assert token_use.TOKEN_SHAPE.fullmatch(token)
    prefix, secret = token[:12], token.split("_", 2)[2]
    assert len(secret) == 43  # 256 random bits, base64url
    (row,) = office.sql("SELECT * FROM partner_tokens")
    stored = {key: str(value) for key, value in row._mapping.items()}
    assert stored["prefix"] == prefix
    assert not any(secret in value for value in stored.values())
    key = load_token_key(office.home / "keys")
    assert stored["secret_hash"] == token_use.token_hash(key, token)
    # Never shown again: not by `token list`, not in the audit log, not in the kept seals.
    listed = office("token", "list", "--as", "adb", "--json").stdout
    assert json.loads(listed)[0]["prefix"] == prefix and secret not in listed
    entries = office.audit()
    created = [e for e in entries if e["action"] == "token.create"]
    assert created[0]["details"]["token"] == prefix and created[0]["actor_id"] == "adb"
    assert secret not in json.dumps(entries)
    assert secret not in (office.home / "keys" / "state.seals").read_text()
    assert f"token:{prefix}" in (office.home / "keys" / "state.seals").read_text()


def test_a_token_is_issued_only_for_an_agreement_that_could_deliver(office: Office) -> None:
    office.agree()
    office("agreement", "suspend", SHORT, "--reason", "audit finding", "--as", "kadis")
    refused = office("token", "create", SHORT, "--as", "adb", ok=False)
    assert refused.exit_code == 6, refused.output  # conflict: suspended
    assert "suspended" in refused.output and "Traceback" not in refused.output
    assert office.sql("SELECT count(*) FROM partner_tokens")[0][0] == 0
    entry = office.audit()[-1]
    assert (entry["action"], entry["outcome"]) == ("token.create", "refused")
    unknown = office(
        "token", "create", SHORT, "--recipient", "someone else", "--as", "adb", ok=False
    )
    assert unknown.exit_code in (3, 6)


def test_a_token_lives_at_most_a_year(office: Office) -> None:
    office.agree()
    assert office("token", "create", SHORT, "--days", "367", "--as", "adb", ok=False).exit_code == 2
    settings = load_settings({"home": office.home}, environ={})
    with pytest.raises(Invalid, match="at most one year"):
        tokens.create(
            office.engine,
            SealStore(settings.keys_dir),
            settings.keys_dir,
            "adb",
            SHORT,
            recipient=None,
            now=datetime.now(UTC),
            time_zone=settings.zone,
            days=400,
        )
    assert office.audit()[-1]["outcome"] == "refused"
    listed = json.loads(office("token", "list", "--as", "adb", "--json").stdout)
    assert listed == []


def test_the_petugas_adb_issues_and_the_officers_above_and_compliance_revoke(
    office: Office,
) -> None:
    office.agree()
    office("staff", "add", "kabid", "--role", "kepala_bidang", "--as", "admin")
    office("staff", "add", "comp", "--role", "compliance", "--as", "admin")
    assert office("token", "create", SHORT, "--as", "comp", ok=False).exit_code == 4
    assert office("token", "create", SHORT, "--as", "kadis", ok=False).exit_code == 4
    first, second = create(office)[:12], create(office)[:12]
    assert office("token", "rotate", first, "--as", "comp", ok=False).exit_code == 4
    assert (
        office("token", "revoke", first, "--reason", "r", "--as", "admin", ok=False).exit_code == 4
    )
    office("token", "revoke", first, "--reason", "partner reported a leak", "--as", "comp")
    office("token", "revoke", second, "--reason", "agreement ends", "--as", "kabid")
    again = office("token", "revoke", second, "--reason", "twice", "--as", "kadis", ok=False)
    assert again.exit_code == 6
    states = {r["prefix"]: r["state"] for r in json.loads(
        office("token", "list", "--as", "comp", "--json").stdout
    )}  # fmt: skip
    assert states == {first: "revoked", second: "revoked"}


def test_rotation_names_the_successor_and_ends_the_old_token_after_the_overlap(
    office: Office,
) -> None:
    office.agree()
    old = create(office)[:12]
    rotated = json.loads(
        office("token", "rotate", old, "--overlap", "2", "--as", "adb", "--json").stdout
    )
    assert rotated["replaces"] == old and rotated["token"].startswith(rotated["prefix"] + "_")
    ends = datetime.fromisoformat(rotated["old_expires_at"])
    assert 7100 < (ends - datetime.now(UTC)).total_seconds() <= 7200
    listed = {
        r["prefix"]: r for r in json.loads(office("token", "list", "--as", "adb", "--json").stdout)
    }
    assert listed[old]["state"] == "rotating" and listed[old]["replaced_by"] == rotated["prefix"]
    again = office("token", "rotate", old, "--as", "adb", ok=False)
    assert again.exit_code == 6 and "only a working token is rotated" in again.output


def test_revoking_an_edited_row_stops_it_and_does_not_seal_the_edit(office: Office) -> None:
    """Threat: a database writer lengthens a token, then waits for an officer to revoke it so
    that the gateway seals the row as it then is. Revoking is never blocked, but the edited row
    stays refused (its kept seal is the one the gateway wrote before the edit)."""
    office.agree()
    prefix = create(office)[:12]
    seals_before = (office.home / "keys" / "state.seals").read_text()
    office.sql(
        "UPDATE partner_tokens SET expires_at = '2099-01-01 00:00:00' WHERE prefix = :p", p=prefix
    )
    office("token", "revoke", prefix, "--reason", "found edited", "--as", "adb")
    entry = office.audit()[-1]
    assert entry["action"] == "token.revoke" and entry["details"]["left_unsealed"] is True
    assert (office.home / "keys" / "state.seals").read_text() == seals_before
