"""TARGET2 business days and the collection date rule."""
from datetime import date

import pytest

from widget_server.payments import target2
from widget_server.payments.sepa import collection_date


@pytest.mark.parametrize("year,easter", [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)),
                                         (2027, date(2027, 3, 28)), (2038, date(2038, 4, 25))])
def test_easter(year, easter):
    assert target2.easter_sunday(year) == easter


@pytest.mark.parametrize("day,open_", [
    (date(2026, 1, 1), False), (date(2026, 1, 2), True), (date(2026, 4, 3), False), (date(2026, 4, 6), False),
    (date(2026, 4, 7), True), (date(2026, 5, 1), False), (date(2026, 12, 24), True), (date(2026, 12, 25), False),
    (date(2026, 12, 26), False), (date(2026, 11, 21), False), (date(2026, 11, 22), False), (date(2026, 11, 23), True),
    (date(2026, 10, 3), False),  # a Saturday; German Unity Day itself does not close TARGET2
    (date(2025, 10, 3), True),
])
def test_business_days(day, open_):
    assert target2.is_business_day(day) is open_


@pytest.mark.parametrize("due,today,expected", [
    (date(2026, 1, 15), date(2026, 1, 12), date(2026, 1, 15)),   # due later: on the due date
    (date(2026, 1, 13), date(2026, 1, 12), date(2026, 1, 13)),   # due the next business day: still fine (D-1)
    (date(2026, 1, 12), date(2026, 1, 12), date(2026, 1, 13)),   # due today: tomorrow
    (date(2026, 1, 2), date(2026, 1, 16), date(2026, 1, 19)),    # overdue, exported on a Friday: Monday
    (date(2026, 2, 15), date(2026, 2, 10), date(2026, 2, 16)),   # due on a Sunday: Monday
    (date(2026, 3, 20), date(2026, 4, 2), date(2026, 4, 7)),     # exported before Easter: after Easter Monday
    (date(2026, 12, 24), date(2026, 12, 23), date(2026, 12, 24)),
    (date(2026, 12, 25), date(2026, 12, 20), date(2026, 12, 28)),
])
def test_collection_date_is_the_due_date_or_the_next_business_day_after_the_export(due, today, expected):
    assert collection_date(due, today) == expected
