"""What a partner token opens through the API, and when it stops (on SQLite and PostgreSQL): a
missing, malformed, unknown, wrong, expired, revoked or rotated-out token is refused 401 with one
body; suspension and an amendment that drops the recipient end it; rows forged or edited in the
database (without the key files) are refused; `ip_allow` holds, behind trusted proxies too;
another partner's ids get the answer a random id gets. Every refusal is in the audit log, with the
prefix and never the token."""

from __future__ import annotations

import json
import logging
import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from ageformat.keys import generate_identity, recipient_fingerprint
from gateway.keys import load_token_key
from gateway.services.token_use import token_hash
from tests.api.partners import Partner, issue, problem_of
from tests.harness import SHORT, write
from tests.office import OTHER, Office, current_example


def refused_401(response_body: dict[str, object]) -> None:
    assert response_body["status"] == 401
    assert response_body["code"] == "unauthenticated"
    assert str(response_body["type"]).endswith("/problems/unauthenticated")


def test_a_token_opens_its_own_agreement_and_is_never_shown(
    partner: Partner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.api.access")
    response = partner.get("agreements")
    assert response.status_code == 200, response.data
    assert response.headers["Cache-Control"] == "no-store"
    (agreement,) = response.get_json()["items"]
    assert agreement["agreement"] == SHORT and agreement["status"] == "active"
    assert agreement["token"]["prefix"] == partner.prefix
    assert agreement["quota"] == {**agreement["quota"], "quota": 1, "used": 1, "left": 0}
    assert {e["key"] for e in agreement["elements"]} >= {"nik", "nama_lengkap"}
    assert partner.get(f"agreements/{SHORT}").get_json() == agreement
    secret = partner.token.split("_", 2)[2]
    assert partner.prefix in caplog.text and secret not in caplog.text
    assert secret not in json.dumps(partner.office.audit())


def test_the_api_and_the_cli_say_the_same_of_an_agreement(partner: Partner) -> None:
    """One read model (gateway/services/agreement_views.py) for both doors: every field the API
    gives a partner is the one `agreement show --json` gives the office, named and written alike
    (RFC 3339 times with the office's offset); the office's own records stay with the office."""
    (agreement,) = partner.get("agreements").get_json()["items"]
    shown = json.loads(partner.office("agreement", "show", SHORT, "--json").stdout)
    own = {"recipient", "token"}
    assert {k: v for k, v in agreement.items() if k not in own} == {
        k: shown[k] for k in agreement if k not in own
    }
    office_only = {"signature", "signed_by_key", "request_id", "history", "scope"}
    assert office_only | {"agreement_identity", "recipients"} <= set(shown) - set(agreement)
    office_time = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
    assert office_time.match(agreement["signed_at"])
    assert office_time.match(agreement["token"]["expires_at"])
    [recipient] = shown["recipients"]
    assert agreement["recipient"] == {
        "name": recipient["name"],
        "fingerprint": recipient_fingerprint(recipient["age_recipient"]),
    }


def test_every_bad_token_is_refused_with_one_body_and_audited(partner: Partner) -> None:
    key_of_another_gateway = secrets.token_bytes(32)
    wrong_secret = f"{partner.prefix}_{'A' * 43}"
    unknown = f"pks_{'a' * 8}_{'B' * 43}"
    cases = {
        "malformed": "pks_short",
        "unknown": unknown,
        "wrong secret": wrong_secret,
        "other scheme": None,
    }
    bodies = set()
    before = len(partner.refusals())
    for _name, token in cases.items():
        if token is None:
            response = partner.get(
                "agreements", bearer=None, Authorization=f"Basic {partner.token}"
            )
        else:
            response = partner.get("agreements", bearer=token)
        body = problem_of(response)
        refused_401(body)
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="pks-gateway"')
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
        bodies.add(response.data)
    assert len(bodies) == 1  # the reason is the audit log's, not the caller's
    missing = partner.get("agreements", bearer=None)
    refused_401(problem_of(missing))
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="pks-gateway"'
    entries = partner.refusals()[before:]
    assert [e["action"] for e in entries] == ["token.use"] * 5
    assert all(e["actor_role"] == "partner" for e in entries)
    rules = {e["actor_id"]: e["details"]["rule"] for e in entries}
    assert "secret does not match" in rules[partner.prefix]
    assert "is not known" in rules[unknown[:12]]
    assert rules["anonymous"]  # the malformed, the Basic and the missing ones
    assert key_of_another_gateway.hex() not in json.dumps(entries)


def test_a_token_stops_when_it_expires(partner: Partner) -> None:
    assert partner.get("agreements").status_code == 200
    partner.at(datetime.now(UTC) + timedelta(days=91))
    refused_401(problem_of(partner.get("agreements")))
    assert f"token {partner.prefix} is expired" in partner.refusals()[-1]["details"]["rule"]


def test_a_token_stops_when_its_agreement_expires(partner: Partner) -> None:
    office = partner.office
    long_lived = Partner(office, issue(office, SHORT, "--days", "366"))
    end = json.loads(office("agreement", "show", SHORT, "--json").stdout)["scope"]["validity"][
        "end"
    ]
    last_day = datetime.fromisoformat(f"{end}T12:00:00+08:00")
    long_lived.at(last_day)
    assert long_lived.get("agreements").status_code == 200
    long_lived.at(last_day + timedelta(days=1))
    refused_401(problem_of(long_lived.get("agreements")))
    assert "expired" in long_lived.refusals()[-1]["details"]["rule"]
    assert f"agreement {SHORT}" in long_lived.refusals()[-1]["details"]["rule"]


def test_a_revoked_token_stops_at_once(partner: Partner) -> None:
    partner.office("token", "revoke", partner.prefix, "--reason", "leaked", "--as", "kadis")
    refused_401(problem_of(partner.get("deliveries")))
    assert partner.refusals()[-1]["details"]["rule"] == f"token {partner.prefix} is revoked"


def test_a_rotated_token_works_through_its_overlap_then_stops(partner: Partner) -> None:
    rotated = partner.office("token", "rotate", partner.prefix, "--overlap", "1", "--as", "adb")
    new_token = rotated.stdout.strip()
    assert partner.get("agreements").status_code == 200  # the old one, inside the overlap
    assert partner.get("agreements", bearer=new_token).status_code == 200
    partner.at(datetime.now(UTC) + timedelta(hours=2))
    refused_401(problem_of(partner.get("agreements")))
    assert "rotated out" in partner.refusals()[-1]["details"]["rule"]
    assert partner.get("agreements", bearer=new_token).status_code == 200


def test_suspension_ends_a_token_and_resumption_gives_it_back(partner: Partner) -> None:
    office = partner.office
    office("agreement", "suspend", SHORT, "--reason", "overdue report", "--as", "kadis")
    refused_401(problem_of(partner.get("deliveries")))
    assert "suspended, not active" in partner.refusals()[-1]["details"]["rule"]
    office("agreement", "resume", SHORT, "--reason", "report received", "--as", "kadis")
    assert partner.get("deliveries").status_code == 200
    office("agreement", "revoke", SHORT, "--reason", "ended", "--as", "kadis")
    refused_401(problem_of(partner.get("agreements")))


def test_an_amendment_that_drops_the_recipient_ends_the_token(partner: Partner) -> None:
    office = partner.office
    previous = json.loads(office("agreement", "show", SHORT, "--json").stdout)["scope_hash"]
    _secret, someone_else = generate_identity()
    text = current_example().replace(
        "\nversion = 1", f'\nversion = 2\nprevious_scope_hash = "{previous}"'
    )
    text = re.sub(r'age_recipient = "age1[0-9a-z]+"', f'age_recipient = "{someone_else}"', text)
    office("agreement", "import", write(office.root, "v2.toml", text), "--as", "pf")
    assert partner.get("agreements").status_code == 200  # a draft changes nothing yet
    office("agreement", "sign", SHORT, "--key", str(office.kadis_key), "--as", "kadis")
    refused_401(problem_of(partner.get("agreements")))
    assert "recipient is not in the signed scope" in partner.refusals()[-1]["details"]["rule"]


def test_a_token_row_written_into_the_database_is_refused(partner: Partner) -> None:
    """Threat: a database writer (no key files) inserts a token row of their own. Without the
    token key its hash cannot match; with a stolen token key alone it still has no kept seal."""
    office = partner.office
    (agreement_id,) = office.sql("SELECT id FROM agreements WHERE short_id = :s", s=SHORT)[0]
    fingerprint = office.sql("SELECT recipient_fingerprint FROM partner_tokens")[0][0]
    forged = {
        "guessed": (f"pks_{'f' * 8}_{'F' * 43}", secrets.token_bytes(32)),
        "with the token key": (
            f"pks_{'g' * 8}_{'G' * 43}",
            load_token_key(office.home / "keys"),
        ),
    }
    for token, key in forged.values():
        office.sql(
            "INSERT INTO partner_tokens (prefix, agreement_id, recipient_fingerprint, "
            "secret_hash, created_at, created_by, expires_at) VALUES (:p, :a, :f, :h, "
            "'2026-01-01 00:00:00', 'adb', '2099-01-01 00:00:00')",
            p=token[:12],
            a=agreement_id,
            f=fingerprint,
            h=token_hash(key, token),
        )
        refused_401(problem_of(partner.get("agreements", bearer=token)))
    rules = [e["details"]["rule"] for e in partner.refusals()[-2:]]
    assert "the secret does not match" in rules[0]
    assert "was not written by the gateway" in rules[1]


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        ("UPDATE partner_tokens SET revoked_at = NULL", "revoked, then un-revoked"),
        ("UPDATE partner_tokens SET expires_at = '2099-01-01 00:00:00'", "lengthened"),
    ],
)
def test_a_token_row_edited_in_the_database_is_refused(
    partner: Partner, edit: str, why: str
) -> None:
    """Threat: a database writer revives a revoked token or lengthens one."""
    if "revoked_at" in edit:
        partner.office("token", "revoke", partner.prefix, "--reason", why, "--as", "adb")
    partner.office.sql(edit)
    refused_401(problem_of(partner.get("agreements")))
    assert "changed outside the gateway" in partner.refusals()[-1]["details"]["rule"]


