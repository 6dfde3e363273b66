"""`pks-gateway request`: the office's SOP, steps 1-7, one command per transition.

Each step is attributed with `--as NAME` (attribution, not authentication), refused when out of
order or done by the wrong role, recorded with its notes and the SHA-256 of attached documents,
and written to the audit log, refusals included.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path

import click

from agreements.workflow import STEP_BY_TRANSITION, Document, Role, Status
from gateway import limits
from gateway.cli import settings_of
from gateway.cli.common import (
    ACTOR,
    FREE_TEXT,
    ID,
    NAME,
    OFFICE_TIME,
    LimitedText,
    catalog_of,
    echo_json,
    echo_table,
    metadata_connection,
    now,
    ready_engine,
    region_codes,
    seal_store,
    work_calendar,
)
from gateway.readmodel import office_time
from gateway.services import request_views as views
from gateway.services import requests as service
from gateway.services.actions import find_actor
from gateway.settings import Settings

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
REQUEST_ID = click.argument("request_id", type=ID)


@click.group()
def request() -> None:
    """Cooperation requests through the SOP (docs/agreements.md)."""


def _attach(settings: Settings, path: Path) -> Document:
    """Keep a letter or signed document (read within its limit) in the document store."""
    data = limits.read_limited(path, limits.DOCUMENT)
    return service.attach(path.name, data, settings.documents_dir)


@request.command()
@click.option("--institution", required=True, type=LimitedText(limits.INSTITUTION))
@click.option("--letter-number", required=True, type=LimitedText(limits.LETTER_NUMBER))
@click.option("--letter-date", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--purpose", required=True, type=FREE_TEXT)
@click.option(
    "--legal-basis",
    required=True,
    multiple=True,
    type=FREE_TEXT,
    help="Repeat for each instrument.",
)
@click.option(
    "--elements",
    required=True,
    type=FREE_TEXT,
    help="Requested catalog elements, comma-separated.",
)
@click.option(
    "--access-mode",
    "access_modes",
    required=True,
    multiple=True,
    type=click.Choice(service.ACCESS_MODES),
)
@click.option("--duration", "months", required=True, type=int, help="Months requested.")
@click.option(
    "--data-balikan", "data_balikan", required=True, type=FREE_TEXT, help="The data balikan plan."
)
@click.option("--letter", "letter_file", required=True, type=FILE, help="The letter (PDF/scan).")
@click.option("--received", type=OFFICE_TIME, help="When the letter arrived (office time).")
@ACTOR
@click.pass_context
def submit(
    ctx: click.Context,
    institution: str,
    letter_number: str,
    letter_date: datetime,
    purpose: str,
    legal_basis: tuple[str, ...],
    elements: str,
    access_modes: tuple[str, ...],
    months: int,
    data_balikan: str,
    letter_file: Path,
    received: datetime | None,
    actor: str,
) -> None:
    """Step 1: register the applicant's request letter (Petugas ADB)."""
    settings = settings_of(ctx)
    letter = service.Letter(
        institution=institution,
        letter_number=letter_number,
        letter_date=letter_date.date(),
        purpose=purpose,
        legal_basis=legal_basis,
        requested_elements=tuple(e.strip() for e in elements.split(",") if e.strip()),
        access_modes=access_modes,
        duration_months=months,
        data_balikan_plan=data_balikan,
    )
    arrived = received.replace(tzinfo=settings.zone) if received else None
    with ready_engine(settings) as engine:
        request_id = service.submit(
            engine,
            actor,
            letter,
            _attach(settings, letter_file),
            now=now(),
            received_at=arrived,
            catalog_keys=catalog_of(settings).keys(),
        )
    click.echo(f"request {request_id} submitted")


@request.command()
@REQUEST_ID
@click.option("--note", required=True, type=FREE_TEXT, help="The disposition note.")
@ACTOR
@click.pass_context
def dispose(ctx: click.Context, request_id: int, note: str, actor: str) -> None:
    """Step 2: the Kepala Dinas's disposition."""
    with ready_engine(settings_of(ctx)) as engine:
        status = service.dispose(engine, actor, request_id, note=note, now=now())
    _said(request_id, status)


@request.command()
@REQUEST_ID
@click.option(
    "--to", "assignee", required=True, type=NAME, help="The Pejabat Fungsional who reviews it."
)
@ACTOR
@click.pass_context
def assign(ctx: click.Context, request_id: int, assignee: str, actor: str) -> None:
    """Step 3: the Kepala Bidang hands the request to a Pejabat Fungsional."""
    with ready_engine(settings_of(ctx)) as engine:
        status = service.assign(engine, actor, request_id, assignee=assignee, now=now())
    _said(request_id, status)


@request.command()
@REQUEST_ID
@click.option("--reason", required=True, type=FREE_TEXT, help="Why (recorded and audited).")
@ACTOR
@click.pass_context
def cancel(ctx: click.Context, request_id: int, reason: str, actor: str) -> None:
    """Not an SOP step: take back a request entered by mistake or withdrawn by the applicant,
    from any open status (Petugas ADB; final, audited)."""
    with ready_engine(settings_of(ctx)) as engine:
        status = service.cancel(engine, actor, request_id, reason=reason, now=now())
    _said(request_id, status)


