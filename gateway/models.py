"""Every table of the metadata database, gathered for Alembic and the migration drift test.

Each package defines its own tables; this list is the one place that knows them all.
"""

from __future__ import annotations

from sqlalchemy import MetaData

# Imported for what they add to store_metadata: the partner tokens, the web sessions and
# login failures tables.
import gateway.store.tokens
import gateway.store.web  # noqa: F401
from audit.schema import metadata as audit_metadata
from gateway.store.tables import metadata as store_metadata

metadata: list[MetaData] = [audit_metadata, store_metadata]
