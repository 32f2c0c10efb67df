"""Demonstration data of commissioned testing: testing services of three labs to real
standards (salt spray, tensile strength, EMC immunity, RoHS screening, battery safety),
their CMA and CNAS certificates (one expired, one method out of scope), and requests of
the demo buyer in several states, written through the testing services so every number
and total is what the application itself would make."""

from __future__ import annotations

from datetime import timedelta

from sharehub.accounts.models import Organisation, User
from sharehub.catalog.models import Field, ListingStatus
from sharehub.core.clock import local_today
from sharehub.core.db import utcnow
from sharehub.extensions import db
from sharehub.testing import orders, samples
from sharehub.testing.models import (
    AccreditationCertificate,
    AccreditationKind,
    PriceBasis,
    ServiceParameter,
    TestingRequest,
    TestingService,
    normalize_standard,
)
from sharehub.testing.orders import LineInput, SampleInput
from sharehub.testing.services import add_scope, index_service

# (lab index, name, name_en, standard, method, field, days, expedited days, surcharge %,
#  basis, external, internal, cluster (fen), quote required, parameters (name, en, unit, limit))
SERVICES = [
    (
        0,
        "中性盐雾试验",
        "Neutral salt spray test",
        "GB/T 10125-2021",
        "中性盐雾试验（NSS）",
        Field.NEW_MATERIALS,
        10,
        5,
        50,
        PriceBasis.SAMPLE,
        80000,
        50000,
        70000,
        False,
        [
            ("外观评级", "Appearance rating", "", "GB/T 6461"),
            ("腐蚀速率", "Corrosion rate", "g/(m²·h)", ""),
        ],
    ),
    (
        0,
        "盐雾试验（国际标准）",
        "Salt spray test (ISO)",
        "ISO 9227:2022",
        "NSS / AASS / CASS",
        Field.NEW_MATERIALS,
        10,
        None,
        0,
        PriceBasis.SAMPLE,
        90000,
        60000,
        None,
        False,
        [("外观评级", "Appearance rating", "", "")],
    ),
    (
        0,
        "金属材料室温拉伸试验",
        "Tensile test of metallic materials at room temperature",
        "GB/T 228.1-2021",
        "方法 B（应力速率控制）",
        Field.HIGH_END_MANUFACTURING,
        5,
        2,
        100,
        PriceBasis.PARAMETER,
        15000,
        10000,
        12000,
        False,
        [
            ("抗拉强度", "Tensile strength", "MPa", ""),
            ("规定塑性延伸强度", "Proof strength", "MPa", ""),
            ("断后伸长率", "Elongation after fracture", "%", ""),
        ],
    ),
    (
        1,
        "静电放电抗扰度试验",
        "Electrostatic discharge immunity test",
        "GB/T 17626.2-2018",
        "接触放电 ±8 kV，空气放电 ±15 kV",
        Field.INFORMATION_TECHNOLOGY,
        7,
        3,
        80,
        PriceBasis.SAMPLE,
        250000,
        180000,
        220000,
        False,
        [
            ("接触放电", "Contact discharge", "kV", "±8 kV 判据 B"),
            ("空气放电", "Air discharge", "kV", "±15 kV 判据 B"),
        ],
    ),
    (
        1,
        "RoHS 有害物质筛选",
        "RoHS screening by XRF",
        "IEC 62321-3-1:2013",
        "X 射线荧光光谱法筛选",
        Field.ENERGY_ELECTRONICS,
        5,
        2,
        50,
        PriceBasis.PARAMETER,
        12000,
        8000,
        None,
        False,
        [
            ("铅 Pb", "Lead", "mg/kg", "≤ 1000"),
            ("汞 Hg", "Mercury", "mg/kg", "≤ 1000"),
            ("镉 Cd", "Cadmium", "mg/kg", "≤ 100"),
            ("总铬 Cr", "Total chromium", "mg/kg", ""),
            ("总溴 Br", "Total bromine", "mg/kg", ""),
        ],
    ),
    (
        2,
        "便携式电子产品用锂离子电池安全试验",
        "Safety of lithium-ion batteries for portable electronics",
        "GB 31241-2022",
        "全项安全试验",
        Field.ENERGY_ELECTRONICS,
        20,
        None,
        0,
        PriceBasis.SAMPLE,
        1500000,
        1200000,
        None,
        True,
        [
            ("过充电保护", "Overcharge protection", "", "不起火、不爆炸"),
            ("外部短路", "External short circuit", "", "不起火、不爆炸"),
            ("热滥用", "Thermal abuse", "", "130 ℃ 30 min 不起火、不爆炸"),
        ],
    ),
]

