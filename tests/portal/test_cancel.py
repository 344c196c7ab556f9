"""Cancelling in the portal: the tenant's reasons, retention offers by reason (discount, pause,
downgrade), the effective date before confirming, the confirmation e-mail, withdrawing."""
from datetime import date, timedelta
from email import policy as email_policy
from email.parser import BytesParser

import pytest
from babel.dates import format_date
from sqlalchemy import select

from widget_server.billing import lifecycle
from widget_server.extensions import db
from widget_server.notify import emails
from widget_server.storage.models import Contract, ContractDiscount, EmailMessage

from .contract_steps import audit, contract_for, csrf, form_with, forms, load, outbox, policy, signed_in, text

PAGE = "/t/demo/portal/cancel"


def long_date(day):
    return f"{day.strftime('%B')} {day.day}, {day.year}"


@pytest.fixture
def app(app, tmp_path):
    app.config["WIDGET_MAIL_DIR"] = str(tmp_path / "mail")
    yield app


@pytest.fixture
def pro(app):
    yield contract_for(app, plan="pro")


def sent_mail(app, tmp_path) -> list:
    with app.app_context():
        emails.send_due(db.session)
    return [BytesParser(policy=email_policy.default).parsebytes(p.read_bytes()) for p in sorted((tmp_path / "mail").glob("*.eml"))]


def choose_reason(browser, contract, reason):
    page = browser.get(f"{PAGE}?contract={contract}")
    return browser.post(PAGE, data={**form_with(page.get_data(as_text=True), action="reason"), "reason": reason})


def test_reasons_then_offers_for_that_reason(app, pro):
    browser = signed_in(app, pro)
    page = browser.get(PAGE)  # one contract: no need to choose it
    html, words = page.get_data(as_text=True), text(page)
    assert page.status_code == 200
    for label in ("It is too expensive", "I have no time at the moment", "I am moving away", "Another reason"):
        assert label in words
    assert '<input type="radio" name="reason" value="too_expensive" id="reason-too_expensive"' in html
    assert '<label for="reason-too_expensive">' in html
    missing = browser.post(PAGE, data=form_with(html, action="reason"))
    assert missing.status_code == 422 and "Please choose a reason." in text(missing)
    step = choose_reason(browser, pro, "too_expensive")
    assert step.status_code == 303 and step.headers["Location"] == f"{PAGE}?contract={pro}&reason=too_expensive"
    offers = browser.get(step.headers["Location"])
    words = text(offers)
    assert "Stay and pay half price for the next 3 months." in words
    assert "Switch to Basic instead and keep training for less." in words
    assert "Pause your membership" not in words  # that offer belongs to another reason
    assert [f["offer"] for f in forms(offers.get_data(as_text=True)) if f.get("action") == "accept"] == [
        "half_price", "downgrade_basic"]
    assert f'href="{PAGE}?contract={pro}&amp;reason=too_expensive&amp;step=confirm"' in offers.get_data(as_text=True)
    assert load(app, pro).status == "active" and outbox(app) == []  # nothing stored on the way


def test_accepting_the_discount_keeps_the_contract(app, pro):
    browser = signed_in(app, pro)
    offers = browser.get(choose_reason(browser, pro, "too_expensive").headers["Location"])
    done = browser.post(PAGE, data=form_with(offers.get_data(as_text=True), offer="half_price"))
    assert done.status_code == 303
    assert "Thank you for staying with us." in text(browser.get(done.headers["Location"]))
    with app.app_context():
        discount = db.session.scalar(select(ContractDiscount))
        assert (discount.percent, discount.periods, discount.periods_applied, discount.source) == (50, 3, 0, "half_price")
    assert load(app, pro).status == "active"
    assert [t for t, _p in outbox(app)] == ["contract.discount_granted", "contract.retention_offer_accepted"]
    accepted = outbox(app)[1][1]["after"]["retention"]
    assert accepted["offer"] == "half_price" and accepted["reason"] == "too_expensive" and accepted["type"] == "discount"
    assert audit(app) == [("contract.discount_granted", "customer"), ("contract.retention_offer_accepted", "customer")]
    assert "Discount: 50" in text(browser.get("/t/demo/portal/"))
    # a second visit no longer offers a discount while this one runs
    again = browser.get(f"{PAGE}?contract={pro}&reason=too_expensive")
    assert "half price" not in text(again) and "Switch to Basic instead" in text(again)


