"""Customers download everything we hold about them, as JSON (GDPR Art. 15 and 20)."""
import json

from flask import Response, g
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..privacy.export import customer_data
from . import NAV, access, bp


@bp.get("/data.json")
@access.signed_in
def data_export():
    body = json.dumps(customer_data(db.session, g.customer), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{g.tenant.slug}-{g.customer.public_id}-data.json"',
        "Cache-Control": "no-store",
    })


NAV.append(("portal.data_export", _l("Download your data")))
