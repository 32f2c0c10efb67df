"""Assessment rounds over real sharing figures: frozen scorecards, grades and ranks,
reviews by named reviewers, publication, and who may read a scorecard."""

from datetime import date

import pytest
import sqlalchemy as sa
from babel.dates import format_skeleton

from sharehub.accounts.models import OrgKind, OrgStatus
from sharehub.assessment import rounds
from sharehub.assessment.models import RoundStatus, Scorecard
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError


def en_day(day):
    """A day as English pages and mail write it (Babel's medium date)."""
    return format_skeleton("yMMMd", day, locale="en")


pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def scene(db, lab, lab_manager, make_org, make_user, make_listing, make_usage, make_invoice,
          make_booking, make_rating, regulator, platform_admin):  # fmt: skip
    """March 2026 (31 days) for 国家测试实验室 with one instrument worth 10,000 CNY."""
    listing = make_listing(lab, original_value=1_000_000, usage_class="general")
    unit = listing.units[0]
    f1, f2 = make_org(name="外部企业一"), make_org(name="外部企业二")
    # external, 8 h (30 + 400 + 50 minutes)
    booking = make_booking(unit, f1, "2026-03-02 09:00", "2026-03-02 17:00")
    make_usage(unit, f1, "2026-03-02 09:00", "2026-03-02 17:00", prep=30, run=400, post=50,
               booking=booking)  # fmt: skip
    # internal use without a booking, 4 h
    make_usage(unit, lab, "2026-03-03 09:00", "2026-03-03 13:00", run=240)
    # external, 4 h crossing midnight at the end of March: half of it in the period
    make_usage(unit, f2, "2026-03-31 22:00", "2026-04-01 02:00", run=240)
    # outside the period
    make_usage(unit, f1, "2026-02-28 10:00", "2026-02-28 12:00", run=120)
    make_invoice(lab, f1, 300_000, "2026-03-05 10:00", booking=booking)
    make_rating(booking, 4, "2026-03-06 10:00")

    idle = make_org(kind=OrgKind.LAB, name="空闲实验室")
    suspended = make_org(kind=OrgKind.LAB, name="停牌实验室", status=OrgStatus.SUSPENDED)
    make_org(kind=OrgKind.LAB, name="撤销实验室", status=OrgStatus.REVOKED)
    make_org(kind=OrgKind.LAB, name="待审实验室", status=OrgStatus.PENDING)

    scheme = rounds.ensure_default_scheme()
    round_ = rounds.create_round(
        platform_admin, scheme, "2026年3月评价", date(2026, 3, 1), date(2026, 3, 31)
    )
    rounds.review(platform_admin, round_, lab, "org_management", 18, "制度健全")
    rounds.review(regulator, round_, lab, "org_management", 17, "协调机制有效")
    rounds.review(regulator, round_, lab, "org_staff_platform", 16, "平台在线")
    rounds.review(platform_admin, round_, suspended, "org_management", 20, "好")
    rounds.review(platform_admin, round_, suspended, "org_staff_platform", 20, "好")
    db.session.commit()
    return {"lab": lab, "idle": idle, "suspended": suspended, "round": round_, "unit": unit}


def test_a_round_freezes_scorecards_worked_out_by_hand(db, scene, platform_admin, make_usage):
    lab, round_ = scene["lab"], scene["round"]
    assert rounds.compute(platform_admin, round_) == 3  # the revoked and pending are not assessed
    cards = {c.lab_id: c for c in round_.scorecards}
    card = cards[lab.id]
    # effective 8 + 4 + 2 = 14 h, external 8 + 2 = 10 h
    assert card.metrics["effective_hours"] == 14.0 and card.metrics["external_hours"] == 10.0
    points = {line.code: line.points for line in card.lines}
    assert points == {
        "org_management": 17.5,  # (18 + 17) ÷ 2
        "org_staff_platform": 16.0,
        "effective_hours": 0.14,  # 14 h on one unit, 1 point per 100 h
        # 14 ÷ (1,400 × 31 ÷ 365 = 118.90 h) = 0.1177 → 10 × 0.1177 = 1.18
        "utilisation": 1.18,
        "revenue_rate": 15.0,  # 1.5 × 3,000 CNY ÷ 10,000 CNY = 0.45 → capped at 15
        "share_rate": 10.0,  # 10 ÷ 14 = 0.7143 → capped at 10
        "satisfaction": 4.0,  # mean rating 4 → 5 × 4 ÷ 5
        "external_orgs": 2.0,  # 外部企业一 and 外部企业二
    }
    assert (card.total, card.grade, card.rank, card.tie_break_score) == (65.82, "合格", 1, 16.0)
    assert (cards[scene["suspended"].id].total, cards[scene["suspended"].id].rank) == (40.0, 2)
    assert (cards[scene["idle"].id].total, cards[scene["idle"].id].grade) == (0.0, "较差")
    assert cards[scene["idle"].id].rank == 3

    # later data does not change the frozen scorecard
    make_usage(scene["unit"], lab, "2026-03-10 09:00", "2026-03-10 19:00", run=600)
    db.session.expire_all()
    assert db.session.get(Scorecard, card.id).total == 65.82
    # until publication the round may be computed again, on today's data
    rounds.compute(platform_admin, round_)
    again = db.session.scalar(
        sa.select(Scorecard).where(Scorecard.round_id == round_.id, Scorecard.lab_id == lab.id)
    )
    # 24 h: 0.24 hours points, 24 ÷ 118.90 = 0.2018 → 2.02 utilisation points
    assert again.metrics["effective_hours"] == 24.0 and again.total == 66.76
    rounds.publish(platform_admin, round_, accept_missing=True)  # 空闲实验室 has no review
    with pytest.raises(Conflict, match="published"):
        rounds.compute(platform_admin, round_)
    with pytest.raises(Conflict):
        rounds.review(platform_admin, round_, lab, "org_management", 1, "晚了")


