"""Row revisions and the customer stamp: any change to a customer's rows changes the stamp, nothing else does."""
from datetime import date

import pytest
from sqlalchemy import select, update

from tests.portal.signing_in import customer  # noqa: F401  (fixture)
from widget_server.billing.discounts import grant
from widget_server.billing.ledger import record_payment
from widget_server.billing.lifecycle import request_cancellation
from widget_server.billing.run import bill_due
from widget_server.extensions import db
from widget_server.storage.models import Contract, Customer, Invoice, PaymentMethod
from widget_server.storage.revisions import customer_stamp

DAY = date(2026, 2, 14)  # the demo basic plan's trial (from 31 January) is over: the first invoice is due


@pytest.fixture
def two(app, customer):
    """Two customers of the demo tenant, billed once; yields their database ids."""
    first, second = customer("first@example.com"), customer("second@example.com")
    with app.app_context():
        bill_due(db.session, app.extensions["widget_themes"].get, DAY)
        db.session.commit()
    yield first.id, second.id


def _stamps(ids):
    db.session.expire_all()
    return [customer_stamp(db.session, i) for i in ids]


def _contract(customer_id):
    return db.session.scalar(select(Contract).where(Contract.customer_id == customer_id))


def test_an_orm_update_raises_the_rows_revision(app, two):
    with app.app_context():
        person = db.session.get(Customer, two[0])
        assert person.revision == 0
        person.fields = {**person.fields, "city": "Hamburg"}
        db.session.commit()
        assert db.session.get(Customer, two[0]).revision == 1


def test_a_bulk_update_raises_it_too(app, two):
    with app.app_context():
        before = db.session.scalar(select(Invoice.revision).where(Invoice.customer_id == two[0]))
        db.session.execute(update(Invoice).where(Invoice.customer_id == two[0]).values(status="paid"))
        db.session.commit()
        assert db.session.scalar(select(Invoice.revision).where(Invoice.customer_id == two[0])) == before + 1


CHANGES = {
    "profile": lambda cid: setattr(db.session.get(Customer, cid), "locale", "de"),
    "contract": lambda cid: request_cancellation(db.session, _contract(cid), DAY, actor="merchant"),
    "discount": lambda cid: grant(db.session, _contract(cid), percent=50, periods=2, actor="merchant"),
    "payment": lambda cid: record_payment(db.session, customer=db.session.get(Customer, cid), amount_minor=500,
                                          currency="EUR", received_on=DAY, method="invoice"),
    "payment method": lambda cid: setattr(
        db.session.scalar(select(PaymentMethod).where(PaymentMethod.customer_id == cid)), "account_holder", "A. N. Other"),
    "invoice": lambda cid: setattr(db.session.scalar(select(Invoice).where(Invoice.customer_id == cid)),
                                   "payment_reference", "CHANGED-1"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_kind_of_change_changes_that_customers_stamp_only(app, two, change):
    with app.app_context():
        before = _stamps(two)
        assert before == _stamps(two)  # reading changes nothing
        CHANGES[change](two[0])
        db.session.commit()
        after = _stamps(two)
    assert after[0] != before[0]
    assert after[1] == before[1]
