"""Cards through Stripe: the real `stripe` library against a fake Stripe API on 127.0.0.1,
and webhooks signed exactly as Stripe signs them, posted through the Flask test client."""
import hashlib
import hmac
import json
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from widget_server.billing.contracts import PaymentChoice
from widget_server.billing.ledger import record_payment
from widget_server.payments import PROVIDERS, PaymentSetupError, provider
from widget_server.payments import stripe as stripe_payments
from widget_server.storage.models import AuditEvent, Invoice, LedgerEntry, OutboxEvent, Payment, PaymentMethod

from .fake_stripe import DECLINED_CARD, DEMO_KEY, DEMO_PK, DEMO_WHSEC, FJORD_KEY, FJORD_WHSEC  # noqa: F401


def signed(event: dict, secret: str, timestamp: int | None = None) -> tuple[bytes, str]:
    """The body and Stripe-Signature header exactly as Stripe sends them."""
    payload = json.dumps(event)
    t = int(time.time()) if timestamp is None else timestamp
    v1 = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return payload.encode(), f"t={t},v1={v1}"


def event(kind: str, obj: dict, event_id: str = "evt_1") -> dict:
    return {"id": event_id, "object": "event", "type": kind, "api_version": "2025-01-27.acacia", "created": int(time.time()),
            "livemode": False, "data": {"object": obj}}


def post(client, body: bytes, signature: str | None, tenant: str = "demo"):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post(f"/webhooks/stripe/{tenant}", data=body, headers=headers)


def intent(invoice: Invoice, pi_id: str = "pi_hook1", amount: int | None = None, **extra) -> dict:
    return {"id": pi_id, "object": "payment_intent", "amount": amount or invoice.gross_minor,
            "amount_received": amount or invoice.gross_minor, "currency": invoice.currency.lower(),
            "customer": invoice.customer.stripe_customer_id, "status": "succeeded",
            "metadata": {"invoice_id": invoice.public_id, "customer_id": invoice.customer.public_id, "tenant": invoice.tenant},
            **extra}


@pytest.fixture
def card_customer(session, tenants, customer, fake_stripe):
    """A demo customer (bank transfer at sign-up) who then saved a card through a SetupIntent."""

    def make(card="pm_card_visa", on=date(2026, 1, 1), tenant="demo"):
        contract = customer(on=on, tenant=tenant, payment=PaymentChoice(kind="invoice"))
        person = contract.customer
        stripe_payments.create_setup_intent(session, tenants(tenant), person)
        stripe_payments.save_card(session, tenants(tenant), person, card)
        session.commit()
        return person

    yield make


def invoice_of(session, person) -> Invoice:
    return session.scalar(select(Invoice).where(Invoice.customer_id == person.id).order_by(Invoice.id))


def owed(session, invoice) -> int:
    return session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(LedgerEntry.invoice_id == invoice.id))


def counts(session) -> tuple[int, int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(model)) for model in (Payment, LedgerEntry, AuditEvent, OutboxEvent))


# --- configuration ------------------------------------------------------------------------

