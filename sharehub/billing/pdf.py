"""Invoice PDFs rendered by WeasyPrint with an embedded CJK font (Noto Sans CJK, from the
system's fonts-noto-cjk), so Chinese names print on any reader."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale

from sharehub.billing.models import Invoice


def invoice_pdf(invoice: Invoice, locale: str = "zh_CN") -> bytes:
    from weasyprint import HTML

    with force_locale(locale):
        html = render_template("billing/pdf.html", invoice=invoice)
    return HTML(string=html).write_pdf()
