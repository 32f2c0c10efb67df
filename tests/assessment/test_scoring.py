"""Points, grades and ranks of the default scheme, against figures worked out by hand."""

from decimal import Decimal as D
from fractions import Fraction

import pytest

from sharehub.assessment import scoring
from sharehub.assessment.rounds import DEFAULT_INDICATORS

INDICATORS = [
    scoring.Indicator(
        code=c, name=n, name_en=e, group=g, qualitative=q, metric=m, weight=w, target=t, cap=cap
    )
    for c, n, e, g, q, m, w, t, cap in DEFAULT_INDICATORS
]


def test_the_default_scheme_has_100_points_40_40_20():
    groups = {}
    for ind in INDICATORS:
        groups[ind.group] = groups.get(ind.group, 0) + ind.cap
    assert groups == {"organisation": 40, "operation": 40, "sharing": 20}


def test_a_lab_scored_by_hand():
    metrics = {
        "effective_hours": 1600.0,
        "unit_count": 2,  # 800 h per unit: 1 point per 100 h → 8
        "utilisation_rated": 0.5714,  # 10 × 0.5714 ÷ 1 = 5.714 → 5.71
        "revenue_rate": 0.25,  # 15 × 0.25 ÷ 0.20 = 18.75 → capped at 15
        "share_rate": 0.25,  # 10 × 0.25 ÷ 0.10 = 25 → capped at 10
        "satisfaction": 4.5,  # 5 × 4.5 ÷ 5 = 4.5
        "external_orgs_served": 3,  # 1 × 3 ÷ 1 = 3
    }
    reviews = {"org_management": [18, 16], "org_staff_platform": [15]}
    result = scoring.score(INDICATORS, metrics, reviews)
    assert [(line.indicator.code, line.points) for line in result.lines] == [
        ("org_management", D("17.00")),
        ("org_staff_platform", D("15.00")),
        ("effective_hours", D("8.00")),
        ("utilisation", D("5.71")),
        ("revenue_rate", D("15.00")),
        ("share_rate", D("10.00")),
        ("satisfaction", D("4.50")),
        ("external_orgs", D("3.00")),
    ]
    assert result.total == D("78.21")
    assert result.groups == {"organisation": 32, "operation": D("28.71"), "sharing": D("17.5")}
    assert scoring.grade(scoring.DEFAULT_BANDS, result.total)["name"] == "良好"
    lines = {line.indicator.code: line for line in result.lines}
    assert lines["revenue_rate"].working == "min(15, 15 × 0.25 ÷ 0.2) = 15"
    assert lines["effective_hours"].value == 800.0
    assert lines["org_management"].working == "(18 + 16) ÷ 2 = 17"


def test_missing_values_and_reviews_earn_nothing():
    result = scoring.score(INDICATORS, {"unit_count": 0, "share_rate": None}, {})
    assert result.total == 0
    assert {line.working for line in result.lines} == {"no value → 0", "no review → 0"}
    negative = scoring.score(INDICATORS, {"share_rate": -0.5}, {})
    assert negative.total == 0


@pytest.mark.parametrize(
    ("total", "grade"),
    [(100, "优秀"), (90, "优秀"), (89.99, "良好"), (75, "良好"), (74.99, "合格"), (60, "合格"),
     (59.99, "较差"), (0, "较差")],
)  # fmt: skip
def test_grade_bands(total, grade):
    assert scoring.grade(scoring.DEFAULT_BANDS, total)["name"] == grade


def test_equal_totals_rank_by_the_sharing_score_and_full_ties_share_a_rank():
    ranks = scoring.rank(
        [(1, 80.0, 15.0), (2, 80.0, 17.0), (3, 90.0, 10.0), (4, 80.0, 17.0), (5, 59.99, 0.0)]
    )
    assert ranks == {3: 1, 2: 2, 4: 2, 1: 4, 5: 5}


def test_exact_points_reach_the_pass_mark_where_rounded_floats_fell_short():
    """By hand: reviews 20 + 20 = 40; revenue rate 1/4 → capped at 15; utilisation
    exactly 0.0185 → 10 × 0.0185 = 0.185 → 0.19 (the binary float 0.185 is 0.18499…, which
    rounded to 0.18); mean rating 4.81 → 4.81. Total 60.00: 合格, not 59.99 较差."""
    metrics = {
        "revenue_rate": Fraction(1, 4),
        "utilisation_rated": Fraction(37, 2000),
        "satisfaction": Fraction(481, 100),
    }
    reviews = {"org_management": [20], "org_staff_platform": [20]}
    result = scoring.score(INDICATORS, metrics, reviews)
    lines = {line.indicator.code: line for line in result.lines}
    assert lines["utilisation"].points == D("0.19")
    assert lines["utilisation"].working == "min(10, 10 × 0.0185 ÷ 1) = 0.19"
    assert result.total == D("60.00")
    assert result.total == sum(line.points for line in result.lines)
    assert scoring.grade(scoring.DEFAULT_BANDS, result.total)["name"] == "合格"


def test_a_round_scores_the_exact_hours_not_the_rounded_ones(
    db, lab, make_org, make_listing, make_usage, make_invoice, platform_admin
):
    """By hand, March 2026 (31 days), one general unit worth 10,000 CNY used 90 min by the
    lab itself: effective 1.5 h → 1 point per 100 h = 0.015 → 0.02 (the float 0.015
    rounded to 0.01); utilisation 1.5 ÷ (1,400 × 31 ÷ 365) = 0.012615… → 0.13 points.
    Revenue 3,000 CNY internal ÷ 10,000 → capped at 15; five firms checked in without
    using any time → 5 external organisations → 5 points; reviews 19.85 + 20.
    Total 19.85 + 20 + 0.02 + 0.13 + 15 + 5 = 60.00 (合格); rounded floats gave 59.99."""
    from datetime import date

    from sharehub.assessment import rounds

    unit = make_listing(lab, usage_class="general", original_value=1_000_000).units[0]
    make_usage(unit, lab, "2026-03-02 09:00", "2026-03-02 10:30", run=90)
    for _n in range(5):
        make_usage(unit, make_org(), "2026-03-03 09:00", "2026-03-03 09:00")
    make_invoice(lab, lab, 300_000, "2026-03-05 10:00")
    scheme = rounds.ensure_default_scheme()
    round_ = rounds.create_round(
        platform_admin, scheme, "2026年3月", date(2026, 3, 1), date(2026, 3, 31)
    )
    rounds.review(platform_admin, round_, lab, "org_management", 19.85, "制度健全")
    rounds.review(platform_admin, round_, lab, "org_staff_platform", 20, "平台在线")
    rounds.compute(platform_admin, round_)
    card = next(c for c in round_.scorecards if c.lab_id == lab.id)
    points = {line.code: line.points for line in card.lines}
    assert (points["effective_hours"], points["utilisation"]) == (0.02, 0.13)
    assert (points["revenue_rate"], points["external_orgs"]) == (15, 5)
    assert (card.total, card.grade) == (60.0, "合格")
