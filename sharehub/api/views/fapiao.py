"""Fapiao (增值税发票) through the API: an enterprise's invoice profiles, asking for the
fapiao of a statement with one of them, the fapiao requests of the enterprise or of the
laboratory, and the download of an issued fapiao.

The rules are sharehub.fapiao.services', as on the pages. A token sees the requests of its
organisation: those it asked for, or for a laboratory's managers, those made to the lab.
Anything else is answered 404.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.api import fapiao_schemas as s
from sharehub.api.auth import require
from sharehub.api.blueprint import Blueprint
from sharehub.api.idempotency import write
from sharehub.api.models import ApiToken
from sharehub.api.pagination import page_of
from sharehub.api.views.bookings import TOKEN, acts_as_lab
from sharehub.api.views.lab import invoice_for
from sharehub.core.errors import NotFound, PermissionDenied
from sharehub.core.uploads import send_stored
from sharehub.extensions import db
from sharehub.fapiao import services
from sharehub.fapiao.models import Fapiao, FapiaoRequest, InvoiceProfile

fapiao = Blueprint(
    "api_fapiao",
    __name__,
    url_prefix="/api/v1",
    description=(
        "Fapiao (增值税发票) of statements: invoice profiles, requests and the issued files "
        "(scopes fapiao:read, fapiao:write)"
    ),
)
BLUEPRINTS = (fapiao,)
ID = "int(max=2147483647)"
FILE = {"type": "string", "format": "binary"}
FILE_TYPES = ("application/pdf", "application/ofd", "application/xml")  # fapiao.services


def _member(token: ApiToken) -> ApiToken:
    if token.user.membership_in(token.organisation_id) is None:
        raise PermissionDenied(_l("Only the organisation's members keep its invoice profiles."))
    return token


@fapiao.route("/invoice-profiles")
@fapiao.doc(security=TOKEN)
@fapiao.response(200, s.ProfileList)
def list_profiles():
    """The organisation's invoice profiles (开票信息), the default first"""
    token = _member(require("fapiao:read"))
    return {"items": services.profiles_of(token.organisation_id)}


@fapiao.route("/fapiao-requests")
@fapiao.doc(security=TOKEN)
@fapiao.arguments(s.FapiaoRequestQuery, location="query", as_kwargs=True)
@fapiao.response(200, s.FapiaoRequestPage)
def list_requests(page: int, per_page: int, side: str, status=None):
    """Fapiao requests asked by the organisation (side=customer) or made to its
    laboratory (side=lab, its managers), newest first"""
    token = require("fapiao:read")
    query = sa.select(FapiaoRequest)
    if side == "lab":
        if not acts_as_lab(token):
            raise PermissionDenied(_l("Only the laboratory's managers handle its fapiao requests."))
        query = query.where(FapiaoRequest.lab_id == token.organisation_id)
    else:
        query = query.where(FapiaoRequest.customer_org_id == _member(token).organisation_id)
    if status:
        query = query.where(FapiaoRequest.status == status)
    return page_of(query.order_by(FapiaoRequest.id.desc()), page, per_page)


@fapiao.route("/fapiao-requests", methods=["POST"])
@write("fapiao:write")
@fapiao.doc(security=TOKEN)
@fapiao.arguments(s.FapiaoRequestCreate)
@fapiao.response(201, s.FapiaoRequestSchema)
def create_request(data: dict):
    """Ask for the fapiao of an issued statement with one of the organisation's profiles

    One open request per statement: a second one is answered 409. The amount is the
    statement's total less its credit notes, tax included.
    """
    token = require("fapiao:write")
    invoice = invoice_for(token, data["statement_id"])
    if invoice.customer_org_id != token.organisation_id:
        raise PermissionDenied(_l("Only the customer's members ask for the fapiao of a statement."))
    profile = db.session.get(InvoiceProfile, data["profile_id"])
    if profile is None or profile.organisation_id != token.organisation_id:
        raise NotFound(_l("No such invoice profile."), "profile_id")
    return services.request_fapiao(token.user, invoice, profile)


@fapiao.route(f"/fapiao/<{ID}:fapiao_id>/file")
@fapiao.doc(
    security=TOKEN,
    responses={
        "200": {
            "description": "The fapiao as the tax system issued it: PDF, OFD or XML",
            "content": {kind: {"schema": FILE} for kind in FILE_TYPES},
        }
    },
)
def download(fapiao_id: int):
    """Download an issued fapiao (or red fapiao) of the organisation's requests"""
    token = require("fapiao:read")
    found = db.session.get(Fapiao, fapiao_id)
    request = found.request if found is not None else None
    if (
        request is None
        or not request.can_view(token.user)
        or not (
            request.customer_org_id == token.organisation_id
            or request.lab_id == token.organisation_id
            and acts_as_lab(token)
        )
    ):
        raise NotFound(_l("No such fapiao."))
    return send_stored(found)