def test_a_tenant_has_stripe_only_when_its_key_is_in_the_environment(tenants, monkeypatch):
    for name in ("SECRET_KEY", "PUBLISHABLE_KEY", "WEBHOOK_SECRET"):
        monkeypatch.delenv(f"WIDGET_STRIPE_{name}_DEMO", raising=False)
    monkeypatch.delenv("WIDGET_STRIPE_API_BASE", raising=False)
    assert stripe_payments.account("demo") is None
    missing = ["WIDGET_STRIPE_SECRET_KEY_DEMO", "WIDGET_STRIPE_PUBLISHABLE_KEY_DEMO", "WIDGET_STRIPE_WEBHOOK_SECRET_DEMO"]
    assert provider("stripe").configuration_problems(tenants("demo")) == [f"{n} is not set in the environment" for n in missing]
    monkeypatch.setenv("WIDGET_STRIPE_SECRET_KEY_DEMO", DEMO_KEY)
    monkeypatch.setenv("WIDGET_STRIPE_PUBLISHABLE_KEY_DEMO", DEMO_PK)
    assert provider("stripe").configuration_problems(tenants("demo")) == ["WIDGET_STRIPE_WEBHOOK_SECRET_DEMO is not set in the environment"]
    monkeypatch.setenv("WIDGET_STRIPE_WEBHOOK_SECRET_DEMO", DEMO_WHSEC)
    assert provider("stripe").configuration_problems(tenants("demo")) == []
    found = stripe_payments.account("demo")
    assert (found.secret_key, found.publishable_key, found.webhook_secret, found.api_base) == (
        DEMO_KEY, DEMO_PK, DEMO_WHSEC, "https://api.stripe.com")
    assert DEMO_KEY not in repr(found) and DEMO_WHSEC not in repr(found)
    env = {"WIDGET_STRIPE_SECRET_KEY_ACME_GYM": "sk_test_acme", "WIDGET_STRIPE_API_BASE": "http://127.0.0.1:9/"}
    assert stripe_payments.account("acme-gym", env).secret_key == "sk_test_acme"
    assert stripe_payments.account("acme-gym", env).api_base == "http://127.0.0.1:9"
    assert stripe_payments.account("acme", env) is None


def test_the_provider_is_registered_but_never_prepared_from_form_values(tenants):
    adapter = PROVIDERS["stripe"]
    assert adapter.kind == "stripe" and adapter.collects
    with pytest.raises(PaymentSetupError):
        adapter.prepare(PaymentMethod(), None, tenant=tenants("demo"), today=date(2026, 1, 1))
    card = PaymentMethod(public_id="pm_x", kind="stripe", stripe_payment_method_id="pm_card_visa", card_brand="visa", card_last4="4242")
    assert adapter.describe(card) == {"id": "pm_x", "kind": "stripe", "brand": "visa", "last4": "4242"}


# --- setting up a card --------------------------------------------------------------------

def test_setup_intent_creates_the_stripe_customer_once(session, tenants, customer, fake_stripe):
    person = customer(payment=PaymentChoice(kind="invoice")).customer
    first = stripe_payments.create_setup_intent(session, tenants("demo"), person)
    second = stripe_payments.create_setup_intent(session, tenants("demo"), person)
    session.commit()
    assert first.client_secret.startswith(first.id) and second.id != first.id
    [created] = fake_stripe.calls("/v1/customers")
    assert created["params"]["email"] == "anna@example.com"
    assert created["params"]["metadata[customer_id]"] == person.public_id
    assert created["headers"]["authorization"] == f"Bearer {DEMO_KEY}"
    assert created["headers"]["idempotency-key"] == f"customer-{person.public_id}"
    assert person.stripe_customer_id == "cus_fake1"
    intents = fake_stripe.calls("/v1/setup_intents")
    assert [(i["params"]["customer"], i["params"]["usage"]) for i in intents] == [("cus_fake1", "off_session")] * 2


def test_setup_intent_needs_a_configured_tenant(session, tenants, customer, fake_stripe, monkeypatch):
    monkeypatch.delenv("WIDGET_STRIPE_SECRET_KEY_DEMO")
    person = customer(payment=PaymentChoice(kind="invoice")).customer
    with pytest.raises(stripe_payments.StripeNotConfigured, match="WIDGET_STRIPE_SECRET_KEY_DEMO"):
        stripe_payments.create_setup_intent(session, tenants("demo"), person)
    assert fake_stripe.requests == []


def test_setup_intent_succeeded_webhook_saves_the_card_as_default(client, session, tenants, customer, fake_stripe):
    person = customer(payment=PaymentChoice(kind="invoice")).customer
    setup = stripe_payments.create_setup_intent(session, tenants("demo"), person)
    session.commit()
    obj = {"id": setup.id, "object": "setup_intent", "status": "succeeded", "customer": "cus_fake1",
           "payment_method": "pm_card_visa", "metadata": {"customer_id": person.public_id, "tenant": "demo"}}
    body, signature = signed(event("setup_intent.succeeded", obj), DEMO_WHSEC)
    for _ in range(2):  # a repeated delivery saves the card once
        response = post(client, body, signature)
        assert response.status_code == 200, response.data
    session.expire_all()
    methods = session.scalars(select(PaymentMethod).where(PaymentMethod.customer_id == person.id).order_by(PaymentMethod.id)).all()
    assert [(m.kind, m.is_default, m.stripe_payment_method_id) for m in methods] == [
        ("invoice", False, None), ("stripe", True, "pm_card_visa")]


# --- charging -------------------------------------------------------------------------------

def test_charge_invoice_off_session_books_the_payment(session, tenants, card_customer, bill, fake_stripe):
    person = card_customer()
    bill(date(2026, 1, 1))
    invoice = invoice_of(session, person)
    outcome = stripe_payments.charge_invoice(session, tenants("demo"), invoice)
    session.commit()
    assert (outcome.status, outcome.amount_minor, outcome.invoice) == ("succeeded", 1990, invoice.number)
    [call] = fake_stripe.calls("/v1/payment_intents")
    p = call["params"]
    assert (p["amount"], p["currency"], p["customer"], p["payment_method"], p["confirm"], p["off_session"]) == (
        "1990", "eur", person.stripe_customer_id, "pm_card_visa", "true", "true")
    assert p["metadata[invoice_id]"] == invoice.public_id
    assert call["headers"]["idempotency-key"] == f"{invoice.public_id}-1"
    assert call["headers"]["authorization"] == f"Bearer {DEMO_KEY}"
    session.expire_all()
    assert invoice.status == "paid" and owed(session, invoice) == 0
    [payment] = session.scalars(select(Payment)).all()
    assert (payment.method, payment.external_id, payment.amount_minor) == ("stripe", outcome.payment_intent, 1990)
    # charging again finds nothing open
    assert stripe_payments.charge_invoice(session, tenants("demo"), invoice).status == "nothing_due"
    assert len(fake_stripe.calls("/v1/payment_intents")) == 1


def test_charge_takes_the_open_remainder_from_the_ledger(session, tenants, card_customer, bill, fake_stripe):
    person = card_customer()
    bill(date(2026, 1, 1))
    invoice = invoice_of(session, person)
    record_payment(session, customer=person, amount_minor=500, currency="EUR", received_on=date(2026, 1, 3),
                   method="invoice", external_id="bank-1", invoice=invoice)
    session.commit()
    outcome = stripe_payments.charge_invoice(session, tenants("demo"), invoice)
    session.commit()
    assert outcome.amount_minor == 1490
    assert fake_stripe.calls("/v1/payment_intents")[0]["params"]["amount"] == "1490"
    assert owed(session, invoice) == 0


def test_a_declined_card_is_recorded_and_the_next_attempt_has_a_new_key(session, tenants, card_customer, bill, fake_stripe):
    person = card_customer(card=DECLINED_CARD)
    bill(date(2026, 1, 1))
    invoice = invoice_of(session, person)
    before = counts(session)
    outcome = stripe_payments.charge_invoice(session, tenants("demo"), invoice)
    session.commit()
    assert (outcome.status, outcome.reason) == ("failed", "insufficient_funds")
    assert owed(session, invoice) == 1990 and invoice.status == "open"
    [failed] = session.scalars(select(OutboxEvent).where(OutboxEvent.type == "invoice.payment_failed")).all()
    assert failed.payload["invoice_id"] == invoice.public_id and failed.payload["payment_intent"] == outcome.payment_intent
    assert counts(session)[:2] == before[:2]  # no payment, no ledger entry
    stripe_payments.charge_invoice(session, tenants("demo"), invoice)
    session.commit()
    keys = [c["headers"]["idempotency-key"] for c in fake_stripe.calls("/v1/payment_intents")]
    assert keys == [f"{invoice.public_id}-1", f"{invoice.public_id}-2"]


def test_charge_due_charges_open_invoices_of_card_customers_only(session, tenants, card_customer, customer, bill, fake_stripe):
    paying = card_customer()
    declined = card_customer(card=DECLINED_CARD)
    later = card_customer(on=date(2026, 1, 20))
    transfer = customer(payment=PaymentChoice(kind="invoice")).customer
    bill(date(2026, 1, 20))
    result = stripe_payments.charge_due(session, tenants("demo"), date(2026, 1, 15))
    session.commit()
    assert result.kind == "stripe"
    assert result.invoices == (invoice_of(session, paying).number,)
    assert (result.total_minor, result.currency) == (1990, "EUR")
    assert result.skipped == {invoice_of(session, declined).number: "insufficient_funds"}
    assert invoice_of(session, paying).status == "paid"
    assert invoice_of(session, later).status == "open" and invoice_of(session, transfer).status == "open"
    charged = {c["params"]["metadata[invoice_id]"] for c in fake_stripe.calls("/v1/payment_intents")}
    assert charged == {invoice_of(session, paying).public_id, invoice_of(session, declined).public_id}
    # the provider interface runs the same collection
    again = provider("stripe").collect(session, tenants("demo"), up_to=date(2026, 1, 15), today=date(2026, 1, 15))
    assert again.invoices == () and list(again.skipped) == [invoice_of(session, declined).number]


# --- webhooks -------------------------------------------------------------------------------

def test_a_signed_payment_intent_succeeded_settles_the_invoice(client, session, card_customer, bill, fake_stripe):
    person = card_customer()
    bill(date(2026, 1, 1))
    invoice = invoice_of(session, person)
    body, signature = signed(event("payment_intent.succeeded", intent(invoice)), DEMO_WHSEC)
    response = post(client, body, signature)
    assert response.status_code == 200, response.data
    assert response.get_json()["outcome"] == "payment_recorded"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    session.expire_all()
    assert invoice.status == "paid" and owed(session, invoice) == 0
    [payment] = session.scalars(select(Payment)).all()
    assert (payment.method, payment.external_id, payment.amount_minor, payment.currency) == ("stripe", "pi_hook1", 1990, "EUR")


def test_a_duplicate_delivery_is_processed_once(client, session, card_customer, bill, fake_stripe):
    person = card_customer()
    bill(date(2026, 1, 1))
    invoice = invoice_of(session, person)
    body, signature = signed(event("payment_intent.succeeded", intent(invoice)), DEMO_WHSEC)
    assert post(client, body, signature).get_json()["outcome"] == "payment_recorded"
    after_first = counts(session)
    second = post(client, body, signature)
    assert second.status_code == 200 and second.get_json()["outcome"] == "duplicate"
    assert counts(session) == after_first
    assert session.scalar(select(func.count()).select_from(Payment)) == 1


def test_the_webhook_after_an_immediate_charge_books_nothing_new(client, session, tenants, card_customer, bill, fake_stripe):
    person = card_customer()
    bill(date(2026, 1, 1))
    invoice = invoice_of(session, person)
    outcome = stripe_payments.charge_invoice(session, tenants("demo"), invoice)
    session.commit()
    before = counts(session)
    body, signature = signed(event("payment_intent.succeeded", intent(invoice, pi_id=outcome.payment_intent)), DEMO_WHSEC)
    assert post(client, body, signature).get_json()["outcome"] == "duplicate"
    assert counts(session) == before


@pytest.mark.parametrize("tamper", ["wrong_secret", "changed_body", "missing", "garbage", "old_timestamp"])
def test_a_bad_signature_is_refused_and_changes_nothing(client, session, card_customer, bill, fake_stripe, tamper):
    person = card_customer()
    bill(date(2026, 1, 1))
    invoice = invoice_of(session, person)
    good = event("payment_intent.succeeded", intent(invoice))
    body, signature = signed(good, DEMO_WHSEC)
    if tamper == "wrong_secret":
        body, signature = signed(good, "whsec_not_the_right_one")
    elif tamper == "changed_body":
        body = body.replace(b'"amount_received": 1990', b'"amount_received": 99990')
        assert b"99990" in body
    elif tamper == "missing":
        signature = None
    elif tamper == "garbage":
        signature = "t=1,v1=deadbeef"
    elif tamper == "old_timestamp":
        body, signature = signed(good, DEMO_WHSEC, timestamp=int(time.time()) - 3600)
    before = counts(session)
    response = post(client, body, signature)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json" and response.get_json()["status"] == 400
    session.expire_all()
    assert counts(session) == before and invoice.status == "open" and owed(session, invoice) == 1990


def test_another_tenants_secret_is_refused(client, session, card_customer, bill, fake_stripe):
    person = card_customer()
    bill(date(2026, 1, 1))
    invoice = invoice_of(session, person)
    before = counts(session)
    body, signature = signed(event("payment_intent.succeeded", intent(invoice)), FJORD_WHSEC)
    assert post(client, body, signature, tenant="demo").status_code == 400
    # and a demo-signed event is no good at fjord's endpoint either (nor would it find demo's invoice)
    body, signature = signed(event("payment_intent.succeeded", intent(invoice)), DEMO_WHSEC)
    assert post(client, body, signature, tenant="fjord").status_code == 400
    assert counts(session) == before and owed(session, invoice) == 1990


def test_a_failed_payment_is_recorded_without_touching_the_ledger(client, session, card_customer, bill, fake_stripe):
    person = card_customer()
    bill(date(2026, 1, 1))
    invoice = invoice_of(session, person)
    before = counts(session)
    obj = intent(invoice, pi_id="pi_failed1", status="requires_payment_method", amount_received=0,
                 last_payment_error={"type": "card_error", "code": "card_declined", "decline_code": "expired_card"})
    body, signature = signed(event("payment_intent.payment_failed", obj, event_id="evt_failed"), DEMO_WHSEC)
    first = post(client, body, signature)
    assert first.status_code == 200 and first.get_json()["outcome"] == "failure_recorded"
    assert post(client, body, signature).get_json()["outcome"] == "duplicate"
    payments, entries, audits, outbox = counts(session)
    assert (payments, entries, audits, outbox) == (before[0], before[1], before[2] + 1, before[3] + 1)
    audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "invoice.payment_failed"))
    assert audit.customer_id == person.id and audit.after["reason"] == "expired_card"
    assert audit.after["invoice_id"] == invoice.public_id
    sent = session.scalar(select(OutboxEvent).where(OutboxEvent.type == "invoice.payment_failed"))
    assert sent.payload == {"customer_id": person.public_id, **audit.after}
    assert invoice.status == "open" and owed(session, invoice) == 1990


def test_other_event_types_are_acknowledged_and_ignored(client, session, card_customer, fake_stripe):
    card_customer()
    before = counts(session)
    body, signature = signed(event("charge.refund.updated", {"id": "re_1", "object": "refund"}), DEMO_WHSEC)
    response = post(client, body, signature)
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    assert counts(session) == before


def test_unknown_tenants_and_tenants_without_stripe_are_not_found(client, fake_stripe, monkeypatch):
    body, signature = signed(event("payment_intent.succeeded", {"id": "pi_1", "object": "payment_intent"}), DEMO_WHSEC)
    response = post(client, body, signature, tenant="no-such-shop")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    monkeypatch.delenv("WIDGET_STRIPE_WEBHOOK_SECRET_DEMO")
    response = post(client, body, signature, tenant="demo")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_only_the_stripe_adapter_imports_stripe():
    """DESIGN.md: only payments/stripe.py imports `stripe`; billing/ has neither Flask nor Stripe."""
    import re
    from pathlib import Path

    import widget_server
    root = Path(widget_server.__file__).parent
    pattern = re.compile(r"^\s*(import stripe\b|from stripe\b)", re.MULTILINE)
    importers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if pattern.search(p.read_text(encoding="utf-8")))
    assert importers == ["payments/stripe.py"]
