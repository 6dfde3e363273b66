"""The audit tables (SQLAlchemy Core), on their own MetaData for the gateway's Alembic migrations.

`audit_entries.leaf` holds the exact bytes that were hashed into the tree; every other entry
column is a queryable copy of a field inside it, and verification checks that the two agree.
`audit_head` is a one-row table whose update serialises appenders (see `log.append`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

_SEQ = BigInteger().with_variant(Integer(), "sqlite")

# Shared with the gateway's own tables so every constraint in the database is named alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

audit_entries = Table(
    "audit_entries",
    metadata,
    # The leaf index: dense from 0, assigned by `append`, never by the database.
    # On SQLite an INTEGER primary key is the rowid itself: in-order scans need no extra index.
    Column("seq", _SEQ, primary_key=True, autoincrement=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor_role", String(64), nullable=False),
    Column("actor_id", String(128), nullable=False),
    Column("action", String(128), nullable=False),
    Column("object_type", String(64), nullable=False),
    Column("object_id", String(128), nullable=False),
    Column("outcome", String(32), nullable=False),
    # RFC 8785 JSON text of the details object, byte-identical to its copy inside `leaf`.
    Column("details", Text, nullable=False),
    Column("leaf", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Index(None, "object_type", "object_id", "seq"),
    Index(None, "actor_id", "seq"),
    Index(None, "action", "seq"),
    Index(None, "created_at"),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    # The whole signed note as issued; what a verifier trusts is only what this text says.
    Column("note", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "tree_size"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tree_size", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)