# (lab index, kind, valid (False: expired), scope)
CERTIFICATES = [
    (0, AccreditationKind.CMA, True, [("GB/T 10125-2021", ""), ("GB/T 228.1-2021", "")]),
    (0, AccreditationKind.CNAS, True, [("GB/T 10125", ""), ("GB/T 228.1-2021", "抗拉强度")]),
    (1, AccreditationKind.CMA, True, [("GB/T 17626.2-2018", "")]),
    (1, AccreditationKind.CNAS, True, [("GB/T 17626.2-2018", ""), ("IEC 62321-3-1:2013", "")]),
    (2, AccreditationKind.CMA, True, [("GB 31241-2022", "")]),
    (2, AccreditationKind.CNAS, False, [("GB 31241-2022", "")]),
]


def _service(lab: Organisation, row) -> TestingService:
    (
        _i,
        name,
        name_en,
        code,
        method,
        field,
        days,
        fast,
        pct,
        basis,
        ext,
        internal,
        cluster,
        quote_required,
        params,
    ) = row
    service = TestingService(
        lab=lab,
        lab_id=lab.id,
        status=ListingStatus.PUBLISHED,
        name=name,
        name_en=name_en,
        standard_code=code,
        standard_key=normalize_standard(code),
        method=method,
        field=field,
        sample_quantity=3,
        sample_size="150 mm × 100 mm" if field == Field.NEW_MATERIALS else "",
        standard_days=days,
        expedited_days=fast,
        expedited_surcharge_percent=pct,
        price_basis=basis,
        price_external=ext,
        price_internal=internal,
        price_cluster=cluster,
        quote_required=quote_required,
        published_dt=utcnow(),
    )
    for position, (p_name, p_en, unit, limit) in enumerate(params):
        service.parameters.append(
            ServiceParameter(
                position=position, name=p_name, name_en=p_en, unit=unit, limit_text=limit
            )
        )
    index_service(service)
    db.session.add(service)
    return service


# The first lab's report signers besides its manager (who approves): 编制 and 审核.
SIGNERS = [
    ("tech@demo.sharehub.cn", "周文博", "13962270431"),
    ("reviewer@demo.sharehub.cn", "钱思远", "13962270432"),
]


def _lab_at_work(lab: Organisation, manager: User, salt: TestingService) -> None:
    """Salt spray runs on the lab's salt-spray chamber (or its first corrosion or
    environmental chamber), and two more staff sign its reports with the manager."""
    import sqlalchemy as sa

    from sharehub.accounts.models import Membership, Role
    from sharehub.catalog.models import Listing, ListingKind

    listings = db.session.scalars(
        sa.select(Listing)
        .where(Listing.lab_id == lab.id, Listing.kind == ListingKind.EQUIPMENT)
        .order_by(Listing.id)
    ).all()
    chamber = next((x for x in listings if "盐雾" in x.name), None) or next(
        (x for x in listings if x.category_code.startswith("0303")), None
    )
    if chamber is None:
        chamber = _salt_spray_chamber(lab)
    salt.units = [u for u in chamber.units if u.is_active]
    for email, name, phone in SIGNERS:
        user = User(
            email=email,
            name=name,
            phone=phone,
            locale="zh_CN",
            timezone="Asia/Shanghai",
            email_verified_dt=utcnow(),
            password_hash=manager.password_hash,
        )
        db.session.add(Membership(user=user, organisation=lab, role=Role.MEMBER))


