"""Request and response schemas; the OpenAPI document is generated from these."""
from marshmallow import Schema, ValidationError, fields, validate


class PrefillValue(fields.Field):
    """A prefilled form value: text, or true/false for checkboxes."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or (isinstance(value, str) and len(value) <= 500):
            return value
        raise ValidationError("Must be a string of at most 500 characters, or a boolean.")

    def _jsonschema_type_mapping(self):
        return {"oneOf": [{"type": "string", "maxLength": 500}, {"type": "boolean"}]}


class SignupLinkIn(Schema):
    plan = fields.String(metadata={"description": "Plan id; the link opens that plan's form."})
    locale = fields.String(metadata={"description": "Language of the pages, one of the tenant's languages."})
    prefill = fields.Dict(keys=fields.String(), values=PrefillValue(), load_default=dict,
                          metadata={"description": "Field name -> value, as configured in the tenant's theme."})
    locked = fields.List(fields.String(), load_default=list, validate=validate.Length(max=50),
                         metadata={"description": "Prefilled fields the customer cannot change."})


class SignupLinkOut(Schema):
    url = fields.Url(required=True)
    expires_at = fields.DateTime(required=True)


class PaymentMethodOut(Schema):
    id = fields.String(attribute="public_id", required=True)
    kind = fields.String(required=True, metadata={"enum": ["invoice", "sepa"]})
    is_default = fields.Boolean(required=True)
    account_holder = fields.String(allow_none=True)
    iban = fields.String(attribute="masked_iban", allow_none=True, metadata={"description": "Masked: only the last four digits are shown."})
    mandate_reference = fields.String(allow_none=True)
    mandate_signed_on = fields.Date(allow_none=True)


class ContractOut(Schema):
    id = fields.String(attribute="public_id", required=True)
    customer_id = fields.Function(lambda c: c.customer.public_id, required=True)
    plan = fields.String(attribute="plan_id", required=True)
    status = fields.String(required=True, metadata={"enum": ["trial", "active", "paused", "cancellation_pending", "ended"]})
    price = fields.Function(lambda c: str(_amount(c)), required=True, metadata={"description": "Decimal string"})
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
    email = fields.String(validate=validate.Length(min=1, max=254))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class CustomerList(Schema):
    data = fields.List(fields.Nested(CustomerOut), required=True)


def _amount(contract):
    from ..billing.money import from_minor
    return from_minor(contract.price_minor, contract.currency)
