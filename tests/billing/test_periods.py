"""Calendar-correct periods: a contract keeps its anchor day across short months."""
from datetime import date
from decimal import Decimal

import pytest

from widget_server.billing.money import from_minor, to_minor
from widget_server.billing.periods import add_months, period_end, trial_end


@pytest.mark.parametrize("start,interval,expected", [
    (date(2026, 1, 31), "month", date(2026, 2, 28)),
    (date(2028, 1, 31), "month", date(2028, 2, 29)),
    (date(2026, 3, 15), "month", date(2026, 4, 15)),
    (date(2026, 12, 31), "month", date(2027, 1, 31)),
    (date(2028, 2, 29), "year", date(2029, 2, 28)),
    (date(2026, 5, 1), "year", date(2027, 5, 1)),
])
def test_period_end(start, interval, expected):
    assert period_end(start, interval) == expected


def test_anchor_day_is_kept_after_a_short_month():
    february = period_end(date(2026, 1, 31), "month")
    assert period_end(february, "month", anchor_day=31) == date(2026, 3, 31)
    assert add_months(date(2026, 1, 30), 1) == date(2026, 2, 28)


def test_unknown_interval():
    with pytest.raises(ValueError):
        period_end(date(2026, 1, 1), "week")


def test_trial_end():
    assert trial_end(date(2026, 12, 20), 14) == date(2027, 1, 3)
    assert trial_end(date(2026, 12, 20), 0) is None


@pytest.mark.parametrize("amount,currency,minor,back", [
    ("9.90", "EUR", 990, "9.90"), ("1490", "SEK", 149000, "1490.00"), ("500", "JPY", 500, "500"),
    ("0.005", "EUR", 1, "0.01"),  # half-up, as invoices round
])
def test_money_through_minor_units(amount, currency, minor, back):
    assert to_minor(Decimal(amount), currency) == minor
    assert str(from_minor(minor, currency)) == back
