"""The shape of theme.toml, as a marshmallow schema.

Unknown keys are errors, so a typo ("colour") is reported instead of ignored.
Cross-key rules (labels for every language, contrast) live in checks.py.
"""
import re
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision, list_currencies
from marshmallow import Schema, ValidationError, fields, validate

from .model import DOWNGRADE_TIMINGS, FIELD_TYPES, INTERVALS, OFFER_TYPES, PAYMENT_METHODS

COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
FONT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{0,62}$")
IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
LANG = re.compile(r"^[a-z]{2,3}(?:_[A-Z]{2})?$")
ASSET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,80}\.(?:svg|png|jpg|jpeg|webp|woff2)$")
# A CSP source expression for an origin: scheme://host[:port|:*], host may start with "*."
ORIGIN = re.compile(r"^https?://(?:\*\.)?[A-Za-z0-9.\-]+(?::(?:\d{1,5}|\*))?$")
TEXT_KEYS = (
    "signup_title", "signup_intro", "form_title", "form_intro", "submit",
    "complete_title", "complete_body", "consent",
)
COLOR_KEYS = ("primary", "on_primary", "background", "surface", "text")


class Money(fields.String):
    """A price written as a string ("9.90"), so TOML floats never creep in."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValidationError('Not a price; write it as a string such as "9.90".')
        if not amount.is_finite() or amount < 0:
            raise ValidationError("A price must be zero or more.")
        return amount


def translations(**kwargs):
    """A table of language code -> text."""
    return fields.Dict(
        keys=fields.String(validate=validate.Regexp(LANG, error="Not a language code.")),
        values=fields.String(validate=validate.Length(min=1, max=2000)),
        **kwargs,
    )


class ColorsSchema(Schema):
    primary = fields.String(required=True, validate=validate.Regexp(COLOR, error="Not a colour like #1a2b3c."))
    on_primary = fields.String(required=True, validate=validate.Regexp(COLOR, error="Not a colour like #1a2b3c."))
    background = fields.String(required=True, validate=validate.Regexp(COLOR, error="Not a colour like #1a2b3c."))
    surface = fields.String(required=True, validate=validate.Regexp(COLOR, error="Not a colour like #1a2b3c."))
    text = fields.String(required=True, validate=validate.Regexp(COLOR, error="Not a colour like #1a2b3c."))


class BrandSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    logo = fields.String(validate=validate.Regexp(ASSET, error="Not a file name in the theme folder (svg, png, jpg, webp)."))
    font_family = fields.String(
        load_default="system-ui",
        validate=validate.Regexp(FONT_NAME, error="Only letters, digits, spaces and hyphens are allowed in a font name."),
    )
    font_file = fields.String(validate=validate.Regexp(ASSET, error="Not a .woff2 file name in the theme folder."))
    radius = fields.Integer(load_default=6, validate=validate.Range(min=0, max=24))
    colors = fields.Nested(ColorsSchema, required=True)


class LanguagesSchema(Schema):
    default = fields.String(required=True)
    available = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class OptionSchema(Schema):
    value = fields.String(required=True, validate=validate.Length(min=1, max=100))
    label = translations(required=True)


class FieldSchema(Schema):
    name = fields.String(required=True, validate=validate.Regexp(IDENT, error="Use lower-case letters, digits and _."))
    type = fields.String(required=True, validate=validate.OneOf(FIELD_TYPES))
    required = fields.Boolean(load_default=False)
    max_length = fields.Integer(validate=validate.Range(min=1, max=2000))
    label = translations(load_default=dict)
    help = translations(load_default=dict)
    options = fields.List(fields.Nested(OptionSchema), load_default=list)


class Percent(fields.String):
    """A tax rate in percent, written as a string ("19" or "7.5")."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            rate = Decimal(text)
        except InvalidOperation:
            raise ValidationError('Not a percentage; write it as a string such as "19".')
        if not rate.is_finite() or not 0 <= rate < 100:
            raise ValidationError("A tax rate must be at least 0 and below 100.")
        return rate


class PlanSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9_\-]{0,62}$", error="Use lower-case letters, digits, - and _."))
    name = translations(required=True)
    description = translations(load_default=dict)
    price = Money(required=True)
    currency = fields.String(required=True, validate=validate.OneOf(sorted(list_currencies()), error="Not an ISO 4217 currency code."))
    interval = fields.String(required=True, validate=validate.OneOf(INTERVALS))
    trial_days = fields.Integer(load_default=0, validate=validate.Range(min=0, max=365))
    setup_fee = Money(load_default=lambda: Decimal(0))
    minimum_term_months = fields.Integer(load_default=0, validate=validate.Range(min=0, max=120))
    notice_period_days = fields.Integer(load_default=0, validate=validate.Range(min=0, max=365))


class SepaSchema(Schema):
    creditor_id = fields.String(required=True, validate=validate.Length(min=8, max=35))
    creditor_name = fields.String(required=True, validate=validate.Length(min=1, max=70))


class PaymentsSchema(Schema):
    methods = fields.List(fields.String(validate=validate.OneOf(PAYMENT_METHODS)), required=True, validate=validate.Length(min=1))
    sepa = fields.Nested(SepaSchema)


