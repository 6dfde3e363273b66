"""Whole-log verification: recompute the tree from the stored leaves and hold every record to it.

One streaming pass over the entries in seq order checks, per entry, that the stored hash is the
hash of the stored leaf, that the leaf is an entry whose seq is its position, and that every
queryable column agrees with the leaf; it feeds the leaf hashes into a compact tree builder and
takes the root at each checkpoint size on the way. Then every stored checkpoint must carry our
signature and origin and match the recomputed root at its size, successive checkpoints must not
shrink or fork, and a checkpoint kept elsewhere must match too (or the log was truncated below it).

Problems are reported as (kind, seq, message); messages name seqs, checkpoint ids, columns and
kinds, never a field's value.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, String, select, type_coerce

from audit import merkle
from audit.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteVerifier,
    open_checkpoint,
    verifier_for,
)
from audit.entry import (
    FIELD_LIMITS,
    LeafFormatError,
    details_text_in_leaf,
    format_time,
    leaf_from_columns,
    parse_leaf,
)
from audit.log import as_utc, head_size
from audit.schema import audit_entries, audit_head
from audit.tree import list_checkpoints

MAX_PROBLEMS = 1000
_sha256 = hashlib.sha256
_TEXT_COLUMNS = tuple(FIELD_LIMITS)
_text_fields = operator.itemgetter(*_TEXT_COLUMNS)


@dataclass(frozen=True)
class Problem:
    """One finding. `kind` is one of the kinds listed in docs/audit.md; `seq` the first bad
    entry where one can be named."""

    kind: str
    seq: int | None
    message: str


@dataclass(frozen=True)
class VerifyReport:
    tree_size: int
    root_hash: bytes
    checkpoints_checked: int
    latest_verified_size: int
    kept_checkpoint: Checkpoint | None
    problems: tuple[Problem, ...]
    problems_omitted: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unsigned_entries(self) -> int:
        """Entries after the newest checkpoint that verified: no signature covers them yet."""
        return max(0, self.tree_size - self.latest_verified_size)


@dataclass(frozen=True)
class SignedView:
    """A checkpoint to hold the log to: where it came from (for messages) and what it says."""

    label: str
    checkpoint: Checkpoint


@dataclass
class LeafScan:
    """Consumes entries in stored order; shared by the database and the export verifier."""

    wanted_sizes: set[int] = field(default_factory=set)
    builder: merkle.TreeBuilder = field(default_factory=merkle.TreeBuilder)
    roots: dict[int, bytes] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    omitted: int = 0
    _expected: int = 0

    @property
    def end(self) -> int:
        """One past the highest seq seen: where the stored log ends, gaps or not."""
        return self._expected

    def want(self, size: int) -> None:
        """Ask for the root at `size` (a checkpoint's tree size) to be kept on the way."""
        self.wanted_sizes.add(size)
        if size == 0:
            self.roots[0] = merkle.EMPTY_ROOT

    def report(self, kind: str, seq: int | None, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(kind, seq, message))
        else:
            self.omitted += 1

    def feed(
        self, seq: int, leaf: bytes, stored_hash: bytes | None, columns: Sequence[Any] | None
    ) -> None:
        """Check one stored entry. `columns` are the stored copies in COLUMN_ORDER, if any;
        `created_at` may be a datetime or SQLite's stored text."""
        if seq != self._expected:
            if seq > self._expected:
                missing = f"{self._expected}" + (f"..{seq - 1}" if seq - 1 > self._expected else "")
                self.report("missing_entry", self._expected, f"no entry at seq {missing}")
            else:
                self.report("misplaced_entry", seq, f"entry seq {seq} stored out of order")
            self._expected = seq
        self._expected += 1
        hashed = _sha256(b"\x00" + leaf).digest()
        if stored_hash is not None and stored_hash != hashed:
            self.report("leaf_hash", seq, f"stored leaf hash of seq {seq} is not its leaf's hash")
        self._check_leaf(seq, leaf, columns)
        self.builder.append_hash(hashed)
        if self.builder.size in self.wanted_sizes:
            self.roots[self.builder.size] = self.builder.root()

    def _check_leaf(self, seq: int, leaf: bytes, columns: Sequence[Any] | None) -> None:
        if columns is not None:
            time_text = _time_text(columns[0])
            texts = tuple(columns[1:-1])
            if time_text is not None and _all_text(texts, columns[-1]):
                expected = leaf_from_columns(seq, time_text, texts, columns[-1])
                if expected == leaf:
                    return  # the fast path: columns, seq and leaf agree byte for byte
        try:
            document = parse_leaf(leaf)
        except LeafFormatError as error:
            self.report("leaf_malformed", seq, f"leaf of seq {seq}: {error}")
            return
        if document["seq"] != seq:
            self.report(
                "misplaced_entry",
                seq,
                f"the entry stored at seq {seq} is leaf {document['seq']}: "
                "an entry was inserted, removed or moved at or before it",
            )
        if columns is None:
            return
        wrong = []
        if tuple(columns[1:-1]) != _text_fields(document):
            wrong = [
                name
                for name, value in zip(_TEXT_COLUMNS, columns[1:-1], strict=True)
                if value != document[name]
            ]
        if not _same_time(columns[0], document["time"]):
            wrong.append("created_at")
        if details_text_in_leaf(leaf) != str(columns[-1]).encode("utf-8"):
            wrong.append("details")
        if wrong:
            self.report(
                "column_mismatch",
                seq,
                f"column(s) {', '.join(wrong)} of seq {seq} differ from the entry's leaf",
            )


def _all_text(texts: tuple[Any, ...], details: Any) -> bool:
    return type(details) is str and all(type(text) is str for text in texts)


def _same_time(value: object, leaf_time: str) -> bool:
    """Whether a stored created_at is the leaf's instant, whatever text form the column holds."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return isinstance(moment, datetime) and as_utc(moment) == datetime.fromisoformat(leaf_time)
    except ValueError:
        return False


def _time_text(value: object) -> str | None:
    """A stored created_at as the leaf writes times, so the two compare as text."""
    if isinstance(value, datetime):
        return format_time(as_utc(value))
    if isinstance(value, str):
        # SQLite keeps what SQLAlchemy wrote: UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'.
        return value.replace(" ", "T", 1) + "Z"
    return None


def check_views(
    scan: LeafScan, stored: Iterable[SignedView], outside: Iterable[SignedView]
) -> tuple[int, int]:
    """Hold the checkpoints to the recomputed tree; return (how many checked, newest good size)."""
    size = scan.builder.size
    checked, newest_good = 0, 0
    previous: SignedView | None = None
    for view in stored:
        checked += 1
        checkpoint = view.checkpoint
        if previous is not None:
            before = previous.checkpoint
            if checkpoint.tree_size < before.tree_size or (
                checkpoint.tree_size == before.tree_size
                and checkpoint.root_hash != before.root_hash
            ):
                scan.report(
                    "checkpoint_inconsistent",
                    None,
                    f"{view.label} (size {checkpoint.tree_size}) cannot follow "
                    f"{previous.label} (size {before.tree_size})",
                )
        previous = view
        if _matches(scan, view, size, "checkpoint_mismatch", newest_good):
            newest_good = max(newest_good, checkpoint.tree_size)
    for view in outside:
        _matches(scan, view, size, "kept_checkpoint_mismatch", newest_good)
    return checked, newest_good


def _matches(scan: LeafScan, view: SignedView, size: int, kind: str, newest_good: int) -> bool:
    checkpoint = view.checkpoint
    if checkpoint.tree_size > scan.end:
        scan.report(
            "truncated",
            scan.end,
            f"the log ends before seq {scan.end} but {view.label} has size "
            f"{checkpoint.tree_size}: entries from seq {scan.end} on are gone",
        )
        return False
    if checkpoint.tree_size > size or scan.roots.get(checkpoint.tree_size) != checkpoint.root_hash:
        low = newest_good if newest_good <= checkpoint.tree_size else 0
        scan.report(
            kind,
            None,
            f"{view.label} (size {checkpoint.tree_size}) does not match the stored entries: "
            f"history between seq {low} and seq {checkpoint.tree_size - 1} was rewritten",
        )
        return False
    return True


def open_view(
    scan: LeafScan, note: str, verifier: NoteVerifier, origin: str, label: str, prefix: str
) -> SignedView | None:
    """The checkpoint in `note`, or None after reporting why it cannot be trusted."""
    try:
        checkpoint = open_checkpoint(note, verifier, origin)
    except CheckpointError as error:
        scan.report(f"{prefix}_{error.kind}", None, f"{label}: {error}")
        return None
    return SignedView(label, checkpoint)


# The stored copies `LeafScan.feed` compares with the leaf, in this order. created_at is read
# without SQLAlchemy's DateTime conversion: on SQLite it arrives as the stored text, which is
# compared as text (parsing a million datetimes was a fifth of the verification time).
COLUMN_ORDER = ("created_at", *_TEXT_COLUMNS, "details")
_HEAD_NOW = select(audit_head.c.tree_size).where(audit_head.c.id == 1).scalar_subquery()
_ROW_COLUMNS = (
    audit_entries.c.seq,
    audit_entries.c.leaf,
    audit_entries.c.leaf_hash,
    type_coerce(audit_entries.c.created_at, String),
    *(audit_entries.c[name] for name in COLUMN_ORDER[1:]),
)


def verify_log(
    connection: Connection,
    public_key: Ed25519PublicKey | NoteVerifier | str,
    origin: str,
    kept_checkpoint: str | None = None,
    held_elsewhere: Iterable[tuple[str, str]] = (),
) -> VerifyReport:
    """Verify the stored log, its checkpoints, optionally a checkpoint note kept elsewhere, and
    the checkpoints others hold (`(label, note)`, e.g. those inside published manifests): the
    log must extend every one of them."""
    verifier = verifier_for(public_key, origin)
    scan = LeafScan()
    stored: list[SignedView] = []
    for stored_row in list_checkpoints(connection):
        label = f"checkpoint {stored_row.id}"
        view = open_view(scan, stored_row.note, verifier, origin, label, "checkpoint")
        if view is None:
            continue
        if (stored_row.tree_size, stored_row.root_hash) != (
            view.checkpoint.tree_size,
            view.checkpoint.root_hash,
        ):
            scan.report("checkpoint_columns", None, f"{label}: size/root columns differ from note")
        stored.append(view)
    kept = None
    if kept_checkpoint is not None:
        kept = open_view(
            scan, kept_checkpoint, verifier, origin, "the kept checkpoint", "kept_checkpoint"
        )
    outside = [] if kept is None else [kept]
    for label, note in held_elsewhere:
        view = open_view(scan, note, verifier, origin, label, "held_checkpoint")
        if view is not None:
            outside.append(view)
    for view in [*stored, *outside]:
        scan.want(view.checkpoint.tree_size)
    # The head rides along as an (uncorrelated, evaluated once) subquery so that it comes from
    # the same snapshot as the entries: appends committed during a long verification must not
    # look like a head that disagrees with the table.
    query = (
        select(_HEAD_NOW, *_ROW_COLUMNS)
        .order_by(audit_entries.c.seq)
        .execution_options(yield_per=5000)
    )
    head: int | None = None
    for rows in connection.execute(query).partitions():
        for row in rows:
            scan.feed(row[1], bytes(row[2]), bytes(row[3]), row[4:])
        head = rows[-1][0] if rows else head
    if not scan.builder.size:
        head = head_size(connection)
    if head is not None and head != scan.builder.size:
        scan.report(
            "head_mismatch",
            min(head, scan.builder.size),
            f"the append head records {head} entries but {scan.builder.size} are stored",
        )
    checked, newest_good = check_views(scan, stored, outside)
    return VerifyReport(
        tree_size=scan.builder.size,
        root_hash=scan.builder.root(),
        checkpoints_checked=checked,
        latest_verified_size=newest_good,
        kept_checkpoint=None if kept is None else kept.checkpoint,
        problems=tuple(scan.problems),
        problems_omitted=scan.omitted,
    )
