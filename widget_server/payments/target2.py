"""TARGET2 business days: the days on which SEPA payments settle.

TARGET2 is closed on Saturdays, Sundays, New Year's Day, Good Friday, Easter Monday,
1 May, 25 and 26 December (ECB calendar). Regional bank holidays do not matter for SEPA.
"""
from datetime import date, timedelta


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


def closing_days(year: int) -> set[date]:
    easter = easter_sunday(year)
    return {
        date(year, 1, 1), easter - timedelta(days=2), easter + timedelta(days=1),
        date(year, 5, 1), date(year, 12, 25), date(year, 12, 26),
    }


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in closing_days(day.year)


def business_day_on_or_after(day: date) -> date:
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def next_business_day(day: date) -> date:
    """The first business day strictly after `day`."""
    return business_day_on_or_after(day + timedelta(days=1))
