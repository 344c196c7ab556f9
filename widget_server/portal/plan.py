"""Changing plan: the targets the tenant allows, a preview of the proration, confirm, withdraw.

Upgrades apply at once (with a proration invoice or credit note); downgrades wait for the
period end unless the tenant's policy says `downgrade = "immediately"`. Nothing is stored
before the customer has seen the preview and confirmed it.
"""
from flask import abort, g, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..billing import lifecycle
from ..billing.errors import BillingError
from ..billing.money import from_minor
from ..extensions import db
from . import NAV, NAV_WHEN, access, bp
from .contract_choice import changed_event, chosen, customer_contracts, plan_name, refusal
from ..web.pages import page_url

NAV.append(("portal.change_plan", _l("Change plan")))
NAV_WHEN["portal.change_plan"] = lambda tenant: bool(tenant.portal.plan_changes)

CHANGEABLE = ("trial", "active")
DONE = {"changed", "scheduled", "withdrawn"}


def targets(contract) -> list:
    """The plans the tenant lets this contract switch to (that still exist in the theme)."""
    plans = (g.tenant.plan(plan_id) for plan_id in g.tenant.portal.targets(contract.plan_id))
    return [plan for plan in plans if plan is not None and plan.id != contract.plan_id]


def immediately(contract, plan) -> bool:
    """Whether the change applies today: upgrades always, downgrades if the tenant says so."""
    return lifecycle.is_upgrade(contract, plan) or g.tenant.portal.downgrade == "immediately"


def preview(contract, plan, today) -> dict:
    """What confirming would do today: when, what is charged or credited now, the new price."""
    now = immediately(contract, plan)
    proration = lifecycle.preview_plan_change(contract, plan, today)
    return {"plan": plan, "now": now, "proration": proration if now else None,
            "effective": today if now else contract.current_period_end,
            "new_price_minor": proration.new_price_minor}


def page(contracts, *, status=200, error=None, selected=None, target=None):
    today = g.tenant.today()
    shown = preview(selected, target, today) if selected is not None and target is not None else None
    done = request.args.get("done") if request.args.get("done") in DONE else None
    return render_template("portal/change_plan.html", contracts=contracts, targets=targets, error=error,
                           selected=None if done else selected, shown=shown, done=done, changed=changed_event(done),
                           plan_name=plan_name, amount=from_minor), status


@bp.route("/change-plan", methods=["GET", "POST"])
@access.signed_in
def change_plan():
    if not g.tenant.portal.plan_changes:
        return render_template("portal/change_plan_unavailable.html"), 404
    if request.method == "POST":
        return _act()
    contracts = customer_contracts(*CHANGEABLE, "cancellation_pending", "paused")
    selected = chosen()
    target = None
    if selected is not None and request.args.get("plan") is not None:
        target = next((p for p in targets(selected) if p.id == request.args["plan"]), None)
        if target is None or selected.status not in CHANGEABLE:
            return page(contracts, status=400, error=_("This plan cannot be chosen for your contract."))
    return page(contracts, selected=selected, target=target)


def _act():
    contract = chosen(for_update=True)
    if contract is None:
        abort(404)
    contracts = customer_contracts(*CHANGEABLE, "cancellation_pending", "paused")
    action = request.form.get("action")
    try:
        if action == "withdraw":
            lifecycle.withdraw_plan_change(db.session, contract, actor="customer")
            done = "withdrawn"
        elif action == "confirm":
            target = next((p for p in targets(contract) if p.id == request.form.get("plan")), None)
            if target is None or contract.status not in CHANGEABLE:
                db.session.rollback()
                return page(contracts, status=400, error=_("This plan cannot be chosen for your contract."))
            now = immediately(contract, target)
            lifecycle.change_plan(db.session, contract, g.tenant, target, g.tenant.today(), immediately=True if now else None,
                                  actor="customer")
            done = "changed" if now else "scheduled"
        else:
            abort(400)
    except BillingError as error:
        db.session.rollback()
        return page(contracts, status=400, error=refusal(error))
    db.session.commit()
    return redirect(page_url("portal.change_plan", contract=contract.public_id, done=done), 303)
