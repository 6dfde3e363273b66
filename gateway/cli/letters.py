"""`pks-gateway letter`: the office's letters as PDF files, made by gateway/services/letters.py —
Lembar Disposisi, Surat Penolakan, Konsep PKS with its annex, Surat Pengantar, Berita Acara Serah
Terima Data, and the reply to a data subject (docs/letters.md).

Each writes `--out FILE.pdf` only once the whole letter is made (a refusal leaves no file), and
readable by its owner only, like everything in the data directory: letters name people and
institutions, and a subject's reply says where their record went.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import click
from sqlalchemy import Connection

from gateway import limits
from gateway.cli import settings_of
from gateway.cli.common import (
    ACTOR,
    AGREEMENT,
    FREE_TEXT,
    ID,
    NAME,
    LimitedText,
    metadata_connection,
    now,
    ready_engine,
)
from gateway.context import letter_environment
from gateway.services import letters as service

OUT = click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The PDF file to write (mode 0600, replaced if it exists).",
)
NUMBER = click.option(
    "--number",
    type=LimitedText(limits.LETTER_NUMBER),
    help="The letter's number from the outgoing-mail register; without it, a dotted line.",
)
DATED = click.option(
    "--date",
    "dated",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The letter's date (YYYY-MM-DD); default: today, office time.",
)


@click.group()
def letter() -> None:
    """The office's letters as PDF: disposition, rejection, PKS draft, cover, handover, reply.

    See docs/letters.md; the letterhead and signatory come from the settings."""


@letter.command()
@click.argument("request_id", type=ID)
@OUT
@click.pass_context
def disposisi(ctx: click.Context, request_id: int, out: Path) -> None:
    """Lembar Disposisi of request REQUEST_ID (steps 2 and 3 so far; the rest to fill by hand)."""
    _from_metadata(
        ctx, out, lambda connection, env: service.disposisi(connection, env, request_id, now=now())
    )


@letter.command()
@click.argument("request_id", type=ID)
@click.option(
    "--reason",
    type=FREE_TEXT,
    help="Why the request is not approved (for a request not rejected yet; a rejected one's "
    "letter states the recorded reason).",
)
@NUMBER
@DATED
@OUT
@click.pass_context
def penolakan(
    ctx: click.Context,
    request_id: int,
    reason: str | None,
    number: str | None,
    dated: datetime | None,
    out: Path,
) -> None:
    """Surat Penolakan (SOP step 4) of request REQUEST_ID, for the Kepala Dinas to sign."""
    _from_metadata(
        ctx,
        out,
        lambda connection, env: service.penolakan(
            connection,
            env,
            request_id,
            now=now(),
            reason=reason,
            number=number,
            dated=_day(dated),
        ),
    )


@letter.command(name="konsep-pks")
@click.argument("agreement", type=AGREEMENT)
@click.option(
    "--version",
    type=ID,
    help="Default: the draft awaiting a signature, else the current version.",
)
@OUT
@click.pass_context
def konsep_pks(ctx: click.Context, agreement: str, version: int | None, out: Path) -> None:
    """Konsep PKS of AGREEMENT with its scope as a readable annex and the scope hash signed."""
    _from_metadata(
        ctx,
        out,
        lambda connection, env: service.konsep_pks(
            connection, env, agreement, now=now(), version=version
        ),
    )


@letter.command()
@click.argument("delivery_id", type=NAME)
@NUMBER
@DATED
@OUT
@click.pass_context
def pengantar(
    ctx: click.Context, delivery_id: str, number: str | None, dated: datetime | None, out: Path
) -> None:
    """Surat Pengantar sending published delivery DELIVERY_ID to its partner."""
    _from_metadata(
        ctx,
        out,
        lambda connection, env: service.pengantar(
            connection, env, delivery_id, now=now(), number=number, dated=_day(dated)
        ),
    )


@letter.command(name="berita-acara")
@click.argument("delivery_id", type=NAME)
@NUMBER
@DATED
@OUT
@click.pass_context
def berita_acara(
    ctx: click.Context, delivery_id: str, number: str | None, dated: datetime | None, out: Path
) -> None:
    """Berita Acara Serah Terima Data of published delivery DELIVERY_ID."""
    _from_metadata(
        ctx,
        out,
        lambda connection, env: service.berita_acara(
            connection, env, delivery_id, now=now(), number=number, dated=_day(dated)
        ),
    )


@letter.command(name="balasan-subjek")
@click.argument("nik")
@ACTOR
@click.option("--to", "addressee", type=NAME, help="The person's name, as their request gave it.")
@click.option(
    "--reference",
    type=FREE_TEXT,
    help="Their request as registered, e.g. 'surat tanggal 1 Desember 2026'.",
)
@NUMBER
@DATED
@OUT
@click.pass_context
def balasan_subjek(
    ctx: click.Context,
    nik: str,
    actor: str,
    addressee: str | None,
    reference: str | None,
    number: str | None,
    dated: datetime | None,
    out: Path,
) -> None:
    """Reply to the person with NIK: who received their record, when (the lookup is audited)."""
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        pdf = service.balasan_subjek(
            engine,
            letter_environment(settings),
            nik,
            actor=actor,
            now=now(),
            addressee=addressee,
            reference=reference,
            number=number,
            dated=_day(dated),
        )
    _write(out, pdf)


def _from_metadata(
    ctx: click.Context, out: Path, make: Callable[[Connection, service.LetterEnvironment], bytes]
) -> None:
    """A letter made from the metadata database alone (reads only), written to `out`."""
    settings = settings_of(ctx)
    with metadata_connection(settings) as connection:
        pdf = make(connection, letter_environment(settings))
    _write(out, pdf)


def _day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.date()


def _write(out: Path, pdf: bytes) -> None:
    """The letter in place at once (written aside, then renamed), mode 0600."""
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(pdf)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    click.echo(f"wrote {out} ({len(pdf):,} bytes)")


COMMANDS = (letter,)