def test_accepting_the_downgrade_schedules_it(app, pro):
    browser = signed_in(app, pro)
    offers = browser.get(choose_reason(browser, pro, "too_expensive").headers["Location"])
    browser.post(PAGE, data=form_with(offers.get_data(as_text=True), offer="downgrade_basic"))
    contract = load(app, pro)
    assert (contract.plan_id, contract.scheduled_plan_id, contract.status) == ("pro", "basic", "active")
    assert [t for t, _p in outbox(app)] == ["contract.plan_change_scheduled", "contract.retention_offer_accepted"]


def test_accepting_the_pause_pauses_up_to_the_maximum(app, pro):
    browser = signed_in(app, pro)
    offers = browser.get(choose_reason(browser, pro, "no_time").headers["Location"])
    form = form_with(offers.get_data(as_text=True), offer="pause")
    period_end = load(app, pro).current_period_end
    too_late = browser.post(PAGE, data={**form, "resume_on": (period_end + timedelta(days=91)).isoformat()})
    assert too_late.status_code == 422 and "Please choose a date from" in text(too_late) and outbox(app) == []
    assert browser.post(PAGE, data={**form, "resume_on": (period_end + timedelta(days=14)).isoformat()}).status_code == 303
    contract = load(app, pro)
    assert (contract.pause_from, contract.resume_on) == (period_end, period_end + timedelta(days=14))
    assert [t for t, _p in outbox(app)] == ["contract.paused", "contract.retention_offer_accepted"]


def test_no_thanks_shows_the_date_then_cancels_and_sends_a_confirmation(app, pro, tmp_path):
    browser = signed_in(app, pro)
    effective = load(app, pro).current_period_end  # no notice period, no minimum term: the period end
    confirm = browser.get(f"{PAGE}?contract={pro}&reason=too_expensive&step=confirm")
    words = text(confirm)
    assert f"Takes effect on {long_date(effective)}" in words and "It is too expensive" in words
    assert load(app, pro).status == "active"
    done = browser.post(PAGE, data=form_with(confirm.get_data(as_text=True), action="confirm"))
    assert done.status_code == 303
    contract = load(app, pro)
    assert (contract.status, contract.cancel_at, contract.cancellation_reason) == ("cancellation_pending", effective, "too_expensive")
    assert [t for t, _p in outbox(app)] == ["contract.cancellation_requested"]
    assert audit(app) == [("contract.cancellation_requested", "customer")]
    page = browser.get(done.headers["Location"])
    assert "We have sent you a confirmation by e-mail." in text(page)
    assert 'data-widget-event="contract-changed"' in page.get_data(as_text=True)
    assert browser.get(PAGE).get_data(as_text=True).count("data-widget-event") == 0  # only right after the change
    assert f"The cancellation takes effect on {long_date(effective)}." in text(page)
    [message] = sent_mail(app, tmp_path)
    assert message["To"] == "anna@example.com" and message["Subject"] == "Your cancellation at Acme Fitness"
    body = message.get_body(("plain",)).get_content()
    assert long_date(effective) in body and "It is too expensive" in body and pro in body
    assert long_date(effective) in message.get_body(("html",)).get_content()


def test_a_reason_without_offers_goes_straight_to_the_date(app, pro):
    browser = signed_in(app, pro)
    step = choose_reason(browser, pro, "moving")
    confirm = browser.get(step.headers["Location"])
    assert "Confirm your cancellation" in text(confirm) and "I am moving away" in text(confirm)


def test_notice_period_and_minimum_term_decide_the_date(app, pro):
    today = app.extensions["widget_themes"].get("demo").today()
    with app.app_context():
        contract = db.session.scalar(select(Contract).where(Contract.public_id == pro))
        contract.notice_period_days, contract.minimum_term_end = 30, today + timedelta(days=100)
        db.session.commit()
        expected = lifecycle.cancellation_date(contract, today)
    assert expected >= today + timedelta(days=100)
    browser = signed_in(app, pro)
    confirm = browser.get(f"{PAGE}?contract={pro}&reason=other&step=confirm")
    assert f"Takes effect on {long_date(expected)}" in text(confirm)
    browser.post(PAGE, data=form_with(confirm.get_data(as_text=True), action="confirm"))
    assert load(app, pro).cancel_at == expected


