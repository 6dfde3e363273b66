"""The audit log's latest signed checkpoint and a consistency proof from a size the partner holds
(issue 11), so that a partner checks that the log it was shown (in a manifest, or an earlier
checkpoint) is still a prefix of the office's log: `pks-gateway delivery verify
--newer-checkpoint FILE --consistency-proof FILE` (docs/manifest.md) checks both offline.
"""

from __future__ import annotations

from flask import Response, request

from audit import tree
from gateway import errors
from gateway.api import base
from gateway.api.openapi import Answer, documented, integer, problem, query, text
from gateway.api.problems import ApiProblem
from gateway.api.routes import api
from pks_partner.consistency import format_consistency_proof

NO_CHECKPOINT = problem("The audit log has no signed checkpoint yet.")


@api.get("/audit/checkpoint")
@documented(
    "The audit log's latest checkpoint",
    description="The latest signed checkpoint of the office's audit log: a C2SP signed note "
    "(origin, tree size, root hash, signature).",
    tag="Audit log",
    answers={
        200: Answer("The signed note.", {"text/plain": text()}),
        404: NO_CHECKPOINT,
    },
)
def latest_checkpoint() -> Response:
    """The latest signed checkpoint (a C2SP signed note, text/plain)."""
    with base.connection() as connection:
        latest = tree.latest_checkpoint(connection)
    if latest is None:
        raise ApiProblem(errors.NOT_FOUND, "the audit log has no signed checkpoint yet")
    return Response(latest.note, mimetype="text/plain", content_type="text/plain; charset=utf-8")


@api.get("/audit/consistency")
@documented(
    "A consistency proof",
    description="The RFC 9162 consistency proof from a tree size the partner holds (a "
    "manifest's checkpoint, an earlier checkpoint) to `to` (default: the latest checkpoint's), "
    "as `pks-gateway audit prove --from` prints it; `pks-gateway delivery verify "
    "--newer-checkpoint --consistency-proof` checks it offline.",
    tag="Audit log",
    parameters=[
        query(
            "from",
            "the tree size the partner holds, from 1 to `to`",
            integer(minimum=1),
            required=True,
        ),
        query(
            "to", "the tree size to prove to, at most the latest checkpoint's", integer(minimum=1)
        ),
    ],
    answers={
        200: Answer("The proof, as text.", {"text/plain": text(pattern="^consistency ")}),
        400: problem("`from` missing, or `from` or `to` not a whole number in its range."),
        404: NO_CHECKPOINT,
    },
)
def consistency_proof() -> Response:
    """`?from=OLD_SIZE[&to=NEW_SIZE]` (default: the latest checkpoint's size): the RFC 9162
    consistency proof, as `pks-gateway audit prove --from` prints it."""
    with base.connection() as connection:
        latest = tree.latest_checkpoint(connection)
        if latest is None:
            raise ApiProblem(errors.NOT_FOUND, "the audit log has no signed checkpoint yet")
        new_size = base.whole_number("to", latest.tree_size, latest.tree_size)
        if request.args.get("from") is None:
            raise ApiProblem(errors.USAGE, "from must be given: the tree size you hold")
        old_size = base.whole_number("from", 1, new_size)
        proof = tree.consistency_proof(connection, old_size, new_size)
    text = format_consistency_proof(proof.old_size, proof.new_size, proof.hashes)
    return Response(text, mimetype="text/plain", content_type="text/plain; charset=utf-8")
