"""POST /api/v1/refunds: give back money a customer paid on an invoice (billing/refunds.py)."""
from decimal import Decimal

from babel.numbers import get_currency_precision
from flask import g
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from ..billing.errors import BillingError
from ..billing.money import from_minor, to_minor
from ..billing.refunds import PENDING, SUCCEEDED, TO_BE_PAID_OUT, refund_invoice
from ..extensions import db
from ..payments import stripe as stripe_payments
from ..payments.stripe_refunds import StripeRefundError, pay_out
from ..storage.base import PUBLIC_ID
from ..storage.models import Invoice
from ..storage.queries import by_public_id
from . import bp, problem_response
from .auth import current_tenant, documented_401
from .idempotency import HEADER_DOC, REPLAYED_DOC, idempotent
from .json_body import json_object_body

DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "Decimal string in the currency, e.g. \"19.90\""}
STATUS = {"enum": [SUCCEEDED, PENDING, TO_BE_PAID_OUT]}


class RefundIn(Schema):
    invoice_id = fields.String(required=True, validate=validate.Regexp(PUBLIC_ID, error="Not an invoice id."))
    amount = fields.String(validate=validate.Regexp(r"^\d{1,12}(\.\d{1,4})?$", error="Write the amount as a decimal string such as \"19.90\"."),
                           metadata={**DECIMAL, "description": "What to give back; everything still refundable when left out."})
    reason = fields.String(validate=validate.Length(max=200), metadata={"description": "Shown on the credit note."})


class RefundPayoutOut(Schema):
    payment_id = fields.String(required=True, metadata={"description": "The payment this part gives back"})
    method = fields.String(required=True, metadata={"enum": ["invoice", "sepa", "stripe"]})
    amount = fields.String(required=True, metadata=DECIMAL)
    status = fields.String(required=True, metadata=STATUS)
    stripe_refund_id = fields.String(allow_none=True, required=True)


class RefundOut(Schema):
    id = fields.String(required=True)
    invoice_id = fields.String(required=True)
    customer_id = fields.String(required=True)
    amount = fields.String(required=True, metadata=DECIMAL)
    currency = fields.String(required=True)
    reason = fields.String(allow_none=True, required=True)
    status = fields.String(required=True, metadata={**STATUS, "description": (
        "succeeded: back on the customer's card; pending: Stripe is still paying it out; to_be_paid_out: paid by bank "
        "transfer or direct debit, the merchant transfers it back")})
    credit_note_id = fields.String(allow_none=True, required=True, metadata={
        "description": "The credit note that reduces the invoice by the amount (null when the invoice already carried that credit)"})
    payouts = fields.List(fields.Nested(RefundPayoutOut), required=True)
    created_at = fields.DateTime(required=True)


def _body(refund) -> dict:
    currency = refund.currency
    return {
        "id": refund.public_id, "invoice_id": refund.invoice.public_id, "customer_id": refund.customer.public_id,
        "amount": str(from_minor(refund.amount_minor, currency)), "currency": currency, "reason": refund.reason,
        "status": refund.status, "credit_note_id": refund.credit_note.public_id if refund.credit_note else None,
        "payouts": [{**{k: v for k, v in p.items() if k != "amount_minor"}, "amount": str(from_minor(p["amount_minor"], currency))}
                    for p in refund.payouts],
        "created_at": refund.created_at,
    }


def _invalid(field: str, message: str):
    abort(422, message="The request is not valid.", messages={"json": {field: [message]}})


@bp.post("/refunds")
@json_object_body
@idempotent
@bp.arguments(RefundIn)
@bp.response(201, RefundOut, headers=REPLAYED_DOC)
@bp.doc(parameters=[HEADER_DOC])
@documented_401
@problem_response(422, "Unknown invoice, nothing (or less) paid on it, or an amount above what can be refunded (per-field `errors`)")
@problem_response(502, "Stripe did not refund the card payment; nothing was booked, try again")
@problem_response(503, "The tenant's theme files have errors, or it has no Stripe key to refund a card payment")
def create_refund(data):
    """Refund money paid on an invoice: a credit note for the amount, and the money back.

    Card payments go back through Stripe at once; bank transfers and direct debits are to be paid
    out by the merchant (`status: to_be_paid_out`). Never more than was paid minus earlier refunds."""
    tenant = current_tenant()
    invoice = by_public_id(db.session, Invoice, g.api_tenant, data["invoice_id"])
    if invoice is None:
        _invalid("invoice_id", "No such invoice.")
    amount_minor = None
    if data.get("amount") is not None:
        amount = Decimal(data["amount"])
        places = get_currency_precision(invoice.currency)
        if -amount.as_tuple().exponent > places:
            _invalid("amount", f"{invoice.currency} has {places} decimal places.")
        amount_minor = to_minor(amount, invoice.currency)
    try:
        refund = refund_invoice(db.session, tenant, invoice, today=tenant.today(), amount_minor=amount_minor,
                                reason=data.get("reason"), actor="merchant", pay_out=pay_out(tenant.slug))
    except BillingError as exc:
        db.session.rollback()
        _invalid(exc.field or "body", str(exc))
    except StripeRefundError as exc:
        db.session.rollback()
        abort(502, message=f"{exc}. Nothing was booked; try again.")
    except stripe_payments.StripeNotConfigured as exc:
        db.session.rollback()
        abort(503, message=str(exc))
    db.session.commit()
    return _body(refund), 201
