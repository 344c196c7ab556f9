"""Properties that must hold for any input: proration adds up, the ledger balances, billing is idempotent."""
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.billing.ledger import balance, record_payment
from widget_server.billing.periods import period_end
from widget_server.billing.proration import segment
from widget_server.billing.run import bill_due
from widget_server.storage.models import Invoice, Payment

from tests.billing.ledger_steps import bill_later, empty_tables
from tests.conftest import SIGNUP_FIELDS

DB_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@given(price=st.integers(min_value=0, max_value=10_000_000), start=days, interval=st.sampled_from(["month", "year"]),
       cuts=st.lists(st.integers(min_value=0, max_value=366), max_size=6))
def test_any_split_of_a_period_adds_up_to_its_price(price, start, interval, cuts):
    end = period_end(start, interval)
    length = (end - start).days
    points = sorted({start, end, *(start + timedelta(days=c % (length + 1)) for c in cuts)})
    parts = [segment(price, start, end, a, b) for a, b in zip(points, points[1:])]
    assert sum(parts) == price
    assert all(part >= 0 for part in parts)


def _contract(session, tenants, plan, on, n):
    demo = tenants("demo")
    return start_contract(session, tenant="demo", plan=demo.plan(plan), email=f"p{n}@example.com", locale="en",
                          fields=SIGNUP_FIELDS, payment=PaymentChoice(kind="invoice"), signup_key=f"prop{n:028d}", today=on)


@DB_SETTINGS
@given(starts=st.lists(st.tuples(st.sampled_from(["basic", "pro"]), days), min_size=1, max_size=4),
       run_days=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=3))
def test_billing_twice_equals_billing_once(session, tenants, starts, run_days):
    empty_tables(session)
    for n, (plan, on) in enumerate(starts):
        _contract(session, tenants, plan, on, n)
    session.commit()
    first = min(on for _p, on in starts)
    for offset in sorted(run_days):
        bill_due(session, tenants, first + timedelta(days=offset))
    snapshot = sorted(session.execute(select(Invoice.contract_id, Invoice.period_start, Invoice.number, Invoice.gross_minor)).all())
    again = bill_due(session, tenants, first + timedelta(days=max(run_days)))
    assert again.invoices == 0
    assert sorted(session.execute(select(Invoice.contract_id, Invoice.period_start, Invoice.number, Invoice.gross_minor)).all()) == snapshot
    empty_tables(session)


@DB_SETTINGS
@given(plan=st.sampled_from(["basic", "pro"]), start=days,
       steps=st.lists(st.one_of(st.tuples(st.just("bill"), st.integers(min_value=0, max_value=120)),
                                st.tuples(st.just("pay"), st.integers(min_value=1, max_value=10_000))), max_size=8))
def test_balance_is_invoices_minus_payments(session, tenants, plan, start, steps):
    empty_tables(session)
    contract = _contract(session, tenants, plan, start, 0)
    session.commit()
    today = start
    for kind, value in steps:
        if kind == "bill":
            today = bill_later(session, tenants, today, value)
        else:
            record_payment(session, customer=contract.customer, amount_minor=value, currency="EUR", received_on=today, method="invoice")
            session.commit()
    invoiced = session.scalar(select(func.coalesce(func.sum(Invoice.gross_minor), 0)))
    paid = session.scalar(select(func.coalesce(func.sum(Payment.amount_minor), 0)))
    owed = balance(session, contract.customer, today)
    assert owed.balance_minor == invoiced - paid
    open_total = sum(item.remaining_minor for item in owed.open_items)
    assert open_total == max(owed.balance_minor, 0) or (owed.balance_minor < 0 and open_total == 0)
    assert 0 <= owed.overdue_minor <= max(owed.balance_minor, 0)
    empty_tables(session)
