"""The portal's card page (save or replace a card with Stripe's Payment Element, checked with
Stripe before it is stored) and "pay now by card", against the fake Stripe (real `stripe` library)."""
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.conftest import hidden_inputs
from tests.payments.fake_stripe import DECLINED_CARD, fake_stripe  # noqa: F401  (fixture)
from tests.tenants.test_loader import edit
from widget_server.billing.run import bill_due
from widget_server.extensions import db
from widget_server.storage.models import AuditEvent, Customer, Invoice, OutboxEvent, Payment, PaymentMethod
from widget_server.storage.queries import by_public_id

from .signing_in import customer, signed_in  # noqa: F401  (fixture)

CARD_PAGE = "/t/demo/portal/payment-method/card"
PAY = "/t/demo/portal/pay"


@pytest.fixture
def card_tenant(app, themes_dir, fake_stripe):
    edit(themes_dir / "demo" / "theme.toml", 'methods = ["invoice", "sepa"]', 'methods = ["invoice", "sepa", "card"]')
    app.config["WIDGET_STRIPE_JS_URL"] = fake_stripe.js_url
    yield fake_stripe


def stored(app, person, tenant="demo"):
    with app.app_context():
        found = by_public_id(db.session, Customer, tenant, person.public_id)
        method = found.default_payment_method
        return {"stripe_customer": found.stripe_customer_id, "kind": method.kind, "pm": method.stripe_payment_method_id,
                "brand": method.card_brand, "last4": method.card_last4, "methods": len(found.payment_methods)}


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def open_card_page(browser, fake, path=CARD_PAGE):
    """GET the card page; returns (hidden inputs, SetupIntent id from the page's client secret)."""
    page = browser.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:1000]
    html = page.get_data(as_text=True)
    secret = re.search(r'data-client-secret="([^"]+)"', html).group(1)
    return hidden_inputs(html), secret.split("_secret_")[0], page


def save_card(browser, fake, card="pm_card_visa", path=CARD_PAGE):
    hidden, setup_intent, _ = open_card_page(browser, fake, path)
    fake.succeed_setup(setup_intent, card)  # what Stripe.js did in the browser
    return browser.post(CARD_PAGE, data={**hidden, "setup_intent": setup_intent, "payment_method_id": card})


def bill(app, on=date(2026, 2, 14)):  # the demo basic plan: a 14-day trial from 31 January
    with app.app_context():
        bill_due(db.session, app.extensions["widget_themes"].get, on)
        db.session.commit()


def invoices(app, person):
    with app.app_context():
        found = by_public_id(db.session, Customer, "demo", person.public_id)
        return [(i.number, i.status) for i in db.session.scalars(select(Invoice).where(Invoice.customer_id == found.id))]


