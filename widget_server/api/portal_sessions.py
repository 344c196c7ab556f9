"""POST /api/v1/portal-sessions: a one-time link into the customer portal."""
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urlsplit

from flask import current_app, g
from flask_smorest import abort

from ..extensions import db
from ..portal import access
from ..storage.queries import by_public_id
from ..storage.models import Customer
from ..web.embedding import origin_allowed
from . import bp, problem_response
from .auth import current_tenant, documented_401
from .idempotency import HEADER_DOC, REPLAYED_DOC, idempotent
from .json_body import json_object_body
from .schemas import PortalSessionIn, PortalSessionOut


@bp.post("/portal-sessions")
@json_object_body
@idempotent
@bp.arguments(PortalSessionIn)
@bp.response(201, PortalSessionOut, headers=REPLAYED_DOC)
@bp.doc(parameters=[HEADER_DOC])
@documented_401
@problem_response(422, "Unknown customer, locale not offered, or return_url not on the allowlist (per-field `errors`)")
@problem_response(503, "The tenant's theme files have errors")
def create_portal_session(data):
    """A one-time portal URL for a customer: valid 10 minutes, usable once."""
    tenant = current_tenant()
    errors = {}
    customer = by_public_id(db.session, Customer, g.api_tenant, data["customer_id"])
    if customer is None:
        errors["customer_id"] = ["No such customer."]
    if data.get("locale") is not None and data["locale"] not in tenant.languages:
        errors["locale"] = [f"Not one of the tenant's languages: {', '.join(tenant.languages)}."]
    if data.get("return_url"):
        parts = urlsplit(data["return_url"])
        if not origin_allowed(f"{parts.scheme}://{parts.netloc}", tenant.embed_origins):
            errors["return_url"] = ["Its origin is not on the tenant's embed allowlist."]
    if errors:
        abort(422, message="The request is not valid.", messages={"json": errors})
    token, token_id = access.issue(tenant.slug, customer, flow=data.get("flow"), return_url=data.get("return_url"),
                                   locale=data.get("locale"))
    max_age = access.link_seconds(tenant)  # the tenant's [portal] link_minutes
    return {
        "id": token_id,
        "url": f"{current_app.config['WIDGET_PUBLIC_URL']}/t/{tenant.slug}/portal/enter?{urlencode({'token': token})}",
        "expires_at": datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=max_age),
    }
