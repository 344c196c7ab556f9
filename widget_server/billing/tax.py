"""VAT per invoice line: net, tax and gross, rounded per line (half up), and EU reverse charge."""
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from stdnum.eu import vat

EU = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
}
REVERSE_CHARGE_NOTE = "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)."


@dataclass(frozen=True)
class Treatment:
    rate: Decimal
    reverse_charge: bool = False


@dataclass(frozen=True)
class Amounts:
    net: int
    tax: int
    gross: int


def vat_country(vat_id: str | None) -> str | None:
    """The member state of a valid EU VAT ID (Greece writes EL), else None."""
    if not vat_id or not vat.is_valid(vat_id):
        return None
    prefix = vat.compact(vat_id)[:2]
    return "GR" if prefix == "EL" else prefix


def treatment(billing, customer_fields: dict) -> Treatment:
    """EU B2B customers with a valid VAT ID from another member state: reverse charge, no VAT."""
    seller_country = billing.seller.get("country")
    buyer_country = vat_country(customer_fields.get("vat_id"))
    if buyer_country and seller_country in EU and buyer_country in EU and buyer_country != seller_country:
        return Treatment(rate=Decimal(0), reverse_charge=True)
    return Treatment(rate=billing.tax_rate)


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_amounts(price_minor: int, tax_rate: Decimal, prices_include_tax: bool, treatment: Treatment) -> Amounts:
    """Split one line's price into net, tax and gross.

    With gross prices the customer pays the price; under reverse charge they pay its
    net part (the tax they account for themselves is not ours to charge).
    """
    if prices_include_tax:
        net = _round(Decimal(price_minor) * 100 / (100 + tax_rate))
        if treatment.reverse_charge:
            return Amounts(net=net, tax=0, gross=net)
        return Amounts(net=net, tax=price_minor - net, gross=price_minor)
    tax = _round(Decimal(price_minor) * treatment.rate / 100)
    return Amounts(net=price_minor, tax=tax, gross=price_minor + tax)