@request.command()
@REQUEST_ID
@click.option("--reason", required=True, type=FREE_TEXT)
@click.option("--letter", "letter_file", required=True, type=FILE, help="The rejection letter.")
@ACTOR
@click.pass_context
def reject(ctx: click.Context, request_id: int, reason: str, letter_file: Path, actor: str) -> None:
    """Step 4: reject with a reason and the rejection letter (final)."""
    settings = settings_of(ctx)
    document = _attach(settings, letter_file)
    with ready_engine(settings) as engine:
        status = service.reject(
            engine, actor, request_id, reason=reason, letter=document, now=now()
        )
    _said(request_id, status)


@request.command()
@REQUEST_ID
@click.option("--scope", "scope_file", required=True, type=FILE, help="The draft scope TOML.")
@ACTOR
@click.pass_context
def draft(ctx: click.Context, request_id: int, scope_file: Path, actor: str) -> None:
    """Step 5: attach a draft scope; it becomes the agreement's draft version (a re-draft after
    a return replaces it, and is kept as the next revision: see `request diff`)."""
    settings = settings_of(ctx)
    data = limits.read_limited(scope_file, limits.SCOPE_FILE)
    text = limits.decoded(data, scope_file, limits.SCOPE_FILE.what)
    document = service.attach(scope_file.name, data, settings.documents_dir)
    with ready_engine(settings) as engine:
        status = service.draft(
            engine,
            seal_store(settings),
            actor,
            request_id,
            scope_text=text,
            document=document,
            catalog=catalog_of(settings),
            region_codes=region_codes(settings),
            now=now(),
        )
    _said(request_id, status)


@request.command(name="return")
@REQUEST_ID
@click.option("--notes", required=True, type=FREE_TEXT, help="What to revise.")
@ACTOR
@click.pass_context
def return_command(ctx: click.Context, request_id: int, notes: str, actor: str) -> None:
    """Step 6: the Kepala Bidang returns the draft for revision."""
    with ready_engine(settings_of(ctx)) as engine:
        status = service.return_draft(engine, actor, request_id, notes=notes, now=now())
    _said(request_id, status)


@request.command()
@REQUEST_ID
@click.option("--notes", default="", type=FREE_TEXT, help="Optional remarks.")
@ACTOR
@click.pass_context
def forward(ctx: click.Context, request_id: int, notes: str, actor: str) -> None:
    """Step 6: the Kepala Bidang forwards the draft to the Kepala Dinas."""
    with ready_engine(settings_of(ctx)) as engine:
        status = service.forward(engine, actor, request_id, notes=notes, now=now())
    _said(request_id, status)


def _said(request_id: int, status: Status) -> None:
    click.echo(f"request {request_id} is {status.value}")


@request.command(name="sign")
@REQUEST_ID
@click.option(
    "--acknowledged",
    is_flag=True,
    help="The applicant was told their rights and obligations and acknowledged them.",
)
@click.option(
    "--signed-pks",
    "signed_pks",
    required=True,
    type=FILE,
    help="The PKS document as signed by the applicant.",
)
@ACTOR
@click.pass_context
def sign_command(
    ctx: click.Context, request_id: int, acknowledged: bool, signed_pks: Path, actor: str
) -> None:
    """Step 7: the Kepala Dinas signs; the version this request drafted (already carrying the
    verified digital signature, see `agreement attach-signature`) becomes the active agreement
    (for an addendum, the version it amends is superseded)."""
    settings = settings_of(ctx)
    document = _attach(settings, signed_pks)
    with ready_engine(settings) as engine:
        status, short_id, version = service.sign(
            engine,
            seal_store(settings),
            actor,
            request_id,
            acknowledged=acknowledged,
            signed_pks=document,
            now=now(),
        )
    click.echo(f"request {request_id} is {status.value}")
    click.echo(f"agreement {short_id} version {version} is active")


