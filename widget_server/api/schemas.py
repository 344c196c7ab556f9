"""Request and response schemas; the OpenAPI document is generated from these."""
from marshmallow import INCLUDE, Schema, fields, validate

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


class CustomerQuery(Schema):
    email = fields.String(validate=[validate.Length(min=1, max=254),
                                    validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="Must not contain control characters.")])
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class CustomerList(Schema):
    data = fields.List(fields.Nested(CustomerOut), required=True)


def _amount(contract):
    from ..billing.money import from_minor
    return from_minor(contract.price_minor, contract.currency)
