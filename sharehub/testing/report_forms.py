"""Forms of the report pages. The results grid has one value and one verdict per sample
and parameter, named by their ids; `testing.reports.set_results` checks them all."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            InputRequired(message=_l("Give the reason.")),
            Length(max=2000, message=_l("At most 2000 characters.")),
        ],
    )


class FileForm(FlaskForm):
    file = FileField(_l("File"), validators=[InputRequired(message=_l("Choose a file."))])


class ResultsForm(FlaskForm):
    """The grid's fields are read from the request by `grid_rows` (their names depend on
    the order's samples and parameters); this form carries the CSRF check and the
    conclusion."""

    conclusion = TextAreaField(_l("Conclusion"), validators=[Length(max=5000)])


def grid_rows(form_data, order) -> list:
    """The results typed into the grid, in the grid's order, rows left empty skipped."""
    from sharehub.testing.reports import ResultRow

    rows = []
    for sample, service, parameter in grid(order):
        key = f"{sample.id}-{service.id}-{parameter.id}"
        value = (form_data.get(f"value-{key}") or "").strip()
        verdict = (form_data.get(f"verdict-{key}") or "").strip()
        if not value and not verdict:
            continue
        rows.append(
            ResultRow(
                sample=str(sample.id),
                parameter=parameter.name,
                value=value,
                verdict=verdict,
                service=str(service.id),
            )
        )
    return rows


def grid(order) -> list:
    """(sample, service, parameter) for every received sample and reported parameter."""
    from sharehub.testing.models import SampleStatus

    cells = []
    for sample in order.samples:
        if sample.status == SampleStatus.REFUSED or sample.code is None:
            continue
        for item in order.items:
            for parameter in item.parameters:
                cells.append((sample, item.service, parameter))
    return cells
