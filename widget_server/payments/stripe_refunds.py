"""Card refunds through Stripe: a Refund of the PaymentIntent that paid the invoice.

billing/refunds.py decides what is refunded and books it; this module only sends the card
parts to Stripe (other payments go back by the merchant's transfer, billing.refunds.manual_payout).
The Stripe idempotency key is built from the invoice, the payment and how much of it was taken
back before, so a retry after a failure in between (Stripe refunded, our commit failed) gets the
same Stripe Refund back instead of paying out twice. The `stripe` library is reached only through
payments/stripe.py (DESIGN.md: the one module that imports it).
"""
import logging
from typing import Callable

from ..billing.refunds import PENDING, SUCCEEDED, Payout, RefundPart, manual_payout
from . import stripe as stripe_payments

log = logging.getLogger(__name__)


class StripeRefundError(RuntimeError):
    """Stripe did not refund (network, API error, refund failed); nothing was booked. No secrets in the message."""


def refund_payment(tenant_slug: str, part: RefundPart) -> Payout:
    """Refund one card payment's part through the tenant's Stripe account."""
    payment = part.payment
    found = stripe_payments.account(tenant_slug)
    if found is None:
        raise stripe_payments.StripeNotConfigured(
            f"tenant '{tenant_slug}' has no Stripe account: set "
            f"{stripe_payments.SECRET_KEY_VARIABLE.format(stripe_payments.variable_suffix(tenant_slug))} to refund card payments")
    key = f"refund-{payment.public_id}-{part.taken_back_before_minor}-{part.amount_minor}"
    try:
        refund = stripe_payments.client(found).v1.refunds.create(
            params={"payment_intent": payment.external_id, "amount": part.amount_minor, "reason": "requested_by_customer",
                    "metadata": {"payment_id": payment.public_id, "tenant": tenant_slug}},
            options={"idempotency_key": key})
    except stripe_payments.stripe.StripeError as exc:
        log.warning("stripe refund of payment %s failed: %s", payment.public_id, type(exc).__name__)
        raise StripeRefundError(f"Stripe did not refund the card payment {payment.external_id}: {type(exc).__name__}") from None
    if refund.status in ("failed", "canceled"):
        raise StripeRefundError(f"Stripe refused to refund the card payment {payment.external_id} (status {refund.status})")
    return Payout(payment=payment, amount_minor=part.amount_minor, status=SUCCEEDED if refund.status == "succeeded" else PENDING,
                  stripe_refund_id=refund.id)


def pay_out(tenant_slug: str) -> Callable[[RefundPart], Payout]:
    """The pay_out for billing.refunds.refund_invoice: card payments (with a PaymentIntent) through
    Stripe, every other payment to be paid out by the merchant."""
    def send(part: RefundPart) -> Payout:
        if part.payment.method == "stripe" and (part.payment.external_id or "").startswith("pi_"):
            return refund_payment(tenant_slug, part)
        return manual_payout(part)
    return send
