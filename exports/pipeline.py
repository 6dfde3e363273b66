"""One delivery's data path: plan + source -> masked, checked, encoded, encrypted bytes.

    source --(reader thread)--> batch --mask--> suppress? --count risk--> format writer
        --plaintext SHA-256--> AgeWriter --ciphertext SHA-256--> data sink
                       \\--> keyed NIK hash of each delivered person --> subjects sink

Single pass over the source, one record batch in memory at a time; plaintext exists only inside
that batch and the writer's buffers. What must be known before the stream starts is counted in the
source with GROUP BY first: the categories a `recode` mask folds into `other` as rare, and, when
the agreement suppresses or refuses on re-identification risk, the size of every masked
quasi-identifier combination. The report in the manifest is counted on what was actually written.

The pipeline reads from the source the caller opened once for the delivery (a `Source`) and
writes into the sinks it is given, and raises on any failure; opening and closing the source,
and making the files visible (or removing them), are the caller's part of the publish order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from ageformat import AgeWriter
from agreements.catalog import Catalog
from agreements.errors import Invalid
from exports.formats.sinks import HashingStream
from exports.formats.writers import open_writer
from exports.masking.operators import MaskContext, apply_mask
from exports.masking.tokens import Tokenizer
from exports.plan import SUBJECT_ELEMENT, Plan
from exports.reading.extract import extract, value_counts
from exports.reading.precount import group_counts
from exports.reading.prefetch import prefetched
from exports.reading.query import ExtractionRequest
from exports.reading.readers import DEFAULT_BATCH_ROWS
from exports.reading.source import Source
from exports.reading.source_mapping import SourceMapping
from exports.risk.counter import RiskCounter, RiskReport, Suppression

SUBJECT_HASH_HEX = 32  # 128 bits: no two people collide in any realistic population
SUBJECTS_SCHEMA = pa.schema([pa.field("subject", pa.string(), nullable=False)])

Progress = Callable[[int], None]


class DeliveryRefused(Invalid):
    """The agreement's own limits stop this delivery (max rows, re-identification refuse)."""


@dataclass(frozen=True)
class DeliveryOutput:
    rows: int
    plaintext_size: int
    plaintext_sha256: str
    ciphertext_size: int
    ciphertext_sha256: str
    report: RiskReport


@dataclass(frozen=True)
class Preview:
    """What a delivery would hold now. `rows` and `report` are counted before suppression (as
    the delivery's own pre-pass counts); `would_suppress` is how many of those rows a delivery
    would drop, None where it suppresses nothing."""

    rows: int
    report: RiskReport
    would_suppress: int | None


def run_pipeline(
    plan: Plan,
    source: Source,
    catalog: Catalog,
    mapping: SourceMapping,
    *,
    data_sink: BinaryIO,
    subjects_sink: BinaryIO,
    subject_key: bytes,
    progress: Progress | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    spill_dir: Path | None = None,
) -> DeliveryOutput:
    """Stream the plan's rows into `data_sink` (age) and their subject hashes into
    `subjects_sink` (Parquet); DeliveryRefused when the agreement's limits are crossed. The
    re-identification counters spill into `spill_dir` (the system's temporary directory if
    None; the gateway passes its work directory)."""
    request = plan.extraction_request(catalog, mapping)
    # The read starts now, in its own thread, while the pre-counts below run their own queries.
    batches = prefetched(lambda: extract(source, request, batch_rows=batch_rows))
    try:
        context = plan.mask_context(_rare_categories(plan, source, request))
        suppression = _suppression(plan, source, request, context, batch_rows, spill_dir)
        return _stream(
            plan,
            batches,
            context,
            suppression,
            data_sink=data_sink,
            subjects_sink=subjects_sink,
            subject_key=subject_key,
            progress=progress,
            spill_dir=spill_dir,
        )
    finally:
        batches.close()


def _stream(
    plan: Plan,
    batches: Iterator[pa.RecordBatch],
    context: MaskContext,
    suppression: Suppression | None,
    *,
    data_sink: BinaryIO,
    subjects_sink: BinaryIO,
    subject_key: bytes,
    progress: Progress | None,
    spill_dir: Path | None,
) -> DeliveryOutput:
    """The single pass: mask, suppress, count, write, encrypt, hash (module docstring)."""
    with RiskCounter(plan.quasi_identifiers, plan.household, directory=spill_dir) as counter:
        subjects = Tokenizer(subject_key, SUBJECT_HASH_HEX)
        schema = plan.output_schema()
        ciphertext = HashingStream(data_sink)
        encrypted = AgeWriter(ciphertext, [r.age_recipient for r in plan.recipients])
        plaintext = HashingStream(encrypted)
        writer = open_writer(plan.format, plaintext, schema)
        subject_writer = pq.ParquetWriter(subjects_sink, SUBJECTS_SCHEMA, compression="zstd")
        rows = suppressed = 0
        try:
            for raw in batches:
                masked = _masked(plan, raw, schema, context)
                nik = raw.column(SUBJECT_ELEMENT)
                if suppression is not None:
                    keep = suppression.keep(masked)
                    before = masked.num_rows
                    masked, nik = masked.filter(keep), nik.filter(keep)
                    suppressed += before - masked.num_rows
                rows += masked.num_rows
                if rows > plan.max_rows:
                    raise DeliveryRefused(
                        "delivery.max_rows",
                        f"agreement {plan.agreement.short_id} allows at most {plan.max_rows} rows "
                        "per delivery; the source holds more for its filter",
                    )
                counter.add(masked)
                writer.write_batch(masked)
                subject_writer.write_batch(_subject_batch(subjects, nik))
                if progress is not None:
                    progress(rows)
            writer.close()
            encrypted.close()
            subject_writer.close()
        except BaseException:
            # Never seal a failed delivery: the age file stays truncated (undecryptable), and the
            # writers' closing bytes go nowhere. The caller removes the partial files.
            encrypted.abort()
            for closing in (writer.close, subject_writer.close):
                with contextlib.suppress(Exception):
                    closing()
            raise
        report = counter.report(
            k_required=plan.k,
            action=plan.reidentification_action,
            identified=plan.identified,
            suppressed_records=suppressed,
        )
    return DeliveryOutput(
        rows=rows,
        plaintext_size=plaintext.size,
        plaintext_sha256=plaintext.sha256,
        ciphertext_size=ciphertext.size,
        ciphertext_sha256=ciphertext.sha256,
        report=report,
    )


