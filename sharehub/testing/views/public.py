"""Public pages of commissioned testing: the service search and a service's page."""

from __future__ import annotations

from typing import Any, cast

from flask import render_template, request
from flask_login import current_user

from sharehub.accounts.session import current_org
from sharehub.catalog.models import FIELD_LABELS
from sharehub.catalog.pricing import TIER_LABELS, tier_for
from sharehub.catalog.queries import facet_labels
from sharehub.core.clock import local_today
from sharehub.testing import queries
from sharehub.testing.accreditation import marks_for
from sharehub.testing.blueprint import bp


@bp.route("/testing")
def search():
    params = queries.ServiceSearch.from_args(request.args)
    rows = queries.search_services(params, local_today())
    return render_template(
        "testing/search.html",
        params=params,
        rows=rows,
        fields=FIELD_LABELS,
        **facet_labels(),
    )


@bp.route("/testing/services/<int:service_id>")
def service_page(service_id: int):
    service = queries.get_service(service_id, current_user)
    org = current_org() if current_user.is_authenticated else None
    tier = tier_for(cast(Any, service), org)  # a service has a listing's tiers
    return render_template(
        "testing/service.html",
        service=service,
        marks=marks_for(service, local_today()),
        tier=tier,
        tier_label=TIER_LABELS[tier],
        price=service.price_for(tier),
        can_order=org is not None and org.kind.value == "enterprise",
    )
