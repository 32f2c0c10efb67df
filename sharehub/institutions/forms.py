"""Forms of the groups pages; numbers, amounts and dates are read by `core.inputs`' parsers."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, StringField

from sharehub.core.errors import DomainError
from sharehub.core.forms import ChoiceOf, DayField, Required, TypedField, YuanField
from sharehub.core.inputs import parse_id
from sharehub.institutions.models import GroupKind


class IdListField(Field):
    """Several ids sent under one name (check boxes, a multiple select)."""

    def process_formdata(self, valuelist):
        ids = []
        for text in valuelist:
            try:
                value = parse_id(text)
            except DomainError as exc:
                self.data = []
                raise ValueError(str(exc.message)) from None
            if value is not None:
                ids.append(value)
        self.data = ids

    def _value(self):
        return ""


class GroupForm(FlaskForm):
    name = StringField(_l("Name"), [Required(_l("Give the name."))])
    kind = TypedField(
        _l("Kind"),
        parse=ChoiceOf(GroupKind, _l("Choose the kind of group."), GroupKind.RESEARCH_GROUP),
    )
    head_email = StringField(_l("Head's email"), [Required(_l("Give the head's email."))])


class HeadForm(FlaskForm):
    head_email = StringField(_l("Head's email"), [Required(_l("Give the head's email."))])


class MemberForm(FlaskForm):
    email = StringField(_l("Email"), [Required(_l("Give the member's email."))])


class RulesForm(FlaskForm):
    approval_above = YuanField(_l("Approval needed above (yuan)"))
    lab_ids = IdListField(_l("Approval needed for these laboratories"), default=[])


class AccountForm(FlaskForm):
    code = StringField(_l("Account number (经费卡号, 项目号)"), [Required(_l("Give the number."))])
    name = StringField(_l("Name"), [Required(_l("Give the name."))])
    valid_from = DayField(_l("Valid from"), [Required(_l("Give the dates the account is valid."))])
    valid_to = DayField(_l("Valid to"), [Required(_l("Give the dates the account is valid."))])
    budget = YuanField(_l("Budget (yuan, empty: none)"))
    chargers = IdListField(_l("Members who may charge it"), default=[])


class DecisionForm(FlaskForm):
    reason = StringField(_l("Reason (for a decline)"), default="")
