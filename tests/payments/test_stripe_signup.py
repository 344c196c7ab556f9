"""Paying by card at sign-up: the card option, the SetupIntent endpoint, the check with Stripe
before anything is stored, the CSP of card pages, and a tenant that enables card without keys.
The real `stripe` library talks to the fake Stripe (fake_stripe.py)."""
import logging
import re

import pytest
from flask import g
from sqlalchemy import func, select

from tests.tenants.test_loader import edit
from widget_server.payments import stripe as stripe_payments
from widget_server.storage.models import AuditEvent, Customer, OutboxEvent, PaymentMethod

WITH_CARD = 'methods = ["invoice", "sepa", "card"]'


@pytest.fixture
def card_theme(themes_dir):
    edit(themes_dir / "demo" / "theme.toml", 'methods = ["invoice", "sepa"]', WITH_CARD)
    yield themes_dir


@pytest.fixture
def stripe_js(app, fake_stripe):
    app.config["WIDGET_STRIPE_JS_URL"] = fake_stripe.js_url
    yield fake_stripe


def customers(session) -> int:
    return session.scalar(select(func.count()).select_from(Customer))


def setup_intent_for(client, data: dict, tenant: str = "demo") -> str:
    """What card.js does when the visitor picks "Card": a SetupIntent for this form."""
    answer = client.post(f"/t/{tenant}/signup/card-setup", data={"csrf_token": data["csrf_token"], "submission": data["submission"]},
                         headers={"Accept": "application/json"})
    assert answer.status_code == 200, re.findall(r"<p[^>]*>(.*?)</p>", answer.get_data(as_text=True))[:3]
    assert answer.headers["Cache-Control"] == "no-store"
    return answer.get_json()["client_secret"].split("_secret_")[0]


def card_form(data: dict, setup_intent: str, payment_method_id: str = "pm_card_visa") -> dict:
    return {**data, "payment_method": "card", "setup_intent": setup_intent, "payment_method_id": payment_method_id}


def test_the_form_offers_card_with_stripe_js_and_a_csp_for_stripe(client, card_theme, stripe_js):
    page = client.get("/t/demo/signup/basic")
    html = page.get_data(as_text=True)
    assert re.search(r'<div data-card-choice hidden><div class="choice">\s*<input type="radio" name="payment_method" value="card" id="pm-card">', html)
    assert f'<script src="{stripe_js.js_url}" defer></script>' in html and "/static/card.js" in html
    assert 'data-publishable-key="pk_test_demo_0123456789"' in html
    assert "Paying by card needs JavaScript" in html  # the <noscript> note
    assert "sk_test" not in html
    csp = page.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert stripe_js.url in directives["script-src"] and "https://js.stripe.com" in directives["script-src"]
    assert stripe_js.url in directives["frame-src"] and "https://hooks.stripe.com" in directives["frame-src"]
    assert "https://api.stripe.com" in directives["connect-src"]
    assert directives["default-src"] == "'none'" and "frame-ancestors" in directives


def test_stripe_origins_only_on_card_pages_of_tenants_with_stripe(client, card_theme, stripe_js, monkeypatch):
    # fjord has keys but does not enable card; the plan choice page needs no Stripe; nor do other routes
    for url in ["/t/fjord/signup/mellan", "/t/demo/signup", "/healthz"]:
        csp = client.get(url).headers["Content-Security-Policy"]
        assert "stripe" not in csp and stripe_js.url not in csp, url
    monkeypatch.delenv("WIDGET_STRIPE_PUBLISHABLE_KEY_DEMO")
    page = client.get("/t/demo/signup/basic")
    assert "stripe" not in page.headers["Content-Security-Policy"]
    assert 'value="card"' not in page.get_data(as_text=True) and "card.js" not in page.get_data(as_text=True)


