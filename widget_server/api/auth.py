"""Bearer API keys: each key belongs to one tenant and sees only that tenant's data."""
from flask import current_app, g, request
from flask_smorest import abort
from sqlalchemy import select

from ..extensions import db
from ..storage.models import ApiKey
from ..storage.models.api_key import hash_key
from ..tenants import TenantUnavailable
from ..web.problems import problem
from . import bp, problem_response

WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": "How to authenticate (RFC 6750)", "schema": {"type": "string"}}}


def documented_401(view):
    """Declare the 401 answer every API call can give."""
    return problem_response(401, "Missing, malformed, unknown or revoked API key", headers=WWW_AUTHENTICATE)(view)


@bp.before_request
def authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return problem(401, "Send your API key as 'Authorization: Bearer <key>'.", headers={"WWW-Authenticate": "Bearer"})
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(raw.strip()), ApiKey.revoked_at.is_(None)))
    if key is None:
        return problem(401, "The API key is not valid.", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    g.api_tenant = key.tenant


def current_tenant():
    """The tenant of the calling key, with its theme (503 problem if the theme is broken)."""
    try:
        return current_app.extensions["widget_themes"].get(g.api_tenant)
    except TenantUnavailable:
        abort(503, message="This tenant's theme files have errors; run `widget-server themes check` to see them.")