def test_reviews_are_checked_and_a_reviewer_replaces_only_their_own(
    db, scene, platform_admin, regulator, lab_manager
):
    lab, round_ = scene["lab"], scene["round"]
    with pytest.raises(ValidationError, match="between 0 and 20"):
        rounds.review(platform_admin, round_, lab, "org_management", 21, "太高")
    with pytest.raises(ValidationError, match="comment"):
        rounds.review(platform_admin, round_, lab, "org_management", 10, " ")
    with pytest.raises(ValidationError, match="qualitative"):
        rounds.review(platform_admin, round_, lab, "share_rate", 10, "不是定性指标")
    with pytest.raises(PermissionDenied):
        rounds.review(lab_manager, round_, lab, "org_management", 20, "自评")
    rounds.review(platform_admin, round_, lab, "org_management", 12, "复核后下调")
    rounds.compute(platform_admin, round_)
    card = next(c for c in round_.scorecards if c.lab_id == lab.id)
    line = next(line for line in card.lines if line.code == "org_management")
    assert line.points == 14.5 and line.working == "(12 + 17) ÷ 2 = 14.5"


def test_editing_the_scheme_leaves_open_rounds_alone(db, scene, platform_admin):
    scheme = scene["round"].scheme
    share = next(i for i in scheme.indicators if i.code == "share_rate")
    rounds.update_indicator(platform_admin, share, weight=10, target=0.1, cap=5)
    rounds.compute(platform_admin, scene["round"])
    card = next(c for c in scene["round"].scorecards if c.lab_id == scene["lab"].id)
    assert next(line for line in card.lines if line.code == "share_rate").points == 10.0
    with pytest.raises(ValidationError):
        rounds.update_indicator(platform_admin, share, weight=10, target=0, cap=5)


def test_published_scorecards_reach_their_lab_only(
    client, db, scene, platform_admin, lab_manager, login, make_user, mailbox
):
    round_ = scene["round"]
    login(platform_admin)
    published = client.post(f"/supervision/rounds/{round_.id}/publish", data={"confirm": "1"})
    assert published.status_code == 409
    assert round_.status == RoundStatus.OPEN  # not computed: refused with a message
    assert client.post(f"/supervision/rounds/{round_.id}/compute").status_code == 302
    page = client.get(f"/supervision/rounds/{round_.id}").get_data(as_text=True)
    assert "65.82" in page and "40.00" in page
    english = client.get(f"/supervision/rounds/{round_.id}?lang=en").get_data(as_text=True)
    listed = client.get("/supervision/rounds?lang=en").get_data(as_text=True)
    for html in (english, listed):
        assert "Open-sharing assessment (default scheme)" in html
    card = db.session.scalar(sa.select(Scorecard).where(Scorecard.lab_id == scene["lab"].id))
    client.post("/account/signout")

    login(lab_manager)
    assert client.get(f"/supervision/scorecards/{card.id}").status_code == 404
    client.post("/account/signout")
    login(platform_admin)
    confirmed = {"confirm": "1", "accept_missing": "1"}  # 空闲实验室 was never reviewed
    assert (
        client.post(f"/supervision/rounds/{round_.id}/publish", data=confirmed).status_code == 302
    )
    db.session.refresh(round_)
    assert round_.status == RoundStatus.PUBLISHED
    mail = mailbox.last_to(lab_manager.email)
    assert "65.82 points, grade 合格, rank 1 of 3" in mailbox.body(mail)
    client.post("/account/signout")

    login(lab_manager)
    page = client.get(f"/supervision/scorecards/{card.id}").get_data(as_text=True)
    assert "65.82" in page and "min(15, 15 × 0.45 ÷ 0.2) = 15" in page
    assert "(18 + 17) ÷ 2 = 17.5" in page and "1 / 3" in page
    other = next(c for c in round_.scorecards if c.lab_id == scene["idle"].id)
    assert client.get(f"/supervision/scorecards/{other.id}").status_code == 404
    client.post("/account/signout")
    platform_admin.locale = "zh_CN"
    db.session.commit()
    login(platform_admin)  # the never-reviewed lab's working, in Chinese
    idle = client.get(f"/supervision/scorecards/{other.id}").get_data(as_text=True)
    assert "未评审 → 0" in idle and "no review" not in idle
    client.post("/account/signout")
    login(lab_manager)
    assert "2026年3月评价" in client.get("/supervision/our").get_data(as_text=True)