def test_the_card_page_saves_a_card_stripe_confirmed(app, card_tenant, customer):
    person = customer()
    browser = signed_in(app, person)
    hidden, setup_intent, page = open_card_page(browser, card_tenant)
    html = page.get_data(as_text=True)
    assert "You have not saved a card yet." in html and 'data-publishable-key="pk_test_demo_0123456789"' in html
    assert f'<script src="{card_tenant.js_url}" defer></script>' in html
    assert card_tenant.url in page.headers["Content-Security-Policy"] and "https://js.stripe.com" in page.headers["Content-Security-Policy"]
    [created] = card_tenant.calls("/v1/customers", "POST")
    assert created["params"]["metadata[customer_id]"] == person.public_id

    card_tenant.succeed_setup(setup_intent, "pm_card_visa")
    response = browser.post(CARD_PAGE, data={**hidden, "setup_intent": setup_intent, "payment_method_id": "pm_card_visa"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/portal/payment-method/card?saved=1")
    stripe_customer = card_tenant.calls("/v1/setup_intents", "POST")[0]["params"]["customer"]
    assert stored(app, person) == {"stripe_customer": stripe_customer, "kind": "stripe", "pm": "pm_card_visa",
                                   "brand": "visa", "last4": "4242", "methods": 2}
    with app.app_context():
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment_method.updated"))
        sent = db.session.scalar(select(OutboxEvent).where(OutboxEvent.type == "payment_method.updated"))
    assert audit.actor == "customer" and audit.before["kind"] == "invoice"
    assert {k: audit.after[k] for k in ("kind", "brand", "last4")} == {"kind": "stripe", "brand": "visa", "last4": "4242"}
    assert "pm_card_visa" not in str(sent.payload) and sent.payload["after"]["last4"] == "4242"
    done = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your card is saved." in done and "Visa ending 4242" in done

    # replacing it: the new card becomes the default, the old one stays inactive
    assert save_card(browser, card_tenant, "pm_card_mastercard").status_code == 303
    assert stored(app, person)["last4"] == "4444" and stored(app, person)["methods"] == 3


@pytest.mark.parametrize("tamper", ["other_customer", "unknown", "not_confirmed", "other_card"])
def test_a_foreign_or_tampered_setup_intent_is_refused(app, card_tenant, customer, tamper):
    person, stranger = customer(), customer(email="bert@example.com")
    browser = signed_in(app, person)
    hidden, setup_intent, _ = open_card_page(browser, card_tenant)
    card_tenant.succeed_setup(setup_intent)
    posted, card = setup_intent, "pm_card_visa"
    if tamper == "other_customer":
        _, posted, _ = open_card_page(signed_in(app, stranger), card_tenant)
        card_tenant.succeed_setup(posted)
    elif tamper == "unknown":
        posted = "seti_madeup123"
    elif tamper == "not_confirmed":
        _, posted, _ = open_card_page(browser, card_tenant)
    elif tamper == "other_card":
        card = "pm_card_mastercard"
    before = (count(app, PaymentMethod), count(app, AuditEvent), count(app, OutboxEvent))
    response = browser.post(CARD_PAGE, data={**hidden, "setup_intent": posted, "payment_method_id": card})
    assert response.status_code == 422
    assert "We could not confirm your card." in response.get_data(as_text=True)
    assert (count(app, PaymentMethod), count(app, AuditEvent), count(app, OutboxEvent)) == before
    assert stored(app, person)["kind"] == "invoice"


def test_without_stripe_there_is_no_card_page_and_no_pay_button(app, card_tenant, customer, monkeypatch):
    person = customer()
    bill(app)
    browser = signed_in(app, person)
    overview = browser.get("/t/demo/portal/").get_data(as_text=True)
    assert "Pay now by card" in overview
    monkeypatch.delenv("WIDGET_STRIPE_SECRET_KEY_DEMO")
    assert browser.get(CARD_PAGE).status_code == 404
    overview = browser.get("/t/demo/portal/")
    assert "Pay now by card" not in overview.get_data(as_text=True)
    assert "stripe" not in overview.headers["Content-Security-Policy"]
    csrf = hidden_inputs(overview.get_data(as_text=True))["csrf_token"]
    assert browser.post(PAY, data={"csrf_token": csrf}).status_code == 404


def test_the_pay_button_needs_an_open_balance(app, card_tenant, customer):
    browser = signed_in(app, customer())
    page = browser.get("/t/demo/portal/")
    assert "Pay now by card" not in page.get_data(as_text=True)  # nothing is open before the billing run
    assert "stripe" not in page.headers["Content-Security-Policy"]  # the overview loads no Stripe.js


def test_pay_now_charges_the_open_invoices_to_the_saved_card_once(app, card_tenant, customer):
    person = customer()
    browser = signed_in(app, person)
    assert save_card(browser, card_tenant).status_code == 303
    bill(app)
    [(number, status)] = invoices(app, person)
    overview = browser.get("/t/demo/portal/").get_data(as_text=True)
    assert "Pay the open amount now with your card Visa ending 4242." in overview
    csrf = hidden_inputs(overview)["csrf_token"]
    paid = browser.post(PAY, data={"csrf_token": csrf})
    assert paid.status_code == 200
    assert f"for invoice {number}, charged to your card Visa ending 4242" in paid.get_data(as_text=True)
    assert invoices(app, person) == [(number, "paid")]
    [charge] = card_tenant.calls("/v1/payment_intents")
    assert charge["params"]["off_session"] == "true" and charge["params"]["payment_method"] == "pm_card_visa"
    again = browser.post(PAY, data={"csrf_token": csrf})  # a second click
    assert again.status_code == 200 and "Nothing to pay at the moment." in again.get_data(as_text=True)
    assert len(card_tenant.calls("/v1/payment_intents")) == 1 and count(app, Payment) == 1
    with app.app_context():
        received = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment.received"))
    assert received.actor == "customer"


def test_pay_now_without_a_card_saves_one_and_pays(app, card_tenant, customer):
    person = customer()
    bill(app)
    browser = signed_in(app, person)
    csrf = hidden_inputs(browser.get("/t/demo/portal/").get_data(as_text=True))["csrf_token"]
    response = browser.post(PAY, data={"csrf_token": csrf})
    assert response.status_code == 303 and "then=pay" in response.headers["Location"]
    hidden, setup_intent, page = open_card_page(browser, card_tenant, response.headers["Location"])
    assert hidden["then"] == "pay" and "Save card and pay" in page.get_data(as_text=True)
    card_tenant.succeed_setup(setup_intent)
    paid = browser.post(CARD_PAGE, data={**hidden, "setup_intent": setup_intent, "payment_method_id": "pm_card_visa"})
    assert paid.status_code == 200 and "Paid:" in paid.get_data(as_text=True)
    assert [status for _, status in invoices(app, person)] == ["paid"]


def test_a_declined_card_is_shown_and_nothing_is_booked(app, card_tenant, customer):
    person = customer()
    browser = signed_in(app, person)
    assert save_card(browser, card_tenant, DECLINED_CARD).status_code == 303
    bill(app)
    csrf = hidden_inputs(browser.get("/t/demo/portal/").get_data(as_text=True))["csrf_token"]
    response = browser.post(PAY, data={"csrf_token": csrf})
    assert response.status_code == 402
    html = response.get_data(as_text=True)
    assert "Not paid: your card was declined" in html and 'href="/t/demo/portal/payment-method/card' in html
    assert [status for _, status in invoices(app, person)] == ["open"] and count(app, Payment) == 0


def test_stripe_unreachable_is_a_friendly_page(app, card_tenant, customer, monkeypatch):
    person = customer()
    browser = signed_in(app, person)
    assert save_card(browser, card_tenant).status_code == 303
    bill(app)
    csrf = hidden_inputs(browser.get("/t/demo/portal/").get_data(as_text=True))["csrf_token"]
    monkeypatch.setenv("WIDGET_STRIPE_API_BASE", "http://127.0.0.1:9")  # nothing listens there
    page = browser.get(CARD_PAGE)
    assert page.status_code == 503 and "Card payment is not available at the moment." in page.get_data(as_text=True)
    paid = browser.post(PAY, data={"csrf_token": csrf})
    assert paid.status_code == 503 and "Card payment is not available at the moment." in paid.get_data(as_text=True)
    assert [status for _, status in invoices(app, person)] == ["open"]


def test_the_card_page_needs_a_portal_session_and_a_csrf_token(app, client, card_tenant, customer):
    assert client.get(CARD_PAGE).status_code == 401
    assert client.post(PAY).status_code in (400, 401)
    browser = signed_in(app, customer())
    assert browser.post(PAY).status_code == 400  # no CSRF token
    assert browser.post(CARD_PAGE, data={"setup_intent": "seti_x"}).status_code == 400
    assert card_tenant.calls("/v1/payment_intents") == []