def _salt_spray_chamber(lab: Organisation):
    """A neutral salt-spray chamber of `lab` (GB/T 10125, ISO 9227), also bookable by the
    hour for self-service exposure tests."""
    from sharehub.catalog.models import Listing, ListingKind, OpeningInterval, PriceUnit, Unit
    from sharehub.catalog.search import index_fields

    chamber = Listing(
        lab=lab,
        kind=ListingKind.EQUIPMENT,
        status=ListingStatus.PUBLISHED,
        name="中性盐雾试验箱",
        name_en="Neutral salt spray chamber",
        description="1000 L 中性盐雾试验箱，按 GB/T 10125、ISO 9227 连续喷雾，"
        "可做 24–1000 h 试验。",
        description_en="1000 L neutral salt spray chamber for continuous exposure to "
        "GB/T 10125 and ISO 9227, 24 to 1000 h.",
        field=Field.NEW_MATERIALS,
        category_code="030301",
        price_unit=PriceUnit.HOUR,
        price_external=3000,
        price_internal=2000,
        price_cluster=2500,
        model="Q-FOG SSP1100",
        manufacturer="Q-Lab",
        location="苏州工业园区 B 栋 1 楼 环境试验室",
        published_dt=utcnow(),
    )
    chamber.units = [Unit(name="#1")]
    for weekday in range(5):
        chamber.opening_hours.append(
            OpeningInterval(weekday=weekday, start_minute=510, end_minute=1050)
        )
    db.session.add(chamber)
    db.session.flush()
    index_fields(chamber, ["盐雾试验箱", "salt spray chamber"])
    return chamber


