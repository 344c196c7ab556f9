"""POST /api/v1/signup-links: pre-filled, signed sign-up links."""
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from flask import current_app
from flask_smorest import abort

from hosted_signup import prefill as prefills

from ..web import fields as field_forms
from . import bp, problem_response
from .auth import current_tenant, documented_401
from .idempotency import HEADER_DOC, REPLAYED_DOC, idempotent
from .json_body import json_object_body
from .schemas import SignupLinkIn, SignupLinkOut

MAX_VALUE = 500
# hosted_signup.prefill reads at most this many characters of a token: a longer one would be a dead link.
MAX_TOKEN = 4000


def _typed(field, value) -> str | None:
    """An error message when a prefill value has the wrong JSON type for its field."""
    if field.type == "checkbox":
        return None if isinstance(value, bool) else "Must be true or false for a checkbox field."
    if not isinstance(value, str):
        return "Must be a string."
    if len(value) > MAX_VALUE:
        return f"Must be at most {MAX_VALUE} characters."
    return None


def _check(tenant, data) -> tuple[dict, dict]:
    """(clean prefill values, errors map) using the sign-up form's own validation."""
    errors: dict = {}
    if data.get("plan") is not None and tenant.plan(data["plan"]) is None:
        errors["plan"] = [f"Unknown plan; choose one of: {', '.join(p.id for p in tenant.plans)}."]
    if data.get("locale") is not None and data["locale"] not in tenant.languages:
        errors["locale"] = [f"Not one of the tenant's languages: {', '.join(tenant.languages)}."]
    known = {f.name: f for f in tenant.fields}
    prefill_errors: dict = {}
    form: dict = {}
    for name, value in data["prefill"].items():
        field = known.get(name)
        problem = "Unknown field." if field is None else _typed(field, value)
        if problem:
            prefill_errors[name] = [problem]
        else:
            form[name] = "1" if value is True else "" if value is False else value
    chosen = [f for f in tenant.fields if f.name in form]
    values, field_errors, _typed_values = field_forms.validate(
        chosen, form, locked={}, default_country=tenant.default_country, today=tenant.today())
    prefill_errors.update({name: [message] for name, message in field_errors.items()})
    for name in dict.fromkeys(data["locked"]):
        if name not in data["prefill"]:
            errors.setdefault("locked", []).append(f"'{name}' is locked but has no prefill value.")
        elif name not in values and name not in prefill_errors:
            errors.setdefault("locked", []).append(f"'{name}' is locked but its prefill value is empty.")
    if prefill_errors:
        errors["prefill"] = prefill_errors
    return values, errors


@bp.post("/signup-links")
@json_object_body
@idempotent
@bp.arguments(SignupLinkIn)
@bp.response(201, SignupLinkOut, headers=REPLAYED_DOC)
@bp.doc(parameters=[HEADER_DOC])
@documented_401
@problem_response(400, "Malformed Idempotency-Key header")
@problem_response(422, "Invalid body, plan, locale or prefill values (per-field `errors`), "
                       "or an Idempotency-Key reused with a different body")
@problem_response(503, "The tenant's theme files have errors")
def create_signup_link(data):
    """Create a sign-up link with signed prefill; locked fields cannot be edited by the customer."""
    tenant = current_tenant()
    values, errors = _check(tenant, data)
    if errors:
        abort(422, message="The request body is not valid.", messages={"json": errors})
    locked = list(dict.fromkeys(data["locked"]))
    token = prefills.sign(tenant.slug, plan=data.get("plan"), locale=data.get("locale"), values=values, locked=locked)
    if len(token) > MAX_TOKEN:
        abort(422, message="The request body is not valid.",
              messages={"json": {"prefill": ["Too much data for one link: prefill fewer or shorter values."]}})
    query = {"prefill": token}
    if data.get("locale"):
        query["lang"] = data["locale"]
    path = f"/t/{tenant.slug}/signup" + (f"/{data['plan']}" if data.get("plan") else "")
    max_age = current_app.config["WIDGET_SIGNUP_LINK_MAX_AGE"]
    return {
        "url": f"{current_app.config['WIDGET_PUBLIC_URL']}{path}?{urlencode(query)}",
        "expires_at": datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=max_age),
    }
