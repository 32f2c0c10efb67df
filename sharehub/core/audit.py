"""Write and read the audit log."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request

from sharehub.core.db import utcnow
from sharehub.core.models import AuditEntry
from sharehub.extensions import db


def record(
    actor,
    action: str,
    obj=None,
    *,
    organisation=None,
    object_type: str | None = None,
    **data: Any,
) -> AuditEntry:
    """Append one entry; called by every service that changes state, before flush."""
    if obj is not None and object_type is None:
        object_type = obj.__tablename__
    org_id = getattr(organisation, "id", organisation)
    if org_id is None and obj is not None and obj.__tablename__ == "organisation":
        org_id = obj.id
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        organisation_id=org_id,
        action=action,
        object_type=object_type or "-",
        object_id=getattr(obj, "id", None),
        data={k: v for k, v in data.items() if v is not None},
        ip=_remote_ip(),
    )
    db.session.add(entry)
    return entry


def record_many(actor, action: str, object_type: str, entries) -> int:
    """Append one entry per (object id, organisation id, data) in a single INSERT: the
    same entries as `record` for each object, for operations on many objects at once
    (imports). Returns how many were written."""
    ip, now, actor_id = _remote_ip(), utcnow(), getattr(actor, "id", None)
    rows = [
        dict(
            created_dt=now,
            actor_id=actor_id,
            organisation_id=org_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            data={k: v for k, v in data.items() if v is not None},
            ip=ip,
        )
        for object_id, org_id, data in entries
    ]
    if rows:
        db.session.execute(sa.insert(AuditEntry), rows)
    return len(rows)


def _remote_ip() -> str | None:
    # Services never read the request for decisions; the address is only a record.
    if has_request_context():
        return request.remote_addr
    return None
