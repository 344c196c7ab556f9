"""The customer self-service portal: entered with a one-time link, themed, frameable."""
from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("portal", __name__, template_folder="templates", url_prefix="/t/<tenant_slug>/portal")

# The portal's navigation: (endpoint, label). Each page module appends its own entry;
# templates/portal/_nav.html shows them in this order.
NAV: list[tuple[str, object]] = [("portal.overview", _l("Overview"))]


@bp.app_context_processor
def portal_navigation():
    return {"portal_nav": NAV}

from . import views  # noqa: E402,F401  (registers the routes)
