"""The error table (gateway/errors.py) is pinned: every kind keeps its exit code and HTTP status,
each error class lands in its kind, and docs/cli.md shows the same table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from ageformat import AgeError, KeyFormatError
from agreements.catalog import CatalogError
from agreements.errors import BadSignature, Conflict, Invalid, NotFound, NotPermitted, Tampered
from audit.log import LogIntegrityError
from exports.reading.source import SourceUnavailable
from gateway import errors
from gateway.keys import KeyFileError
from gateway.limits import InputRefused
from pks_partner.manifest import ManifestFormatError

REPO = Path(__file__).resolve().parents[2]


def test_the_kinds_keep_their_codes() -> None:
    pinned = {(k.code, k.exit_code, k.http_status) for k in errors.KINDS}
    assert pinned == {
        ("verification_failed", 1, 422),
        ("usage", 2, 400),
        ("invalid_input", 3, 422),
        ("not_permitted", 4, 403),
        ("not_found", 5, 404),
        ("conflict", 6, 409),
        ("unavailable", 7, 503),
    }
    assert errors.CONFLICT.problem_type.endswith("/problems/conflict")


@pytest.mark.parametrize(
    ("error", "kind", "safe"),
    [
        (BadSignature("unknown key"), errors.VERIFICATION_FAILED, True),
        (Tampered("changed"), errors.VERIFICATION_FAILED, True),
        (LogIntegrityError("gap at seq 3"), errors.VERIFICATION_FAILED, True),
        (Invalid("f", "rule"), errors.INVALID_INPUT, True),
        (InputRefused("too large"), errors.INVALID_INPUT, True),
        (AgeError("key", "bad key"), errors.INVALID_INPUT, True),
        (AgeError("payload", "chunk 3 failed to authenticate"), errors.INVALID_INPUT, True),
        (
            KeyFormatError("recipients[0].age_recipient", "not valid Bech32"),
            errors.INVALID_INPUT,
            True,
        ),
        (CatalogError("bad catalog"), errors.INVALID_INPUT, True),
        (ManifestFormatError("file.sha256", "64 hex digits"), errors.INVALID_INPUT, True),
        (NotPermitted("no"), errors.NOT_PERMITTED, True),
        (NotFound("agreement", "x"), errors.NOT_FOUND, True),
        (Conflict("state"), errors.CONFLICT, True),
        (SourceUnavailable("gone"), errors.UNAVAILABLE, True),
        (KeyFileError("missing"), errors.UNAVAILABLE, True),
        (OperationalError("SELECT ? -- 6401...", {}, Exception("x")), errors.UNAVAILABLE, False),
        (ValueError("a driver's text"), None, False),
    ],
)
def test_each_error_lands_in_its_kind_and_only_our_texts_are_shown(
    error: BaseException, kind: errors.ErrorKind | None, safe: bool
) -> None:
    assert errors.kind_of(error) == kind
    assert errors.is_safe(error) == safe
    shown = errors.shown(error)
    assert shown == (str(error) if safe else type(error).__name__)


def test_docs_show_the_same_table() -> None:
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| (\d) \| ([a-z ]+) \|.*\| (\d{3}) \|$", text, re.M))
    documented = {(int(code), name.replace(" ", "_"), int(status)) for code, name, status in rows}
    assert {(k.exit_code, k.code, k.http_status) for k in errors.KINDS} <= documented
