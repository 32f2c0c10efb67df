"""Online payment straight into a lab's own merchant account (Alipay, WeChat Pay).

A customer starts an `OnlinePayment` (an order at the gateway with our `out_trade_no`); the
gateway's signed notification, or our trade query when the notification never came, makes
it paid. Either way the money goes through `payments.apply_payment` once: the attempt's row
is locked first and the news stored as a `GatewayEvent` by its id, so a notification
delivered ten times, a notification and a query at once, or a notification for a statement
already paid or voided record one payment and refund what is not owed.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, User
from sharehub.billing.gateways import (
    GatewayError,
    Notification,
    gateway_class,
    gateway_for,
)
from sharehub.billing.models import (
    GatewayEvent,
    GatewayKind,
    Invoice,
    InvoiceStatus,
    MerchantAccount,
    OnlinePayment,
    OnlinePaymentStatus,
    PaymentMethod,
    Refund,
    RefundStatus,
)
from sharehub.billing.payments import apply_payment, settle_overpayment
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, DomainError, PermissionDenied, ValidationError
from sharehub.extensions import db

METHOD_OF = {
    GatewayKind.ALIPAY: PaymentMethod.ALIPAY,
    GatewayKind.WECHAT_PAY: PaymentMethod.WECHAT_PAY,
}


def _hint(value: str) -> str:
    """All that is ever shown of a secret: its last four characters."""
    tail = "".join(value.split())[-4:]
    return tail if len(value) >= 12 else ""


# Merchant accounts ------------------------------------------------------------------------


def account_of(lab_id: int, kind: GatewayKind | str) -> MerchantAccount | None:
    return db.session.scalar(
        sa.select(MerchantAccount).where(
            MerchantAccount.lab_id == lab_id, MerchantAccount.kind == GatewayKind(kind)
        )
    )


def accepted_accounts(lab_id: int) -> list[MerchantAccount]:
    """The lab's merchant accounts customers can pay into (enabled, credentials entered)."""
    return list(
        db.session.scalars(
            sa.select(MerchantAccount)
            .where(
                MerchantAccount.lab_id == lab_id,
                MerchantAccount.enabled.is_(True),
                MerchantAccount.credentials.is_not(None),
            )
            .order_by(MerchantAccount.kind)
        )
    )


def save_account(
    actor: User,
    lab: Organisation,
    kind: GatewayKind,
    merchant_id: str,
    enabled: bool,
    entered: dict[str, str],
) -> MerchantAccount:
    """Store the lab's account. A secret left blank keeps the one stored; what is entered
    is sealed at once and only its last characters are kept in sight."""
    if not actor.can_manage(lab) or not lab.is_lab:
        raise PermissionDenied(_l("Only owners and managers of this laboratory do this."))
    cls = gateway_class(kind)
    if cls is None:
        raise ValidationError(_l("This payment method is not offered."))
    merchant_id = (merchant_id or "").strip()
    if not merchant_id or len(merchant_id) > 64 or not merchant_id.isprintable():
        raise ValidationError(_l("Give the account's identifier."), field="merchant_id")
    account = account_of(lab.id, kind)
    if account is None:
        account = MerchantAccount(lab_id=lab.id, kind=kind, hints={})
        db.session.add(account)
    stored = account.secrets()
    hints = dict(account.hints or {})
    changed = []
    for spec in cls.fields:
        value = (entered.get(spec.name) or "").strip()
        if not value:
            continue
        if len(value) > 20000:
            raise ValidationError(_l("This value is too long."), field=spec.name)
        stored[spec.name] = value
        hints[spec.name] = _hint(value) if spec.secret else value
        changed.append(spec.name)
    missing = [spec.name for spec in cls.fields if spec.required and not stored.get(spec.name)]
    if enabled and missing:
        raise ValidationError(_l("Enter every key before accepting payments."), field=missing[0])
    if merchant_id != account.merchant_id or changed:
        account.checked_dt, account.check_ok = None, None
    account.merchant_id = merchant_id
    account.enabled = bool(enabled)
    account.credentials = json.dumps(stored, sort_keys=True) if stored else None
    account.hints = hints
    account.updated_dt, account.updated_by_id = utcnow(), actor.id
    db.session.flush()
    audit.record(
        actor,
        "merchant_account.saved",
        account,
        organisation=lab.id,
        kind=kind.value,
        merchant_id=merchant_id,
        enabled=bool(enabled),
        changed=changed,  # the names of the keys, never their values
    )
    return account


