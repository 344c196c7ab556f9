"""Signing up with a card inside the merchant's iframe, in a real Chromium, with Stripe.js and the
Payment Element served by the fake Stripe on 127.0.0.1 (WIDGET_STRIPE_JS_URL): no internet.

What it shows: the card option appears only with JavaScript, the page's CSP lets Stripe.js and its
frame in (another origin), card.js asks our server for a SetupIntent, confirmSetup goes through the
Payment Element's frame to (fake) Stripe, and the server stores the card only after asking Stripe.
"""
import pytest
from sqlalchemy import select

from tests.payments.fake_stripe import fake_stripe  # noqa: F401  (fixture)
from tests.tenants.test_loader import edit
from widget_server.extensions import db
from widget_server.storage.models import Contract

from .steps import ANNA, describe_violations, fill_details, open_merchant, run_axe, wait_for_event

pytestmark = pytest.mark.browser


@pytest.fixture
def card_signup(app, themes_dir, fake_stripe):
    edit(themes_dir / "demo" / "theme.toml", 'methods = ["invoice", "sepa"]', 'methods = ["invoice", "sepa", "card"]')
    app.config["WIDGET_STRIPE_JS_URL"] = fake_stripe.js_url
    yield fake_stripe


def stored_card(app, contract_id: str) -> dict:
    with app.app_context():
        contract = db.session.scalar(select(Contract).where(Contract.public_id == contract_id))
        customer = contract.customer
        method = customer.default_payment_method
        return {"kind": method.kind, "brand": method.card_brand, "last4": method.card_last4,
                "pm": method.stripe_payment_method_id, "stripe_customer": customer.stripe_customer_id}


def open_form(page, merchant):
    _, frame = open_merchant(page, merchant, lang="en")
    with frame.expect_navigation():
        frame.click("#choose-basic")
    return frame


def test_card_sign_up_inside_the_merchant_page(app, page, merchant, card_signup, axe_source):
    frame = open_form(page, merchant)
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    fill_details(frame, ANNA)
    frame.check("#pm-card")  # shown by card.js, since Stripe.js loaded
    card_frame = frame.frame_locator("#payment-element iframe")
    card_frame.locator("#number").fill("4242 4242 4242 4242")
    card_frame.locator("#expiry").fill("12 / 30")
    card_frame.locator("#cvc").fill("123")
    assert [c["path"] for c in card_signup.requests if c["path"] == "/v1/setup_intents"] == ["/v1/setup_intents"]

    violations = run_axe(frame, axe_source)
    assert not violations, describe_violations(violations, "the form with the Payment Element")

    frame.check("#f-consent")
    with frame.expect_navigation():
        frame.click('form.signup-form button[type="submit"]')
    detail = wait_for_event(page, "signup-completed")
    assert stored_card(app, detail["contract_id"]) == {
        "kind": "stripe", "brand": "visa", "last4": "4242", "pm": stored_card(app, detail["contract_id"])["pm"],
        "stripe_customer": card_signup.calls("/v1/setup_intents", "POST")[0]["params"]["customer"]}
    assert stored_card(app, detail["contract_id"])["pm"].startswith("pm_fake")
    violations = run_axe(frame, axe_source)
    assert not violations, describe_violations(violations, "the confirmation")
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_declined_card_shows_stripes_message_and_stores_nothing(app, page, merchant, card_signup):
    frame = open_form(page, merchant)
    fill_details(frame, ANNA)
    frame.check("#pm-card")
    frame.frame_locator("#payment-element iframe").locator("#number").fill("4000 0000 0000 0002")
    frame.check("#f-consent")
    frame.click('form.signup-form button[type="submit"]')
    frame.locator("#card-error", has_text="Your card was declined.").wait_for()
    assert "/signup/basic" in frame.url
    with app.app_context():
        assert db.session.scalar(select(Contract)) is None


def test_without_javascript_card_cannot_be_chosen(no_js_page, service, card_signup):
    no_js_page.goto(f"{service.url}/t/demo/signup/basic")
    assert not no_js_page.locator("#pm-card").is_visible()
    assert no_js_page.locator('input[name="payment_method"][value="invoice"]').is_visible()
    assert "Paying by card needs JavaScript" in no_js_page.inner_text("main")
