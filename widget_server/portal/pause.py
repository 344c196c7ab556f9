"""Pausing and resuming: when the tenant allows it, up to its maximum pause length.

A pause starts when the paid period ends (what was paid is used up) and lasts until
the day the customer picks, at most `[portal.pause] max_days` later; billing resumes
that day. A paused contract (or one whose pause has not started yet) can be resumed now.
"""
from datetime import date

from flask import abort, g, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..billing import lifecycle
from ..billing.errors import BillingError
from ..billing.retention import pause_window
from ..extensions import db
from ..web.pages import page_url
from . import NAV, NAV_WHEN, access, bp
from .contract_choice import changed_event, chosen, customer_contracts, plan_name, refusal

NAV.append(("portal.pause", _l("Pause")))
NAV_WHEN["portal.pause"] = lambda tenant: tenant.portal.pause_enabled

DONE = {"paused", "resumed"}


def resume_date(value: str | None, contract) -> tuple[date | None, str | None]:
    """The resume day typed into the form, or the error to show next to the field."""
    start, earliest, latest = pause_window(contract, g.tenant.portal.pause_max_days)
    try:
        chosen_day = date.fromisoformat((value or "").strip())
    except ValueError:
        return None, _("Please enter a date, for example %(example)s.", example=latest.isoformat())
    if not earliest <= chosen_day <= latest:
        return None, _("Please choose a date from %(earliest)s to %(latest)s.", earliest=earliest.isoformat(),
                       latest=latest.isoformat())
    return chosen_day, None


def page(*, status=200, error=None, errors=None, typed=None):
    done = request.args.get("done") if request.args.get("done") in DONE else None
    contracts = customer_contracts("trial", "active", "paused", "cancellation_pending")
    return render_template("portal/pause.html", contracts=contracts, error=error, errors=errors or {}, typed=typed or {},
                           window=lambda c: pause_window(c, g.tenant.portal.pause_max_days), plan_name=plan_name,
                           done=done, changed=changed_event(done)), status


@bp.route("/pause", methods=["GET", "POST"])
@access.signed_in
def pause():
    if not g.tenant.portal.pause_enabled:
        return render_template("portal/pause_unavailable.html"), 404
    if request.method == "GET":
        return page()
    contract = chosen(for_update=True)
    if contract is None:
        abort(404)
    action, today = request.form.get("action"), g.tenant.today()
    try:
        if action == "pause":
            if contract.status != "active" or contract.pause_from:
                return page(status=400, error=_("A pause is not possible for this contract at the moment."))
            resume_on, problem = resume_date(request.form.get("resume_on"), contract)
            if problem:
                return page(status=422, errors={contract.public_id: problem},
                            typed={contract.public_id: (request.form.get("resume_on") or "")[:20]})
            lifecycle.pause(db.session, contract, today, resume_on, max_days=g.tenant.portal.pause_max_days, actor="customer")
            done = "paused"
        elif action == "resume":
            lifecycle.resume(db.session, contract, today, actor="customer")
            done = "resumed"
        else:
            abort(400)
    except BillingError as error:
        db.session.rollback()
        return page(status=400, error=refusal(error))
    db.session.commit()
    return redirect(page_url("portal.pause", contract=contract.public_id, done=done), 303)