def test_account(actor: User, account: MerchantAccount) -> tuple[bool, str]:
    """Ask the gateway a harmless question with the stored keys."""
    if not account.can_manage(actor):
        raise PermissionDenied(_l("Only owners and managers of this laboratory do this."))
    if not account.credentials:
        raise Conflict(_l("Enter the keys first."))
    try:
        ok, message = gateway_for(account).test_connection()
    except GatewayError as exc:
        ok, message = False, str(exc)
    account.checked_dt, account.check_ok = utcnow(), ok
    audit.record(actor, "merchant_account.tested", account, organisation=account.lab_id, ok=ok)
    db.session.flush()
    return ok, message


# Attempts ---------------------------------------------------------------------------------


def _minutes() -> int:
    return int(current_app.config.get("ONLINE_PAYMENT_MINUTES", 15))


def new_out_trade_no(invoice: Invoice) -> str:
    """Ours, unique, and telling nothing but the statement's id: SH + id + random."""
    return f"SH{invoice.id:08d}{secrets.token_hex(6).upper()}"


def start_payment(
    actor: User,
    invoice: Invoice,
    kind: GatewayKind | str,
    channel: str,
    notify_url,
    return_url: str,
) -> OnlinePayment:
    """An order for what the statement still owes, at the lab's own merchant account. A
    pending, unexpired attempt for the same amount and channel is shown again instead of a
    second order. `notify_url(account)` gives the account's notification address."""
    if actor.membership_in(invoice.customer_org_id) is None or invoice.is_draft:
        raise PermissionDenied(_l("You cannot pay this statement."))
    try:
        kind = GatewayKind(kind)
    except ValueError:
        raise ValidationError(_l("This payment method is not offered.")) from None
    account = account_of(invoice.lab_id, kind)
    if account is None or not account.enabled or not account.credentials:
        raise Conflict(_l("This laboratory does not accept this payment method."))
    cls = gateway_class(kind)
    if cls is None or channel not in cls.channels:
        raise ValidationError(_l("This payment method is not offered."))
    if invoice.status != InvoiceStatus.ISSUED or invoice.is_credit_note or not invoice.outstanding:
        raise Conflict(_l("Only an issued, unpaid statement takes payments."))
    if invoice.currency != "CNY":
        raise Conflict(_l("Only statements in CNY are paid this way."))
    now = utcnow()
    existing = db.session.scalar(
        sa.select(OnlinePayment).where(
            OnlinePayment.invoice_id == invoice.id,
            OnlinePayment.kind == kind,
            OnlinePayment.channel == channel,
            OnlinePayment.status == OnlinePaymentStatus.PENDING,
            OnlinePayment.amount_fen == invoice.outstanding,
            OnlinePayment.expires_dt > now + timedelta(minutes=2),
        )
    )
    if existing is not None and (existing.code_url or channel != "qr"):
        return existing
    attempt = OnlinePayment(
        invoice=invoice,
        lab_id=invoice.lab_id,
        account=account,
        kind=kind,
        channel=channel,
        out_trade_no=new_out_trade_no(invoice),
        amount_fen=invoice.outstanding,
        currency="CNY",
        expires_dt=now + timedelta(minutes=_minutes()),
        created_by_id=actor.id,
    )
    try:
        started = gateway_for(account).start(attempt, channel, notify_url(account), return_url)
    except GatewayError as exc:
        current_app.logger.warning("online payment not started at %s: %s", kind.value, exc)
        raise Conflict(
            _l("The payment service did not answer; try again or pay by bank transfer.")
        ) from None
    attempt.code_url = started.code_url or started.redirect_url
    db.session.add(attempt)
    db.session.flush()
    audit.record(
        actor,
        "online_payment.started",
        attempt,
        organisation=invoice.lab_id,
        invoice=invoice.number,
        kind=kind.value,
        channel=channel,
        amount=attempt.amount_fen,
        out_trade_no=attempt.out_trade_no,
    )
    return attempt


