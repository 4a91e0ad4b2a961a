"""The mistake log (SQLite). Everything else reaches the database through `Store`."""

from lessons.store.db import (
    DEFAULT_DB,
    AttemptRow,
    RunRecord,
    Store,
    StoreError,
    content_id,
)
from lessons.store.migrations import MIGRATIONS, apply_migrations

__all__ = [
    "DEFAULT_DB", "AttemptRow", "RunRecord", "Store", "StoreError",
    "content_id", "MIGRATIONS", "apply_migrations",
]
