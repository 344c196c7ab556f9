"""Money as Decimal in code and integer minor units in the database."""
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import get_currency_precision


def to_minor(amount: Decimal, currency: str) -> int:
    places = get_currency_precision(currency)
    return int((amount * (10 ** places)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor(minor: int, currency: str) -> Decimal:
    places = get_currency_precision(currency)
    return (Decimal(minor) / (10 ** places)).quantize(Decimal(1).scaleb(-places))
