"""Which store errors go away by themselves (retry) and which are the data's fault (set aside).

A transient error (connection lost, serialization failure, deadlock, lock
timeout, database shutting down, SQLite busy) says nothing about the events:
the same transaction later succeeds, so the worker retries it with backoff. A
permanent one (a value the column cannot hold, a constraint the row breaks)
fails the same way every time: retried, it would stall its topic for good, so
the worker dead-letters the event behind it and applies the rest.

When in doubt an error is transient: a store that is away must never cost
events, and a stalled topic shows in opstrack_processor_store_retries_total.
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy.exc import DataError as SADataError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError as SAIntegrityError

# SQLSTATE classes (first two characters) that are the data's fault: 22 data
# exception (invalid text, value too long, out of range), 23 integrity constraint
# violation, 54 program limit exceeded (a row or index entry too large). The rest
# is transient or unknown: 08 connection, 40 rollback (40001 serialization, 40P01
# deadlock), 53 resources, 55P03 lock not available, 57 operator intervention
# (57014 statement timeout, 57P01 admin shutdown), 58 system I/O, ...
_PERMANENT_CLASSES = frozenset({"22", "23", "54"})

# SQLite primary result codes (sqlite3.Error.sqlite_errorname less its extended
# suffix): busy and locked ("database is locked"), full, I/O and the like are transient.
_SQLITE_PERMANENT = frozenset({"SQLITE_CONSTRAINT", "SQLITE_MISMATCH", "SQLITE_TOOBIG"})


def is_permanent(exc: BaseException) -> bool:
    """True when retrying the same write cannot succeed: the data is at fault."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return False
        if exc.orig is None:
            return isinstance(exc, SADataError | SAIntegrityError)
        return is_permanent(exc.orig)
    if isinstance(exc, psycopg.Error):
        if exc.sqlstate is not None:
            return exc.sqlstate[:2] in _PERMANENT_CLASSES
        # Refused by psycopg before sending, with no SQLSTATE: a NUL in text is a DataError.
        return isinstance(exc, psycopg.DataError | psycopg.IntegrityError)
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", None)
        if name is not None:
            return "_".join(name.split("_")[:2]) in _SQLITE_PERMANENT
        return isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError)
    return False