def test_card_enabled_without_keys_is_left_out_with_a_warning_and_a_note(app, client, card_theme, monkeypatch, caplog):
    for name in ("SECRET_KEY", "PUBLISHABLE_KEY", "WEBHOOK_SECRET"):
        monkeypatch.delenv(f"WIDGET_STRIPE_{name}_DEMO", raising=False)
    stripe_payments._warned.clear()
    with caplog.at_level(logging.WARNING, logger="widget_server.payments.stripe"):
        page = client.get("/t/demo/signup/basic")
        client.get("/t/demo/signup/pro")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="card"' not in html and 'value="sepa"' in html
    assert "stripe" not in page.headers["Content-Security-Policy"]
    warnings = [r.getMessage() for r in caplog.records if "card is not offered" in r.getMessage()]
    assert warnings == ["tenant demo: payments.methods enables card, but WIDGET_STRIPE_SECRET_KEY_DEMO, "
                        "WIDGET_STRIPE_PUBLISHABLE_KEY_DEMO, WIDGET_STRIPE_WEBHOOK_SECRET_DEMO are not set in the "
                        "environment: card is not offered"]  # once, not per request
    # posting "card" anyway is refused like any method that is not offered
    data = {**dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)),
            "first_name": "A", "last_name": "B", "email": "a@example.com", "street": "W 1", "postal_code": "12345",
            "city": "Berlin", "country": "DE", "consent": "1", "payment_method": "card", "setup_intent": "seti_x"}
    assert client.post("/t/demo/signup/basic", data=data).status_code == 422
    # `themes check` says so, and still passes: keys are not the designer's business
    result = app.test_cli_runner().invoke(args=["themes", "check", "demo"])
    assert result.exit_code == 0, result.output
    assert "card is not offered" in result.output


def test_a_card_sign_up_stores_the_card_stripe_confirmed(client, session, card_theme, stripe_js, signup_form):
    url, data = signup_form()
    setup_intent = setup_intent_for(client, data)
    [created] = stripe_js.calls("/v1/customers", "POST")
    assert created["params"]["metadata[signup]"] == data["submission"]
    assert created["headers"]["idempotency-key"] == f"signup-demo-{data['submission']}"
    [intent] = stripe_js.calls("/v1/setup_intents", "POST")
    assert (intent["params"]["usage"], intent["params"]["payment_method_types[0]"]) == ("off_session", "card")
    stripe_js.succeed_setup(setup_intent, "pm_card_visa")  # what Stripe.js and the visitor did

    response = client.post(url, data=card_form(data, setup_intent))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    customer = session.scalar(select(Customer))
    method = customer.default_payment_method
    assert (method.kind, method.stripe_payment_method_id, method.card_brand, method.card_last4) == (
        "stripe", "pm_card_visa", "visa", "4242")
    assert customer.stripe_customer_id == intent["params"]["customer"]
    assert [m.kind for m in customer.payment_methods] == ["stripe"]
    [retrieved] = stripe_js.calls(f"/v1/setup_intents/{setup_intent}", "GET")
    assert retrieved["headers"]["authorization"] == "Bearer sk_test_demo_0123456789"
    # Stripe's customer now names ours
    [linked] = stripe_js.calls(f"/v1/customers/{customer.stripe_customer_id}", "POST")
    assert linked["params"]["metadata[customer_id]"] == customer.public_id and linked["params"]["email"] == "anna@example.com"
    signup = session.scalar(select(OutboxEvent).where(OutboxEvent.type == "signup.completed"))
    assert signup.payload["payment_method"]["kind"] == "stripe"
    # the confirmation page names the card
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "Visa ending 4242" in page.get_data(as_text=True)


