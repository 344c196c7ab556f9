"""The hosted sign-up link works top-level in a browser with JavaScript switched off:
errors next to the fields, typed values kept, then success."""
import re

import pytest

from .steps import ANNA, VALID_IBAN, stored_signup

pytestmark = pytest.mark.browser


def test_signup_with_javascript_disabled(app, no_js_page, service):
    page = no_js_page
    page.goto(f"{service.url}/t/demo/signup?lang=da")
    assert page.locator("html").get_attribute("lang") == "da"

    with page.expect_navigation():
        page.click("#choose-pro")
    assert re.search(r"/t/demo/signup/pro\?lang=da$", page.url)

    # First attempt: some fields missing or wrong, SEPA with a broken IBAN, terms not accepted.
    page.fill("#f-first_name", "Anna")
    page.fill("#f-email", "anna@example")
    page.fill("#f-city", "Berlin")
    page.check('input[name="payment_method"][value="sepa"]')
    assert page.locator("#f-iban").is_visible(), "the SEPA fields must show without JavaScript"
    page.fill("#f-account_holder", "Anna Berg")
    page.fill("#f-iban", "DE00 1234 5678")
    with page.expect_navigation() as navigation:
        page.click('form.signup-form button[type="submit"]')
    assert navigation.value.status == 422
    assert page.locator("html").get_attribute("lang") == "da"

    summary = page.locator("#error-summary")
    assert summary.is_visible()
    for name in ("last_name", "email", "street", "postal_code", "country", "iban", "sepa_mandate", "consent"):
        error = page.locator(f".field:has(#f-{name}) > #f-{name}-error")
        assert error.is_visible(), f"no error shown next to {name}"
        described = page.get_attribute(f"#f-{name}", "aria-describedby") or ""
        assert f"f-{name}-error" in described.split(), f"{name} is not described by its error"
        assert page.get_attribute(f"#f-{name}", "aria-invalid") == "true"
        assert summary.locator(f'a[href="#f-{name}"]').count() == 1, f"the summary does not link to {name}"
    links = summary.locator("a").all_inner_texts()
    assert len(set(links)) == len(links), f"the summary's links must say which field they lead to: {links}"
    for name in ("first_name", "city", "account_holder"):
        assert page.locator(f"#f-{name}-error").count() == 0
    # What was typed is still there.
    assert page.input_value("#f-first_name") == "Anna"
    assert page.input_value("#f-email") == "anna@example"
    assert page.input_value("#f-city") == "Berlin"
    assert page.input_value("#f-account_holder") == "Anna Berg"
    assert page.input_value("#f-iban") == "DE00 1234 5678"
    assert page.is_checked('input[name="payment_method"][value="sepa"]')

    # Second attempt: corrected.
    page.fill("#f-last_name", "Berg")
    page.fill("#f-email", ANNA.email)
    page.fill("#f-street", ANNA.street)
    page.fill("#f-postal_code", ANNA.postal_code)
    page.select_option("#f-country", ANNA.country)
    page.fill("#f-iban", VALID_IBAN)
    page.check("#f-sepa_mandate")
    page.check("#f-consent")
    with page.expect_navigation():
        page.click('form.signup-form button[type="submit"]')
    match = re.search(r"/t/demo/signup/complete/([^/?]+)\?lang=da$", page.url)
    assert match, f"no confirmation at {page.url}: {page.locator('#error-summary').all_inner_texts()}"
    contract_id = match.group(1)
    assert page.locator("html").get_attribute("lang") == "da"
    # The session cookie works top-level on http://127.0.0.1: this browser sees its own details.
    main = page.inner_text("main")
    assert ANNA.email in main and "30 00" in main and VALID_IBAN.replace(" ", "") not in page.content()

    stored = stored_signup(app, contract_id)
    assert stored is not None, f"contract {contract_id} is not in the database"
    assert stored["email"] == ANNA.email and stored["plan"] == "pro" and stored["locale"] == "da"
    assert stored["payment"] == "sepa" and stored["iban"] == VALID_IBAN.replace(" ", "")
