"""Use cases over the metadata database: rows and their audit entry in one transaction."""
