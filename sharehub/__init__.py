"""ShareHub: the open resource-sharing marketplace for quality-testing labs."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from sharehub.extensions import babel, csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_class=None) -> Flask:
    from config import INSTANCE_DIR, DevelopmentConfig, ProductionConfig, check_settings

    if config_class is None:
        env = os.environ.get("SHAREHUB_ENV", "development")
        config_class = ProductionConfig if env == "production" else DevelopmentConfig

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(INSTANCE_DIR),
    )
    app.config.from_object(config_class)
    check_settings(app.config)  # before anything starts: an unsafe production app never serves
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    _init_extensions(app)

    from sharehub.accounts.views import bp as accounts_bp
    from sharehub.admin.views import bp as admin_bp
    from sharehub.assessment.views import bp as assessment_bp
    from sharehub.billing.views import bp as billing_bp
    from sharehub.booking.views import bp as booking_bp
    from sharehub.calendar.views import bp as calendar_bp
    from sharehub.calibration.views import bp as calibration_bp
    from sharehub.catalog.views import bp as catalog_bp
    from sharehub.competence.views import bp as competence_bp
    from sharehub.core.views import bp as core_bp
    from sharehub.fapiao.views import bp as fapiao_bp
    from sharehub.stats.views import bp as stats_bp
    from sharehub.testing.views import bp as testing_bp
    from sharehub.vouchers.views import bp as vouchers_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(booking_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(billing_bp)
    app.register_blueprint(vouchers_bp)
    app.register_blueprint(stats_bp)
    app.register_blueprint(assessment_bp)
    app.register_blueprint(calibration_bp)

    app.register_blueprint(competence_bp)

    app.register_blueprint(fapiao_bp)

    app.register_blueprint(testing_bp)

    from sharehub.testing.report_views import bp as testing_reports_bp

    app.register_blueprint(testing_reports_bp)

    from sharehub.institutions.views import bp as institutions_bp

    app.register_blueprint(institutions_bp)

    from sharehub.core.errors import register_error_handlers
    from sharehub.core.security import register_input_check, register_security_headers
    from sharehub.core.templating import register_template_helpers

    register_error_handlers(app)
    register_security_headers(app)
    register_input_check(app)
    register_template_helpers(app)

    from sharehub import accounts, catalog

    accounts.init_app(app)
    catalog.init_app(app)

    from sharehub.api import init_api

    init_api(app)  # after the error pages: API errors under /api/v1 become problem+json

    from sharehub.cli import register_cli

    register_cli(app)

    from sharehub.booking.chain import install_guard

    install_guard()  # sealed usage records are never updated or deleted
    return app


def _init_extensions(app: Flask) -> None:
    import sharehub.core.db  # noqa: F401  (engine events)
    from sharehub.accounts.session import load_user
    from sharehub.core.i18n import select_locale, select_timezone

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(ROOT / "translations"),
    )
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "accounts.signin"
    login_manager.session_protection = "basic"

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    # Import every model so metadata is complete for Alembic.
    import sharehub.accounts.models  # noqa: F401
    import sharehub.api.models  # noqa: F401

    # Receivers of the domains' signals (booking/signals.py, billing/signals.py).
    import sharehub.api.webhooks  # noqa: F401
    import sharehub.assessment.models  # noqa: F401
    import sharehub.billing.models  # noqa: F401
    import sharehub.billing.refunds  # noqa: F401
    import sharehub.booking.models  # noqa: F401
    import sharehub.booking.waitlist  # noqa: F401
    import sharehub.calendar.models  # noqa: F401
    import sharehub.catalog.models  # noqa: F401
    import sharehub.competence.models  # noqa: F401
    import sharehub.core.models  # noqa: F401
    import sharehub.fapiao.models  # noqa: F401
    import sharehub.fapiao.services  # noqa: F401
    import sharehub.stats.models  # noqa: F401
    import sharehub.testing.models  # noqa: F401
    import sharehub.testing.work_models  # noqa: F401
    import sharehub.vouchers.models  # noqa: F401
    import sharehub.vouchers.services  # noqa: F401
    from sharehub.stats import rollups

    rollups.install()  # the daily usage rollup follows every write of usage records
