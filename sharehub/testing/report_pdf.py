"""The report PDF, rendered by WeasyPrint with the project's CJK font (as billing's
invoice PDF), with a QR code (segno, SVG) that opens the public verification page."""

from __future__ import annotations

import base64

import segno
from flask import current_app, render_template, url_for
from flask_babel import force_locale

from sharehub.testing.report_models import SIGN_ORDER, Report


def verification_url(report: Report) -> str:
    return url_for(
        "testing_reports.verify",
        no=report.number,
        code=report.verification_code,
        _external=True,
    )


def qr_data_uri(text: str) -> str:
    svg = segno.make(text, error="m").svg_inline(scale=3)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def report_pdf(report: Report) -> bytes:
    from weasyprint import HTML  # type: ignore[import-untyped]

    locale = "en" if report.order.report_language.value == "en" else "zh_CN"
    url = verification_url(report)
    with force_locale(locale):
        html = render_template(
            "testing/report_pdf.html",
            report=report,
            roles=SIGN_ORDER,
            verify_url=url,
            qr=qr_data_uri(url),
        )
    return HTML(string=html, base_url=f"{current_app.static_folder}/").write_pdf()
