"""Users, organisations, memberships, regions and clusters."""

from __future__ import annotations


def init_app(app) -> None:
    """Every page knows the signed-in member's organisation."""
    from flask import has_request_context
    from flask_login import current_user

    from sharehub.accounts.session import current_membership

    @app.context_processor
    def membership():
        if not has_request_context():  # mail rendered by a command or a service
            return {}
        found = current_membership() if current_user.is_authenticated else None
        return {"current_membership": found, "current_org": found.organisation if found else None}
