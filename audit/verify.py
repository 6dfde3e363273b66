"""Whole-log verification: recompute the tree from the stored leaves and hold every record to it.

One streaming pass over the entries in seq order checks, per entry, that the stored hash is the
hash of the stored leaf, that the leaf is an entry whose seq is its position, and that every
queryable column agrees with the leaf; it feeds the leaf hashes into a compact tree builder and
takes the root at each checkpoint size on the way. Then every stored checkpoint must carry our
signature and origin and match the recomputed root at its size, successive checkpoints must not
shrink or fork, and a checkpoint kept elsewhere must match too (or the log was truncated below it).

Problems are reported as (kind, seq, message); messages name seqs, checkpoint ids, columns and
kinds, never a field's value. Stored values are taken as they come, whatever their type: one of
the wrong type (text where bytes belong, a word for a size, an unreadable time, details that are
not JSON) is a `column_type` problem, and the check goes on with what is left.
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

from audit.entry import FIELD_LIMITS, details_text_in_leaf, format_time, leaf_from_columns
from audit.schema import audit_entries
from audit.stored import (
    ENTRY_COLUMNS,
    HEAD,
    as_utc,
    binary,
    checkpoint_message,
    entry_message,
    head_message,
    is_count,
    raw_checkpoints,
    stored_time,
    wrong_checkpoint_types,
    wrong_column_types,
)
from pks_partner import merkle
from pks_partner.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteVerifier,
    open_checkpoint,
    verifier_for,
)
from pks_partner.leaf import LeafFormatError, parse_leaf

MAX_PROBLEMS = 1000
_sha256 = hashlib.sha256
_TEXT_COLUMNS = tuple(FIELD_LIMITS)
_text_fields = operator.itemgetter(*_TEXT_COLUMNS)
# What the tree takes for an entry whose leaf and stored hash are both unreadable: the roots
# after it then match no checkpoint, which is the truth.
_UNREADABLE = bytes(merkle.HASH_SIZE)


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
        self, seq: int, leaf: object, stored_hash: object, columns: Sequence[Any] | None
    ) -> None:
        """Check one stored entry, its values as stored: `leaf` and `stored_hash` should be bytes
        (`stored_hash` None: there is none to check), `columns` the stored copies in
        COLUMN_ORDER if any, `created_at` among them a datetime or SQLite's stored text."""
        if seq != self._expected:
            if seq > self._expected:
                missing = f"{self._expected}" + (f"..{seq - 1}" if seq - 1 > self._expected else "")
                self.report("missing_entry", self._expected, f"no entry at seq {missing}")
            else:
                self.report("misplaced_entry", seq, f"entry seq {seq} stored out of order")
            self._expected = seq
        self._expected += 1
        leaf_bytes, hash_bytes = binary(leaf), None if stored_hash is None else binary(stored_hash)
        wrong = ["leaf_hash"] if stored_hash is not None and hash_bytes is None else []
        if leaf_bytes is None:
            wrong.insert(0, "leaf")
            wrong += [] if columns is None else wrong_column_types(columns)
            # The stored hash is all that is left of the leaf: the tree goes on with it.
            usable = hash_bytes is not None and len(hash_bytes) == merkle.HASH_SIZE
            hashed = hash_bytes if hash_bytes is not None and usable else _UNREADABLE
        else:
            hashed = _sha256(b"\x00" + leaf_bytes).digest()
            if hash_bytes is not None and hash_bytes != hashed:
                self.report(
                    "leaf_hash", seq, f"stored leaf hash of seq {seq} is not its leaf's hash"
                )
            wrong += self._check_leaf(seq, leaf_bytes, columns)
        if wrong:
            self.report("column_type", seq, entry_message(seq, wrong))
        self.builder.append_hash(hashed)
        if self.builder.size in self.wanted_sizes:
            self.roots[self.builder.size] = self.builder.root()

    def _check_leaf(self, seq: int, leaf: bytes, columns: Sequence[Any] | None) -> list[str]:
        """Hold the leaf to its seq and the stored copies to the leaf; the copies whose type is
        wrong (for the caller to report), which are not compared."""
        if columns is not None:
            time_text = _time_text(columns[0])
            texts = tuple(columns[1:-1])
            if time_text is not None and _all_text(texts, columns[-1]):
                expected = leaf_from_columns(seq, time_text, texts, columns[-1])
                if expected == leaf:
                    return []  # the fast path: columns, seq and leaf agree byte for byte
        unreadable = [] if columns is None else wrong_column_types(columns)
        try:
            document = parse_leaf(leaf)
        except LeafFormatError as error:
            self.report("leaf_malformed", seq, f"leaf of seq {seq}: {error}")
            return unreadable
        if document["seq"] != seq:
            self.report(
                "misplaced_entry",
                seq,
                f"the entry stored at seq {seq} is leaf {document['seq']}: "
                "an entry was inserted, removed or moved at or before it",
            )
        if columns is None:
            return unreadable
        wrong = []
        if tuple(columns[1:-1]) != _text_fields(document):
            wrong = [
                name
                for name, value in zip(_TEXT_COLUMNS, columns[1:-1], strict=True)
                if value != document[name] and name not in unreadable
            ]
        if "created_at" not in unreadable and not _same_time(columns[0], document["time"]):
            wrong.append("created_at")
        if "details" not in unreadable and details_text_in_leaf(leaf) != columns[-1].encode():
            wrong.append("details")
        if wrong:
            self.report(
                "column_mismatch",
                seq,
                f"column(s) {', '.join(wrong)} of seq {seq} differ from the entry's leaf",
            )
        return unreadable


def _all_text(texts: tuple[Any, ...], details: Any) -> bool:
    return type(details) is str and all(type(text) is str for text in texts)


def _same_time(value: object, leaf_time: str) -> bool:
    """Whether a stored created_at is the leaf's instant, whatever text form the column holds."""
    moment = stored_time(value)
    try:
        return moment is not None and moment == datetime.fromisoformat(leaf_time)
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
COLUMN_ORDER = ENTRY_COLUMNS
_HEAD_NOW = HEAD.scalar_subquery()
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
    for checkpoint_id, size, root, note, created_at in raw_checkpoints(connection):
        label = f"checkpoint {checkpoint_id}"
        wrong = wrong_checkpoint_types(size, root, note, created_at)
        if wrong:
            scan.report("column_type", None, checkpoint_message(checkpoint_id, wrong))
        if "note" in wrong:
            continue
        view = open_view(scan, note, verifier, origin, label, "checkpoint")
        if view is None:
            continue
        comparable = not {"tree_size", "root_hash"} & set(wrong)
        if comparable and (size, binary(root)) != (
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
    head: object = None
    for rows in connection.execute(query).partitions():
        for row in rows:
            scan.feed(row[1], row[2], row[3], row[4:])
        head = rows[-1][0] if rows else head
    if not scan.builder.size:
        head = connection.execute(HEAD).scalar_one_or_none()
    if head is not None and not is_count(head):
        scan.report("column_type", None, head_message())
    elif isinstance(head, int) and head != scan.builder.size:
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