def test_publishing_asks_for_confirmation_and_names_the_unscored_labs(
    client, db, scene, platform_admin, lab_manager, login, mailbox
):
    round_, idle = scene["round"], scene["idle"]
    rounds.compute(platform_admin, round_)
    db.session.commit()
    login(platform_admin)
    page = client.get(f"/supervision/rounds/{round_.id}").get_data(as_text=True)
    missing = page.split('id="missing-reviews"')[1].split("</div>")[0]
    assert "1 laboratories have reviewed indicators without a score" in missing
    assert f"{idle.name_en}: Coordination and rules, Technical staff" in missing
    assert scene["lab"].name_en not in missing  # fully reviewed
    mailbox.clear()
    url = f"/supervision/rounds/{round_.id}/publish"
    refused = client.post(url)  # no confirmation
    assert refused.status_code == 400 and "Tick the box" in refused.get_data(as_text=True)
    refused = client.post(url, data={"confirm": "1"})  # scores missing, not accepted
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "they would count 0 points" in html
    assert "空闲实验室" in html and 'id="accept-missing"' in html
    db.session.refresh(round_)
    assert round_.status == RoundStatus.COMPUTED and not mailbox.to(lab_manager.email)

    # the missing scores are given after computing: compute again before publishing
    for code in ("org_management", "org_staff_platform"):
        rounds.review(platform_admin, round_, idle, code, 5, "起步阶段")
    db.session.commit()
    with pytest.raises(Conflict, match="compute them again"):
        rounds.publish(platform_admin, round_)
    db.session.rollback()
    rounds.compute(platform_admin, round_)
    db.session.commit()
    assert rounds.missing_reviews(round_) == []
    assert client.post(url, data={"confirm": "1"}).status_code == 302
    db.session.refresh(round_)
    assert round_.status == RoundStatus.PUBLISHED


def test_labs_admitted_late_in_the_period_are_not_graded(
    client, db, scene, platform_admin, make_org, login
):
    """The stated rule: admitted after the period began and less than 6 months before its
    last day means not graded in the round, and listed with the day of admission."""
    from datetime import datetime

    from sharehub.accounts import orgs
    from sharehub.booking.availability import LAB_TZ
    from sharehub.core.models import AuditEntry

    round_ = scene["round"]  # 2026-03-01 to 2026-03-31
    newcomer = make_org(
        kind=OrgKind.LAB, name="新晋实验室", name_en="Newcomer Lab", status=OrgStatus.PENDING
    )
    veteran = make_org(
        kind=OrgKind.LAB, name="老牌实验室", name_en="Veteran Lab", status=OrgStatus.PENDING
    )
    for lab, admitted in ((newcomer, (2026, 3, 31, 9)), (veteran, (2026, 2, 15, 9))):
        orgs.admit_lab(platform_admin, lab)
        entry = db.session.scalar(
            sa.select(AuditEntry).where(
                AuditEntry.action == "organisation.admitted", AuditEntry.object_id == lab.id
            )
        )
        entry.created_dt = datetime(*admitted, tzinfo=LAB_TZ)
    db.session.commit()
    graded, not_assessed = rounds.round_labs(round_)
    assert veteran in graded and newcomer not in graded
    assert [(lab.name, day) for lab, day in not_assessed] == [("新晋实验室", date(2026, 3, 31))]
    assert rounds.compute(platform_admin, round_) == 4  # lab, idle, suspended, veteran
    assert newcomer.id not in {c.lab_id for c in round_.scorecards}
    db.session.commit()
    login(platform_admin)
    page = client.get(f"/supervision/rounds/{round_.id}").get_data(as_text=True)
    assert f"Newcomer Lab: not assessed: admitted on {en_day(date(2026, 3, 31))}" in page
    assert (
        f"less than 6 months before its last day (that is, after {en_day(date(2026, 3, 1))})"
        in page
    )
    review_form = page.split('id="review-form"')[1].split("</form>")[0]
    assert "Newcomer Lab" not in review_form and "Veteran Lab" in review_form
    # a two-year round: labs admitted in its last six months wait for the next round
    two_years = rounds.create_round(
        platform_admin, round_.scheme, "2025–2026", date(2025, 1, 1), date(2026, 12, 31)
    )
    assert rounds.admission_cutoff(two_years) == date(2026, 6, 30)
    assert [lab.name for lab, _day in rounds.round_labs(two_years)[1]] == []
    assert rounds._months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
