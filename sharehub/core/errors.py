"""Domain errors raised by services, and the pages that answer HTTP errors."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """An error the user caused; its message is shown to them. Maps to an HTTP status."""

    status = 400

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class ValidationError(DomainError):
    status = 400


class PermissionDenied(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


ERROR_TITLES = {
    400: _l("Bad request"),
    403: _l("You may not do this"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("The upload is too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("Unavailable for a moment"),
}

ERROR_TEXTS = {
    400: _l("The request could not be understood. Please check what you entered."),
    403: _l("Your account does not have access to this page."),
    404: _l("The page you asked for does not exist or was moved."),
    405: _l("This address does not accept that kind of request."),
    409: _l("The change conflicts with the current state. Reload the page and try again."),
    413: _l(
        "The files you sent are larger than allowed (32 MB in total). Nothing was saved; "
        "go back and choose smaller files."
    ),
    429: _l("Too many attempts in a short time. Wait a minute and try again."),
    500: _l("The error was logged. Please try again later."),
    503: _l("The database could not be reached. Nothing was saved; please try again in a minute."),
}


# When not even the error page can be rendered (it reads the signed-in user from the
# database), both languages, without the translation machinery.
UNAVAILABLE_TEXT = (
    "数据库暂时无法连接，未保存任何内容，请稍后重试。\n"
    "The database could not be reached. Nothing was saved; please try again in a minute.\n"
)


def register_error_handlers(app) -> None:
    from sqlalchemy.exc import InterfaceError, OperationalError
    from werkzeug.exceptions import HTTPException

    from sharehub.extensions import db

    def render_error(code: int, message=None):
        return (
            render_template(
                "errors/error.html",
                code=code,
                title=ERROR_TITLES.get(code, ERROR_TITLES[400]),
                text=message or ERROR_TEXTS.get(code, ERROR_TEXTS[400]),
            ),
            code,
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        return render_error(exc.code)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        return render_error(exc.status, exc.message)

    @app.errorhandler(500)
    def server_error(exc):
        db.session.rollback()
        app.logger.error("500 on %s", request.path)
        return render_error(500)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(exc):
        """The database went away (restart, failover, network) or is busy: the transaction
        is rolled back by the server, so nothing is half-written; say so and ask for a
        retry. The pool checks connections before use (pool_pre_ping), so the next request
        gets a fresh one once the database is back, without restarting the app."""
        try:
            db.session.rollback()
        except Exception:  # the connection is gone; the pool drops it
            pass
        app.logger.warning("database unavailable on %s: %s", request.path, exc.orig)
        try:
            body, _ = render_error(503)
        except Exception:  # the page needed the database too (the signed-in user, locale)
            return UNAVAILABLE_TEXT, 503, {"Retry-After": "30", "Content-Type": "text/plain"}
        return body, 503, {"Retry-After": "30"}
