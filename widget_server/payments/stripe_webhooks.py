"""POST /webhooks/stripe/<tenant>: Stripe's events for one tenant's account.

Stripe signs every delivery with the endpoint's secret (WIDGET_STRIPE_WEBHOOK_SECRET_<TENANT>,
see payments/stripe.py); a delivery whose signature does not verify changes nothing and is
answered 400. Deliveries are retried by Stripe and may repeat: payments are booked once per
PaymentIntent id. Answers are problem+json on errors; the route is CSRF-exempt (Stripe has no
form token: the signature is the check) and, like everything outside the embed routes, never
frameable (web/headers.py).
"""
import logging

from flask import Blueprint, current_app, jsonify, request

from ..billing.errors import BillingError
from ..extensions import csrf, db
from ..tenants import TenantUnavailable, UnknownTenant
from ..web.problems import problem
from . import stripe as stripe_payments

log = logging.getLogger(__name__)

bp = Blueprint("stripe_webhooks", __name__)


@bp.post("/webhooks/stripe/<tenant>")
def receive(tenant: str):
    try:
        found = current_app.extensions["widget_themes"].get(tenant)
    except UnknownTenant:
        return problem(404, "Unknown tenant.")
    except TenantUnavailable:
        return problem(503, "This tenant is temporarily unavailable.")
    try:
        event = stripe_payments.verify_event(found.slug, request.get_data(), request.headers.get("Stripe-Signature"))
    except stripe_payments.StripeNotConfigured:
        return problem(404, "Stripe is not set up for this tenant.")
    except stripe_payments.WebhookRejected as exc:
        return problem(400, str(exc))
    try:
        outcome = stripe_payments.handle_event(db.session, found, event)
        db.session.commit()
    except BillingError as exc:
        db.session.rollback()
        log.warning("stripe event %s for tenant %s not booked: %s", event.get("id"), found.slug, exc)
        return problem(422, str(exc))
    return jsonify({"received": True, "event": event.get("id"), "outcome": outcome})


def init_app(app) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
