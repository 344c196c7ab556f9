"""The profile page: the tenant's fields (as on the sign-up form, same validation), and the e-mail change.

Payment fields (type iban) belong to the payment method page. `[portal] locked_fields`
are shown read-only and whatever is posted for them is ignored. A saved change is an
audit event and a `customer.updated` outbox event in one transaction.

A new e-mail address does not apply at once: a link goes to the new address (single use,
EMAIL_CHANGE_HOURS, only its hash stored); opening it changes the address (audit and
`customer.updated`) and tells the old address.
"""
from datetime import timedelta

from flask import current_app, g, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from ..extensions import db
from ..notify import emails
from ..storage.base import utcnow
from ..storage.models import AuditEvent, Customer, EmailChange, EmailMessage, OutboxEvent
from ..web import fields as field_forms
from ..web.errors import render_error
from ..web.pages import page_url
from . import NAV, access, bp, login

PURPOSE = "email-change"
EMAIL_CHANGE_HOURS = 24
EMAIL_CHANGES_PER_DAY = 5
PAYMENT_FIELD_TYPES = ("iban",)

NAV.append(("portal.profile", _l("Your details")))


def profile_fields(tenant) -> list:
    return [f for f in tenant.fields if f.type not in PAYMENT_FIELD_TYPES]


def stored_values(customer: Customer) -> dict:
    return {**(customer.fields or {}), "email": customer.email}


def pending_change(customer: Customer) -> EmailChange | None:
    return db.session.scalar(
        select(EmailChange).where(EmailChange.customer_id == customer.id, EmailChange.used_at.is_(None),
                                  EmailChange.expires_at > utcnow()).order_by(EmailChange.id.desc()).limit(1))


def recent_changes(customer: Customer) -> int:
    since = utcnow() - timedelta(days=1)
    return db.session.scalar(select(func.count()).select_from(EmailChange).where(
        EmailChange.customer_id == customer.id, EmailChange.created_at > since))


def email_taken(tenant: str, customer: Customer, address: str) -> bool:
    """Another customer of the tenant has this address (as typed, or in lower case)."""
    return db.session.scalar(
        select(Customer.id).where(Customer.tenant == tenant, Customer.id != customer.id,
                                  Customer.email.in_({address, address.lower()})).limit(1)) is not None


def _render(values: dict, errors: dict, status: int = 200):
    tenant, customer = g.tenant, g.customer
    locked = set(tenant.portal.locked_fields)
    fields = field_forms.render(profile_fields(tenant), values, errors, locked, str(get_locale()),
                                tenant.default_language)
    done = request.args.get("done")
    return render_template("portal/profile.html", fields=fields, errors=errors, error_count=len(errors),
                           pending=pending_change(customer), done=done if done in ("saved", "email", "nothing") else None,
                           any_locked=any(r.locked for r in fields)), status


@bp.route("/profile", methods=["GET", "POST"])
@access.signed_in
def profile():
    tenant, customer = g.tenant, g.customer
    stored = stored_values(customer)
    if request.method == "GET":
        return _render(stored, {})
    fields = profile_fields(tenant)
    locked = {name: stored.get(name) for name in tenant.portal.locked_fields}
    values, errors, typed = field_forms.validate(fields, request.form, locked=locked,
                                                 default_country=tenant.default_country, today=tenant.today())
    new_email = values.get("email") if "email" not in locked else None
    changes_email = bool(new_email) and new_email.casefold() != customer.email.casefold()
    if changes_email and not errors.get("email") and email_taken(tenant.slug, customer, new_email):
        errors["email"] = _("This e-mail address is already used by another customer account. "
                            "Please use a different one.")
    elif changes_email and not errors.get("email") and recent_changes(customer) >= EMAIL_CHANGES_PER_DAY:
        # Each request mails a stranger's address: a signed-in session must not become a mail cannon.
        errors["email"] = _("You have asked to change your e-mail address too often today. Please try again tomorrow "
                            "or contact %(shop)s.", shop=tenant.brand.name)
    if errors:
        return _render({**typed, **locked}, errors, 422)

    before, after = {}, {}
    updated = dict(customer.fields or {})
    for f in fields:
        if f.name == "email" or f.name in locked:
            continue
        old, new = updated.get(f.name), values.get(f.name)
        if unchanged(old, new, f.type):
            continue
        before[f.name], after[f.name] = old, new
        if new is None:
            updated.pop(f.name, None)
        else:
            updated[f.name] = new
    if after:
        customer.fields = updated
        record_update(customer, before, after)
    if changes_email:
        request_email_change(tenant, customer, new_email)
    db.session.commit()
    if changes_email:
        login._enqueue_sending()
    done = "email" if changes_email else ("saved" if after else "nothing")
    return redirect(page_url(".profile", done=done), code=303)


def unchanged(old, new, kind: str) -> bool:
    if kind == "checkbox":
        return bool(old) == bool(new)
    return old == new or (old in (None, "") and new in (None, ""))


