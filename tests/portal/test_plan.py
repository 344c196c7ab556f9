"""Changing plan in the portal: allowed targets only, a preview before confirming, upgrade now,
downgrade at the period end (or now, by policy), withdrawing a scheduled change, events."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from widget_server.extensions import db
from widget_server.storage.models import Invoice

from .contract_steps import audit, contract_for, csrf, form_with, load, outbox, policy, signed_in, text

PAGE = "/t/demo/portal/change-plan"


@pytest.fixture
def today(app):
    yield app.extensions["widget_themes"].get("demo").today()


@pytest.fixture
def pro(app):
    """An active pro contract (19.90 a month), billed for its first period."""
    yield contract_for(app, plan="pro")


@pytest.fixture
def basic(app, today):
    """A basic contract whose 14-day trial ended six days ago: active and billed."""
    yield contract_for(app, plan="basic", on=today - timedelta(days=20))


def test_the_page_lists_only_the_allowed_targets(app, pro):
    browser = signed_in(app, pro)
    page = browser.get(PAGE)
    assert page.status_code == 200
    words = text(page)
    assert "Your plan: Pro" in words and "€19.90 per month" in words
    assert "Preview the switch to Basic" in words and "Preview the switch to Pro" not in words
    assert f'href="{PAGE}?contract={pro}&amp;plan=basic"' in page.get_data(as_text=True)
    assert 'aria-current="page"' in page.get_data(as_text=True)


def test_upgrade_preview_then_confirm_charges_the_rest_of_the_period(app, basic, today):
    browser = signed_in(app, basic)
    preview = browser.get(f"{PAGE}?contract={basic}&plan=pro")
    words = text(preview)
    assert preview.status_code == 200
    assert "Switch from Basic to Pro" in words and "Immediately, today" in words and "€19.90 per month" in words
    assert "Due today" in words
    assert load(app, basic).plan_id == "basic"  # a preview stores nothing
    form = form_with(preview.get_data(as_text=True), action="confirm")
    assert form["plan"] == "pro" and form["contract"] == basic
    done = browser.post(PAGE, data=form)
    assert done.status_code == 303
    changed = browser.get(done.headers["Location"])
    assert "Your plan has been changed." in text(changed)
    # inside the iframe, embed.js re-emits this as widget:contract-changed on the merchant's page
    assert 'data-widget-event="contract-changed"' in changed.get_data(as_text=True)
    assert f'"contract_id": "{basic}"' in changed.get_data(as_text=True)
    contract = load(app, basic)
    assert (contract.plan_id, contract.price_minor, contract.scheduled_plan_id) == ("pro", 1990, None)
    with app.app_context():
        proration = db.session.scalars(select(Invoice).order_by(Invoice.id.desc())).first()
        assert [line.kind for line in proration.lines] == ["proration", "credit"] and proration.gross_minor > 0
        assert f"€{proration.gross_minor / 100:.2f}" in words  # the amount previewed is the amount invoiced
    assert [t for t, _p in outbox(app)] == ["contract.plan_changed"]
    assert audit(app) == [("contract.plan_changed", "customer")]


def test_downgrade_waits_for_the_period_end_and_can_be_withdrawn(app, pro):
    browser = signed_in(app, pro)
    period_end = load(app, pro).current_period_end
    preview = browser.get(f"{PAGE}?contract={pro}&plan=basic")
    words = text(preview)
    assert "At the end of the current period" in words and "Nothing" in words and "€9.90 per month" in words
    browser.post(PAGE, data=form_with(preview.get_data(as_text=True), action="confirm"))
    contract = load(app, pro)
    assert (contract.plan_id, contract.scheduled_plan_id, contract.scheduled_price_minor) == ("pro", "basic", 990)
    page = browser.get(f"{PAGE}?done=scheduled")
    assert "Your plan change has been scheduled." in text(page)
    assert f"Switches to Basic on {period_end.strftime('%B')} {period_end.day}, {period_end.year}" in text(page)
    overview = text(browser.get("/t/demo/portal/"))
    assert "Switches to Basic on" in overview
    withdrawn = browser.post(PAGE, data=form_with(page.get_data(as_text=True), action="withdraw"))
    assert withdrawn.status_code == 303 and load(app, pro).scheduled_plan_id is None
    assert [t for t, _p in outbox(app)] == ["contract.plan_change_scheduled", "contract.plan_change_withdrawn"]
    event = outbox(app)[0][1]
    assert event["contract_id"] == pro and event["after"]["scheduled_plan"] == "basic"


def test_downgrade_immediately_by_policy_gives_a_credit(app, themes_dir, pro):
    policy(themes_dir, 'downgrade = "period_end"', 'downgrade = "immediately"')
    browser = signed_in(app, pro)
    preview = browser.get(f"{PAGE}?contract={pro}&plan=basic")
    assert "Immediately, today" in text(preview) and "Credited to your account today" in text(preview)
    browser.post(PAGE, data=form_with(preview.get_data(as_text=True), action="confirm"))
    assert load(app, pro).plan_id == "basic"
    with app.app_context():
        assert db.session.scalars(select(Invoice).order_by(Invoice.id.desc())).first().kind == "credit_note"
    assert [t for t, _p in outbox(app)] == ["contract.plan_changed"]


@pytest.mark.parametrize("plan", ["pro", "premium", "", "basic\x00"])
def test_targets_the_tenant_does_not_allow_are_refused(app, pro, plan):
    browser = signed_in(app, pro)
    token = csrf(browser.get(PAGE))
    refused = browser.post(PAGE, data={"csrf_token": token, "contract": pro, "action": "confirm", "plan": plan})
    assert refused.status_code == 400
    assert "This plan cannot be chosen for your contract." in text(refused)
    assert browser.get(f"{PAGE}?contract={pro}&plan={plan}").status_code == 400
    contract = load(app, pro)
    assert (contract.plan_id, contract.scheduled_plan_id) == ("pro", None) and outbox(app) == []


def test_a_target_removed_from_the_policy_is_refused_even_with_an_old_form(app, themes_dir, pro):
    browser = signed_in(app, pro)
    form = form_with(browser.get(f"{PAGE}?contract={pro}&plan=basic").get_data(as_text=True), action="confirm")
    policy(themes_dir, 'pro = ["basic"]', "pro = []")
    assert browser.post(PAGE, data=form).status_code == 400
    assert load(app, pro).scheduled_plan_id is None and outbox(app) == []
    assert "There is no other plan you can switch to from this one." in text(browser.get(PAGE))


def test_without_plan_changes_the_page_says_so_and_the_navigation_hides_it(app, themes_dir, pro):
    browser = signed_in(app, pro)
    assert "Change plan" in text(browser.get("/t/demo/portal/"))
    policy(themes_dir, 'plan_changes = { basic = ["pro"], pro = ["basic"] }', "plan_changes = {}")
    page = browser.get(PAGE)
    assert page.status_code == 404 and "Plans cannot be changed here." in text(page)
    assert PAGE not in browser.get("/t/demo/portal/").get_data(as_text=True)


def test_fjord_has_no_portal_policy_so_no_plan_changes(app):
    contract = contract_for(app, tenant="fjord", plan="mellan", locale="sv")
    page = signed_in(app, contract).get("/t/fjord/portal/change-plan")
    assert page.status_code == 404 and 'lang="sv"' in page.get_data(as_text=True)


def test_csrf_token_is_required(app, pro):
    browser = signed_in(app, pro)
    refused = browser.post(PAGE, data={"contract": pro, "action": "confirm", "plan": "basic"})
    assert refused.status_code == 400 and load(app, pro).scheduled_plan_id is None


def test_contracts_of_other_customers_and_tenants_are_not_found(app, pro):
    other = contract_for(app, plan="pro", email="bob@example.com")
    foreign = contract_for(app, tenant="fjord", plan="mellan", locale="sv")
    browser = signed_in(app, pro)
    page = browser.get(PAGE)
    token = csrf(page)
    for contract in (other, foreign, "con_doesnotexist", "../x"):
        assert browser.get(f"{PAGE}?contract={contract}&plan=basic").status_code == 404
        assert browser.post(PAGE, data={"csrf_token": token, "contract": contract, "action": "confirm", "plan": "basic"}).status_code == 404
        assert browser.post(PAGE, data={"csrf_token": token, "contract": contract, "action": "withdraw"}).status_code == 404
    assert other not in page.get_data(as_text=True)
    assert load(app, other).scheduled_plan_id is None and outbox(app) == []


def test_withdrawing_when_nothing_is_scheduled_is_a_clear_error(app, pro):
    browser = signed_in(app, pro)
    refused = browser.post(PAGE, data={"csrf_token": csrf(browser.get(PAGE)), "contract": pro, "action": "withdraw"})
    assert refused.status_code == 400 and "This change is not possible for your contract." in text(refused)


def test_without_a_session_the_page_asks_to_sign_in(client):
    assert client.get(PAGE).status_code == 401


@pytest.mark.parametrize("lang, plan_name", [("de", "Basis"), ("sv", "Bas"), ("da", "Basis")])
def test_the_page_speaks_the_customers_language(app, lang, plan_name):
    contract = contract_for(app, plan="pro", locale=lang, email=f"{lang}@example.com")
    page = signed_in(app, contract).get(f"{PAGE}?contract={contract}&plan=basic")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'lang="{lang}"' in html
    assert plan_name in text(page) and "9,90" in text(page)  # the theme's plan name and the locale's money format
