"""Routes of the hosted sign-up flow (see CONTRACT.md, "Pages")."""
import re
import uuid

from flask import g, redirect, render_template, request, session
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from widget_server import tokens
from widget_server.billing.contracts import find_by_signup_key, start_contract
from widget_server.billing.periods import trial_end
from widget_server.extensions import db, limiter
from widget_server.storage.queries import by_public_id
from widget_server.storage.models import Contract
from widget_server.web import fields as field_forms
from widget_server.web import page_cache
from widget_server.web.errors import render_error
from widget_server.web.session import csrf_token
from widget_server.web.pages import page_url

from . import bp, card, payment_form, prefill as prefills

SUBMISSION = re.compile(r"^[0-9a-f]{32}$")
REMEMBERED_SIGNUPS = 5


def _prefill() -> prefills.Prefill:
    """The signed prefill of this request; its language applies unless ?lang says otherwise."""
    found = prefills.from_request(g.tenant)
    if found.locale:
        g.customer_locale = found.locale
    return found


@bp.errorhandler(tokens.BadToken)
def bad_link(_exc):
    return render_error(
        400, _("This sign-up link is invalid or has expired. You can still sign up on the regular sign-up page."),
        action=(page_url(".choose"), _("Go to the sign-up page")),
    )


@bp.get("", strict_slashes=False)
def choose():
    tenant = g.tenant
    found = _prefill()
    wanted = request.args.get("plan") or found.plan
    if wanted and tenant.plan(wanted):
        extra = {"prefill": found.token} if found.token else {}
        return redirect(page_url(".form", plan_id=wanted, **extra))
    return render_template("signup/choose.html", plans=tenant.plans, prefill=found.token)


@bp.route("/<plan_id>", methods=["GET", "POST"])
def form(plan_id: str):
    tenant = g.tenant
    plan = tenant.plan(plan_id)
    if plan is None:
        return render_error(404, _("This plan is not available. Please choose another one."),
                            action=(page_url(".choose"), _("See all plans")))
    found = _prefill()
    locked = found.locked_values
    if request.method == "GET":
        if found.token:
            return _render_form(plan, found, values=dict(found.values), errors={}, payment={}, submission=uuid.uuid4().hex)
        return _fresh_form(plan, found)

    limiter.signup_post()
    submission = request.form.get("submission", "")
    if not SUBMISSION.match(submission):
        return render_error(400)
    existing = find_by_signup_key(db.session, tenant.slug, submission)
    if existing is not None:
        return _completed(existing)

    today = tenant.today()
    values, errors, typed = field_forms.validate(
        tenant.fields, request.form, locked=locked, default_country=tenant.default_country, today=today)
    payment, payment_errors, payment_typed = payment_form.validate(tenant, request.form, card=card.offered(tenant))
    errors.update(payment_errors)
    confirmed_card = None
    if payment is not None and payment.kind == "stripe":
        confirmed_card, card_errors = card.verify(tenant, submission, payment_typed)
        errors.update(card_errors)
    if request.form.get("consent") != "1":
        errors["consent"] = _("Please accept the terms and the privacy policy to continue.")
    if errors:
        return _render_form(plan, found, values=typed, errors=errors, payment=payment_typed, submission=submission,
                            consent=request.form.get("consent") == "1"), 422

    try:
        contract = start_contract(
            db.session, tenant=tenant.slug, plan=plan, email=values["email"], locale=str(get_locale()),
            fields=values, payment=payment, signup_key=submission, today=today,
        )
        if confirmed_card:
            card.attach(contract, confirmed_card)
        db.session.commit()
    except IntegrityError:
        # The same form was submitted twice at once: the other request won.
        db.session.rollback()
        contract = find_by_signup_key(db.session, tenant.slug, submission)
        if contract is None:
            raise
    if confirmed_card:
        card.forget(tenant, submission, contract)
    return _completed(contract)


def _completed(contract: Contract):
    remembered = [c for c in session.get("signups", []) if c != contract.public_id][-(REMEMBERED_SIGNUPS - 1):]
    session["signups"] = [*remembered, contract.public_id]
    return redirect(page_url(".complete", contract_id=contract.public_id), code=303)


def _fresh_form(plan, found):
    """The empty form, from the page cache with this visitor's CSRF token and submission id."""
    tenant = g.tenant
    key = ("form", tenant.slug, plan.id, str(get_locale()), tenant.today(), request.query_string, card.offered(tenant))
    return page_cache.pages.get(tenant, key, lambda: _render_form(
        plan, found, values={}, errors={}, payment={}, submission=page_cache.SUBMISSION_SLOT, csrf=page_cache.CSRF_SLOT),
        csrf=csrf_token(), submission=uuid.uuid4().hex)


def _render_form(plan, found, *, values, errors, payment, submission, consent=False, csrf=None):
    tenant = g.tenant
    locale = str(get_locale())
    rendered = field_forms.render(tenant.fields, values, errors, set(found.locked), locale, tenant.default_language)
    first_charge = tenant.today()
    if plan.trial_days:
        first_charge = trial_end(first_charge, plan.trial_days)
    return render_template(
        "signup/form.html", plan=plan, fields=rendered, errors=errors, payment=payment,
        submission=submission, prefill=found.token, consent=consent, first_charge=first_charge,
        error_count=len(errors), csrf=csrf or csrf_token(),
    )


@bp.get("/complete/<contract_id>")
def complete(contract_id: str):
    tenant = g.tenant
    contract = by_public_id(db.session, Contract, tenant.slug, contract_id)
    if contract is None:
        return render_error(404)
    g.customer_locale = contract.customer.locale
    # Personal details only for the browser that signed up; anyone else sees a plain confirmation.
    mine = contract_id in session.get("signups", [])
    return render_template("signup/complete.html", contract=contract, plan=tenant.plan(contract.plan_id), mine=mine,
                           method=contract.customer.default_payment_method)
