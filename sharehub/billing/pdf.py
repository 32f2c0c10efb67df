"""Invoice PDFs rendered by WeasyPrint with an embedded CJK font, so Chinese names print on
any reader. The font ships with the project (static/fonts, a subset of Noto Sans CJK SC under
the SIL Open Font License): a machine without system CJK fonts still prints Chinese."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale

from sharehub.billing.models import Invoice


def invoice_pdf(invoice: Invoice, locale: str = "zh_CN") -> bytes:
    from weasyprint import HTML

    with force_locale(locale):
        html = render_template("billing/pdf.html", invoice=invoice)
    return HTML(string=html, base_url=current_app.static_folder + "/").write_pdf()
