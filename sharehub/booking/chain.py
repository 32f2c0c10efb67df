"""Each lab's usage records form a hash chain, so a record changed or removed afterwards
(by SQL, a restored backup, an edited export) shows.

A record joins its lab's chain when it is complete (a check-in's record when it is
checked out): its hash covers its content and the hash of the record before it. The
lab's `UsageChainHead` row is locked while a record is appended (SELECT … FOR UPDATE on
PostgreSQL; SQLite serialises writers), so concurrent inserts keep one chain. After that
the record never changes: a correction is a new record (`booking.usage.correct_usage`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.booking.models import UsageChainHead, UsageRecord
from sharehub.catalog.models import Listing, Unit
from sharehub.core.db import utcnow
from sharehub.extensions import db

# The columns a record's hash covers, in this order (the chain's own columns excepted).
HASHED = (
    "id",
    "lab_id",
    "chain_seq",
    "unit_id",
    "booking_id",
    "user_org_id",
    "user_id",
    "started_dt",
    "ended_dt",
    "prep_minutes",
    "run_minutes",
    "post_minutes",
    "samples",
    "service_way",
    "notes",
    "source",
    "device_id",
    "recorded_by_id",
    "corrects_id",
    "correction_reason",
    "created_dt",
)


def _value(value):
    if isinstance(value, datetime):
        # Seconds are what both databases keep alike.
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def digest(values: dict, prev_hash: str) -> str:
    """SHA-256 over the previous hash and the record's columns as canonical JSON."""
    body = json.dumps(
        [prev_hash, [_value(values[name]) for name in HASHED]],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _lock_head(lab_id: int) -> UsageChainHead:
    """The lab's chain head, locked for this transaction (made on first use)."""
    session = db.session
    head = session.scalar(
        sa.select(UsageChainHead)
        .where(UsageChainHead.lab_id == lab_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if head is not None:
        return head
    table = UsageChainHead.__table__
    values = {"lab_id": lab_id, "seq": 0, "head_hash": "", "updated_dt": utcnow()}
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(table).values(**values).on_conflict_do_nothing())
    return session.scalars(
        sa.select(UsageChainHead)
        .where(UsageChainHead.lab_id == lab_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _lab_of(record: UsageRecord) -> int:
    if record.lab_id is not None:
        return record.lab_id
    return db.session.scalar(
        sa.select(Listing.lab_id)
        .join(Unit, Unit.listing_id == Listing.id)
        .where(Unit.id == record.unit_id)
    )


def seal(record: UsageRecord) -> None:
    """Append a complete record to its lab's chain (flushes)."""
    if record.record_hash is not None:
        return
    if record.ended_dt is None:
        raise ValueError("an open usage record joins the chain when it is closed")
    db.session.flush()  # the record's id and defaults
    lab_id = _lab_of(record)
    head = _lock_head(lab_id)
    head.seq += 1
    record.lab_id, record.chain_seq, record.prev_hash = lab_id, head.seq, head.head_hash
    record.record_hash = digest(_columns(record), head.head_hash)
    head.head_hash, head.updated_dt = record.record_hash, utcnow()
    db.session.flush()


def seal_ids(ids: Iterable[int]) -> int:
    """Seal complete records inserted in bulk (imports, demo data, records from before the
    chain), lab by lab in id order, with one read and one batch of updates per lab; how
    many were sealed. The records are not in the session's identity map as sealed ones:
    the updates go straight to the table."""
    wanted = sorted(set(ids))
    if not wanted:
        return 0
    db.session.flush()
    columns = [getattr(UsageRecord, name) for name in HASHED if name not in ("lab_id",)]
    lab = (
        sa.select(Listing.lab_id)
        .join(Unit, Unit.listing_id == Listing.id)
        .where(Unit.id == UsageRecord.unit_id)
        .scalar_subquery()
    )
    rows = []
    for start in range(0, len(wanted), 5000):
        rows += db.session.execute(
            sa.select(*columns, sa.func.coalesce(UsageRecord.lab_id, lab).label("lab_id"))
            .where(
                UsageRecord.id.in_(wanted[start : start + 5000]),
                UsageRecord.record_hash.is_(None),
                UsageRecord.ended_dt.is_not(None),
            )
            .order_by(UsageRecord.id)
        ).all()
    by_lab: dict[int, list[dict]] = {}
    for row in rows:
        values = dict(row._mapping)
        by_lab.setdefault(values["lab_id"], []).append(values)
    updates = []
    for lab_id in sorted(by_lab):
        head = _lock_head(lab_id)
        for values in by_lab[lab_id]:
            head.seq += 1
            values["chain_seq"] = head.seq
            record_hash = digest(values, head.head_hash)
            updates.append(
                {
                    "b_id": values["id"],
                    "lab_id": lab_id,
                    "chain_seq": head.seq,
                    "prev_hash": head.head_hash,
                    "record_hash": record_hash,
                }
            )
            head.head_hash = record_hash
        head.updated_dt = utcnow()
    if updates:
        table = UsageRecord.__table__
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("b_id"))
            .values(
                lab_id=sa.bindparam("lab_id"),
                chain_seq=sa.bindparam("chain_seq"),
                prev_hash=sa.bindparam("prev_hash"),
                record_hash=sa.bindparam("record_hash"),
            ),
            updates,
            execution_options={"synchronize_session": False},
        )
    db.session.flush()
    wanted_set = set(wanted)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, UsageRecord) and obj.id in wanted_set:
            db.session.expire(obj)
    return len(updates)


def backfill() -> int:
    """Seal every complete record not yet in a chain (records from before the chain),
    lab by lab in id order; how many were sealed."""
    ids = db.session.scalars(
        sa.select(UsageRecord.id).where(
            UsageRecord.record_hash.is_(None), UsageRecord.ended_dt.is_not(None)
        )
    ).all()
    return seal_ids(ids)


def _columns(record) -> dict:
    return {name: getattr(record, name) for name in HASHED}


@dataclass(frozen=True)
class Break:
    """The first broken link of a lab's chain."""

    lab_id: int
    record_id: int | None
    seq: int | None
    reason: object

    def __str__(self) -> str:
        return f"lab {self.lab_id}, record {self.record_id} (position {self.seq}): {self.reason}"


def verify_lab(lab_id: int) -> Break | None:
    """Walk the lab's chain from its start; the first broken link, or None."""
    columns = [getattr(UsageRecord, name) for name in HASHED]
    rows = db.session.execute(
        sa.select(*columns, UsageRecord.prev_hash, UsageRecord.record_hash)
        .where(UsageRecord.lab_id == lab_id, UsageRecord.chain_seq.is_not(None))
        .order_by(UsageRecord.chain_seq)
    ).all()
    prev, expected_seq = "", 1
    for row in rows:
        values = dict(zip(HASHED, row[: len(HASHED)], strict=True))
        prev_hash, record_hash = row[len(HASHED)], row[len(HASHED) + 1]
        seq = values["chain_seq"]
        if seq != expected_seq:
            return Break(lab_id, values["id"], seq, _l("A record before this one is missing."))
        if prev_hash != prev:
            return Break(lab_id, values["id"], seq, _l("It does not follow the record before it."))
        if record_hash != digest(values, prev):
            return Break(lab_id, values["id"], seq, _l("Its content differs from what was sealed."))
        prev, expected_seq = record_hash, expected_seq + 1
    head = db.session.get(UsageChainHead, lab_id)
    if head is not None and (head.seq != expected_seq - 1 or head.head_hash != prev):
        return Break(lab_id, None, head.seq, _l("The last records of the chain are missing."))
    return None


def unsealed_closed(lab_id: int | None = None) -> list[int]:
    """Complete records outside any chain: closed after sealing ended, or never sealed."""
    query = sa.select(UsageRecord.id).where(
        UsageRecord.record_hash.is_(None), UsageRecord.ended_dt.is_not(None)
    )
    if lab_id is not None:
        query = (
            query.join(Unit, Unit.id == UsageRecord.unit_id)
            .join(Listing, Listing.id == Unit.listing_id)
            .where(Listing.lab_id == lab_id)
        )
    return list(db.session.scalars(query.order_by(UsageRecord.id)))


def verify_all() -> list[Break]:
    """The first broken link of every lab whose chain is broken."""
    labs = db.session.scalars(
        sa.select(UsageChainHead.lab_id)
        .union(sa.select(UsageRecord.lab_id).where(UsageRecord.lab_id.is_not(None)))
        .order_by("lab_id")
    ).all()
    return [found for lab_id in labs if (found := verify_lab(lab_id)) is not None]


@dataclass(frozen=True)
class LabChain:
    lab_id: int
    records: int  # records in the chain
    broken: Break | None
    outside: int  # complete records in no chain


def summary() -> list[LabChain]:
    """Every lab with usage records: its chain's length, first broken link and the
    complete records outside it (for the administrators' page)."""
    from sharehub.catalog.models import Listing, Unit

    lab_of = (
        sa.select(Listing.lab_id)
        .join(Unit, Unit.listing_id == Listing.id)
        .where(Unit.id == UsageRecord.unit_id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(
            lab_of.label("lab"),
            sa.func.count(UsageRecord.chain_seq),
            sa.func.sum(
                sa.case(
                    (
                        sa.and_(
                            UsageRecord.record_hash.is_(None), UsageRecord.ended_dt.is_not(None)
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
        )
        .group_by("lab")
        .order_by("lab")
    ).all()
    return [
        LabChain(lab_id, int(count or 0), verify_lab(lab_id), int(outside or 0))
        for lab_id, count, outside in rows
        if lab_id is not None
    ]


# --- append-only ---------------------------------------------------------------------------


class SealedRecordChanged(RuntimeError):
    """A sealed usage record was about to be updated or deleted: a programming error
    (corrections are new records)."""


def _guard(session: so.Session, _context, _instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, UsageRecord) and obj.record_hash is not None:
            raise SealedRecordChanged(f"usage record {obj.id} is sealed: it is never deleted")
    for obj in session.dirty:
        if not isinstance(obj, UsageRecord):
            continue
        state = sa.inspect(obj)
        history = state.attrs.record_hash.history
        sealed_before = any(value is not None for value in history.deleted) or (
            not history.has_changes() and obj.record_hash is not None
        )
        if not sealed_before:
            continue
        changed = [
            attr.key
            for attr in state.attrs
            if attr.key in HASHED or attr.key in ("prev_hash", "record_hash")
            if attr.history.has_changes()
        ]
        if changed:
            raise SealedRecordChanged(
                f"usage record {obj.id} is sealed: {', '.join(changed)} cannot change"
            )


def install_guard() -> None:
    """Refuse, in every session, to update or delete a sealed usage record."""
    if not sa.event.contains(so.Session, "before_flush", _guard):
        sa.event.listen(so.Session, "before_flush", _guard)
