"""The voucher programme report CSV neutralises firm and lab names a spreadsheet would run."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from sharehub.accounts.models import Organisation

FIRM = "+SUM(1,2)精密"
LAB = "@SUM(A1)实验室"


def test_report_csv_escapes_formulas(client, db, history, officer, login_as):
    def rename(old, new):
        org = db.session.scalar(sa.select(Organisation).where(Organisation.name == old))
        org.name = new

    rename("甲精密制造有限公司", FIRM)
    rename("X检测实验室", LAB)
    db.session.commit()
    login_as(officer)
    response = client.get(f"/vouchers/programmes/{history.id}/report.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    names = [row[1] for row in rows[1:]]
    assert "'" + FIRM in names and "'" + LAB in names
    assert not any(name.startswith(("+", "@", "=")) for name in names)
