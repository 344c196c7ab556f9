"""The sign-up embedded with the snippet on a merchant page of another site, in a real Chromium.

Merchant page: http://localhost:<port>; sign-up: http://127.0.0.1:<port> in an iframe, so the
session cookie must work partitioned inside a cross-site frame (the CSRF token lives in it),
the iframe must follow its content's height, and the host page must receive the events.
"""
import pytest

from .steps import (
    ANNA, SVEN, VALID_IBAN, choose_payment, fill_details, fitted_height, open_merchant, stored_signup, submit,
    wait_for_event,
)

pytestmark = pytest.mark.browser

INITIAL_HEIGHT = 600  # what embed.js gives the iframe before the frame reports its height


@pytest.mark.parametrize(("lang", "plan", "payment", "person"), [
    pytest.param("de", "basic", "sepa", ANNA, id="de-sepa"),
    pytest.param("sv", "pro", "invoice", SVEN, id="sv-invoice"),
])
def test_signup_inside_the_merchant_page(app, page, merchant, service, lang, plan, payment, person):
    iframe, frame = open_merchant(page, merchant, lang=lang)
    assert frame.url.startswith(f"{service.url}/t/demo/signup?")
    assert frame.evaluate("() => document.documentElement.lang") == lang
    assert iframe.get_attribute("title"), "the iframe needs an accessible title"

    # The plan choice is shorter than the initial 600px: the iframe shrinks to it.
    choice_height = fitted_height(page, iframe, frame)
    assert choice_height < INITIAL_HEIGHT - 20

    with frame.expect_navigation():
        frame.click(f"#choose-{plan}")
    assert f"/t/demo/signup/{plan}?" in frame.url and "embed=" in frame.url
    # The form is much longer: the iframe grows, so nothing scrolls inside it (fitted_height checks that).
    form_height = fitted_height(page, iframe, frame)
    assert form_height > INITIAL_HEIGHT + 200

    fill_details(frame, person)
    choose_payment(frame, payment, holder=f"{person.first_name} {person.last_name}")
    frame.check("#f-consent")
    submit(frame)

    detail = wait_for_event(page, "signup-completed")
    contract_id = detail["contract_id"]
    assert contract_id and f"/t/demo/signup/complete/{contract_id}?" in frame.url
    assert detail["plan"] == plan
    assert frame.evaluate("() => document.documentElement.lang") == lang
    # The confirmation is short again: the iframe shrinks back.
    assert fitted_height(page, iframe, frame) < form_height - 200
    # The browser that signed up sees its details (the partitioned session cookie works in the frame).
    assert person.email in frame.inner_text("main")

    stored = stored_signup(app, contract_id)
    assert stored is not None, f"contract {contract_id} is not in the database"
    assert stored["customer_id"] == detail["customer_id"]
    assert stored["email"] == person.email and stored["locale"] == lang and stored["plan"] == plan
    assert stored["fields"]["city"] == person.city and stored["fields"]["country"] == person.country
    assert stored["payment"] == payment
    if payment == "sepa":
        assert stored["iban"] == VALID_IBAN.replace(" ", "")
        assert VALID_IBAN.replace(" ", "") not in frame.content()


def test_a_lost_session_cookie_shows_the_explanation_inside_the_frame(page, context, merchant, service):
    """When the browser drops or blocks the cookie, the CSRF check fails: the visitor must see our
    error page inside the frame, not a frame the browser refused to show."""
    iframe, frame = open_merchant(page, merchant, lang="de", plan="basic")
    fill_details(frame, ANNA)
    frame.check("#f-consent")
    context.clear_cookies()
    with frame.expect_navigation() as navigation:
        frame.click('form.signup-form button[type="submit"]')
    assert navigation.value.status == 400
    assert frame.url.startswith(f"{service.url}/t/demo/signup/basic?")
    assert frame.locator(".error-page h1").is_visible()
    assert frame.evaluate("() => document.documentElement.lang") == "de"
    fitted_height(page, iframe, frame)
