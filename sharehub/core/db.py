"""Database plumbing shared by every domain: UTC datetimes and SQLite behaviour."""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from sharehub.core.clock import utcnow  # noqa: F401  (re-exported: the one clock)


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC datetimes in Python; UTC in the database (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, WAL, and let SQLAlchemy own transactions."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    """Writes serialize on SQLite: every transaction takes the write lock up front,
    so a read-then-write never fails halfway with 'database is locked'."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def str_enum(cls, length: int = 16) -> sa.Enum:
    """A Python enum stored as its string values (VARCHAR, no native type), so adding a
    value needs no ALTER TYPE and both databases behave alike."""
    return sa.Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )
