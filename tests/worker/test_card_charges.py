"""The daily card charge job: renewals of card customers charged off-session after the billing run,
once, against the fake Stripe (real `stripe` library) and the test database."""
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.payments.fake_stripe import DECLINED_CARD, fake_stripe  # noqa: F401  (fixture)
from widget_server.billing.contracts import PaymentChoice
from widget_server.billing.run import bill_due
from widget_server.payments import stripe as stripe_payments
from widget_server.storage.models import Invoice, OutboxEvent, Payment
from widget_server.worker import jobs as job_functions


@pytest.fixture
def card_customer(session, tenants, sign_up, fake_stripe):
    counter = iter(range(100))

    def make(card="pm_card_visa", tenant="demo", on=date(2026, 1, 1)):
        contract = sign_up("pro", on=on, tenant=tenant, key=f"card{next(counter)}", payment=PaymentChoice(kind="invoice"))
        person = contract.customer
        stripe_payments.create_setup_intent(session, tenants(tenant), person)
        stripe_payments.save_card(session, tenants(tenant), person, card, brand="visa", last4="4242")
        session.commit()
        return person
    yield make


def statuses(session) -> list[str]:
    session.expire_all()
    return [i.status for i in session.scalars(select(Invoice).order_by(Invoice.id))]


def test_due_renewals_are_charged_once_however_often_the_job_runs(worker_app, session, tenants, card_customer, fake_stripe):
    paying = card_customer()
    card_customer(card=DECLINED_CARD)
    bill_due(session, tenants, date(2026, 1, 1))
    session.commit()
    due = date(2026, 1, 15)  # issued 1 January, 14 days to pay: charged on the due date, not before
    assert job_functions.run_card_charges(date(2026, 1, 14))["demo"].invoices == ()
    assert fake_stripe.calls("/v1/payment_intents") == []

    first = job_functions.run_card_charges(due)
    assert len(first["demo"].invoices) == 1 and len(first["demo"].skipped) == 1
    assert "fjord" in first  # every tenant with a Stripe key, whether or not it has card customers
    second = job_functions.run_card_charges(due)
    assert second["demo"].invoices == ()
    charges = fake_stripe.calls("/v1/payment_intents")
    paid = [c for c in charges if c["params"]["payment_method"] == "pm_card_visa"]
    assert len(paid) == 1  # the paid invoice is not charged again; the declined one is retried
    assert paid[0]["params"]["customer"] == paying.stripe_customer_id
    assert session.scalar(select(func.count()).select_from(Payment)) == 1
    assert sorted(statuses(session)) == ["open", "paid"]
    assert session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "payment.received")) == 1


def test_a_repeated_request_after_a_lost_answer_books_once(worker_app, session, tenants, card_customer, fake_stripe):
    """Stripe charged, but our transaction was lost: the next run sends the same idempotency key,
    gets the same PaymentIntent back and books it once."""
    card_customer()
    bill_due(session, tenants, date(2026, 1, 1))
    session.commit()
    invoice = session.scalar(select(Invoice))
    stripe_payments.charge_invoice(session, tenants("demo"), invoice)
    session.rollback()  # the booking is lost
    job_functions.run_card_charges(date(2026, 1, 15))
    keys = {c["headers"]["idempotency-key"] for c in fake_stripe.calls("/v1/payment_intents")}
    assert keys == {f"{invoice.public_id}-1"}
    assert session.scalar(select(func.count()).select_from(Payment)) == 1 and statuses(session) == ["paid"]


def test_tenants_without_stripe_keys_are_left_alone(worker_app, session, tenants, card_customer, fake_stripe, monkeypatch):
    card_customer()
    bill_due(session, tenants, date(2026, 1, 1))
    session.commit()
    monkeypatch.delenv("WIDGET_STRIPE_SECRET_KEY_DEMO")
    assert "demo" not in job_functions.run_card_charges(date(2026, 1, 15))
    assert fake_stripe.calls("/v1/payment_intents") == [] and statuses(session) == ["open"]


def test_the_job_runs_daily_after_the_billing_run(worker_app, session, tenants, card_customer, fake_stripe):
    assert worker_app.config["WIDGET_CARD_CHARGE_RUN_AT"] == "03:00" > worker_app.config["WIDGET_BILLING_RUN_AT"]
    task = job_functions.card_charges
    assert task.s().validate_datetime(datetime(2026, 1, 15, 3, 0))
    assert not task.s().validate_datetime(datetime(2026, 1, 15, 2, 0))
    # the job itself (as the worker runs it), inside the bound app's context
    card_customer(on=date(2020, 1, 1))
    bill_due(session, tenants, date(2020, 1, 1))
    session.commit()
    task.call_local()  # due up to the tenant's today: long due
    assert statuses(session) == ["paid"]
    task.call_local()
    assert len(fake_stripe.calls("/v1/payment_intents")) == 1