def test_a_date_other_than_the_one_shown_is_not_confirmed(app, pro):
    browser = signed_in(app, pro)
    confirm = browser.get(f"{PAGE}?contract={pro}&reason=other&step=confirm")
    form = {**form_with(confirm.get_data(as_text=True), action="confirm"), "effective": "2020-01-01"}
    refused = browser.post(PAGE, data=form)
    assert refused.status_code == 409 and "has changed" in text(refused)
    assert load(app, pro).status == "active" and outbox(app) == []


def test_withdrawing_a_pending_cancellation(app, pro, tmp_path):
    browser = signed_in(app, pro)
    confirm = browser.get(f"{PAGE}?contract={pro}&reason=other&step=confirm")
    browser.post(PAGE, data=form_with(confirm.get_data(as_text=True), action="confirm"))
    overview = browser.get("/t/demo/portal/")
    assert "Withdraw cancellation" in text(overview)
    page = browser.get(f"{PAGE}?contract={pro}")
    done = browser.post(PAGE, data=form_with(page.get_data(as_text=True), action="withdraw"))
    assert done.status_code == 303
    assert "Your cancellation has been withdrawn." in text(browser.get(done.headers["Location"]))
    contract = load(app, pro)
    assert (contract.status, contract.cancel_at) == ("active", None)
    assert [t for t, _p in outbox(app)] == ["contract.cancellation_requested", "contract.cancellation_withdrawn"]
    assert sent_mail(app, tmp_path) == []  # withdrawn before it went out: no confirmation of something void
    with app.app_context():
        assert db.session.scalar(select(EmailMessage)).status == "cancelled"
    again = browser.post(PAGE, data=form_with(page.get_data(as_text=True), action="withdraw"))
    assert again.status_code == 400


def test_a_trial_ends_at_its_end(app):
    trial = contract_for(app, plan="basic")
    browser = signed_in(app, trial)
    confirm = browser.get(f"{PAGE}?contract={trial}&reason=other&step=confirm")
    trial_end = load(app, trial).trial_end
    assert f"Takes effect on {long_date(trial_end)}" in text(confirm) and "will not be charged" in text(confirm)


@pytest.mark.parametrize("form, status", [
    ({"reason": "too_expensive", "offer": "pause"}, 400),  # the pause offer belongs to another reason
    ({"reason": "too_expensive", "offer": "nope"}, 400),
    ({"reason": "made_up", "offer": "half_price"}, 400),
    ({"reason": "moving", "offer": "half_price"}, 400),
    ({"offer": "half_price"}, 422),
])
def test_tampered_offers_and_reasons_store_nothing(app, pro, form, status):
    browser = signed_in(app, pro)
    response = browser.post(PAGE, data={"csrf_token": csrf(browser.get(PAGE)), "contract": pro, "action": "accept",
                                        "resume_on": "2099-01-01", **form})
    assert response.status_code == status
    assert load(app, pro).pause_from is None and outbox(app) == []
    with app.app_context():
        assert db.session.scalar(select(ContractDiscount)) is None


def test_an_unknown_reason_in_the_address_is_a_clear_error(app, pro):
    page = signed_in(app, pro).get(f"{PAGE}?contract={pro}&reason=made_up")
    assert page.status_code == 400 and "Please choose one of the reasons shown." in text(page)


def test_cancellation_disabled_is_refused_and_hidden(app, themes_dir, pro):
    browser = signed_in(app, pro)
    token = csrf(browser.get(PAGE))
    policy(themes_dir, "[portal.cancellation]\nenabled = true", "[portal.cancellation]\nenabled = false")
    page = browser.get(PAGE)
    assert page.status_code == 404 and "Contracts cannot be cancelled here." in text(page)
    assert "support@acme-fitness.example" in text(page)
    refused = browser.post(PAGE, data={"csrf_token": token, "contract": pro, "action": "confirm", "reason": "other",
                                       "effective": load(app, pro).current_period_end.isoformat()})
    assert refused.status_code == 404 and load(app, pro).status == "active"
    overview = browser.get("/t/demo/portal/").get_data(as_text=True)
    assert PAGE not in overview


