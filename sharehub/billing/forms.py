"""Forms of the invoice pages. Fields keep the names the pages post; amounts are typed in
yuan and read into fen, dates as YYYY-MM-DD, by `core.inputs`' parsers."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from sharehub.billing.models import PaymentMethod
from sharehub.core.errors import ValidationError
from sharehub.core.forms import ChoiceOf, Required, TypedField, YuanField
from sharehub.core.inputs import (
    DATE_RANGE_TEXT,
    MAX_FEN,
    PRICE_LIMIT_TEXT,
    PRICE_TEXT,
    parse_date,
    parse_fen,
    parse_int,
)

UNREADABLE_PAYMENT = _l("Give the amount in yuan and the date as YYYY-MM-DD.")
DATE_TEXT = _l("Give the date as YYYY-MM-DD.")


def _readable_or(message, parse):
    """`parse`, whose refusals other than a bound (a date outside 2000–2100, an amount
    beyond the limit) say `message` instead."""

    def read(text):
        try:
            return parse(text)
        except ValidationError as exc:
            if exc.message in (DATE_RANGE_TEXT, PRICE_LIMIT_TEXT):
                raise
            raise ValidationError(message) from None

    return read


def _fen_or_none(text):
    """A whole number of fen the page put in a hidden field; None when it is none."""
    try:
        return parse_int(text, minimum=-MAX_FEN, maximum=MAX_FEN)
    except ValidationError:
        return None


class InvoiceLineForm(FlaskForm):
    description = StringField(_l("Description"), default="")
    quantity = StringField(_l("Quantity"), default="1")  # read by the service (a decimal)
    unit_price = YuanField(_l("Unit price (CNY, before VAT)"), [Required(PRICE_TEXT)])


class VoidForm(FlaskForm):
    reason = StringField(_l("Reason"), default="")


class PaymentForm(FlaskForm):
    amount = TypedField(
        _l("Amount (CNY)"),
        [Required(UNREADABLE_PAYMENT)],
        parse=_readable_or(UNREADABLE_PAYMENT, parse_fen),
    )
    paid_date = TypedField(
        _l("Received on"),
        [Required(UNREADABLE_PAYMENT)],
        parse=_readable_or(UNREADABLE_PAYMENT, parse_date),
    )
    payer_reference = StringField(_l("Reference on the statement"), default="")
    seen_outstanding = TypedField(parse=_fen_or_none)


class RefundSentForm(FlaskForm):
    sent_date = TypedField(
        _l("Paid back on"), [Required(DATE_TEXT)], parse=_readable_or(DATE_TEXT, parse_date)
    )
    reference = StringField(_l("Bank reference"), default="")


class PayOnlineForm(FlaskForm):
    method = TypedField(parse=ChoiceOf(PaymentMethod, _l("Choose card, Alipay or WeChat Pay.")))


class OnlinePayForm(FlaskForm):
    """Pay a statement into the lab's own merchant account: a QR code to scan with the
    phone, or the gateway's own page on a computer."""

    channel = StringField(default="qr")


def merchant_account_form(gateway_cls):
    """The settings form of one gateway: its public identifier and its keys. Key fields are
    never filled in when shown (the page shows only "set, ends …1234")."""
    from wtforms import BooleanField, TextAreaField

    class MerchantAccountForm(FlaskForm):
        merchant_id = StringField(gateway_cls.merchant_id_label or _l("Merchant ID"), default="")
        enabled = BooleanField(_l("Accept payments by this method"))

    for spec in gateway_cls.fields:
        setattr(MerchantAccountForm, spec.name, TextAreaField(spec.label, default=""))
    return MerchantAccountForm
