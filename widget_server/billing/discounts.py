"""Discounts: a percentage off the plan price for the next N billing periods.

A retention offer grants one; the billing run then adds a negative `discount` line to
the invoice of each period until the periods are used up. The discount follows the
contract's plan price in that period (after a scheduled plan change, the new price),
and only the recurring plan line is discounted, never a setup fee or a proration.
"""
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from ..storage.models import Contract, ContractDiscount
from .errors import BillingError
from .invoices import LineSpec
from .lifecycle import _record, _state

DISCOUNTABLE = ("trial", "active", "paused")


def running(contract: Contract) -> ContractDiscount | None:
    """The discount that still has periods left, if any (there is at most one)."""
    return next((d for d in contract.discounts if d.periods_applied < d.periods), None)


def describe(discount: ContractDiscount) -> dict:
    return {"id": discount.public_id, "percent": discount.percent, "periods": discount.periods,
            "periods_applied": discount.periods_applied, "source": discount.source}


def grant(session: Session, contract: Contract, *, percent: int, periods: int, source: str | None = None,
          actor: str = "customer") -> ContractDiscount:
    """Store a discount on the contract for its next `periods` invoices; one at a time."""
    if contract.status not in DISCOUNTABLE:
        raise BillingError(f"Not possible while the contract is {contract.status.replace('_', ' ')}.", field="status")
    if not (isinstance(percent, int) and 1 <= percent <= 100):
        raise BillingError("A discount is between 1 and 100 percent.", field="percent")
    if not (isinstance(periods, int) and 1 <= periods <= 120):
        raise BillingError("A discount lasts between 1 and 120 periods.", field="periods")
    if running(contract) is not None:
        raise BillingError("A discount is already running on this contract.", field="discount")
    before = _state(contract)
    discount = ContractDiscount(tenant=contract.tenant, contract=contract, percent=percent, periods=periods,
                                source=(source or "")[:64] or None)
    session.add(discount)
    session.flush()  # the public id, for the event
    _record(session, contract, actor, "contract.discount_granted", before, {**_state(contract), "discount": describe(discount)})
    return discount


def amount_off(price_minor: int, percent: int) -> int:
    """The discount on a price, rounded half up to the minor unit."""
    return int((Decimal(price_minor) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_for(contract: Contract, plan_line: LineSpec) -> LineSpec | None:
    """The discount line for this period's plan line, using up one period of the running discount.

    Called by the billing run inside its transaction, so a rolled-back batch also gives the period back."""
    discount = running(contract)
    if discount is None or plan_line.price_minor <= 0:
        return None
    discount.periods_applied += 1
    return LineSpec(kind="discount",
                    description=f"{plan_line.description}: -{discount.percent} % ({discount.periods_applied}/{discount.periods})",
                    price_minor=-amount_off(plan_line.price_minor, discount.percent), plan_id=plan_line.plan_id,
                    period_start=plan_line.period_start, period_end=plan_line.period_end)
