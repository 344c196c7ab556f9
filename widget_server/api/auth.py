"""Bearer API keys: each key belongs to one tenant and sees only that tenant's data."""
from flask import current_app, g, request
from sqlalchemy import select

from ..extensions import db
from ..storage.models import ApiKey
from ..storage.models.api_key import hash_key
from ..web.problems import problem
from . import bp



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
    return current_app.extensions["widget_themes"].get(g.api_tenant)