@request.command()
@REQUEST_ID
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
@click.pass_context
def show(ctx: click.Context, request_id: int, as_json: bool) -> None:
    """A request: the letter, whose move it is, every step with its actor, notes and documents,
    working days per step (OVERDUE marked) and the agreement versions it drafted."""
    settings = settings_of(ctx)
    zone = settings.zone
    with metadata_connection(settings) as connection:
        view = views.show_request(connection, request_id, now(), work_calendar(settings))
    if as_json:
        echo_json(view, zone)
        return
    click.echo(f"request {view.id}: {view.institution}")
    received = office_time(view.received_at, zone)
    click.echo(f"letter     {view.letter_number} of {view.letter_date}, received {received}")
    click.echo(f"purpose    {view.facts.get('purpose', '')}")
    click.echo(f"elements   {', '.join(view.facts.get('requested_elements', []))}")
    click.echo(f"duration   {view.duration_months} months")
    click.echo(f"status     {view.status.value}")
    if view.waiting is not None:
        click.echo(f"waiting on {_waiting_text(view.waiting, zone)}")
    for linked in view.versions:
        click.echo(f"agreement  {linked.agreement} version {linked.version} ({linked.status})")
    click.echo("")
    echo_table(
        ("STEP", "WHAT", "WHEN", "WHO", "NOTES"),
        [
            (
                STEP_BY_TRANSITION[event.transition].number or "-",
                event.transition.value,
                office_time(event.at, zone),
                f"{event.actor} ({event.role.value})",
                event.notes,
            )
            for event in view.events
        ],
    )
    documents = [(e.transition.value, d) for e in view.events for d in e.documents]
    if documents:
        click.echo("")
        echo_table(("STEP", "DOCUMENT", "SHA-256"), [(t, d.name, d.sha256) for t, d in documents])
    click.echo("")
    echo_table(
        ("STEP", "TITLE", "ENDED", "WORKING DAYS", "LIMIT", ""),
        [
            (
                step.number,
                step.title,
                office_time(step.ended, zone, empty="open"),
                f"{step.working_days:.2f}",
                "-" if step.limit_days is None else step.limit_days,
                "OVERDUE" if step.overdue else "",
            )
            for step in view.steps
        ],
    )


def _waiting_text(waiting: views.Waiting, zone: tzinfo) -> str:
    who = waiting.role.value + (f" {waiting.person}" if waiting.person else "")
    due = f", due {office_time(waiting.due, zone)}" if waiting.due else ""
    late = "  OVERDUE" if waiting.overdue else ""
    return f"{who} since {office_time(waiting.since, zone)}{due}{late}"


@request.command(name="list")
@click.option(
    "--status", type=click.Choice([s.value for s in Status]), help="Only requests in this status."
)
@click.option("--mine", is_flag=True, help="Only those waiting on the --as member's move.")
@click.option("--overdue", is_flag=True, help="Only those past their SOP time limit.")
@click.option("--as", "actor", metavar="NAME", type=NAME, help="Who is asking (for --mine).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead.")
@click.pass_context
def list_command(
    ctx: click.Context,
    status: str | None,
    mine: bool,
    overdue: bool,
    actor: str | None,
    as_json: bool,
) -> None:
    """Requests: status, whose move it is (role and person), since when, due, OVERDUE."""
    settings = settings_of(ctx)
    zone = settings.zone
    if mine and not actor:
        raise click.UsageError("--mine needs --as NAME")
    with metadata_connection(settings) as connection:
        waiting_for = None
        if mine:
            member = find_actor(connection, str(actor))
            waiting_for = (Role(member.role), member.name)
        rows = views.list_requests(
            connection,
            now(),
            work_calendar(settings),
            status=Status(status) if status else None,
            waiting_for=waiting_for,
            overdue_only=overdue,
        )
    if as_json:
        echo_json(rows, zone)
        return
    echo_table(
        ("ID", "STATUS", "WAITING ON", "SINCE", "DUE", "", "LETTER", "INSTITUTION"),
        [
            (
                row.id,
                row.status.value,
                _who(row.waiting),
                office_time(row.waiting.since if row.waiting else None, zone),
                office_time(row.waiting.due if row.waiting else None, zone),
                "OVERDUE" if row.waiting and row.waiting.overdue else "",
                row.letter_number,
                row.institution,
            )
            for row in rows
        ],
    )


def _who(waiting: views.Waiting | None) -> str:
    if waiting is None:
        return "-"
    return waiting.role.value + (f" ({waiting.person})" if waiting.person else "")


@request.command()
@REQUEST_ID
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead.")
@click.pass_context
def revisions(ctx: click.Context, request_id: int, as_json: bool) -> None:
    """The scopes drafted for a request, one per pass through the revision loop."""
    settings = settings_of(ctx)
    with metadata_connection(settings) as connection:
        drafts = views.draft_revisions(connection, request_id)
    if as_json:
        echo_json(drafts, settings.zone)
        return
    echo_table(
        ("REVISION", "DRAFTED", "BY", "FILE", "SHA-256"),
        [
            (
                r.number,
                office_time(r.at, settings.zone),
                r.actor,
                r.document.name,
                r.document.sha256,
            )
            for r in drafts
        ],
    )


@request.command(name="diff")
@REQUEST_ID
@click.option("--from", "old", type=ID, help="Revision to compare from (default: the one before).")
@click.option("--to", "new", type=ID, help="Revision to compare to (default: the last).")
@click.pass_context
def diff_command(ctx: click.Context, request_id: int, old: int | None, new: int | None) -> None:
    """What changed between two drafts of a request's scope (the Kepala Bidang's view of a
    re-draft after returning it)."""
    settings = settings_of(ctx)
    with metadata_connection(settings) as connection:
        drafts = views.draft_revisions(connection, request_id)
    old, new, changes = views.revision_diff(
        drafts, old, new, settings.documents_dir, catalog_of(settings), region_codes(settings)
    )
    click.echo(f"request {request_id}: revision {old} -> {new}, {len(changes)} change(s)")
    for change in changes:
        click.echo(f"  {change}")


COMMANDS = (request,)
