"""A sample the lab refuses at receipt is not tested, so the order's statement does not
charge it: per-sample and per-parameter lines lose its share, the expedited surcharges are
taken again on what is left, and the statement says how many samples are billed."""

from __future__ import annotations

from sharehub.testing import orders, samples, work
from sharehub.testing.orders import SampleInput


def _order(lab, make_service, firm, firm_user, lab_manager, refuse: int):
    salt = make_service(lab, expedited_days=5, expedited_surcharge_percent=50)
    tensile = make_service(
        lab,
        name="拉伸",
        standard_code="GB/T 228.1-2021",
        price_basis="parameter",
        price_external=12345,
        parameters=[("抗拉强度", "MPa"), ("屈服强度", "MPa"), ("断后伸长率", "%")],
        expedited_days=2,
        expedited_surcharge_percent=33,
    )
    order = orders.create_request(
        firm_user,
        firm,
        [salt.id, tensile.id],
        [SampleInput(name=name) for name in ("A", "B", "C")],
        expedited=True,
    )
    orders.submit(firm_user, order)
    orders.accept(firm_user, order)
    samples.ship(firm_user, order, delivery="drop_off")
    samples.receive(
        lab_manager,
        order,
        [
            samples.ReceiptInput(
                sample_id=s.id,
                accepted=n >= refuse,
                refusal_reason="" if n >= refuse else "样品锈蚀，无法检测",
            )
            for n, s in enumerate(order.samples)
        ],
    )
    return order


def test_a_refused_sample_is_not_billed(
    db, lab, make_service, firm, firm_user, lab_manager, english
):
    order = _order(lab, make_service, firm, firm_user, lab_manager, refuse=1)
    # the order as agreed: 3 samples
    assert [line.amount_fen for line in order.lines] == [240000, 120000, 111105, 36665]
    statement = work.bill(lab_manager, order)
    db.session.commit()
    assert [(line.quantity, line.unit_price, line.net) for line in statement.lines] == [
        ("2", 80000, 160000),
        ("1", 80000, 80000),  # 50 % of 1,600 yuan
        ("6", 12345, 74070),  # 2 samples × 3 parameters
        ("1", 24443, 24443),  # 33 % of 740.70 yuan, half up
    ]
    assert statement.net_total == 160000 + 80000 + 74070 + 24443
    assert "2 of 3 samples billed (1 refused at receipt)" in statement.note


def test_without_refusals_the_order_is_billed_as_agreed(
    db, lab, make_service, firm, firm_user, lab_manager, english
):
    order = _order(lab, make_service, firm, firm_user, lab_manager, refuse=0)
    statement = work.bill(lab_manager, order)
    assert [line.net for line in statement.lines] == [line.amount_fen for line in order.lines]
    assert statement.net_total == order.total_fen and "3 samples billed" in statement.note


def test_a_lump_sum_the_lab_quoted_is_billed_as_agreed(
    db, lab, make_service, firm, firm_user, lab_manager, english
):
    from sharehub.testing.models import QuoteLine

    order = _order(lab, make_service, firm, firm_user, lab_manager, refuse=1)
    lump = QuoteLine(description="方案设计", quantity=1, unit_price_fen=50000, amount_fen=50000)
    order.accepted_quote.lines.append(lump)
    statement = work.bill(lab_manager, order)
    assert [line.net for line in statement.lines if line.quantity == "1"][
        0
    ] == 50000  # first by position
