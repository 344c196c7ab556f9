"""Pausing and resuming in the portal: the tenant's maximum, a date input with limits checked
on the server, when billing resumes, resume now, policy switches, events."""
from datetime import timedelta

import pytest

from .contract_steps import audit, contract_for, csrf, form_with, load, outbox, policy, signed_in, text

PAGE = "/t/demo/portal/pause"


@pytest.fixture
def pro(app):
    yield contract_for(app, plan="pro")


def long_date(day):
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def test_the_form_offers_dates_up_to_the_tenants_maximum(app, pro):
    period_end = load(app, pro).current_period_end
    page = signed_in(app, pro).get(PAGE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'type="date" id="resume-on-1" name="resume_on" min="{(period_end + timedelta(days=1)).isoformat()}"' in html
    assert f'max="{(period_end + timedelta(days=90)).isoformat()}"' in html
    assert f"Your current period is paid until {long_date(period_end)}" in text(page)
    assert '<label for="resume-on-1">' in html and "at most 90 days" in text(page)


def test_pause_then_resume_now(app, pro):
    browser = signed_in(app, pro)
    period_end = load(app, pro).current_period_end
    resume_on = period_end + timedelta(days=30)
    form = {**form_with(browser.get(PAGE).get_data(as_text=True), action="pause"), "resume_on": resume_on.isoformat()}
    done = browser.post(PAGE, data=form)
    assert done.status_code == 303
    page = browser.get(done.headers["Location"])
    assert "Your pause has been scheduled." in text(page)
    assert 'data-widget-event="contract-changed"' in page.get_data(as_text=True)
    assert f"Pause from {long_date(period_end)}; billing resumes on {long_date(resume_on)}." in text(page)
    contract = load(app, pro)
    assert (contract.pause_from, contract.resume_on, contract.status) == (period_end, resume_on, "active")
    overview = text(browser.get("/t/demo/portal/"))
    assert f"billing resumes on {long_date(resume_on)}" in overview and "Resume now" in overview
    call_off = form_with(page.get_data(as_text=True), action="resume")
    assert "Call off the pause" in text(page)
    assert browser.post(PAGE, data=call_off).status_code == 303
    assert load(app, pro).pause_from is None
    assert "Your contract has been resumed." in text(browser.get(f"{PAGE}?done=resumed"))
    assert [t for t, _p in outbox(app)] == ["contract.paused", "contract.resumed"]
    assert outbox(app)[0][1]["after"]["resume_on"] == resume_on.isoformat()
    assert audit(app) == [("contract.paused", "customer"), ("contract.resumed", "customer")]


def test_a_paused_contract_shows_resume_now(app, pro):
    from widget_server.billing.run import bill_due
    from widget_server.extensions import db

    browser = signed_in(app, pro)
    period_end = load(app, pro).current_period_end
    form = {**form_with(browser.get(PAGE).get_data(as_text=True), action="pause"),
            "resume_on": (period_end + timedelta(days=60)).isoformat()}
    browser.post(PAGE, data=form)
    with app.app_context():  # the billing run reaches the period end: the pause starts
        bill_due(db.session, app.extensions["widget_themes"].get, period_end)
    assert load(app, pro).status == "paused"
    page = browser.get(PAGE)
    assert "Paused until" in text(page) and "Resume now" in text(page)
    browser.post(PAGE, data=form_with(page.get_data(as_text=True), action="resume"))
    contract = load(app, pro)
    assert contract.status == "active" and contract.next_billing_date == app.extensions["widget_themes"].get("demo").today()


@pytest.mark.parametrize("value, message", [
    ("", "Please enter a date"), ("31.12.2026", "Please enter a date"), ("2026-02-30", "Please enter a date"),
    ("before", "Please choose a date from"), ("too_late", "Please choose a date from"), ("x" * 5000, "Please enter a date"),
])
def test_dates_outside_the_limits_are_refused_on_the_server(app, pro, value, message):
    browser = signed_in(app, pro)
    period_end = load(app, pro).current_period_end
    value = {"before": period_end.isoformat(), "too_late": (period_end + timedelta(days=91)).isoformat()}.get(value, value)
    form = {**form_with(browser.get(PAGE).get_data(as_text=True), action="pause"), "resume_on": value}
    refused = browser.post(PAGE, data=form)
    assert refused.status_code == 422 and message in text(refused)
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert load(app, pro).pause_from is None and outbox(app) == []


def test_trials_cannot_be_paused(app):
    trial = contract_for(app, plan="basic")
    browser = signed_in(app, trial)
    page = browser.get(PAGE)
    assert "A pause is possible once the free trial has ended." in text(page)
    refused = browser.post(PAGE, data={"csrf_token": csrf(page), "contract": trial, "action": "pause", "resume_on": "2099-01-01"})
    assert refused.status_code == 400 and load(app, trial).pause_from is None


def test_resuming_what_is_not_paused_is_a_clear_error(app, pro):
    browser = signed_in(app, pro)
    refused = browser.post(PAGE, data={"csrf_token": csrf(browser.get(PAGE)), "contract": pro, "action": "resume"})
    assert refused.status_code == 400 and "This is not possible for your contract at the moment." in text(refused)


def test_pause_disabled_is_refused_and_hidden(app, themes_dir, pro):
    browser = signed_in(app, pro)
    token = csrf(browser.get(PAGE))
    policy(themes_dir, "[portal.pause]\nenabled = true", "[portal.pause]\nenabled = false")
    # the pause offer needs pauses enabled: without it the theme is invalid, so drop the offer too
    policy(themes_dir, 'offers = ["pause"]', "offers = []")
    theme = themes_dir / "demo" / "theme.toml"
    source = theme.read_text(encoding="utf-8")
    theme.write_text(source[:source.index('[[portal.cancellation.offers]]\nid = "pause"')], encoding="utf-8")
    page = browser.get(PAGE)
    assert page.status_code == 404 and "Contracts cannot be paused here." in text(page)
    refused = browser.post(PAGE, data={"csrf_token": token, "contract": pro, "action": "pause", "resume_on": "2099-01-01"})
    assert refused.status_code == 404 and load(app, pro).pause_from is None
    assert PAGE not in browser.get("/t/demo/portal/").get_data(as_text=True)


def test_fjord_has_no_pauses(app):
    contract = contract_for(app, tenant="fjord", plan="mellan", locale="sv")
    page = signed_in(app, contract).get("/t/fjord/portal/pause")
    assert page.status_code == 404 and 'lang="sv"' in page.get_data(as_text=True)


def test_csrf_token_is_required(app, pro):
    browser = signed_in(app, pro)
    assert browser.post(PAGE, data={"contract": pro, "action": "pause", "resume_on": "2099-01-01"}).status_code == 400
    assert load(app, pro).pause_from is None


def test_contracts_of_other_customers_and_tenants_are_not_found(app, pro):
    other = contract_for(app, plan="pro", email="bob@example.com")
    foreign = contract_for(app, tenant="fjord", plan="mellan", locale="sv")
    browser = signed_in(app, pro)
    token = csrf(browser.get(PAGE))
    end = load(app, other).current_period_end + timedelta(days=10)
    for contract in (other, foreign, "con_nope"):
        for action in ("pause", "resume"):
            response = browser.post(PAGE, data={"csrf_token": token, "contract": contract, "action": action, "resume_on": end.isoformat()})
            assert response.status_code == 404
    assert load(app, other).pause_from is None and outbox(app) == []


@pytest.mark.parametrize("lang", ["de", "sv", "da"])
def test_the_page_speaks_the_customers_language(app, lang):
    from babel.dates import format_date

    contract = contract_for(app, plan="pro", locale=lang, email=f"{lang}@example.com")
    page = signed_in(app, contract).get(PAGE)
    assert page.status_code == 200 and f'lang="{lang}"' in page.get_data(as_text=True)
    period_end = load(app, contract).current_period_end
    assert format_date(period_end, "long", locale=lang) in text(page)  # dates in the customer's language
