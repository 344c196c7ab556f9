"""Day-exact proration that never loses a cent.

The price of a period is spread over its days cumulatively: the amount for days
[a, b) is cumulative(b) - cumulative(a). However a period is split, the parts add
up to exactly the period price.
"""
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal


def cumulative(price_minor: int, period_start: date, period_end: date, day: date) -> int:
    """The part of the price earned by the days before `day`."""
    total = (period_end - period_start).days
    elapsed = min(max((day - period_start).days, 0), total)
    return int((Decimal(price_minor) * elapsed / total).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def segment(price_minor: int, period_start: date, period_end: date, start: date, end: date) -> int:
    """The price of the days [start, end) of the period."""
    return cumulative(price_minor, period_start, period_end, end) - cumulative(price_minor, period_start, period_end, start)


@dataclass(frozen=True)
class Proration:
    """What switching plans on `effective` costs for the rest of the current period."""

    effective: date
    credit_minor: int  # the unused rest of the old plan, given back
    charge_minor: int  # the rest of the period on the new plan
    new_price_minor: int  # the recurring price from the next period on

    @property
    def due_minor(self) -> int:
        return self.charge_minor - self.credit_minor


def prorate(old_price: int, new_price: int, period_start: date, period_end: date, effective: date) -> Proration:
    return Proration(
        effective=effective,
        credit_minor=segment(old_price, period_start, period_end, effective, period_end),
        charge_minor=segment(new_price, period_start, period_end, effective, period_end),
        new_price_minor=new_price,
    )