@pytest.mark.parametrize("tamper", ["unknown", "other_form", "not_confirmed", "other_account", "other_card", "garbage"])
def test_a_tampered_or_foreign_setup_intent_is_refused_and_nothing_is_stored(
        client, app, session, card_theme, stripe_js, signup_form, tamper):
    url, data = signup_form()
    mine = setup_intent_for(client, data)
    stripe_js.succeed_setup(mine)
    posted, card = mine, "pm_card_visa"
    if tamper == "unknown":
        posted = "seti_doesnotexist1"
    elif tamper == "other_form":  # another visitor's confirmed SetupIntent, posted from this form
        g.pop("csrf_token", None)  # the `session` fixture's app context (and its g) spans requests
        other = app.test_client()
        _, other_data = signup_form_for(other)
        posted = setup_intent_for(other, other_data)
        stripe_js.succeed_setup(posted)
    elif tamper == "not_confirmed":
        _, again = signup_form()
        posted = setup_intent_for(client, {**data, "submission": again["submission"]})
        data = {**data, "submission": again["submission"]}
    elif tamper == "other_account":
        # the same id confirmed in fjord's Stripe account: demo's key cannot see it
        fjord = stripe_payments.signup_setup_intent(app.extensions["widget_themes"].get("fjord"), "f" * 32)[1]
        stripe_js.succeed_setup(fjord.id)
        posted = fjord.id
    elif tamper == "other_card":
        card = "pm_card_mastercard"
    elif tamper == "garbage":
        posted = "seti_1/../../v1/customers"
    before = (customers(session), session.scalar(select(func.count()).select_from(AuditEvent)))
    response = client.post(url, data=card_form(data, posted, card))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "We could not confirm your card. Please enter your card details again." in html
    assert 'href="#f-card"' in html  # the error summary links to the card field
    assert 'name="setup_intent" value=""' in html  # the refused id is not carried on
    assert 'value="Anna"' in html  # what was typed is kept
    session.expire_all()
    assert (customers(session), session.scalar(select(func.count()).select_from(AuditEvent))) == before
    assert session.scalar(select(func.count()).select_from(PaymentMethod)) == 0


def signup_form_for(other_client):
    page = other_client.get("/t/demo/signup/basic")
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.get_data(as_text=True)))
    return "/t/demo/signup/basic", hidden


def test_card_without_details_asks_for_them(client, session, card_theme, stripe_js, signup_form):
    url, data = signup_form()
    response = client.post(url, data={**data, "payment_method": "card"})
    assert response.status_code == 422
    assert "Please enter your card details." in response.get_data(as_text=True)
    assert customers(session) == 0 and stripe_js.requests == []


def test_stripe_unreachable_is_a_friendly_error_not_a_500(client, session, card_theme, stripe_js, signup_form, monkeypatch):
    url, data = signup_form()
    setup_intent = setup_intent_for(client, data)
    stripe_js.succeed_setup(setup_intent)
    monkeypatch.setenv("WIDGET_STRIPE_API_BASE", "http://127.0.0.1:9")  # nothing listens there
    answer = client.post("/t/demo/signup/card-setup", data={"csrf_token": data["csrf_token"], "submission": data["submission"]})
    assert answer.status_code == 503 and "not available at the moment" in answer.get_json()["detail"]
    response = client.post(url, data=card_form(data, setup_intent))
    assert response.status_code == 422
    assert "Card payment is not available at the moment." in response.get_data(as_text=True)
    assert customers(session) == 0


def test_a_resubmitted_card_sign_up_creates_one_customer(client, session, card_theme, stripe_js, signup_form):
    url, data = signup_form()
    setup_intent = setup_intent_for(client, data)
    stripe_js.succeed_setup(setup_intent)
    first = client.post(url, data=card_form(data, setup_intent))
    second = client.post(url, data=card_form(data, setup_intent))
    assert first.status_code == second.status_code == 303 and first.headers["Location"] == second.headers["Location"]
    assert customers(session) == 1


def test_the_card_endpoint_needs_a_tenant_with_card_and_a_form(client, card_theme, stripe_js, signup_form):
    _, data = signup_form()
    bad = client.post("/t/demo/signup/card-setup", data={"csrf_token": data["csrf_token"], "submission": "nope"})
    assert bad.status_code == 404 and bad.get_json()["detail"]
    assert client.post("/t/demo/signup/card-setup", data={"submission": data["submission"]}).status_code == 400  # no CSRF token
    fjord_form = client.get("/t/fjord/signup/mellan")
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', fjord_form.get_data(as_text=True)))
    answer = client.post("/t/fjord/signup/card-setup", data={"csrf_token": hidden["csrf_token"], "submission": hidden["submission"]})
    assert answer.status_code == 404  # fjord has keys but does not enable card
    assert stripe_js.requests == []
