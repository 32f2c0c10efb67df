"""Forms of the fapiao pages: invoice profiles, a request, the attached fapiao, a red one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField

from sharehub.core.forms import ChoiceOf, DayField, IdField, Required, TypedField
from sharehub.fapiao.models import FapiaoKind, RedReason

DATE_TEXT = _l("Give the date as YYYY-MM-DD.")


class ProfileForm(FlaskForm):
    kind = TypedField(
        _l("Kind of fapiao"),
        parse=ChoiceOf(FapiaoKind, _l("Choose an ordinary or a special VAT fapiao."), "normal"),
    )
    title = StringField(_l("Buyer's name (抬头)"), default="")
    tax_id = StringField(_l("Taxpayer identification number (纳税人识别号)"), default="")
    address = StringField(_l("Address"), default="")
    phone = StringField(_l("Phone"), default="")
    bank_name = StringField(_l("Bank"), default="")
    bank_account = StringField(_l("Account number"), default="")
    email = StringField(_l("Mailbox for the e-fapiao"), default="")
    is_default = BooleanField(_l("Default for the organisation"))


class RequestForm(FlaskForm):
    profile_id = IdField(_l("Invoice profile"), [Required(_l("Choose an invoice profile."))])


class AttachForm(FlaskForm):
    number = StringField(_l("Fapiao number (20 digits)"), default="")
    issued_date = DayField(_l("Fapiao date"), [Required(DATE_TEXT)])


class ReverseForm(AttachForm):
    confirmation_no = StringField(_l("Red-letter confirmation number (红字确认单)"), default="")
    reason = TypedField(
        _l("Reason"),
        [Required(_l("Choose the reason for the red fapiao."))],
        parse=ChoiceOf(RedReason, _l("Choose the reason for the red fapiao.")),
    )
