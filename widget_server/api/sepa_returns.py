"""POST /api/v1/sepa-returns: a SEPA direct debit the bank took back (payments/sepa_returns.py)."""
from decimal import Decimal

from flask import g
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..billing.money import from_minor, to_minor
from ..extensions import db
from ..payments.sepa_returns import REASON_CODE, ReturnError, ReturnNotice, book_return, describe
from ..storage.base import PUBLIC_ID
from ..storage.models import Invoice
from ..storage.queries import by_public_id
from . import bp, problem_response
from .auth import documented_401
from .idempotency import HEADER_DOC, REPLAYED_DOC, idempotent
from .json_body import json_object_body

DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "Decimal string in EUR, e.g. \"3.00\""}


class SepaReturnIn(Schema):
    end_to_end_id = fields.String(validate=validate.Length(min=1, max=35), metadata={
        "description": "The debit's end-to-end id from the bank's return notice (the invoice number, or \"<number>-R2\")."})
    mandate_reference = fields.String(validate=validate.Length(min=1, max=35),
                                      metadata={"description": "With invoice_id, instead of end_to_end_id."})
    invoice_id = fields.String(validate=validate.Regexp(PUBLIC_ID, error="Not an invoice id."))
    reason_code = fields.String(required=True, validate=validate.Regexp(REASON_CODE, error="Four capital letters or digits, e.g. AM04."),
                                metadata={"description": "ISO 20022 return reason: AM04 insufficient funds, MD06 disputed, AC04 account closed..."})
    return_date = fields.Date(required=True)
    fee = fields.String(validate=validate.Regexp(r"^\d{1,6}(\.\d{1,2})?$", error="Write the fee as a decimal string such as \"3.00\"."),
                        metadata={**DECIMAL, "description": "The bank's return fee; charged to the customer only if the tenant allows it."})

    @validates_schema
    def _which_debit(self, data, **_kwargs):
        if not data.get("end_to_end_id") and not (data.get("mandate_reference") and data.get("invoice_id")):
            raise ValidationError("Give end_to_end_id, or mandate_reference and invoice_id.", field_name="end_to_end_id")


class SepaReturnOut(Schema):
    id = fields.String(required=True)
    invoice_id = fields.String(required=True)
    customer_id = fields.String(required=True)
    end_to_end_id = fields.String(required=True)
    reason_code = fields.String(required=True)
    reason = fields.String(required=True)
    return_date = fields.Date(required=True)
    amount = fields.String(required=True, metadata={**DECIMAL, "description": "The debit that came back"})
    reversed = fields.String(required=True, metadata={**DECIMAL, "description": "Of it, what had been booked as paid and was reversed"})
    fee = fields.String(required=True, metadata=DECIMAL)
    fee_charged = fields.Boolean(required=True)
    mandate_revoked = fields.Boolean(required=True)
    collect_again = fields.Boolean(required=True, metadata={"description": "The next SEPA export debits the invoice again"})
    invoice_status = fields.String(required=True, metadata={"enum": ["open", "paid", "void"]})
    created_at = fields.DateTime(required=True)


def _body(row) -> dict:
    money = lambda minor: str(from_minor(minor, "EUR"))  # noqa: E731
    return {"id": row.public_id, "invoice_id": row.invoice.public_id, "customer_id": row.customer.public_id,
            "end_to_end_id": row.end_to_end_id, "reason_code": row.reason_code, "reason": describe(row.reason_code),
            "return_date": row.return_date, "amount": money(row.amount_minor), "reversed": money(row.reversed_minor),
            "fee": money(row.fee_minor), "fee_charged": row.fee_charged, "mandate_revoked": row.mandate_revoked,
            "collect_again": row.collect_again, "invoice_status": row.invoice.status, "created_at": row.created_at}


@bp.post("/sepa-returns")
@json_object_body
@idempotent
@bp.arguments(SepaReturnIn)
@bp.response(201, SepaReturnOut, headers=REPLAYED_DOC)
@bp.alt_response(200, schema=SepaReturnOut, description="This debit was booked as returned before; it is returned unchanged")
@bp.doc(parameters=[HEADER_DOC])
@documented_401
@problem_response(422, "Unknown debit, bad reason code or date (per-field `errors`)")
def create_sepa_return(data):
    """Book a returned SEPA direct debit: the invoice is open again, the mandate revoked where the reason says so.

    The same debit returned twice is booked once (200 with the first booking)."""
    number = None
    if data.get("invoice_id"):
        invoice = by_public_id(db.session, Invoice, g.api_tenant, data["invoice_id"])
        if invoice is None:
            abort(422, message="The request is not valid.", messages={"json": {"invoice_id": ["No such invoice."]}})
        number = invoice.number
    notice = ReturnNotice(reason_code=data["reason_code"], return_date=data["return_date"], end_to_end_id=data.get("end_to_end_id"),
                          mandate_reference=data.get("mandate_reference"), invoice_number=number,
                          fee_minor=to_minor(Decimal(data["fee"]), "EUR") if data.get("fee") else 0)
    try:
        booked = book_return(db.session, g.api_tenant, notice, source="api", actor="merchant")
    except ReturnError as exc:
        db.session.rollback()
        abort(422, message="The request is not valid.", messages={"json": {exc.field or "body": [str(exc)]}})
    db.session.commit()
    return _body(booked.sepa_return), 201 if booked.created else 200