def seed_demo_testing(
    labs: list[Organisation],
    lab_users: list[User],
    buyer: User,
    buyer_firm: Organisation,
) -> list[TestingRequest]:
    """Services and certificates of `labs` (three), and the buyer's requests."""
    today = local_today()
    services = [_service(labs[row[0]], row) for row in SERVICES]
    for index, kind, valid, scope in CERTIFICATES:
        lab = labs[index]
        number = (lab.cma_number if kind == AccreditationKind.CMA else lab.cnas_number) or (
            f"{kind.value.upper()}-DEMO-{lab.id}"
        )
        certificate = AccreditationCertificate(
            lab_id=lab.id,
            kind=kind,
            number=number,
            issuer="国家认证认可监督管理委员会"
            if kind == AccreditationKind.CMA
            else "中国合格评定国家认可委员会",
            issued_date=today - timedelta(days=3 * 365 if valid else 6 * 365),
            valid_until=today + timedelta(days=3 * 365) if valid else today - timedelta(days=40),
        )
        for code, parameter in scope:
            add_scope(certificate, code, parameter)
        db.session.add(certificate)
    db.session.flush()

    salt, _iso, tensile, esd, rohs, battery = services
    # Cancelling an ESD order once its samples are received costs 200 yuan + 20 %.
    esd.cancel_fee_fen, esd.cancel_fee_percent = 20000, 20
    _lab_at_work(labs[0], lab_users[0], salt)
    made = []

    def request(service_list, n, **fields):
        req = orders.create_request(
            buyer,
            buyer_firm,
            [s.id for s in service_list],
            [
                SampleInput(
                    name=f"{service_list[0].name[:6]}样品{k + 1}",
                    model_batch=f"LOT-{k + 1:03d}",
                    quantity=3,
                )
                for k in range(n)
            ],
            **fields,
        )
        made.append(req)
        return req

    # Priced at once, waiting for the buyer's acceptance.
    orders.submit(buyer, request([salt], 2, report_language="bilingual"))
    # Ordered, samples on their way by SF Express.
    shipped = request([tensile], 3, expedited=True)
    orders.submit(buyer, shipped)
    orders.accept(buyer, shipped)
    samples.ship(
        buyer, shipped, delivery="courier", courier="sf", tracking_number="SF1402837465921"
    )
    # Received at the lab: numbered samples in storage, one refused.
    received = request([esd], 2, report_language="en")
    orders.submit(buyer, received)
    orders.accept(buyer, received)
    samples.ship(buyer, received, delivery="drop_off")
    samples.receive(
        lab_users[1],
        received,
        [
            samples.ReceiptInput(
                received.samples[0].id,
                True,
                condition_note="外观完好",
                storage_place="样品间 2-A-03",
            ),
            samples.ReceiptInput(
                received.samples[1].id, False, refusal_reason="样品电源适配器缺失，无法按标准布置"
            ),
        ],
    )
    # Salt spray of three coated panels at the Suzhou lab: received (one refused), to be
    # scheduled on the chamber, reported and billed.
    panels = request([salt], 3, title="镀锌钢板中性盐雾 96 h", report_language="zh")
    orders.submit(buyer, panels)
    orders.accept(buyer, panels)
    samples.ship(buyer, panels, delivery="drop_off")
    samples.receive(
        lab_users[0],
        panels,
        [
            samples.ReceiptInput(
                panels.samples[0].id, True, condition_note="涂层完好", storage_place="样品间 A-01"
            ),
            samples.ReceiptInput(
                panels.samples[1].id, True, condition_note="涂层完好", storage_place="样品间 A-01"
            ),
            samples.ReceiptInput(
                panels.samples[2].id, False, refusal_reason="试样边缘已锈蚀，不符合样品要求"
            ),
        ],
    )
    # Non-standard work: waiting for the lab's quote; and one quoted by the lab.
    orders.submit(buyer, request([battery], 1, notes="18650 电芯组成的 2S1P 电池包"))
    quoted = request([rohs], 4)
    orders.submit(buyer, quoted)
    orders.quote(
        lab_users[1],
        quoted,
        [
            LineInput("RoHS 筛选（5 项）× 4 个样品", 20, 11000),
            LineInput("样品前处理", 4, 5000, kind="other"),
        ],
        valid_until=today + timedelta(days=14),
        turnaround_days=5,
        note="批量样品按 9 折计价",
    )
    db.session.flush()
    _every_other_state(labs, lab_users, buyer, request, esd, rohs, battery)
    return made


# The Shenzhen lab's report signers besides its manager (who approves and issues): 编制
# and 审核. Its orders carry the demo's issued reports, so the Suzhou lab's next report
# and sample numbers stay those the browser journeys expect.
SIGNERS_SECOND_LAB = [
    ("tech2@demo.sharehub.cn", "孙嘉怡", "13590281747"),
    ("reviewer2@demo.sharehub.cn", "何俊杰", "13590281748"),
]


SETTLED_TITLE = "充电桩控制板静电放电抗扰度"


def settle_demo_testing() -> TestingRequest:
    """The reported order of `SETTLED_TITLE` billed from its lines, its statement issued
    and paid by bank transfer today, and the order completed. Run after the year of
    activity, whose statements are numbered from 1 in date order: today's comes last."""
    import sqlalchemy as sa

    from sharehub.billing import payments
    from sharehub.billing import services as billing
    from sharehub.testing import work
    from sharehub.testing.models import RequestStatus

    done = db.session.scalars(
        sa.select(TestingRequest).where(
            TestingRequest.title == SETTLED_TITLE,
            TestingRequest.status == RequestStatus.REPORTED,
        )
    ).one()
    manager = next(m.user for m in done.lab.memberships if m.user.can_manage(done.lab))
    statement = work.bill(manager, done)
    billing.issue(manager, statement)
    payments.record_bank_transfer(
        manager, statement, statement.gross_total, local_today(), "对公转账 DEMO-ESD-0001"
    )
    work.complete(manager, done)
    db.session.flush()
    return done


