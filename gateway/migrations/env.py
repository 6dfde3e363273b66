"""Alembic environment: migrations run from code (gateway.db.upgrade) on the engine passed in.

SQLite alters a table by copying it into a new one (batch mode); with foreign keys enforced, the
old table of a referenced parent cannot be dropped. So on SQLite the check is switched off for the
migration (a PRAGMA that only works outside a transaction) and every foreign key is verified
before the transaction commits: a migration that broke one fails instead of committing.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from gateway.models import metadata

engine = context.config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"

with engine.connect() as connection:
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()  # ends SQLAlchemy's autobegun transaction; the PRAGMA is in effect
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            context.run_migrations()
            if sqlite:
                broken = connection.execute(text("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys in {broken[0][0]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
