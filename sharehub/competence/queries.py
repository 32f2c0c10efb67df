"""Reads of competence: a user's authorisations across labs, a lab's requirements,
requests and authorisations."""

from __future__ import annotations

import sqlalchemy as sa

from sharehub.competence.models import (
    Authorisation,
    Requirement,
    TrainingRecord,
    TrainingRequest,
    TrainingStatus,
)
from sharehub.extensions import db


def authorisations_of(user_id: int) -> list[Authorisation]:
    """Every authorisation of a user, in all labs, the current ones first."""
    return list(
        db.session.scalars(
            sa.select(Authorisation)
            .where(Authorisation.user_id == user_id)
            .order_by(Authorisation.superseded_dt.is_not(None), Authorisation.expires_dt.desc())
        )
    )


def training_requests_of(user_id: int) -> list[TrainingRequest]:
    return list(
        db.session.scalars(
            sa.select(TrainingRequest)
            .where(TrainingRequest.user_id == user_id)
            .order_by(TrainingRequest.id.desc())
        )
    )


def requirements_of_lab(lab_id: int) -> list[Requirement]:
    return list(
        db.session.scalars(
            sa.select(Requirement).where(Requirement.lab_id == lab_id).order_by(Requirement.id)
        )
    )


def open_requests_of_lab(lab_id: int) -> list[TrainingRequest]:
    return list(
        db.session.scalars(
            sa.select(TrainingRequest)
            .join(Requirement)
            .where(
                Requirement.lab_id == lab_id,
                TrainingRequest.status.in_((TrainingStatus.REQUESTED, TrainingStatus.SCHEDULED)),
            )
            .order_by(TrainingRequest.id)
        )
    )


def authorisations_of_lab(lab_id: int) -> list[Authorisation]:
    return list(
        db.session.scalars(
            sa.select(Authorisation)
            .join(Requirement)
            .where(Requirement.lab_id == lab_id, Authorisation.superseded_dt.is_(None))
            .order_by(Authorisation.expires_dt)
        )
    )


def records_of_lab(lab_id: int, limit: int = 50) -> list[TrainingRecord]:
    return list(
        db.session.scalars(
            sa.select(TrainingRecord)
            .join(Requirement)
            .where(Requirement.lab_id == lab_id)
            .order_by(TrainingRecord.id.desc())
            .limit(limit)
        )
    )
