"""A database connection dropped under a running request, for the fault tests."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

from sharehub.extensions import db


def drop_connection(environ: dict) -> None:
    """The session's connection goes away as in a PostgreSQL restart: its server process is
    terminated (from another connection). On SQLite, which has no server, its next
    ROLLBACK fails as a dropped connection's would. Once per request (`environ`): the 503
    page that answers it runs in a request context of its own."""
    if environ.get("fault.dropped"):
        return
    environ["fault.dropped"] = True
    session = db.session()
    if not session.in_transaction():
        session.execute(sa.text("SELECT 1"))  # a page that read something
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with db.engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            other.commit()
        return

    def fail(conn):
        event.remove(connection, "rollback", fail)
        conn.connection.dbapi_connection.rollback()  # SQLite's write lock is released
        raise sa.exc.OperationalError(
            "ROLLBACK", None, Exception("server closed the connection unexpectedly")
        )

    event.listen(connection, "rollback", fail)