def _every_other_state(labs, lab_users, buyer, request, esd, rohs, battery) -> None:
    """Requests of the buyer in the states the rest of the demo leaves out, each taken
    there by the services: a draft, an order waiting for samples, one in testing, two
    reported (one completed by `settle_demo_testing`), one cancelled
    by the buyer after receipt (its fee on a statement of its own), a lapsed quote and a
    request the lab refused."""
    from sharehub.accounts.models import Membership, Role
    from sharehub.testing import cancellation, reports
    from sharehub.testing.report_models import SIGN_ORDER

    lab, manager = labs[1], lab_users[1]
    signers = []
    for email, name, phone in SIGNERS_SECOND_LAB:
        user = User(
            email=email,
            name=name,
            phone=phone,
            locale="zh_CN",
            timezone="Asia/Shanghai",
            email_verified_dt=utcnow(),
            password_hash=manager.password_hash,
        )
        db.session.add(Membership(user=user, organisation=lab, role=Role.MEMBER))
        signers.append(user)
    signers.append(manager)
    today = local_today()

    # A draft the buyer has not sent yet.
    request([rohs], 2, title="连接器外壳 RoHS 筛选（草稿）")

    def received_esd(title: str, n: int = 1) -> TestingRequest:
        order = request([esd], n, title=title)
        orders.submit(buyer, order)
        orders.accept(buyer, order)
        samples.ship(buyer, order, delivery="drop_off")
        samples.receive(
            manager,
            order,
            [
                samples.ReceiptInput(
                    s.id, True, condition_note="外观完好", storage_place="样品间 2-B"
                )
                for s in order.samples
            ],
        )
        return order

    def results(order: TestingRequest) -> list[reports.ResultRow]:
        return [
            row
            for sample in order.samples
            for row in (
                reports.ResultRow(sample.code or "", "接触放电", "8", "pass"),
                reports.ResultRow(sample.code or "", "空气放电", "15", "pass"),
            )
        ]

    def issued(order: TestingRequest) -> None:
        report = reports.start_report(signers[0], order)
        reports.set_results(signers[0], report, results(order))
        report.conclusion = "所检项目符合 GB/T 17626.2-2018 判据 B。"
        for person, role in zip(signers, SIGN_ORDER, strict=True):
            reports.sign(person, report, role)
        reports.issue(manager, report)

    # Ordered, waiting for the samples.
    waiting = request([esd], 1, title="车载显示屏静电放电抗扰度")
    orders.submit(buyer, waiting)
    orders.accept(buyer, waiting)
    # In testing: the report is drafted with its results, not yet signed.
    in_testing = received_esd("工业网关静电放电抗扰度")
    draft = reports.start_report(signers[0], in_testing)
    reports.set_results(signers[0], draft, results(in_testing))
    # Reported: the report issued with its three signatures.
    issued(received_esd("智能电表静电放电抗扰度"))
    # Reported too, to be billed, paid and closed by `settle_demo_testing`.
    issued(received_esd(SETTLED_TITLE, 2))
    # Cancelled by the buyer after the receipt: the fee of the order's terms is billed.
    cancellation.cancel(buyer, received_esd("路由器静电放电抗扰度（已取消）"), "项目取消")
    # A quote the buyer let lapse: valid until today, lapsed by tomorrow's run.
    lapsed = request([rohs], 1, title="电源线 RoHS 筛选（报价过期）")
    orders.submit(buyer, lapsed)
    orders.quote(
        manager,
        lapsed,
        [LineInput("RoHS 筛选（5 项）", 5, 12000)],
        valid_until=today,
        turnaround_days=5,
    )
    orders.lapse_due(today + timedelta(days=1), request=lapsed)
    # Declined by the battery lab: it cannot do the work asked.
    declined = request([battery], 1, notes="动力电池模组 48 V，需针刺试验")
    orders.submit(buyer, declined)
    orders.refuse(lab_users[2], declined, "本实验室不具备动力电池模组针刺试验能力")
