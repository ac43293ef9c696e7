"""The evidence store: the database of agencies, cases, exhibits, results and links, the
content-addressed original files, and the compact prepared marks that search re-ranks with.

Open one with :func:`open_store`; read and write through :mod:`api.store.repository` inside
``store.transaction()``.

May import: the standard library, SQLAlchemy, Alembic, numpy, and ``ballistics`` (to encode and
decode prepared marks). Never ``api.service``, ``api.web`` or ``indexer``: the index is the
service's cache, and the store is the truth it is rebuilt from.
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
