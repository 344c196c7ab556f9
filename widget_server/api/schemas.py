"""Request and response schemas; the OpenAPI document is generated from these."""
from marshmallow import INCLUDE, Schema, fields, validate

from ..storage.base import PUBLIC_ID

PREFILL_VALUE = {"oneOf": [{"type": "string", "maxLength": 500}, {"type": "boolean"}]}
# Per-field messages: field name -> list of messages, or a map of the same shape for nested values (prefill).
ERROR_MESSAGES = {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"$ref": "#/components/schemas/ErrorsMap"}]}
ERRORS_MAP = {"type": "object", "additionalProperties": ERROR_MESSAGES}


class Problem(Schema):
    """RFC 9457 problem details (application/problem+json)."""

    class Meta:
        unknown = INCLUDE  # RFC 9457 allows extension members

    type = fields.String(required=True, metadata={"format": "uri-reference"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(metadata={"additionalProperties": ERROR_MESSAGES,
                                   "description": "Validation failures by field: a list of messages, or a map of the "
                                                  "same shape for nested values such as `prefill`."})


class SignupLinkIn(Schema):
    plan = fields.String(metadata={"description": "Plan id; the link opens that plan's form."})
    locale = fields.String(metadata={"description": "Language of the pages, one of the tenant's languages."})
    # Value types are checked against the tenant's field types in signup_links (booleans for checkboxes).
    prefill = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True, metadata=PREFILL_VALUE), load_default=dict,
                          metadata={"description": "Field name -> value, as configured in the tenant's theme: "
                                                   "a string, or true/false for checkbox fields."})
    locked = fields.List(fields.String(), load_default=list, validate=validate.Length(max=50),
                         metadata={"description": "Prefilled fields the customer cannot change."})


class SignupLinkOut(Schema):
    url = fields.Url(required=True, metadata={"format": "uri"})
    expires_at = fields.DateTime(required=True)


class PaymentMethodOut(Schema):
    id = fields.String(attribute="public_id", required=True)
    kind = fields.String(required=True, metadata={"enum": ["invoice", "sepa"]})
    is_default = fields.Boolean(required=True)
    account_holder = fields.String(allow_none=True)
    iban = fields.String(attribute="masked_iban", allow_none=True,
                         metadata={"description": "Masked: country, check digits and the last four characters only."})
    mandate_reference = fields.String(allow_none=True)
    mandate_signed_on = fields.Date(allow_none=True)


class ContractOut(Schema):
    id = fields.String(attribute="public_id", required=True)
    customer_id = fields.String(attribute="customer.public_id", required=True)
    plan = fields.String(attribute="plan_id", required=True)
    status = fields.String(required=True, metadata={"enum": ["trial", "active", "paused", "cancellation_pending", "ended"]})
    price = fields.Function(lambda c: str(_amount(c)), required=True,
                            metadata={"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "Decimal string, e.g. \"9.90\""})
    currency = fields.String(required=True)
    interval = fields.String(required=True, metadata={"enum": ["month", "year"]})
    trial_end = fields.Date(allow_none=True)
    current_period_start = fields.Date(required=True)
    current_period_end = fields.Date(required=True)
    created_at = fields.DateTime(required=True)


class CustomerOut(Schema):
    id = fields.String(attribute="public_id", required=True)
    email = fields.String(required=True)
    locale = fields.String(required=True)
    fields_ = fields.Dict(attribute="fields", data_key="fields", required=True)
    created_at = fields.DateTime(required=True)
    contracts = fields.List(fields.Nested(ContractOut), required=True)
    payment_methods = fields.List(fields.Nested(PaymentMethodOut), required=True)


class KeptData(Schema):
    data = fields.String(required=True, metadata={"description": "What was kept."})
    count = fields.Integer(required=True)
    reason = fields.String(required=True, metadata={"description": "Why the law (or the contract) requires keeping it."})
    until = fields.String(allow_none=True, required=True, metadata={"format": "date", "description": "Kept until (end of)."})


class ErasureOut(Schema):
    id = fields.String(attribute="customer_id", required=True)
    erased = fields.Boolean(required=True, dump_default=True)
    already_erased = fields.Boolean(required=True, metadata={"description": "True when an earlier request erased it."})
    removed = fields.List(fields.String(), required=True, metadata={"description": "What this request removed."})
    kept = fields.List(fields.Nested(KeptData), required=True)


class CustomerQuery(Schema):
    email = fields.String(validate=[validate.Length(min=1, max=254),
                                    validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="Must not contain control characters.")])
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class CustomerList(Schema):
    data = fields.List(fields.Nested(CustomerOut), required=True)


def _amount(contract):
    from ..billing.money import from_minor
    return from_minor(contract.price_minor, contract.currency)


DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "Decimal string in the currency, e.g. \"19.90\""}


def _money(attribute: str, currency_of=lambda obj: obj.currency):
    """A minor-unit column shown as a decimal string of its currency."""
    return fields.Function(lambda obj: str(_from_minor(getattr(obj, attribute), currency_of(obj))), required=True, metadata=DECIMAL)


