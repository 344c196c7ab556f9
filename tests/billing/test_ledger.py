"""Payments settle the oldest open items first; balance and arrears follow from the ledger."""
from datetime import date

import pytest
from sqlalchemy import select

from widget_server.billing.errors import BillingError
from widget_server.billing.ledger import balance, open_items, record_payment
from widget_server.billing.run import bill_due
from widget_server.storage.models import Invoice, LedgerEntry


@pytest.fixture
def billed(session, sign_up, tenants):
    contract = sign_up("pro", on=date(2026, 1, 1))
    bill_due(session, tenants, date(2026, 3, 1))  # three invoices of 19.90
    session.commit()
    yield contract.customer


def test_balance_and_arrears(session, billed):
    owed = balance(session, billed, today=date(2026, 3, 1))
    assert owed.balance_minor == 3 * 1990
    # due 15 Jan and 15 Feb are overdue on 1 Mar; due 15 Mar is not yet
    assert owed.overdue_minor == 2 * 1990
    assert [item.remaining_minor for item in owed.open_items] == [1990, 1990, 1990]


def test_payment_settles_the_oldest_items_first(session, billed):
    record_payment(session, customer=billed, amount_minor=2500, currency="EUR", received_on=date(2026, 3, 2), method="invoice")
    session.commit()
    items = open_items(session, billed.id)
    assert [item.remaining_minor for item in items] == [1480, 1990]
    statuses = session.scalars(select(Invoice.status).order_by(Invoice.id)).all()
    assert statuses == ["paid", "open", "open"]


def test_overpayment_stays_as_credit(session, billed):
    record_payment(session, customer=billed, amount_minor=7000, currency="EUR", received_on=date(2026, 3, 2), method="invoice")
    session.commit()
    owed = balance(session, billed, today=date(2026, 3, 2))
    assert owed.balance_minor == 3 * 1990 - 7000 and owed.overdue_minor == 0 and owed.open_items == []


def test_repeated_external_id_books_once(session, billed):
    first, created = record_payment(session, customer=billed, amount_minor=1990, currency="EUR", received_on=date(2026, 3, 2),
                                    method="invoice", external_id="bank-123")
    again, created_again = record_payment(session, customer=billed, amount_minor=1990, currency="EUR", received_on=date(2026, 3, 2),
                                          method="invoice", external_id="bank-123")
    session.commit()
    assert created and not created_again and first.id == again.id
    assert balance(session, billed, today=date(2026, 3, 2)).balance_minor == 2 * 1990


@pytest.mark.parametrize("amount,currency,field", [(0, "EUR", "amount"), (-5, "EUR", "amount"), (100, "SEK", "currency")])
def test_bad_payments_are_refused_and_book_nothing(session, billed, amount, currency, field):
    before = len(session.scalars(select(LedgerEntry)).all())
    with pytest.raises(BillingError) as info:
        record_payment(session, customer=billed, amount_minor=amount, currency=currency, received_on=date(2026, 3, 2), method="invoice")
    assert info.value.field == field
    session.rollback()
    assert len(session.scalars(select(LedgerEntry)).all()) == before