def test_a_token_row_holding_values_the_gateway_never_writes_is_refused_not_a_crash(
    partner: Partner,
) -> None:
    edits = ["UPDATE partner_tokens SET secret_hash = 'ééé'"]
    if partner.office.url.startswith("sqlite"):  # PostgreSQL refuses such values itself
        edits.append("UPDATE partner_tokens SET expires_at = 'not a time'")
    for edit in edits:
        partner.office.sql(edit)
        refused_401(problem_of(partner.get("agreements")))


def another_partner(office: Office) -> Partner:
    """A second agreement, for another institution and recipient key, delivered once."""
    _secret, recipient = generate_identity()
    text = re.sub(
        r'age_recipient = "age1[0-9a-z]+"',
        f'age_recipient = "{recipient}"',
        current_example(OTHER, number="470/777/"),
    )
    office("agreement", "import", write(office.root, "other.toml", text), "--as", "pf")
    office("agreement", "sign", OTHER, "--key", str(office.kadis_key), "--as", "kadis")
    assert office.extract(OTHER).exit_code == 0
    return Partner(office, issue(office, OTHER))


def test_another_partners_ids_are_answered_as_ids_that_never_existed(partner: Partner) -> None:
    other = another_partner(partner.office)
    (theirs,) = partner.delivery_ids()
    (own,) = other.delivery_ids()
    assert theirs != own and own.startswith(OTHER)
    never = f"{SHORT}-20260101-abcdef"
    for suffix in ("", "/file", "/manifest", "/manifest.sig"):
        existing, existing_work = other.statements(f"deliveries/{theirs}{suffix}")
        random, random_work = other.statements(f"deliveries/{never}{suffix}")
        assert (existing.status_code, existing.data) == (random.status_code, random.data)
        assert problem_of(existing)["code"] == "not_found"
        assert dict(existing.headers) == dict(random.headers)
        # The same work (the timing class): the same statements, the delivery filtered by the
        # token's agreement in its one query (bench/api.py ids measures the times).
        assert existing_work == random_work
    assert other.get(f"deliveries/{own}/file").status_code == 200
    existing, random = other.get(f"agreements/{SHORT}"), other.get("agreements/no-such-pks")
    assert (
        (existing.status_code, existing.data)
        == (random.status_code, random.data)
        == (
            404,
            existing.data,
        )
    )
    refusals = [e for e in other.refusals() if e["actor_id"] == other.prefix]
    assert {e["object_id"] for e in refusals} == {theirs, never, SHORT, "no-such-pks"}
    # The first partner's token never sees the second's delivery either.
    assert partner.get(f"deliveries/{own}").status_code == 404
    assert partner.delivery_ids() == [theirs]


