"""The history page: the signed-in customer's own audit trail, newest first.

What changed (translated action names and the fields that differ), when (in the
tenant's time zone, formatted for the page's language) and by whom (you, the
merchant, or automatically). Only this customer's events of this tenant.
"""
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import g, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..storage.models import AuditEvent
from ..web import fields as field_forms
from . import NAV, access, bp

PER_PAGE = 50

NAV.append(("portal.history", _l("History")))

ACTIONS = {
    "signup.completed": _l("Signed up"),
    "customer.updated": _l("Details changed"),
    "customer.email_change_requested": _l("Change of e-mail address requested"),
    "contract.plan_changed": _l("Plan changed"),
    "contract.plan_change_scheduled": _l("Plan change scheduled"),
    "contract.plan_change_withdrawn": _l("Scheduled plan change withdrawn"),
    "contract.paused": _l("Contract paused"),
    "contract.resumed": _l("Contract resumed"),
    "contract.cancellation_requested": _l("Cancellation requested"),
    "contract.cancellation_withdrawn": _l("Cancellation withdrawn"),
    "payment.received": _l("Payment received"),
    "payment_method.updated": _l("Payment method changed"),
    "payment_method.changed": _l("Payment method changed"),
    "invoice.reminder_sent": _l("Payment reminder sent"),
    "invoice.dunning_exhausted": _l("Last payment reminder sent"),
    "invoice.payment_failed": _l("Payment failed"),
    "credit.allocated": _l("Credit applied"),
    "sepa.debit_scheduled": _l("Direct debit scheduled"),
    "sepa.collection_exported": _l("Direct debit submitted to the bank"),
    "invoice.refunded": _l("Money refunded"),
    "invoice.payment_returned": _l("Direct debit returned by the bank"),
    "payment_method.revoked": _l("Direct debit mandate no longer usable"),
    "contract.discount_granted": _l("Discount granted"),
    "contract.retention_offer_accepted": _l("Offer accepted"),
    "contract.ended": _l("Contract ended"),
}
ACTORS = {"customer": _l("You"), "system": _l("Automatically")}
# Keys of before/after worth showing, with their names; field names use the tenant's labels.
KEYS = {"plan": _l("Plan"), "status": _l("Status"), "scheduled_plan": _l("Scheduled plan"), "kind": _l("Payment method")}
HIDDEN = ("iban", "account", "token", "secret", "mandate")


def action_name(action: str) -> str:
    known = ACTIONS.get(action)
    return str(known) if known else action.replace("_", " ").replace(".", ": ")


def _shown(value) -> str:
    if value is None or value == "":
        return "–"
    if value is True:
        return str(_l("Yes"))
    if value is False:
        return str(_l("No"))
    return str(value)


def changes(event: AuditEvent, tenant, locale: str) -> list[tuple[str, str, str]]:
    """(what, before, after) for the keys an event changed that a customer should read."""
    before, after = event.before or {}, event.after or {}
    if not isinstance(before, dict) or not isinstance(after, dict) or not before:
        return []
    rows = []
    for key in after:
        if any(word in key for word in HIDDEN) or before.get(key) == after.get(key):
            continue
        field = tenant.field(key)
        if field is not None:
            name = field_forms.label(field, locale, tenant.default_language)
        elif key in KEYS:
            name = str(KEYS[key])
        else:
            continue
        rows.append((name, _shown(before.get(key)), _shown(after.get(key))))
    return rows


@bp.get("/history")
@access.signed_in
def history():
    tenant, customer = g.tenant, g.customer
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.customer_id == customer.id, AuditEvent.tenant == tenant.slug)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)
    ).all()
    more = len(events) > PER_PAGE
    locale = str(get_locale())
    zone = ZoneInfo(tenant.billing.timezone if tenant.billing else "UTC")
    entries = [{
        "what": action_name(e.action),
        "changes": changes(e, tenant, locale),
        "when": format_datetime(e.created_at, "medium", tzinfo=zone, locale=locale),
        "iso": e.created_at.isoformat(),
        "who": str(ACTORS[e.actor]) if e.actor in ACTORS else tenant.brand.name,
    } for e in events[:PER_PAGE]]
    return render_template("portal/history.html", entries=entries, page=page, more=more)
