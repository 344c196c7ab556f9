"""What an invoice or credit note shows: parties, lines, tax breakdown and payment, formatted for one locale.

Everything here is plain data (strings, lists, dicts) for templates/invoice.html,
which escapes all of it. Amounts stay integer minor units until they are
formatted with Babel for the document's locale; never float.
"""
import base64
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.numbers import format_percent
from flask_babel import format_currency, format_date, get_locale

from ..billing.invoices import buyer_snapshot
from ..billing.money import from_minor
from ..i18n import normalize
from ..payments import card_brands
from ..tenants.checks import contrast, luminance

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
FONT_NAME = re.compile(r"^[A-Za-z0-9 \-]{1,64}$")
# Paper is white: brand colours that are too light to read on it give way to these.
INK = "#1f2937"
PANEL = "#f3f4f6"
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp"}


@dataclass(frozen=True)
class Line:
    description: str
    period: str | None
    net: str


@dataclass(frozen=True)
class Payment:
    """How the amount is settled: bank transfer, SEPA direct debit, a credit, or nothing to pay."""

    kind: str  # transfer | sepa | card | credit | none
    amount: str = ""
    due_date: str = ""
    account_holder: str | None = None
    iban: str | None = None
    bic: str | None = None
    reference: str | None = None
    masked_iban: str | None = None
    mandate_reference: str | None = None
    creditor_id: str | None = None
    card_brand: str | None = None  # kind "card": charged to a card saved in Stripe
    card_last4: str | None = None


@dataclass(frozen=True)
class InvoiceContent:
    locale: str
    is_credit_note: bool
    number: str
    issue_date: str
    due_date: str
    service_period: str | None
    corrects_number: str | None
    corrects_date: str | None
    seller: dict
    seller_line: str
    buyer: dict
    lines: list[Line]
    net_total: str
    tax_rate: str
    tax_total: str
    gross_total: str
    reverse_charge: bool
    payment: Payment
    brand: dict
    contact: dict = field(default_factory=dict)


def document_locale(customer, tenant) -> str:
    """The customer's language if the tenant offers it, else the tenant's default."""
    wanted = normalize(getattr(customer, "locale", None))
    return wanted if wanted in tenant.languages else tenant.default_language


def money(minor: int, currency: str) -> str:
    return format_currency(from_minor(minor, currency), currency)


NO_BREAK = "\u00a0"


def day(value: date | None) -> str:
    """A date, never broken across lines ("14. feb. 2026")."""
    return format_date(value, "medium").replace(" ", NO_BREAK) if value else ""


def period(start: date | None, end: date | None) -> str | None:
    """A billing period is [start, end): printed with its last day, as invoices state it."""
    if not start:
        return None
    last = end - timedelta(days=1) if end and end > start else end
    if not last or last == start:
        return day(start)
    return f"{day(start)} – {day(last)}"


def percent(rate: str) -> str:
    """19 -> "19 %" (de), "19%" (en); 7.5 keeps its decimal."""
    return format_percent(Decimal(rate) / 100, locale=get_locale(), decimal_quantization=False)


def grouped_iban(iban: str | None) -> str | None:
    if not iban:
        return None
    compact = re.sub(r"\s+", "", iban).upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def country_name(code: str | None, locale: str) -> str:
    if not code:
        return ""
    return Locale.parse(locale).territories.get(code.upper(), code.upper())


def _address_lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def seller(tenant, locale: str) -> dict:
    billing = tenant.billing
    s = billing.seller
    country = s.get("country")
    # Foreign readers need the seller's country; a domestic one reads it from the address.
    return {
        "name": s.get("name") or tenant.brand.name,
        "address": _address_lines(s.get("address")),
        "country": country_name(country, locale) if country else "",
        "vat_id": s.get("vat_id") or "",
    }


def buyer(snapshot: dict, locale: str, seller_country: str | None) -> dict:
    """The buyer block from the invoice's snapshot (billing/invoices.buyer_snapshot)."""
    f = snapshot.get("fields") or {}
    person = " ".join(part for part in (f.get("first_name"), f.get("last_name")) if part)
    country = f.get("country")
    town = " ".join(part for part in (f.get("postal_code"), f.get("city")) if part)
    return {
        "company": f.get("company") or "",
        "name": person or snapshot.get("email") or "",
        "street": f.get("street") or "",
        "town": town,
        "country": country_name(country, locale) if country and country != seller_country else "",
        "vat_id": f.get("vat_id") or "",
    }


def _contrast_on_white(hex_color: str) -> float:
    return contrast(hex_color, "#ffffff")


