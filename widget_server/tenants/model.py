"""What a validated theme becomes: plain objects the pages read."""
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

FIELD_TYPES = ("text", "email", "phone", "select", "checkbox", "country", "date", "vat_id", "iban")
PAYMENT_METHODS = ("invoice", "sepa", "card")  # card: Stripe, offered only when the tenant has its keys in the environment
INTERVALS = ("month", "year")
OFFER_TYPES = ("discount", "pause", "downgrade")
DOWNGRADE_TIMINGS = ("period_end", "immediately")


def pick(translations: dict[str, str], locale: str, default: str) -> str:
    """The text for a locale, falling back to the tenant's default language."""
    return translations.get(locale) or translations.get(default) or ""


@dataclass(frozen=True)
class Option:
    value: str
    label: dict[str, str]


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool = False
    max_length: int | None = None
    label: dict[str, str] = field(default_factory=dict)
    help: dict[str, str] = field(default_factory=dict)
    options: tuple[Option, ...] = ()


@dataclass(frozen=True)
class Plan:
    id: str
    name: dict[str, str]
    description: dict[str, str]
    price: Decimal
    currency: str
    interval: str
    trial_days: int = 0
    setup_fee: Decimal = Decimal(0)
    minimum_term_months: int = 0
    notice_period_days: int = 0


@dataclass(frozen=True)
class Billing:
    """How a tenant invoices: numbering, tax, seller and bank details, dunning."""

    invoice_prefix: str
    tax_rate: Decimal
    prices_include_tax: bool
    seller: dict[str, str]
    timezone: str = "Europe/Berlin"
    payment_terms_days: int = 14
    bank: dict[str, str] | None = None
    dunning_days: tuple[int, ...] = (7, 14, 28)


@dataclass(frozen=True)
class Offer:
    """A retention offer: a discount of `percent` for `periods`, a pause, or `plan` instead."""

    id: str
    type: str
    text: dict[str, str]
    percent: int | None = None
    periods: int | None = None
    plan: str | None = None


@dataclass(frozen=True)
class Reason:
    id: str
    label: dict[str, str]
    offers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Portal:
    """The tenant's portal policy ([portal] in theme.toml)."""

    link_minutes: int = 10
    locked_fields: tuple[str, ...] = ()
    plan_changes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    downgrade: str = "period_end"
    keep_last_payment_method: bool = True
    pause_enabled: bool = False
    pause_max_days: int = 90
    cancellation_enabled: bool = True
    reasons: tuple[Reason, ...] = ()
    offers: tuple[Offer, ...] = ()

    def targets(self, plan_id: str) -> tuple[str, ...]:
        """Plans a customer on `plan_id` may switch to."""
        return self.plan_changes.get(plan_id, ())

    def offer(self, offer_id: str) -> Offer | None:
        return next((o for o in self.offers if o.id == offer_id), None)

    def reason(self, reason_id: str) -> Reason | None:
        return next((r for r in self.reasons if r.id == reason_id), None)


@dataclass(frozen=True)
class Brand:
    name: str
    colors: dict[str, str]
    font_family: str
    radius: int
    logo: str | None = None
    font_file: str | None = None


@dataclass(frozen=True)
class Tenant:
    slug: str
    folder: str
    brand: Brand
    default_language: str
    languages: tuple[str, ...]
    texts: dict[str, dict[str, str]]
    fields: tuple[Field, ...]
    plans: tuple[Plan, ...]
    payment_methods: tuple[str, ...]
    default_country: str
    sepa_creditor_id: str | None
    sepa_creditor_name: str | None
    terms_url: str
    privacy_url: str
    embed_origins: tuple[str, ...]
    billing: Billing | None = None
    css: str = ""
    css_hash: str = ""
    contact: dict[str, str] = field(default_factory=dict)
    portal: Portal = field(default_factory=Portal)

    def plan(self, plan_id: str) -> Plan | None:
        return next((p for p in self.plans if p.id == plan_id), None)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def today(self) -> date:
        """Today in the tenant's time zone: billing periods are dates there."""
        zone = ZoneInfo(self.billing.timezone if self.billing else "UTC")
        return datetime.now(zone).date()

    def text(self, key: str, locale: str) -> str | None:
        """A designer's override of one of our texts, if the theme has one."""
        return self.texts.get(locale, {}).get(key)