def test_a_token_moved_to_another_agreement_in_the_database_is_refused(partner: Partner) -> None:
    """Threat: a database writer points one partner's token at another agreement (or another
    recipient's fingerprint) to read what it was never issued for."""
    other = another_partner(partner.office)
    office = partner.office
    office.sql(
        "UPDATE partner_tokens SET agreement_id = (SELECT id FROM agreements WHERE short_id = :o) "
        "WHERE prefix = :p",
        o=OTHER,
        p=partner.prefix,
    )
    refused_401(problem_of(partner.get("deliveries")))
    assert "changed outside the gateway" in partner.refusals()[-1]["details"]["rule"]
    fingerprint = office.sql(
        "SELECT recipient_fingerprint FROM partner_tokens WHERE prefix = :p", p=other.prefix
    )[0][0]
    office.sql(
        "UPDATE partner_tokens SET recipient_fingerprint = :f WHERE prefix = :p",
        f=fingerprint,
        p=partner.prefix,
    )
    refused_401(problem_of(partner.get("deliveries")))
    assert other.get("deliveries").status_code == 200


def test_ip_allow_is_held_and_proxies_are_believed_only_as_far_as_trusted(office: Office) -> None:
    scope = current_example().replace(
        "ip_allow = []", 'ip_allow = ["10.1.0.0/16", "2001:db8::/32"]'
    )
    office.agree(scope)
    token = issue(office, SHORT)
    direct = Partner(office, token)

    def from_address(client: Partner, address: str, **headers: str) -> int:
        client.client.environ_base["REMOTE_ADDR"] = address
        return client.get("agreements", **headers).status_code

    assert from_address(direct, "10.1.2.3") == 200
    assert from_address(direct, "2001:db8::7") == 200
    assert from_address(direct, "::ffff:10.1.2.3") == 200
    direct.client.environ_base["REMOTE_ADDR"] = "127.0.0.1"
    refused = direct.get("agreements")
    body = problem_of(refused)
    assert body["status"] == 403 and body["code"] == "not_permitted"
    assert "ip_allow" in direct.refusals()[-1]["details"]["rule"]
    # X-Forwarded-For means nothing unless a proxy is trusted ...
    assert from_address(direct, "192.0.2.1", X_Forwarded_For="10.1.2.3") == 403
    # ... and then only the address the trusted proxy appended counts.
    behind = Partner(office, token, trusted_proxy_hops=1)
    assert from_address(behind, "192.0.2.9", X_Forwarded_For="10.1.2.3") == 200
    assert from_address(behind, "192.0.2.9", X_Forwarded_For="10.1.2.3, 192.0.2.1") == 403
    assert from_address(behind, "10.1.2.3") == 403  # no header: it did not come through the proxy
