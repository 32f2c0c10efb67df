"""Language and time zone of the person looking at the page."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_login import current_user

LOCALE_COOKIE = "sharehub_lang"
# A language chosen before signing in that differs from the profile's: it holds for the
# session, until the user makes it the profile's or chooses again.
SESSION_LANG = "session_lang"


def supported_locales() -> list[str]:
    return list(current_app.config["LANGUAGES"])


def select_locale() -> str:
    """The remembered choice first (profile, then cookie), else Accept-Language."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    locales = supported_locales()
    if current_user and current_user.is_authenticated:
        if session.get(SESSION_LANG) in locales:
            return session[SESSION_LANG]
        if current_user.locale in locales:
            return current_user.locale
    chosen = session.get("lang") or request.cookies.get(LOCALE_COOKIE)
    if chosen in locales:
        return chosen
    match = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    if match in ("zh", "zh_CN"):
        return "zh_CN"
    if match == "en":
        return "en"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_TIMEZONE"]
    if current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def localized(obj, field: str = "name") -> str:
    """The English variant of a bilingual field when the page is in English and one exists."""
    from flask_babel import get_locale

    locale = get_locale()
    if locale is not None and locale.language == "en":
        value = getattr(obj, f"{field}_en", None)
        if value:
            return value
    return getattr(obj, field)


def user_zone():
    """The viewer's zone as a ZoneInfo (Babel may hand out pytz zones, which must not be
    used with datetime.replace or combine: they would apply local mean time)."""
    from zoneinfo import ZoneInfo

    from flask_babel import get_timezone

    return ZoneInfo(str(get_timezone()))
