"""What the subject modules of the CLI share: the metadata database once it is set up, the
catalog and region codes, the office clock, and the option types that hold input to its limits
(gateway/limits.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import tzinfo
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agreements.errors import Invalid
from agreements.signing import parse_public_key
from gateway import limits

# Re-exported for the CLI modules (explicit `as` for mypy): the composition root's makers.
from gateway.context import catalog_of as catalog_of
from gateway.context import metadata_connection as metadata_connection
from gateway.context import now as now
from gateway.context import ready_engine as ready_engine
from gateway.context import region_codes as region_codes
from gateway.context import region_names as region_names
from gateway.context import seal_store as seal_store
from gateway.context import work_calendar as work_calendar
from gateway.readmodel import to_json
from pks_partner.checkpoint import NoteVerifier, parse_verifier_key

AS_HELP = (
    "The staff member doing this (see `staff list`). Attribution, not authentication: login "
    "comes with the web UI."
)


class LimitedText(click.ParamType[str]):
    """A text option of at most `limit` characters (a longer one is a usage error, exit 2)."""

    name = "text"

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        text = value if isinstance(value, str) else str(value)
        if len(text) > self.limit:
            self.fail(f"longer than {self.limit:,} characters", param, ctx)
        return text


FREE_TEXT = LimitedText(limits.FREE_TEXT)
NAME = LimitedText(limits.STAFF_NAME)
AGREEMENT = LimitedText(limits.AGREEMENT_ID)
ID = click.IntRange(1, limits.MAX_ID)
ACTOR = click.option("--as", "actor", required=True, metavar="NAME", type=NAME, help=AS_HELP)


def key_text(value: str) -> str:
    """What a key option was given, in either form every key option takes: the file it names
    (read within the key-file limit) or the key's text itself."""
    path = Path(value)
    if path.is_file():
        return limits.read_limited_text(path, limits.KEY_FILE).strip()
    return value.strip()


def audit_key_of(value: str) -> Ed25519PublicKey | NoteVerifier:
    """An audit key option: an OpenSSH `ssh-ed25519` line or a C2SP note verifier key (either as
    text or in a file); Invalid naming the option otherwise."""
    text = key_text(value)
    try:
        if text.startswith("ssh-ed25519 "):
            return parse_public_key(text)
        return parse_verifier_key(text)
    except ValueError:
        raise Invalid(
            "audit key", "neither an OpenSSH ssh-ed25519 line nor a note verifier key"
        ) from None


def manifest_key_of(value: str) -> Ed25519PublicKey:
    """A manifest key option: an OpenSSH `ssh-ed25519` line, as text or in a file."""
    return parse_public_key(key_text(value))


# Office times as people write them: to the minute or to the second, with a space or a T.
OFFICE_TIME = click.DateTime(
    ["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
)


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A text table with a header row, columns as wide as their widest cell; the last column is
    not padded (it is usually free text)."""
    cells = [[str(h) for h in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        click.echo("  ".join([*padded, row[-1]]).rstrip())


def echo_json(view: object, zone: tzinfo) -> None:
    """A view in the one JSON shape every door shares (gateway/readmodel.py)."""
    click.echo(json.dumps(to_json(view, zone), indent=2, ensure_ascii=False))
