"""The portal's sign-in, profile and history pages in a real browser: axe finds no violation,
also with errors shown and without JavaScript for the sign-in form."""
from datetime import date

import pytest

from tests.conftest import SIGNUP_FIELDS
from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.extensions import db
from widget_server.portal import access

from .steps import describe_violations, run_axe

pytestmark = pytest.mark.browser


def checked(page, axe_source, where):
    violations = run_axe(page.main_frame, axe_source)
    assert not violations, describe_violations(violations, where)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_sign_in_pages_have_no_axe_violations(service, page, axe_source, lang):
    page.goto(f"{service.url}/t/demo/login?lang={lang}")
    checked(page, axe_source, "sign-in form")
    page.fill("#f-email", "not an address")
    page.click("button[type=submit]")
    assert page.locator("#f-email-error").is_visible()
    checked(page, axe_source, "sign-in form with an error")
    page.fill("#f-email", "nobody@example.com")
    page.click("button[type=submit]")
    assert "nobody@example.com" in page.locator("main").inner_text()
    checked(page, axe_source, "sign-in link sent")
    page.goto(f"{service.url}/t/demo/login/not-a-real-link?lang={lang}")
    checked(page, axe_source, "refused sign-in link")


def test_sign_in_form_works_without_javascript(service, no_js_page):
    no_js_page.goto(f"{service.url}/t/demo/login")
    no_js_page.fill("#f-email", "nobody@example.com")
    no_js_page.click("button[type=submit]")
    assert "nobody@example.com" in no_js_page.locator("main").inner_text()


@pytest.mark.parametrize("lang", ["en", "sv"])
def test_profile_and_history_have_no_axe_violations(app, service, page, axe_source, lang):
    with app.app_context():
        demo = app.extensions["widget_themes"].get("demo")
        contract = start_contract(db.session, tenant="demo", plan=demo.plan("pro"), email="anna@example.com", locale=lang,
                                  fields={**SIGNUP_FIELDS, "street": "Weg 1", "postal_code": "12345", "city": "Berlin",
                                          "birth_date": "1990-05-17"},
                                  payment=PaymentChoice(kind="invoice"), signup_key="axe-profile" + lang, today=date.today())
        db.session.commit()
        token, _id = access.issue("demo", contract.customer, flow="profile", return_url="http://localhost:8001/shop",
                                  locale=lang)
    page.goto(f"{service.url}/t/demo/portal/enter?token={token}")
    assert page.url.split("?")[0].endswith("/t/demo/portal/profile")
    checked(page, axe_source, "profile")
    page.fill("#f-city", "Hamburg")
    page.fill("#f-phone", "12")
    page.click("form[action*='profile'] button[type=submit]")
    assert page.locator("#error-summary").is_visible()
    checked(page, axe_source, "profile with errors")
    page.fill("#f-phone", "")
    page.click("form[action*='profile'] button[type=submit]")
    assert page.locator(".notice[role=status]").is_visible()
    checked(page, axe_source, "profile saved")
    page.goto(f"{service.url}/t/demo/portal/history")
    assert page.locator("table").is_visible()
    checked(page, axe_source, "history")
