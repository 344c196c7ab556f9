"""Calendar-correct billing periods.

A contract keeps its anchor day: started on 31 January it renews on the last
day of February, then on 31 March again.
"""
import calendar
from datetime import date, timedelta


def add_months(start: date, months: int, anchor_day: int | None = None) -> date:
    day = anchor_day or start.day
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def period_end(start: date, interval: str, anchor_day: int | None = None) -> date:
    """The day the next period starts (the period is [start, end))."""
    if interval == "month":
        return add_months(start, 1, anchor_day)
    if interval == "year":
        return add_months(start, 12, anchor_day)
    raise ValueError(f"unknown interval {interval!r}")


def trial_end(start: date, trial_days: int) -> date | None:
    return start + timedelta(days=trial_days) if trial_days else None