def _locked_attempt(out_trade_no: str) -> OnlinePayment | None:
    return db.session.scalar(
        sa.select(OnlinePayment)
        .where(OnlinePayment.out_trade_no == out_trade_no)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _event_id(attempt: OnlinePayment, status: str) -> str:
    return f"{attempt.kind.value}:{attempt.out_trade_no}:{status}"[:100]


def apply_news(account: MerchantAccount, note: Notification, *, source: str) -> tuple[bool, str]:
    """Apply what the gateway verifiably said about one of our trades. Returns whether to
    acknowledge it (False: the gateway should send it again or someone should look) and the
    outcome. Refused news stores nothing."""
    attempt = _locked_attempt(note.out_trade_no)
    if attempt is None or attempt.account_id != account.id:
        return False, "unknown out_trade_no"
    if note.merchant_id and note.merchant_id != account.merchant_id:
        return False, "another merchant's trade"
    if note.status.startswith("refund"):
        return _apply_refund_news(attempt, note, source)
    if note.status not in ("paid", "closed"):
        return True, f"{note.status}: nothing to do"
    event_id = _event_id(attempt, note.status)
    if db.session.get(GatewayEvent, event_id, populate_existing=True) is not None:
        return True, "duplicate"
    if note.status == "closed":
        outcome = "ignored: already " + attempt.status.value
        if attempt.is_pending:
            attempt.status, attempt.finished_dt = OnlinePaymentStatus.CLOSED, utcnow()
            outcome = "closed"
        _store(event_id, note, outcome, source, None)
        return True, outcome
    if note.currency != "CNY":
        return False, f"currency {note.currency} refused"
    if note.amount_fen != attempt.amount_fen:
        return False, f"amount {note.amount_fen} differs from {attempt.amount_fen}"
    if attempt.payment_id is not None:
        _store(event_id, note, "already recorded", source, None)
        return True, "already recorded"
    provider_ref = f"{attempt.kind.value}:{note.trade_no or attempt.out_trade_no}"[:100]
    # Money the gateway took is recorded whatever happened to the statement meanwhile
    # (paid by transfer, voided, attempt closed): the excess is refunded.
    invoice = attempt.invoice
    try:
        payment = apply_payment(
            invoice,
            METHOD_OF[attempt.kind],
            note.amount_fen,
            provider_ref=provider_ref,
            payer_reference=attempt.out_trade_no,
            arrived=True,
        )
    except DomainError:
        return False, f"statement {invoice.status.value}"
    attempt.status, attempt.payment = OnlinePaymentStatus.PAID, payment
    attempt.trade_no = (note.trade_no or None) and note.trade_no[:64]
    attempt.finished_dt = utcnow()
    excess = settle_overpayment(None, invoice)
    outcome = f"recorded; {excess} overpaid, refunding" if excess else "recorded"
    _store(event_id, note, outcome, source, provider_ref)
    audit.record(
        None,
        "online_payment.paid",
        attempt,
        organisation=attempt.lab_id,
        invoice=invoice.number,
        amount=note.amount_fen,
        trade_no=attempt.trade_no,
        source=source,
    )
    db.session.flush()
    return True, outcome


def _store(event_id, note: Notification, outcome: str, source: str, payment_ref) -> None:
    db.session.add(
        GatewayEvent(
            id=event_id,
            type=f"{source}.{note.status}"[:100],
            payload=note.payload,
            outcome=outcome[:200],
            payment_ref=payment_ref,
        )
    )
    db.session.flush()


def reconcile(limit: int = 200) -> dict[str, int]:
    """Ask the gateway about pending attempts whose notification has not come (a couple of
    minutes old at least) and close the expired ones. Each attempt is taken with `FOR
    UPDATE SKIP LOCKED` on PostgreSQL, so several machines share the work and a
    notification arriving meanwhile waits for it; each is committed on its own."""
    counts = {"paid": 0, "closed": 0, "pending": 0, "errors": 0}
    started = utcnow()
    counts |= reconcile_refunds(started, limit)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    for _ in range(limit):
        query = (
            sa.select(OnlinePayment)
            .where(
                OnlinePayment.status == OnlinePaymentStatus.PENDING,
                OnlinePayment.created_dt <= started - timedelta(minutes=2),
                sa.or_(OnlinePayment.queried_dt.is_(None), OnlinePayment.queried_dt < started),
            )
            .order_by(OnlinePayment.id)
            .limit(1)
            .execution_options(populate_existing=True)
        )
        if postgres:
            query = query.with_for_update(skip_locked=True, of=OnlinePayment)
        attempt = db.session.scalar(query)
        if attempt is None:
            break
        attempt.queried_dt = utcnow()
        db.session.flush()
        try:
            gateway = gateway_for(attempt.account)
            note = gateway.query(attempt)
            if note.status == "paid":
                ok, outcome = apply_news(attempt.account, note, source="query")
                counts["paid" if ok and outcome.startswith("recorded") else "pending"] += 1
            elif note.status == "closed" or attempt.expires_dt <= utcnow():
                if note.status != "closed":
                    gateway.close(attempt)
                attempt.status, attempt.finished_dt = OnlinePaymentStatus.CLOSED, utcnow()
                audit.record(None, "online_payment.closed", attempt, organisation=attempt.lab_id)
                counts["closed"] += 1
            else:
                counts["pending"] += 1
        except GatewayError as exc:
            current_app.logger.warning("trade %s not reconciled: %s", attempt.out_trade_no, exc)
            counts["errors"] += 1
        db.session.commit()
    return counts


def reconcile_refunds(started, limit: int = 200) -> dict[str, int]:
    """Ask the gateway about refunds it took but whose notification has not come (WeChat
    Pay finishes refunds later). The answer goes through `apply_news` like the
    notification, under the attempt's lock and with the same event id, so whichever of
    the two comes second changes nothing. No lock is held over the network."""
    counts = {"refunds_settled": 0, "refunds_pending": 0, "refund_errors": 0}
    rows = db.session.execute(
        sa.select(Refund.id, OnlinePayment.id)
        .join(OnlinePayment, OnlinePayment.payment_id == Refund.payment_id)
        .where(
            Refund.status == RefundStatus.SUBMITTED,
            Refund.created_dt <= started - timedelta(minutes=2),
        )
        .order_by(Refund.id)
        .limit(limit)
    ).all()
    db.session.commit()
    for refund_id, attempt_id in rows:
        attempt = db.session.get(OnlinePayment, attempt_id)
        try:
            note = gateway_for(attempt.account).query_refund(attempt, f"RF{refund_id:010d}")
        except GatewayError as exc:
            current_app.logger.warning("refund %s not reconciled: %s", refund_id, exc)
            counts["refund_errors"] += 1
            db.session.commit()
            continue
        if note is None or note.status not in REFUND_NEWS:
            counts["refunds_pending"] += 1
            db.session.commit()
            continue
        ok, outcome = apply_news(attempt.account, note, source="query")
        if not ok:
            current_app.logger.warning("refund %s not reconciled: %s", refund_id, outcome)
            counts["refund_errors"] += 1
        elif outcome != "duplicate":
            counts["refunds_settled"] += 1
        db.session.commit()
    return counts


def gateway_origins(lab_id: int) -> str:
    """The gateways a statement page's forms may lead to (computer-website pay)."""
    from urllib.parse import urlsplit

    origins = []
    for account in accepted_accounts(lab_id):
        if account.kind == GatewayKind.ALIPAY:
            parts = urlsplit(current_app.config["ALIPAY_SERVER_URL"])
            origins.append(f"{parts.scheme}://{parts.netloc}")
        elif account.kind == GatewayKind.WECHAT_PAY:
            from sharehub.billing.gateways.wechatpay import h5_origin

            origins.append(h5_origin())
    return " ".join(origins)


REFUND_NEWS = {"refund succeeded": "succeeded", "refund failed": "failed"}


def _apply_refund_news(attempt: OnlinePayment, note: Notification, source: str) -> tuple[bool, str]:
    """A gateway's news of a refund it finished later (WeChat Pay refunds asynchronously).
    The refund must be one we asked for against this attempt's payment, for the amount we
    asked; its row id is in the request number (see `refund_through_gateway`)."""
    from sharehub.billing.refunds import handle_refund_object

    status = REFUND_NEWS.get(note.status)
    if status is None:
        return True, f"{note.status}: nothing to do"
    request_no = note.trade_no
    ref = f"{attempt.kind.value}:{request_no}"[:100]
    refund = None
    # A number we never made (past the id column's range too) finds nothing.
    if request_no.startswith("RF") and request_no[2:].isdigit() and int(request_no[2:]) < 2**31:
        refund = db.session.get(
            Refund, int(request_no[2:]), with_for_update=True, populate_existing=True
        )
    if (
        refund is None
        or attempt.payment_id is None
        or refund.payment_id != attempt.payment_id
        or refund.provider_ref not in (None, ref)
        or refund.amount != note.amount_fen
    ):
        return False, "unknown refund"
    event_id = f"{attempt.kind.value}:{request_no}:{status}"[:100]
    if db.session.get(GatewayEvent, event_id, populate_existing=True) is not None:
        return True, "duplicate"
    refund.provider_ref = ref
    db.session.flush()
    outcome = handle_refund_object(
        {"id": ref, "status": status, "failure_reason": note.payload.get("refund_status", "")}
    )
    _store(event_id, note, outcome, source, None)
    return True, outcome
