"""Points, grades and ranks of the default scheme, against figures worked out by hand."""

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
        ("org_management", 17.0),
        ("org_staff_platform", 15.0),
        ("effective_hours", 8.0),
        ("utilisation", 5.71),
        ("revenue_rate", 15.0),
        ("share_rate", 10.0),
        ("satisfaction", 4.5),
        ("external_orgs", 3.0),
    ]
    assert result.total == 78.21
    assert result.groups == {"organisation": 32.0, "operation": 28.71, "sharing": 17.5}
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
