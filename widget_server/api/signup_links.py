"""POST /api/v1/signup-links: pre-filled, signed sign-up links."""
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlencode

from flask import current_app
from flask_smorest import abort

from hosted_signup import prefill as prefills

from ..web import fields as field_forms
from . import bp
from .auth import current_tenant
from .idempotency import idempotent
from .schemas import SignupLinkIn, SignupLinkOut


def _check(tenant, data) -> tuple[dict, dict]:
    """(clean prefill values, errors map) using the sign-up form's own validation."""
    errors: dict = {}
    if data.get("plan") is not None and tenant.plan(data["plan"]) is None:
        errors["plan"] = [f"Unknown plan; choose one of: {', '.join(p.id for p in tenant.plans)}."]
    if data.get("locale") is not None and data["locale"] not in tenant.languages:
        errors["locale"] = [f"Not one of the tenant's languages: {', '.join(tenant.languages)}."]
    known = {f.name: f for f in tenant.fields}
    prefill = data["prefill"]
    unknown = [name for name in prefill if name not in known]
    prefill_errors = {name: ["Unknown field."] for name in unknown}
    for name in data["locked"]:
        if name not in prefill:
            errors.setdefault("locked", []).append(f"'{name}' is locked but has no prefill value.")
    form = {name: ("1" if value is True else "" if value is False else value) for name, value in prefill.items() if name in known}
    chosen = [f for f in tenant.fields if f.name in form]
    values, field_errors, _typed = field_forms.validate(chosen, form, locked={}, default_country=tenant.default_country, today=date.today())
    prefill_errors.update({name: [message] for name, message in field_errors.items()})
    if prefill_errors:
        errors["prefill"] = prefill_errors
    return values, errors


@bp.post("/signup-links")
@idempotent
@bp.arguments(SignupLinkIn)
@bp.response(201, SignupLinkOut)
@bp.alt_response(401, description="Missing or invalid API key")
@bp.alt_response(422, description="Invalid plan, locale or prefill values")
def create_signup_link(data):
    """Create a sign-up link with signed prefill; locked fields cannot be edited by the customer."""
    tenant = current_tenant()
    values, errors = _check(tenant, data)
    if errors:
        abort(422, message="The request body is not valid.", messages={"json": errors})
    token = prefills.sign(tenant.slug, plan=data.get("plan"), locale=data.get("locale"), values=values, locked=data["locked"])
    query = {"prefill": token}
    if data.get("locale"):
        query["lang"] = data["locale"]
    path = f"/t/{tenant.slug}/signup" + (f"/{data['plan']}" if data.get("plan") else "")
    max_age = current_app.config["WIDGET_SIGNUP_LINK_MAX_AGE"]
    return {
        "url": f"{current_app.config['WIDGET_PUBLIC_URL']}{path}?{urlencode(query)}",
        "expires_at": datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=max_age),
    }