def test_fjord_without_reasons_cancels_in_swedish(app, tmp_path):
    contract = contract_for(app, tenant="fjord", plan="mellan", locale="sv")
    browser = signed_in(app, contract)
    confirm = browser.get("/t/fjord/portal/cancel")
    assert confirm.status_code == 200 and 'lang="sv"' in confirm.get_data(as_text=True)
    effective = load(app, contract).current_period_end
    assert format_date(effective, "long", locale="sv") in text(confirm)
    browser.post("/t/fjord/portal/cancel", data=form_with(confirm.get_data(as_text=True), action="confirm"))
    stored = load(app, contract)
    assert (stored.status, stored.cancellation_reason) == ("cancellation_pending", None)
    [message] = sent_mail(app, tmp_path)
    assert message["Content-Language"] == "sv"
    assert format_date(effective, "long", locale="sv") in message.get_body(("plain",)).get_content()


@pytest.mark.parametrize("lang, reason, offer", [
    ("de", "Es ist mir zu teuer", "Bleiben Sie und zahlen Sie 3 Monate lang nur den halben Preis."),
    ("sv", "Det är för dyrt", "Stanna kvar och betala halva priset de kommande 3 månaderna."),
    ("da", "Det er for dyrt", "Bliv og betal halv pris de næste 3 måneder."),
])
def test_reasons_and_offers_speak_the_customers_language(app, lang, reason, offer):
    contract = contract_for(app, plan="pro", locale=lang, email=f"{lang}@example.com")
    browser = signed_in(app, contract)
    page = browser.get(PAGE)
    assert f'lang="{lang}"' in page.get_data(as_text=True) and reason in text(page)
    offers = browser.get(choose_reason(browser, contract, "too_expensive").headers["Location"])
    assert offer in text(offers)


def test_english_reasons_by_language_switch(app, pro):
    page = signed_in(app, pro, locale="de").get(f"{PAGE}?lang=en")
    assert "It is too expensive" in text(page) and 'lang="en"' in page.get_data(as_text=True)


def test_csrf_token_is_required(app, pro):
    browser = signed_in(app, pro)
    refused = browser.post(PAGE, data={"contract": pro, "action": "confirm", "reason": "other",
                                       "effective": load(app, pro).current_period_end.isoformat()})
    assert refused.status_code == 400 and load(app, pro).status == "active"


def test_contracts_of_other_customers_and_tenants_are_not_found(app, pro):
    other = contract_for(app, plan="pro", email="bob@example.com")
    foreign = contract_for(app, tenant="fjord", plan="mellan", locale="sv")
    browser = signed_in(app, pro)
    token = csrf(browser.get(PAGE))
    for contract in (other, foreign, "con_nope"):
        assert browser.get(f"{PAGE}?contract={contract}").status_code == 404
        for action, extra in (("confirm", {"reason": "other", "effective": date.today().isoformat()}),
                              ("accept", {"reason": "too_expensive", "offer": "half_price"}), ("withdraw", {})):
            response = browser.post(PAGE, data={"csrf_token": token, "contract": contract, "action": action, **extra})
            assert response.status_code == 404
    assert load(app, other).status == "active" and outbox(app) == []


def test_several_contracts_are_chosen_first(app, pro):
    with app.app_context():  # a second contract of the same customer
        first = db.session.scalar(select(Contract).where(Contract.public_id == pro))
        second = Contract(tenant="demo", customer=first.customer, plan_id="basic", status="active", price_minor=990,
                          currency="EUR", interval="month", current_period_start=first.current_period_start,
                          current_period_end=first.current_period_end, next_billing_date=first.next_billing_date)
        db.session.add(second)
        db.session.commit()
        second_id = second.public_id
    browser = signed_in(app, pro)
    page = browser.get(PAGE)
    html = page.get_data(as_text=True)
    assert "Cancel this contract" in text(page) and "Why do you want to cancel" not in text(page)
    assert f'href="{PAGE}?contract={pro}"' in html and f'href="{PAGE}?contract={second_id}"' in html
    assert "Why do you want to cancel Basic?" in text(browser.get(f"{PAGE}?contract={second_id}"))
