"""Dates and times in one style per language: Chinese as people write them ("12月7日 星期一
10:30", "2026年12月", "11月30日–12月6日"), English in Babel's medium formats; and every page
that shows dates, rendered in Chinese, carries no English month or day name and no day-month
order."""

import re
from datetime import date, datetime, timedelta

from flask_babel import force_locale

from sharehub.core import dates
from sharehub.core.clock import LAB_TZ
from tests.support import clock
from tests.support.billing import issued_for

ENGLISH_NAMES = re.compile(
    r"\b(January|February|March|April|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
    r"|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b"
)
# "7 十二月", "30 11月", "7十二月": a day before its month.
DAY_MONTH = re.compile(r"\b\d{1,2} ?(?:[一二三四五六七八九十]+|\d{1,2})月")


def test_chinese_dates_as_people_write_them(app):
    year = clock.today().year
    with app.test_request_context(), force_locale("zh_CN"):
        moment = datetime(year, 12, 7, 10, 30, tzinfo=LAB_TZ)
        weekday = "一二三四五六日"[moment.weekday()]  # 7 December's weekday in the suite's year
        assert dates.format_moment(moment, weekday=True) == f"12月7日 星期{weekday} 10:30"
        assert dates.format_moment(moment) == "12月7日 10:30"
        assert dates.format_day(date(year + 1, 1, 3)) == f"{year + 1}年1月3日"
        assert dates.format_month(date(year, 12, 1)) == f"{year}年12月"
        assert dates.format_day_range(date(year, 11, 30), date(year, 12, 6)) == "11月30日–12月6日"
        assert dates.format_day_range(date(year, 12, 7), date(year, 12, 13)) == "12月7日–13日"
        assert (
            dates.format_day_range(date(year, 12, 28), date(year + 1, 1, 3))
            == f"{year}年12月28日–{year + 1}年1月3日"
        )
        assert dates.format_quantity("1.5 h") == "1.5 小时"
        assert dates.format_quantity("2 × sample") == "2 × 样品"
    with app.test_request_context(), force_locale("en"):
        assert dates.format_day(date(2026, 12, 7)) == "Dec 7, 2026"
        assert dates.format_day(date(2026, 12, 7), weekday=True) == "Mon, Dec 7, 2026"
        assert dates.format_month(date(2026, 12, 1)) == "December 2026"
        assert dates.format_day_range(date(2026, 11, 30), date(2026, 12, 6)) == (
            "Nov 30\u2009–\u2009Dec 6, 2026"
        )
        assert dates.format_quantity("1.5 h") == "1.5 h"


def _assert_chinese_dates(html: str, page: str) -> None:
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", "|", text)  # attribute values (ISO dates in links) are not read
    assert not ENGLISH_NAMES.findall(text), (page, ENGLISH_NAMES.findall(text)[:5])
    assert not DAY_MONTH.findall(text), (page, DAY_MONTH.findall(text)[:5])


def test_pages_with_dates_in_chinese(
    db, client, login, booked, lab, lab_manager, make_service, make_request
):
    lab_manager.locale = "zh_CN"
    buyer = booked.customer_user
    buyer.locale = "zh_CN"
    invoice = issued_for(lab_manager, booked)
    service = make_service(lab)
    order = make_request(buyer, booked.customer_org, [service])
    db.session.commit()
    day = booked.starts_dt.astimezone(LAB_TZ).date()

    login(lab_manager)
    lab_pages = [
        f"/bookings/{booked.id}",
        f"/lab/bookings?view=week&date={day.isoformat()}",
        f"/lab/bookings?view=month&date={day.isoformat()}",
        f"/lab/bookings?view=day&date={day.isoformat()}",
        f"/invoices/{invoice.id}",
        f"/lab/reconciliation?month={day:%Y-%m}",
    ]
    for page in lab_pages:
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.get_data(as_text=True)
        _assert_chinese_dates(html, page)
    booking_html = client.get(f"/bookings/{booked.id}").get_data(as_text=True)
    assert f"{day.month}月{day.day}日 星期" in booking_html
    week_html = client.get(f"/lab/bookings?view=week&date={day.isoformat()}").get_data(as_text=True)
    monday = day - timedelta(days=day.weekday())
    assert f"{monday.month}月{monday.day}日–" in week_html
    month_html = client.get(f"/lab/bookings?view=month&date={day.isoformat()}").get_data(
        as_text=True
    )
    assert f"{day.year}年{day.month}月" in month_html
    assert "小时" in client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    client.post("/account/signout")

    login(buyer)
    buyer_pages = [
        f"/bookings/{booked.id}",
        "/bookings",
        f"/catalog/{booked.listing_id}/book?week={day.isoformat()}",
        f"/catalog/{booked.listing_id}/book?view=month&week={day.isoformat()}",
        f"/invoices/{invoice.id}",
        "/invoices",
        f"/invoices/statement?month={day:%Y-%m}",
        f"/orders/{order.id}",
    ]
    for page in buyer_pages:
        response = client.get(page)
        assert response.status_code == 200, page
        _assert_chinese_dates(response.get_data(as_text=True), page)
    assert f"{day.year}年{day.month}月" in client.get(
        f"/invoices/statement?month={day:%Y-%m}"
    ).get_data(as_text=True)
