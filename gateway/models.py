"""Every table of the metadata database, gathered for Alembic and the migration drift test.

Each package defines its own tables; this list is the one place that knows them all.
"""

from __future__ import annotations

from sqlalchemy import MetaData

import gateway.store.tokens  # noqa: F401  (adds the partner_tokens table to store_metadata)
from audit.schema import metadata as audit_metadata
from gateway.store.tables import metadata as store_metadata

metadata: list[MetaData] = [audit_metadata, store_metadata]
