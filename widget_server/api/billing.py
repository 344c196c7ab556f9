"""Invoices, payments and balances of the calling tenant's customers."""
from decimal import Decimal

from babel.numbers import get_currency_precision
from flask import g
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..billing.errors import BillingError
from ..billing.ledger import balance, record_payment
from ..billing.money import from_minor, to_minor
from ..documents import pdf_response
from ..extensions import db
from ..storage.queries import by_public_id
from ..storage.models import Customer, Invoice
from . import bp, problem_response
from .auth import current_tenant, documented_401
from .idempotency import HEADER_DOC, REPLAYED_DOC, idempotent
from .json_body import json_object_body
from .schemas import BalanceOut, InvoiceList, InvoiceOut, InvoiceQuery, PaymentIn, PaymentOut


def _customer(customer_id: str, field: str | None = None) -> Customer:
    customer = by_public_id(db.session, Customer, g.api_tenant, customer_id)
    if customer is None:
        if field:
            abort(422, message="The request is not valid.", messages={"json": {field: ["No such customer."]}})
        abort(404, message="No such customer.")
    return customer


def _invoice(invoice_id: str) -> Invoice | None:
    return by_public_id(db.session, Invoice, g.api_tenant, invoice_id)


@bp.get("/invoices")
@bp.arguments(InvoiceQuery, location="query")
@bp.response(200, InvoiceList)
@documented_401
def list_invoices(query):
    """Invoices and credit notes of one customer, newest first."""
    customer = _customer(query["customer_id"])
    stmt = (select(Invoice).where(Invoice.customer_id == customer.id)
            .options(selectinload(Invoice.lines), selectinload(Invoice.contract), selectinload(Invoice.corrects))
            .order_by(Invoice.issue_date.desc(), Invoice.id.desc()).limit(query["limit"]))
    if query.get("status"):
        stmt = stmt.where(Invoice.status == query["status"])
    return {"data": list(db.session.scalars(stmt))}


@bp.get("/invoices/<invoice_id>")
@bp.response(200, InvoiceOut)
@documented_401
@problem_response(404, "No such invoice for this tenant")
def get_invoice(invoice_id: str):
    """One invoice or credit note with its lines."""
    invoice = _invoice(invoice_id)
    if invoice is None:
        abort(404, message="No such invoice.")
    return invoice


@bp.get("/customers/<customer_id>/balance")
@bp.response(200, BalanceOut)
@documented_401
@problem_response(404, "No such customer for this tenant")
def get_balance(customer_id: str):
    """What the customer owes (or has in credit), the overdue part and the open items."""
    customer = _customer(customer_id)
    owed = balance(db.session, customer, current_tenant().today())
    currency = owed.currency or "EUR"
    return {
        "customer_id": customer.public_id, "currency": owed.currency,
        "balance": str(from_minor(owed.balance_minor, currency)), "overdue": str(from_minor(owed.overdue_minor, currency)),
        "open_items": owed.open_items,
    }


@bp.post("/payments")
@json_object_body
@idempotent
@bp.arguments(PaymentIn)
@bp.response(201, PaymentOut, headers=REPLAYED_DOC)
@bp.alt_response(200, schema=PaymentOut, description="A payment with this external_id was booked before; it is returned unchanged")
@bp.doc(parameters=[HEADER_DOC])
@documented_401
@problem_response(422, "Invalid amount, currency, customer or invoice (per-field `errors`)")
def create_payment(data):
    """Record money received (a bank transfer): it settles the given invoice, then the oldest open items.

    The same `external_id` is booked only once; a repeat returns the payment booked first (200)."""
    customer = _customer(data["customer_id"], field="customer_id")
    invoice = None
    if data.get("invoice_id"):
        invoice = _invoice(data["invoice_id"])
        if invoice is None or invoice.customer_id != customer.id:
            abort(422, message="The request is not valid.", messages={"json": {"invoice_id": ["No such invoice for this customer."]}})
    amount = Decimal(data["amount"])
    if -amount.as_tuple().exponent > get_currency_precision(data["currency"]):
        abort(422, message="The request is not valid.",
              messages={"json": {"amount": [f"{data['currency']} has {get_currency_precision(data['currency'])} decimal places."]}})
    try:
        payment, created = record_payment(
            db.session, customer=customer, amount_minor=to_minor(amount, data["currency"]), currency=data["currency"],
            received_on=data.get("received_on") or current_tenant().today(), method=data["method"], reference=data.get("reference"),
            external_id=data.get("external_id"), invoice=invoice)
    except BillingError as exc:
        db.session.rollback()
        abort(422, message="The request is not valid.", messages={"json": {exc.field or "body": [str(exc)]}})
    db.session.commit()
    body = {
        "id": payment.public_id, "customer_id": customer.public_id, "amount": str(from_minor(payment.amount_minor, payment.currency)),
        "currency": payment.currency, "received_on": payment.received_on, "method": payment.method,
        "reference": payment.reference, "external_id": payment.external_id,
    }
    return body, 201 if created else 200


@bp.get("/invoices/<invoice_id>/pdf")
@bp.doc(responses={"200": {"description": "The invoice as a PDF (attachment named after the invoice number)",
                           "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
@documented_401
@problem_response(404, "No such invoice for this tenant")
@problem_response(503, "The tenant's theme files have errors")
def get_invoice_pdf(invoice_id: str):
    """The invoice or credit note as a PDF in the tenant's brand and the customer's language."""
    invoice = _invoice(invoice_id)
    if invoice is None:
        abort(404, message="No such invoice.")
    return pdf_response(invoice)


from . import refunds, sepa_returns  # noqa: E402,F401  (registers POST /refunds and /sepa-returns)