def record_update(customer: Customer, before: dict, after: dict) -> None:
    """The audit event and the merchant's `customer.updated` event of a change by the customer."""
    db.session.add(AuditEvent(tenant=customer.tenant, customer_id=customer.id, actor="customer", action="customer.updated",
                              before=before, after=after))
    db.session.add(OutboxEvent(tenant=customer.tenant, type="customer.updated", payload={
        "customer_id": customer.public_id, "before": before, "after": after}))


def request_email_change(tenant, customer: Customer, new_email: str) -> EmailChange:
    now = utcnow()
    change = EmailChange(tenant=tenant.slug, customer_id=customer.id, old_email=customer.email, new_email=new_email,
                         created_at=now, expires_at=now + timedelta(hours=EMAIL_CHANGE_HOURS), token_hash="")
    db.session.add(change)
    db.session.flush()
    change.token_hash = access.hash_secret(access.link_secret(PURPOSE, change.public_id))
    db.session.add(EmailMessage(tenant=tenant.slug, customer_id=customer.id, kind="email_change_confirm",
                                key=f"email_change_confirm:{change.public_id}", recipient=new_email,
                                next_attempt_at=now, created_at=now))
    db.session.add(AuditEvent(tenant=tenant.slug, customer_id=customer.id, actor="customer",
                              action="customer.email_change_requested", before={"email": customer.email},
                              after={"email": new_email}))
    return change


def _change(token: str) -> EmailChange | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(EmailChange).where(EmailChange.token_hash == access.hash_secret(token),
                                                       EmailChange.tenant == g.tenant.slug))


@bp.route("/email/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """The link sent to the new address: GET asks to confirm (mail scanners fetch links), POST changes it."""
    change = _change(token)
    now = utcnow()
    back = (page_url(".profile"), _("Go to your details"))
    if change is None:
        return render_error(400, _("This confirmation link is not valid."), action=back)
    customer = db.session.get(Customer, change.customer_id)
    g.customer_locale = customer.locale
    if change.used_at is not None:
        return render_error(400, _("This confirmation link has already been used."), action=back)
    if change.expires_at <= now:
        return render_error(400, _("This confirmation link has expired. Please change your e-mail address "
                                   "again in your customer account."), action=back)
    if email_taken(g.tenant.slug, customer, change.new_email):
        return render_error(409, _("This e-mail address is already used by another customer account. "
                                   "Please use a different one."), action=back)
    if request.method == "GET":
        return render_template("portal/profile_email_confirm.html", change=change, token=token)
    used = db.session.execute(
        update(EmailChange).where(EmailChange.id == change.id, EmailChange.used_at.is_(None), EmailChange.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False)
    ).rowcount == 1
    if not used:
        db.session.rollback()
        return render_error(400, _("This confirmation link has already been used."), action=back)
    old = customer.email
    customer.email = change.new_email
    if "email" in (customer.fields or {}):
        customer.fields = {**customer.fields, "email": change.new_email}
    record_update(customer, {"email": old}, {"email": change.new_email})
    db.session.add(EmailMessage(tenant=g.tenant.slug, customer_id=customer.id, kind="email_changed_notice",
                                key=f"email_changed_notice:{change.public_id}", recipient=old,
                                next_attempt_at=now, created_at=now))
    db.session.commit()
    login._enqueue_sending()
    return render_template("portal/profile_email_changed.html", email=change.new_email)


def _change_of(session, message: EmailMessage) -> EmailChange | None:
    public_id = message.key.split(":", 1)[1]
    return session.scalar(select(EmailChange).where(EmailChange.public_id == public_id))


def compose_confirm(session, message: EmailMessage, tenant, customer: Customer, context: dict) -> str:
    """The confirmation link to the new address (notify.emails.COMPOSERS)."""
    change = _change_of(session, message)
    if change is None or change.used_at is not None or change.expires_at <= utcnow():
        raise emails.NothingToSend("the e-mail change was confirmed or has expired before the link could be sent")
    secret = access.link_secret(PURPOSE, change.public_id)
    context.update(url=f"{current_app.config['WIDGET_PUBLIC_URL']}/t/{tenant.slug}/portal/email/{secret}",
                   new_email=change.new_email, hours=EMAIL_CHANGE_HOURS)
    return _("Please confirm your new e-mail address for %(brand)s", brand=tenant.brand.name)


def compose_notice(session, message: EmailMessage, tenant, customer: Customer, context: dict) -> str:
    """The notice to the previous address once the change is confirmed (notify.emails.COMPOSERS)."""
    change = _change_of(session, message)
    if change is None:
        raise emails.NothingToSend("the e-mail change is gone")
    context.update(new_email=change.new_email)
    return _("The e-mail address of your account at %(brand)s was changed", brand=tenant.brand.name)


emails.COMPOSERS["email_change_confirm"] = compose_confirm
emails.COMPOSERS["email_changed_notice"] = compose_notice