def _color(value: str | None, fallback: str) -> str:
    return value if value and HEX_COLOR.match(value) else fallback


def _data_uri(folder: Path, name: str | None) -> str | None:
    """A theme file as a data: URI, so the renderer never reads files or the network itself."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = folder / name
    kind = LOGO_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return f"data:{kind or 'application/octet-stream'};base64,{base64.b64encode(data).decode('ascii')}"


def brand(tenant) -> dict:
    """Brand values as they may reach CSS: validated again here (colours #rrggbb, a plain font name),
    and adjusted for white paper where a colour would be unreadable."""
    b = tenant.brand
    colors = b.colors or {}
    text = _color(colors.get("text"), INK)
    primary = _color(colors.get("primary"), text)
    background = _color(colors.get("background"), PANEL)
    font = b.font_family if b.font_family and FONT_NAME.match(b.font_family) else None
    folder = Path(tenant.folder)
    return {
        "name": b.name,
        "logo": _data_uri(folder, b.logo),
        "font_family": font,
        "font_uri": _data_uri(folder, b.font_file) if b.font_file and b.font_file.endswith(".woff2") else None,
        "text": text if _contrast_on_white(text) >= 4.5 else INK,
        # The primary colour carries white text (table head) and the title: it needs text contrast.
        "primary": primary if _contrast_on_white(primary) >= 4.5 else INK,
        "on_primary": "#ffffff",
        "panel": background if luminance(background) >= 0.8 else PANEL,
    }


def payment(invoice, tenant, method) -> Payment:
    amount = money(abs(invoice.gross_minor), invoice.currency)
    due = day(invoice.due_date)
    if invoice.kind == "credit_note":
        return Payment(kind="credit", amount=amount) if invoice.gross_minor else Payment(kind="none")
    if invoice.gross_minor <= 0:
        return Payment(kind="none")
    if method and method.get("kind") == "sepa" and method.get("mandate_reference"):
        return Payment(kind="sepa", amount=amount, due_date=due, masked_iban=(method.get("masked_iban") or "").replace(" ", NO_BREAK),
                       mandate_reference=method["mandate_reference"], creditor_id=tenant.sepa_creditor_id)
    if method and method.get("kind") == "stripe" and method.get("card_last4"):
        return Payment(kind="card", amount=amount, due_date=due, card_brand=card_brands.display(method.get("card_brand")),
                       card_last4=method["card_last4"])
    bank = tenant.billing.bank or {}
    return Payment(kind="transfer", amount=amount, due_date=due, account_holder=bank.get("account_holder"),
                   iban=grouped_iban(bank.get("iban")), bic=bank.get("bic"), reference=invoice.payment_reference)


def build(invoice, tenant, customer, *, corrects=None, locale: str) -> InvoiceContent:
    """The invoice as it is printed. Call inside force_locale(locale)."""
    currency = invoice.currency
    the_seller = seller(tenant, locale)
    seller_country = tenant.billing.seller.get("country")
    # Invoices print the buyer as they were when issued; older rows without a snapshot use the customer now.
    snapshot = invoice.buyer or buyer_snapshot(customer)
    the_buyer = buyer(snapshot, locale, seller_country)
    # Abroad, the sender line names the seller's country too.
    sender = [the_seller["name"], *the_seller["address"], *([the_seller["country"]] if the_buyer["country"] else [])]
    lines = [Line(description=line.description, period=period(line.period_start, line.period_end),
                  net=money(line.net_minor, currency)) for line in invoice.lines]
    return InvoiceContent(
        locale=locale,
        is_credit_note=invoice.kind == "credit_note",
        number=invoice.number,
        issue_date=day(invoice.issue_date),
        due_date=day(invoice.due_date),
        service_period=period(invoice.period_start, invoice.period_end),
        corrects_number=corrects.number if corrects is not None else None,
        corrects_date=day(corrects.issue_date) if corrects is not None else None,
        seller=the_seller,
        seller_line=" · ".join(part for part in sender if part),
        buyer=the_buyer,
        lines=lines,
        net_total=money(invoice.net_minor, currency),
        tax_rate=percent(invoice.tax_rate),
        tax_total=money(invoice.tax_minor, currency),
        gross_total=money(invoice.gross_minor, currency),
        reverse_charge=bool(invoice.reverse_charge),
        payment=payment(invoice, tenant, snapshot.get("payment_method")),
        brand=brand(tenant),
        contact={key: (tenant.contact or {}).get(key) or "" for key in ("email", "phone")},
    )
