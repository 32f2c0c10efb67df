"""Stripe webhooks under gunicorn with several workers: the same event delivered several
times at once, the two events of one payment at once and in either order, and a bank
transfer recorded while the webhook of the same invoice arrives. One payment each time,
every delivery acknowledged (never a 500), nothing beyond the invoice's total."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from tests.support import clock
from tests.support.faults import deliver, issued_invoice, no_violations, pay_event


def at_once(calls) -> list:
    """Start the calls together (a barrier) and return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def payments_of(faulty, invoice_id: int) -> list[tuple[str, int]]:
    from sharehub.billing.models import Payment

    return faulty.read(
        lambda db: [
            (p.method.value, p.amount)
            for p in db.session.scalars(
                sa.select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.id)
            )
        ]
    )


def test_one_event_delivered_six_times_at_once_with_its_twin(faulty):
    invoice_id, amount = issued_invoice(faulty)
    intent = pay_event("evt_dup_pi", "payment_intent.succeeded", invoice_id, amount)
    session = pay_event("evt_dup_cs", "checkout.session.completed", invoice_id, amount)
    results = at_once([lambda: deliver(faulty, intent)] * 6 + [lambda: deliver(faulty, session)])
    assert [status for status, _ in results] == [200] * 7, results
    outcomes = sorted(body["outcome"] for _, body in results)
    assert outcomes.count("recorded") == 1, outcomes
    assert set(outcomes) <= {"recorded", "duplicate", "already recorded"}
    assert payments_of(faulty, invoice_id) == [("alipay", amount)] or payments_of(
        faulty, invoice_id
    ) == [("wechat_pay", amount)]
    # Later redeliveries (Stripe retries for days) change nothing.
    assert deliver(faulty, intent)[1]["outcome"] == "duplicate"
    assert deliver(faulty, session)[1]["outcome"] == "duplicate"
    assert len(payments_of(faulty, invoice_id)) == 1
    faulty.read(no_violations)


def test_out_of_order_events_record_the_payment_once(faulty):
    invoice_id, amount = issued_invoice(faulty)
    # The intent's event arrives first although Stripe created the session's first.
    second = pay_event("evt_ooo_2", "payment_intent.succeeded", invoice_id, amount)
    first = pay_event("evt_ooo_1", "checkout.session.completed", invoice_id, amount)
    assert deliver(faulty, second) == (200, {"received": "evt_ooo_2", "outcome": "recorded"})
    assert deliver(faulty, first) == (
        200,
        {"received": "evt_ooo_1", "outcome": "already recorded"},
    )
    assert payments_of(faulty, invoice_id) == [("alipay", amount)]
    faulty.read(no_violations)


def test_bank_transfer_recorded_while_the_webhook_commits_never_pays_twice(faulty):
    """The webhook's payment is written and held before its commit; the lab records a bank
    transfer of the full amount meanwhile. The transfer waits for the invoice row, then sees
    the invoice paid and is refused with a message: one payment, never above the total."""
    invoice_id, amount = issued_invoice(faulty)
    manager = faulty.browser(faulty.manager)
    manager.request(f"/invoices/{invoice_id}")
    form = {
        "amount": f"{amount / 100:.2f}",
        "paid_date": clock.today().isoformat(),
        "payer_reference": "对公转账",
    }
    event = pay_event("evt_race_pi", "payment_intent.succeeded", invoice_id, amount)
    webhook = faulty.in_background(lambda: deliver(faulty, event, "before_commit"))
    faulty.paused("before_commit")
    transfer = faulty.in_background(
        lambda: manager.request(f"/invoices/{invoice_id}/payments", form)
    )
    time.sleep(1.0)  # the transfer now waits for the invoice row
    faulty.release("before_commit")
    webhook["thread"].join(timeout=60)
    transfer["thread"].join(timeout=60)
    assert webhook["result"] == (200, {"received": "evt_race_pi", "outcome": "recorded"})
    # refused with the status that says so, the invoice page re-shown with the reason
    assert transfer["result"][0] == 409
    assert "Only an issued, unpaid statement takes payments." in transfer["result"][2]
    assert payments_of(faulty, invoice_id) == [("alipay", amount)]
    faulty.read(no_violations)


def test_a_redelivery_arriving_while_the_first_is_still_committing_is_acknowledged(faulty):
    """The first delivery is held just before its commit (the payment written, the invoice
    row locked); the same event arrives again on the other worker, waits, and must be
    answered 200 "duplicate" once the first commits — not fail on the event's unique key."""
    invoice_id, amount = issued_invoice(faulty)
    event = pay_event("evt_held", "payment_intent.succeeded", invoice_id, amount)
    first = faulty.in_background(lambda: deliver(faulty, event, "before_commit"))
    faulty.paused("before_commit")
    second = faulty.in_background(lambda: deliver(faulty, event))
    time.sleep(1.0)  # the second delivery is now waiting for the first one's lock
    faulty.release("before_commit")
    first["thread"].join(timeout=60)
    second["thread"].join(timeout=60)
    assert first["result"] == (200, {"received": "evt_held", "outcome": "recorded"})
    assert second["result"] == (200, {"received": "evt_held", "outcome": "duplicate"})
    assert payments_of(faulty, invoice_id) == [("alipay", amount)]
    faulty.read(no_violations)
