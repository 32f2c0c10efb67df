"""The label sheet of an order's received samples: a PDF (WeasyPrint, the embedded CJK
font as billing/pdf.py) with each sample's ID, name and a QR code of the ID made by
segno as inline SVG (a data URI: no network, no file)."""

from __future__ import annotations

import segno
from flask import current_app, render_template
from flask_babel import force_locale

from sharehub.testing.models import Sample, TestingRequest


def qr_data_uri(text: str) -> str:
    return segno.make(text, error="m", micro=False).svg_data_uri(scale=4, border=2)


def label_sheet_pdf(request: TestingRequest, samples: list[Sample], locale: str = "zh_CN") -> bytes:
    from weasyprint import HTML

    labels = [(sample, qr_data_uri(sample.code or "")) for sample in samples]
    with force_locale(locale):
        html = render_template("testing/labels.html", req=request, labels=labels)
    return HTML(string=html, base_url=current_app.static_folder + "/").write_pdf()