def preview(
    plan: Plan,
    source: Source,
    catalog: Catalog,
    mapping: SourceMapping,
    *,
    spill_dir: Path | None = None,
) -> Preview:
    """Row count and re-identification report of what a delivery would hold now; writes nothing
    but the counters' spill files in `spill_dir` (as `run_pipeline`), removed before it returns.

    Counted from the source's GROUP BY of the quasi-identifiers (and, with a household column,
    from a pass over the masked quasi-identifiers and household tokens only), so no delivered
    column other than those is read.
    """
    request = plan.extraction_request(catalog, mapping, with_subject=False)
    context = plan.mask_context(_rare_categories(plan, source, request))
    with RiskCounter(plan.quasi_identifiers, plan.household, directory=spill_dir) as counter:
        _precount(counter, plan, source, request, context, DEFAULT_BATCH_ROWS)
        report = counter.report(
            k_required=plan.k, action=plan.reidentification_action, identified=plan.identified
        )
    suppresses = plan.reidentification_action == "suppress" and _k_rule_applies(plan)
    return Preview(
        rows=report.records,
        report=report,
        would_suppress=report.records_in_small_groups if suppresses else None,
    )


def _k_rule_applies(plan: Plan) -> bool:
    """Suppress and refuse act only where k means something: quasi-identifiers are delivered
    and no direct identifier is (an identified scope is known to point at people)."""
    return not plan.identified and bool(plan.quasi_identifiers)


def _masked(
    plan: Plan, raw: pa.RecordBatch, schema: pa.Schema, context: MaskContext
) -> pa.RecordBatch:
    columns = [
        apply_mask(e.key, e.element_type, e.mask, raw.column(e.key), context) for e in plan.elements
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _subject_batch(subjects: Tokenizer, nik: pa.Array) -> pa.RecordBatch:
    # A record without a NIK cannot be asked about; it is not listed rather than listed as null.
    present = nik.drop_null()
    return pa.RecordBatch.from_arrays([subjects.column(present)], schema=SUBJECTS_SCHEMA)


def _rare_categories(
    plan: Plan, source: Source, request: ExtractionRequest
) -> dict[str, frozenset[str]]:
    """For each recode with a rare threshold, the source values rarer than it in this delivery."""
    rare = {}
    for element in plan.rare_counted():
        threshold = int(element.mask.get("rare_threshold"))
        counts = value_counts(source, request, element.key)
        rare[element.key] = frozenset(
            value for value, n in counts.items() if value and n < threshold
        )
    return rare


def _suppression(
    plan: Plan,
    source: Source,
    request: ExtractionRequest,
    context: MaskContext,
    batch_rows: int,
    spill_dir: Path | None,
) -> Suppression | None:
    """The records to drop (suppress), after refusing outright if the agreement says refuse."""
    action = plan.reidentification_action
    if action == "report" or not _k_rule_applies(plan):
        return None
    with RiskCounter(plan.quasi_identifiers, directory=spill_dir) as counter:
        _precount(counter, plan, source, request, context, batch_rows)
        if action == "suppress":
            return counter.small_groups(plan.k)
        report = counter.report(k_required=plan.k, action=action, identified=False)
    if not report.passes:
        raise DeliveryRefused(
            "reidentification.k",
            f"agreement {plan.agreement.short_id} refuses deliveries below k={plan.k}; "
            f"this one would have k={report.k} ({report.records_in_small_groups} records "
            "in smaller groups)",
        )
    return None


def _precount(
    counter: RiskCounter,
    plan: Plan,
    source: Source,
    request: ExtractionRequest,
    context: MaskContext,
    batch_rows: int,
) -> None:
    """Fill `counter` from the source's GROUP BY of the raw quasi-identifiers (and household
    column, if the counter counts households), masked here."""
    keys = (*counter.quasi_identifiers, *([counter.household] if counter.household else []))
    if not keys:
        return
    grouped_batches = prefetched(lambda: group_counts(source, request, keys, batch_rows=batch_rows))
    try:
        for grouped in grouped_batches:
            columns = [
                apply_mask(key, element.element_type, element.mask, grouped.column(key), context)
                for key, element in ((key, plan.element(key)) for key in keys)
            ]
            masked = pa.RecordBatch.from_arrays(columns, names=list(keys))
            counter.add(masked, weights=grouped.column("n"))
    finally:
        grouped_batches.close()
