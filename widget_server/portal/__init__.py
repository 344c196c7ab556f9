"""The customer self-service portal: entered with a one-time link, themed, frameable."""
from flask import Blueprint, g
from flask_babel import lazy_gettext as _l

bp = Blueprint("portal", __name__, template_folder="templates", url_prefix="/t/<tenant_slug>/portal")

# The portal's navigation: (endpoint, label). Each page module appends its own entry;
# templates/portal/_nav.html shows them in this order.
NAV: list[tuple[str, object]] = [("portal.overview", _l("Overview"))]
# endpoint -> shown(tenant): entries only for tenants whose [portal] policy offers the page.
NAV_WHEN: dict[str, object] = {}


@bp.context_processor
def portal_navigation():
    """Only for the portal's own pages (a blueprint context processor): nothing else shows its navigation."""
    tenant = g.get("tenant")
    return {"portal_nav": [(e, label) for e, label in NAV if tenant is None or e not in NAV_WHEN or NAV_WHEN[e](tenant)]}

from . import views  # noqa: E402,F401  (registers the routes)
from . import invoices  # noqa: E402,F401
from . import payment_method  # noqa: E402,F401
from . import plan  # noqa: E402,F401
from . import login  # noqa: E402,F401
from . import profile  # noqa: E402,F401
from . import history  # noqa: E402,F401
from . import pause  # noqa: E402,F401
from . import card  # noqa: E402,F401
from . import cancel  # noqa: E402,F401
from . import data_export  # noqa: E402,F401
from . import handoff  # noqa: E402,F401