class LegalSchema(Schema):
    terms_url = fields.Url(required=True, schemes={"http", "https"})
    privacy_url = fields.Url(required=True, schemes={"http", "https"})


class EmbedSchema(Schema):
    allowed_origins = fields.List(
        fields.String(validate=validate.Regexp(ORIGIN, error="Not an origin like https://shop.example.com or http://localhost:*.")),
        load_default=list,
    )


class SignupSchema(Schema):
    default_country = fields.String(load_default="DE", validate=validate.Regexp(r"^[A-Z]{2}$", error="Not a two-letter country code."))


class SellerSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=140))
    address = fields.String(required=True, validate=validate.Length(min=1, max=300))
    country = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2}$", error="Not a two-letter country code."))
    vat_id = fields.String(validate=validate.Length(max=20))


class BankSchema(Schema):
    account_holder = fields.String(required=True, validate=validate.Length(min=1, max=70))
    iban = fields.String(required=True, validate=validate.Length(max=42))
    bic = fields.String(validate=validate.Regexp(r"^[A-Z0-9]{8}(?:[A-Z0-9]{3})?$", error="Not a BIC."))


class BillingSchema(Schema):
    timezone = fields.String(load_default="Europe/Berlin")
    invoice_prefix = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9]{1,12}$", error="Use 1 to 12 capital letters or digits."))
    payment_terms_days = fields.Integer(load_default=14, validate=validate.Range(min=0, max=120))
    tax_rate = Percent(required=True)
    prices_include_tax = fields.Boolean(load_default=True)
    seller = fields.Nested(SellerSchema, required=True)
    bank = fields.Nested(BankSchema)
    dunning_days = fields.List(fields.Integer(validate=validate.Range(min=1, max=365)), load_default=lambda: [7, 14, 28])


class ContactSchema(Schema):
    email = fields.Email()
    phone = fields.String(validate=validate.Length(max=40))
    address = fields.String(validate=validate.Length(max=300))
    url = fields.Url(schemes={"http", "https"})


class OfferSchema(Schema):
    """A retention offer shown when a customer gives a cancellation reason."""

    id = fields.String(required=True, validate=validate.Regexp(IDENT, error="Use lower-case letters, digits and _."))
    type = fields.String(required=True, validate=validate.OneOf(OFFER_TYPES))
    percent = fields.Integer(validate=validate.Range(min=1, max=100))  # discount
    periods = fields.Integer(validate=validate.Range(min=1, max=24))  # discount: for how many billing periods
    plan = fields.String()  # downgrade: the plan offered instead
    text = translations(load_default=dict)


class ReasonSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(IDENT, error="Use lower-case letters, digits and _."))
    label = translations(required=True)
    offers = fields.List(fields.String(), load_default=list)  # ids of [[portal.offers]], shown in this order


class PauseSchema(Schema):
    enabled = fields.Boolean(load_default=False)
    max_days = fields.Integer(load_default=90, validate=validate.Range(min=1, max=365))


class CancellationSchema(Schema):
    enabled = fields.Boolean(load_default=True)
    reasons = fields.List(fields.Nested(ReasonSchema), load_default=list)
    offers = fields.List(fields.Nested(OfferSchema), load_default=list)


class PortalSchema(Schema):
    """What customers may do themselves in the portal."""

    link_minutes = fields.Integer(load_default=10, validate=validate.Range(min=1, max=1440))
    locked_fields = fields.List(fields.String(), load_default=list)
    plan_changes = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), load_default=dict)
    downgrade = fields.String(load_default="period_end", validate=validate.OneOf(DOWNGRADE_TIMINGS))
    keep_last_payment_method = fields.Boolean(load_default=True)
    pause = fields.Nested(PauseSchema, load_default=lambda: {"enabled": False, "max_days": 90})
    cancellation = fields.Nested(CancellationSchema, load_default=lambda: {"enabled": True, "reasons": [], "offers": []})


class ThemeSchema(Schema):
    brand = fields.Nested(BrandSchema, required=True)
    languages = fields.Nested(LanguagesSchema, required=True)
    texts = fields.Dict(
        keys=fields.String(validate=validate.Regexp(LANG, error="Not a language code.")),
        values=fields.Dict(keys=fields.String(validate=validate.OneOf(TEXT_KEYS)), values=fields.String(validate=validate.Length(max=2000))),
        load_default=dict,
    )
    fields_ = fields.List(fields.Nested(FieldSchema), data_key="fields", required=True, validate=validate.Length(min=1))
    plans = fields.List(fields.Nested(PlanSchema), required=True, validate=validate.Length(min=1))
    payments = fields.Nested(PaymentsSchema, required=True)
    legal = fields.Nested(LegalSchema, required=True)
    embed = fields.Nested(EmbedSchema, load_default=lambda: {"allowed_origins": []})
    signup = fields.Nested(SignupSchema, load_default=lambda: {"default_country": "DE"})
    contact = fields.Nested(ContactSchema, load_default=dict)
    billing = fields.Nested(BillingSchema, required=True)
    portal = fields.Nested(PortalSchema, load_default=lambda: PortalSchema().load({}))


def currency_precision(currency: str) -> int:
    return get_currency_precision(currency)
