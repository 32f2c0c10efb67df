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

# The connection dropped after the request's change was committed (while the answer was
# being finished): the change is kept, so "nothing was saved" would make people repeat it.
COMMITTED_TEXT = _l(
    "The connection to the database was lost while your request was being finished. "
    "Your change was saved: reload the page to see it before doing it again."
)
COMMITTED_KEY = "sharehub.committed"  # set in the WSGI environ by the request's commit


# When not even the error page can be rendered (it reads the signed-in user from the
# database), both languages, without the translation machinery.
UNAVAILABLE_TEXT = (
    "数据库暂时无法连接，未保存任何内容，请稍后重试。\n"
    "The database could not be reached. Nothing was saved; please try again in a minute.\n"
)
COMMITTED_PLAIN_TEXT = (
    "完成请求时与数据库的连接中断。您的更改已保存，请刷新页面查看，勿重复操作。\n"
    "The connection to the database was lost while your request was being finished. "
    "Your change was saved: reload the page to see it before doing it again.\n"
)


def came_from() -> str | None:
    """The page of this site the request was sent from (a form's page), to link back to
    after a refusal; never another site's address."""
    from urllib.parse import urlsplit

    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or referrer.scheme not in ("http", "https"):
        return None
    back = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    if not back.startswith("/") or back.startswith("//") or back == request.full_path.rstrip("?"):
        return None
    return back


def _database_errors() -> tuple[type[Exception], ...]:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return (OperationalError, InterfaceError)


def unavailable_answer(app, exc):
    """The 503 answer to a database that went away: the error page in the user's language,
    or, when even that needs the database (the signed-in user), plain text in both."""
    from flask import request

    from sharehub.extensions import db

    committed = bool(request.environ.get(COMMITTED_KEY))
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool drops it
        pass
    app.logger.warning(
        "database unavailable on %s: %s", request.path, getattr(exc, "orig", None) or exc
    )
    headers = {"Retry-After": "30"}
    try:
        body = render_template(
            "errors/error.html",
            code=503,
            title=ERROR_TITLES[503],
            text=COMMITTED_TEXT if committed else ERROR_TEXTS[503],
        )
    except Exception:  # the page needed the database too (the signed-in user, locale)
        text = COMMITTED_PLAIN_TEXT if committed else UNAVAILABLE_TEXT
        return text, 503, {**headers, "Content-Type": "text/plain; charset=utf-8"}
    return body, 503, headers


class TeardownGuard:
    """WSGI middleware: a database error raised after the view answered (the session's
    rollback or close when the request's context ends, a commit done at teardown) escapes
    Flask's error handlers, and the server would send an empty 500. The answer is held
    until the request is torn down, and such an error answers the 503 page instead."""

    def __init__(self, app, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ, start_response):
        started: list = []

        def hold(status, headers, exc_info=None):
            started[:] = [status, headers, exc_info]
            return _no_write

        try:
            body = self.wsgi_app(environ, hold)
        except _database_errors() as exc:
            return self._unavailable(environ, exc)(environ, start_response)
        start_response(*started)
        return body

    def _unavailable(self, environ, exc):
        app = self.app
        try:
            with app.request_context(environ):
                response = app.process_response(app.make_response(unavailable_answer(app, exc)))
        except Exception:  # not even a request context: the plain text
            app.logger.exception("database unavailable while ending %s", environ.get("PATH_INFO"))
            committed = bool(environ.get(COMMITTED_KEY))
            response = app.response_class(
                COMMITTED_PLAIN_TEXT if committed else UNAVAILABLE_TEXT,
                status=503,
                headers={"Retry-After": "30"},
                content_type="text/plain; charset=utf-8",
            )
        return response


def _no_write(data):
    raise RuntimeError("the answer is held until the request is torn down")


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
                back=came_from(),
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
        return unavailable_answer(app, exc)

    _end_sessions_safely(app, db)
    app.wsgi_app = TeardownGuard(app, app.wsgi_app)


def _end_sessions_safely(app, db) -> None:
    """Flask-SQLAlchemy closes the request's session when its context ends. If the
    connection dropped, the close fails halfway and would leave the broken session in the
    registry (a later context could get it back): invalidate it, forget it, and let the
    error reach TeardownGuard, which answers 503."""
    database_errors = _database_errors()

    def end_session(exc):
        try:
            db.session.remove()
        except database_errors:
            try:
                db.session.registry().invalidate()
            except Exception:  # already as closed as it gets
                pass
            db.session.registry.clear()
            raise

    funcs = app.teardown_appcontext_funcs
    if db._teardown_session in funcs:
        funcs[funcs.index(db._teardown_session)] = end_session