class InvoiceLineOut(Schema):
    kind = fields.String(required=True, metadata={"enum": ["plan", "setup_fee", "proration", "credit", "discount"]})
    description = fields.String(required=True)
    period_start = fields.Date(allow_none=True)
    period_end = fields.Date(allow_none=True)
    net = _money("net_minor", lambda line: line.invoice.currency)
    tax = _money("tax_minor", lambda line: line.invoice.currency)
    gross = _money("gross_minor", lambda line: line.invoice.currency)


class InvoiceOut(Schema):
    id = fields.String(attribute="public_id", required=True)
    number = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["invoice", "credit_note"]})
    status = fields.String(required=True, metadata={"enum": ["open", "paid", "void"]})
    customer_id = fields.String(attribute="customer.public_id", required=True)
    contract_id = fields.Function(lambda i: i.contract.public_id if i.contract else None, allow_none=True,
                                  metadata={"type": "string"})
    corrects_invoice_id = fields.Function(lambda i: i.corrects.public_id if i.corrects else None, allow_none=True,
                                          metadata={"type": "string", "description": "For credit notes: the invoice corrected"})
    currency = fields.String(required=True)
    net = _money("net_minor")
    tax = _money("tax_minor")
    gross = _money("gross_minor")
    tax_rate = fields.String(required=True, metadata={"description": "Percent, e.g. \"19\""})
    reverse_charge = fields.Boolean(required=True)
    issue_date = fields.Date(required=True)
    due_date = fields.Date(required=True)
    period_start = fields.Date(allow_none=True)
    period_end = fields.Date(allow_none=True)
    payment_reference = fields.String(required=True)
    lines = fields.List(fields.Nested(InvoiceLineOut), required=True)


class InvoiceQuery(Schema):
    customer_id = fields.String(required=True, validate=validate.Regexp(PUBLIC_ID, error="Not a customer id."))
    status = fields.String(validate=validate.OneOf(["open", "paid", "void"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class InvoiceList(Schema):
    data = fields.List(fields.Nested(InvoiceOut), required=True)


class PaymentIn(Schema):
    customer_id = fields.String(required=True, validate=validate.Regexp(PUBLIC_ID, error="Not a customer id."))
    invoice_id = fields.String(validate=validate.Regexp(PUBLIC_ID, error="Not an invoice id."),
                               metadata={"description": "Settle this invoice first; the rest goes to the oldest open items."})
    amount = fields.String(required=True, validate=validate.Regexp(r"^\d{1,12}(\.\d{1,4})?$", error="Write the amount as a decimal string such as \"19.90\"."),
                           metadata=DECIMAL)
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$", error="Not an ISO 4217 currency code."))
    received_on = fields.Date(metadata={"description": "Value date; today when left out."})
    method = fields.String(load_default="invoice", validate=validate.OneOf(["invoice", "sepa"]),
                           metadata={"description": "invoice: a bank transfer against an invoice; sepa: a direct debit that came in."})
    reference = fields.String(validate=validate.Length(max=140))
    external_id = fields.String(validate=validate.Length(min=1, max=100),
                                metadata={"description": "The bank's id of the transfer: the same id is booked only once."})


class PaymentOut(Schema):
    id = fields.String(required=True)
    customer_id = fields.String(required=True)
    amount = fields.String(required=True, metadata=DECIMAL)
    currency = fields.String(required=True)
    received_on = fields.Date(required=True)
    method = fields.String(required=True)
    reference = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)


class OpenItemOut(Schema):
    invoice_id = fields.String(attribute="invoice.public_id", required=True)
    number = fields.String(attribute="invoice.number", required=True)
    due_date = fields.Date(attribute="invoice.due_date", required=True)
    remaining = fields.Function(lambda item: str(_from_minor(item.remaining_minor, item.invoice.currency)), required=True, metadata=DECIMAL)


class BalanceOut(Schema):
    customer_id = fields.String(required=True)
    currency = fields.String(allow_none=True, required=True)
    balance = fields.String(required=True, metadata={**DECIMAL, "description": "Positive: the customer owes; negative: credit."})
    overdue = fields.String(required=True, metadata={**DECIMAL, "description": "Arrears: the part of the balance past its due date."})
    open_items = fields.List(fields.Nested(OpenItemOut), required=True)


def _from_minor(minor, currency):
    from ..billing.money import from_minor
    return from_minor(minor, currency)


class PortalSessionIn(Schema):
    customer_id = fields.String(required=True, validate=validate.Regexp(PUBLIC_ID, error="Not a customer id."))
    return_url = fields.Url(schemes={"http", "https"}, validate=validate.Length(max=2000),
                            metadata={"description": "Where the portal's back link leads; its origin must be on the tenant's embed allowlist."})
    locale = fields.String(metadata={"description": "Language of the portal, one of the tenant's languages."})
    flow = fields.String(validate=validate.OneOf(["payment_method", "change_plan", "cancel", "invoices", "profile"]),
                         metadata={"description": "Deep link into one part of the portal."})


class PortalSessionOut(Schema):
    id = fields.String(required=True)
    url = fields.Url(required=True, metadata={"format": "uri"})
    expires_at = fields.DateTime(required=True)
