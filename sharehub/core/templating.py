"""Template filters and the values every page needs (languages, notifications); each domain
adds its own (the signed-in organisation, a listing's price for this viewer) in its `init_app`."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

from sharehub.core import dates
from sharehub.core.audit_labels import action_label
from sharehub.core.i18n import localized
from sharehub.core.money import format_fen
from sharehub.core.uploads import human_size


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["localized"] = localized
    app.jinja_env.filters["filesize"] = human_size
    app.jinja_env.filters["money"] = format_fen
    # One date and time style per language (sharehub/core/dates.py); `dt('weekday')` names the day.
    app.jinja_env.filters["dt"] = lambda value, fmt=None: dates.format_moment(
        value, weekday=fmt == "weekday"
    )
    app.jinja_env.filters["day"] = lambda value, fmt=None: dates.format_day(
        value, weekday=fmt == "weekday"
    )
    app.jinja_env.filters["day_short"] = dates.format_day_short
    app.jinja_env.filters["clock"] = dates.format_clock
    app.jinja_env.filters["month"] = dates.format_month
    app.jinja_env.filters["quantity"] = dates.format_quantity
    app.jinja_env.filters["audit_action"] = action_label
    app.jinja_env.globals["day_range"] = dates.format_day_range
    app.jinja_env.globals["time_range"] = dates.format_time_range

    app.jinja_env.globals["timedelta"] = timedelta

    def unread_notifications() -> int:
        import sqlalchemy as sa

        from sharehub.core.models import Notification
        from sharehub.extensions import db

        return db.session.execute(
            sa.select(sa.func.count(Notification.id)).where(
                Notification.user_id == current_user.id, Notification.read_dt.is_(None)
            )
        ).scalar_one()

    app.jinja_env.globals["unread_notifications"] = unread_notifications

    @app.context_processor
    def inject():
        locale = get_locale()
        lang = "en" if locale is not None and locale.language == "en" else "zh_CN"
        if not has_request_context():  # mail rendered by a command or a service
            return {"page_lang": lang}
        return {
            "page_lang": lang,
            "html_lang": "en" if lang == "en" else "zh-CN",
            "languages": app.config["LANGUAGES"],
            "request_path": request.full_path.rstrip("?"),
        }
