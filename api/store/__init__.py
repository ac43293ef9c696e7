"""The evidence store: the database of agencies, cases, exhibits, results and links, the
content-addressed original files, and the compact prepared marks that search re-ranks with.

Open one with :func:`open_store`; read and write through :mod:`api.store.repository` inside
``store.transaction()``.
"""

from api.store.database import DATABASE_URL_VARIABLE, Store, open_store
from api.store.errors import (
    ConflictError,
    IntegrityCheckError,
    MarkFormatError,
    NotFoundError,
    StoreError,
    StoreVersionError,
)

__all__ = [
    "DATABASE_URL_VARIABLE",
    "ConflictError",
    "IntegrityCheckError",
    "MarkFormatError",
    "NotFoundError",
    "Store",
    "StoreError",
    "StoreVersionError",
    "open_store",
]
