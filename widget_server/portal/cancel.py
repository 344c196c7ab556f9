"""Cancelling: reason, retention offers for that reason, the effective date, confirm; withdraw.

Each step is its own GET page (the back button works, nothing is stored on the way);
only accepting an offer, confirming and withdrawing change the contract. The effective
date (minimum term and notice period, lifecycle.effective_cancellation) is shown before
confirming and checked again on confirming. A confirmation e-mail in the customer's
language is owed in the same transaction as the cancellation.
"""
from flask import abort, g, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..billing import lifecycle, retention
from ..billing.errors import BillingError
from ..billing.money import from_minor, to_minor
from ..extensions import db
from ..notify import cancellation_email
from ..tenants.model import pick
from ..web.pages import page_url
from . import NAV, NAV_WHEN, access, bp
from .contract_choice import changed_event, chosen, customer_contracts, plan_name, refusal
from .pause import resume_date

NAV.append(("portal.cancel", _l("Cancel contract")))
NAV_WHEN["portal.cancel"] = lambda tenant: tenant.portal.cancellation_enabled

CANCELLABLE = ("trial", "active", "paused")
SHOWN = CANCELLABLE + ("cancellation_pending",)
DONE = {"cancelled", "withdrawn", "kept"}


def render(step: str, contract=None, *, status=200, reason=None, error=None, field_error=None, typed=None, **extra):
    tenant, today = g.tenant, g.tenant.today()
    done = request.args.get("done") if request.args.get("done") in DONE else None
    return render_template(
        "portal/cancel.html", step=step, contract=contract, reason=reason, error=error, field_error=field_error,
        typed=typed or {}, reasons=tenant.portal.reasons, plan_name=plan_name, today=today,
        label=lambda item: pick(item.label, str(get_locale()), tenant.default_language) or item.id,
        offer_text=lambda offer: pick(offer.text, str(get_locale()), tenant.default_language),
        effective=lifecycle.effective_cancellation(contract, today) if contract is not None and contract.status in CANCELLABLE else None,
        pause_window=lambda c: retention.pause_window(c, tenant.portal.pause_max_days),
        price=lambda plan: from_minor(to_minor(plan.price, plan.currency), plan.currency),
        done=done, changed=changed_event(done) if status == 200 else None, **extra), status


def _reason(value: str | None):
    """(reason, problem): the tenant's reason for this id; a missing choice and a made-up id are problems."""
    if not g.tenant.portal.reasons:
        return None, None
    if not value:
        return None, "missing"
    found = g.tenant.portal.reason(value)
    return (found, None) if found else (None, "unknown")


def _step_url(contract, reason, step=None, **values):
    return page_url("portal.cancel", contract=contract.public_id, **({"reason": reason.id} if reason else {}),
                    **({"step": step} if step else {}), **values)


@bp.route("/cancel", methods=["GET", "POST"])
@access.signed_in
def cancel():
    if not g.tenant.portal.cancellation_enabled:
        return render_template("portal/cancel_unavailable.html"), 404
    if request.method == "POST":
        return _act()
    contract = chosen()
    if contract is None:
        contracts = customer_contracts(*SHOWN)
        if len(contracts) != 1:
            return render("choose", contracts=contracts)
        contract = contracts[0]
    if request.args.get("done") == "kept" or contract.status not in CANCELLABLE:
        return render("status", contract)
    reason, problem = _reason(request.args.get("reason"))
    if problem == "missing":
        return render("reason", contract)
    if problem == "unknown":
        return render("reason", contract, status=400, error=_("Please choose one of the reasons shown."))
    offers = retention.offers_for(reason, contract, g.tenant)
    if offers and request.args.get("step") != "confirm":
        return render("offers", contract, reason=reason, offers=offers)
    return render("confirm", contract, reason=reason)


def _act():
    contract = chosen(for_update=True)
    if contract is None:
        abort(404)
    action, today = request.form.get("action"), g.tenant.today()
    if action == "withdraw":
        try:
            lifecycle.withdraw_cancellation(db.session, contract, today, actor="customer")
        except BillingError as error:
            db.session.rollback()
            return render("status", contract, status=400, error=refusal(error))
        db.session.commit()
        return redirect(page_url("portal.cancel", contract=contract.public_id, done="withdrawn"), 303)
    if contract.status not in CANCELLABLE:
        return render("status", contract, status=400, error=_("This contract cannot be cancelled at the moment."))
    reason, problem = _reason(request.form.get("reason"))
    if problem == "missing":
        return render("reason", contract, status=422, field_error=_("Please choose a reason."))
    if problem == "unknown":
        return render("reason", contract, status=400, error=_("Please choose one of the reasons shown."))
    if action == "reason":
        return redirect(_step_url(contract, reason), 303)
    if action == "accept":
        return _accept(contract, reason, today)
    if action == "confirm":
        expected = lifecycle.effective_cancellation(contract, today)
        if request.form.get("effective") != expected.isoformat():
            # The date shown is no longer the date it would be (a day passed, the terms changed): show it again.
            return render("confirm", contract, status=409, reason=reason,
                          error=_("The date your cancellation takes effect has changed. Please check it and confirm again."))
        try:
            lifecycle.request_cancellation(db.session, contract, today, reason=reason.id if reason else None, actor="customer")
        except BillingError as error:
            db.session.rollback()
            return render("status", contract, status=400, error=refusal(error))
        cancellation_email.owe(db.session, contract)
        db.session.commit()
        return redirect(page_url("portal.cancel", contract=contract.public_id, done="cancelled"), 303)
    abort(400)


def _accept(contract, reason, today):
    offers = retention.offers_for(reason, contract, g.tenant)
    offer = next((o for o in offers if o.id == request.form.get("offer")), None)
    if offer is None:
        return render("offers" if offers else "confirm", contract, status=400, reason=reason, offers=offers,
                      error=_("This offer is not available for your contract."))
    resume_on = None
    if offer.type == "pause":
        resume_on, problem = resume_date(request.form.get("resume_on"), contract)
        if problem:
            return render("offers", contract, status=422, reason=reason, offers=offers, field_error=problem,
                          typed={"resume_on": (request.form.get("resume_on") or "")[:20]})
    try:
        retention.accept(db.session, contract, g.tenant, reason, offer, today, resume_on=resume_on, actor="customer")
    except BillingError as error:
        db.session.rollback()
        return render("offers", contract, status=400, reason=reason, offers=offers, error=refusal(error))
    db.session.commit()
    return redirect(page_url("portal.cancel", contract=contract.public_id, done="kept", offer=offer.type), 303)
