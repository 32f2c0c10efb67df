"""Forms of the voucher pages; amounts are typed in yuan and kept in fen."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from sharehub.accounts.models import Organisation, OrgKind, OrgStatus, Region
from sharehub.accounts.queries import cluster_choices
from sharehub.catalog.models import FIELD_LABELS
from sharehub.core.i18n import localized
from sharehub.extensions import db

YUAN = [InputRequired(), NumberRange(min=Decimal("0.01"), message=_l("Give a positive amount."))]


def fen(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


class ProgrammeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    subsidy_percent = DecimalField(
        _l("Share of the price the voucher pays, in percent"),
        places=2,
        validators=[
            InputRequired(),
            NumberRange(min=Decimal("0.01"), max=100, message=_l("Between 0.01 and 100.")),
        ],
    )
    yearly_cap = DecimalField(_l("Cap per firm and year (CNY)"), places=2, validators=YUAN)
    order_cap = DecimalField(_l("Cap per order (CNY)"), places=2, validators=YUAN)
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()])
    valid_to = DateField(_l("Valid until"), validators=[InputRequired()])
    notice_days = IntegerField(
        _l("Public notice period of claims (days)"),
        default=7,
        validators=[InputRequired(), NumberRange(min=0, max=90)],
    )
    region_ids = SelectMultipleField(
        _l("Eligible regions (none chosen: all)"), coerce=int, validators=[Optional()]
    )
    cluster_ids = SelectMultipleField(
        _l("Eligible industrial clusters (none chosen: all)"), coerce=int, validators=[Optional()]
    )
    fields = SelectMultipleField(_l("Eligible fields (none chosen: all)"), validators=[Optional()])
    lab_ids = SelectMultipleField(
        _l("Eligible laboratories (none chosen: all)"), coerce=int, validators=[Optional()]
    )

    def fill_choices(self) -> None:
        self.region_ids.choices = region_choices()
        self.cluster_ids.choices = [c for c in cluster_choices(include_none=False)]
        self.fields.choices = [(f.value, label) for f, label in FIELD_LABELS.items()]
        self.lab_ids.choices = [
            (lab.id, localized(lab))
            for lab in db.session.scalars(
                sa.select(Organisation)
                .where(Organisation.kind == OrgKind.LAB, Organisation.status == OrgStatus.ACTIVE)
                .order_by(Organisation.name)
            )
        ]


def region_choices() -> list[SelectChoice]:
    """Each province (all its cities) followed by its cities, grouped by province."""
    provinces = db.session.scalars(
        sa.select(Region)
        .where(Region.parent_id.is_(None))
        .options(so.selectinload(Region.children))
        .order_by(Region.code)
    )
    choices = []
    for province in provinces:
        group = localized(province)
        choices.append(
            SelectChoice(province.id, _l("%(name)s (whole province)", name=group), optgroup=group)
        )
        for city in sorted(province.children, key=lambda r: r.code):
            choices.append(SelectChoice(city.id, localized(city), optgroup=group))
    return choices


class ApplyForm(FlaskForm):
    year = SelectField(_l("Year"), coerce=int, validators=[InputRequired()])
    amount = DecimalField(_l("Amount asked for (CNY)"), places=2, validators=YUAN)


class GrantForm(FlaskForm):
    amount = DecimalField(_l("Amount granted (CNY)"), places=2, validators=YUAN)


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[InputRequired(), Length(max=2000)])


class PaidForm(FlaskForm):
    paid_date = DateField(_l("Paid on"), validators=[InputRequired()])
    reference = StringField(_l("Payment reference"), validators=[InputRequired(), Length(max=100)])
