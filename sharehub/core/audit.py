"""Write and read the audit log."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

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


def _remote_ip() -> str | None:
    # Services never read the request for decisions; the address is only a record.
    if has_request_context():
        return request.remote_addr
    return None
