"""The sign-up flow over HTTP: plan choice, form, payment method, consent, confirmation."""
from sqlalchemy import func, select

from widget_server.storage.models import AuditEvent, Contract, Customer, OutboxEvent, PaymentMethod


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_plan_choice_lists_the_tenants_plans_with_localized_prices(client):
    page = client.get("/t/demo/signup?lang=de").get_data(as_text=True)
    assert "Basis" in page and "Pro" in page
    assert "9,90\xa0€" in page
    assert 'lang="de"' in page


def test_plan_query_goes_straight_to_the_form(client):
    response = client.get("/t/demo/signup?plan=pro&lang=sv")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/t/demo/signup/pro?")
    assert "lang=sv" in response.headers["Location"]


def test_invoice_signup_stores_everything_in_one_go(client, signup_form, session):
    url, data = signup_form()
    response = client.post(url, data=data)
    assert response.status_code == 303
    customer = session.scalar(select(Customer))
    contract = session.scalar(select(Contract))
    assert customer.email == "anna@example.com"
    assert customer.fields["city"] == "Berlin"
    assert contract.plan_id == "basic" and contract.status == "trial"
    assert (contract.current_period_end - contract.current_period_start).days == 14
    assert session.scalar(select(PaymentMethod)).kind == "invoice"
    assert session.scalar(select(AuditEvent)).action == "signup.completed"
    event = session.scalar(select(OutboxEvent))
    assert event.type == "signup.completed" and event.payload["contract_id"] == contract.public_id


def test_plan_without_trial_starts_active(client, signup_form, session):
    url, data = signup_form(plan="pro")
    assert client.post(url, data=data).status_code == 303
    contract = session.scalar(select(Contract))
    assert contract.status == "active" and contract.trial_end is None


def test_sepa_signup_stores_mandate_and_shows_the_iban_masked(client, signup_form, session):
    url, data = signup_form(payment_method="sepa", account_holder="Anna Berg", iban="de89 3704 0044 0532 0130 00", sepa_mandate="1")
    response = client.post(url, data=data)
    method = session.scalar(select(PaymentMethod))
    assert method.iban == "DE89370400440532013000"
    assert method.mandate_reference.startswith("DEMO-") and method.mandate_signed_on is not None
    assert method.bic == "COBADEFFXXX"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "DE89370400440532013000" not in page
    assert "30 00" in page and method.mandate_reference in page


def test_resubmitting_the_same_form_creates_one_customer(client, signup_form, session):
    url, data = signup_form()
    first = client.post(url, data=data)
    second = client.post(url, data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert count(session, Customer) == 1 and count(session, Contract) == 1


def test_confirmation_details_only_for_the_browser_that_signed_up(app, client, signup_form):
    url, data = signup_form()
    location = client.post(url, data=data).headers["Location"]
    assert "anna@example.com" in client.get(location).get_data(as_text=True)
    stranger = app.test_client().get(location).get_data(as_text=True)
    assert "anna@example.com" not in stranger and "Thank you" in stranger


def test_fjord_form_has_its_own_fields_and_language(client):
    page = client.get("/t/fjord/signup/mellan").get_data(as_text=True)
    assert 'lang="sv"' in page
    assert 'name="grind"' in page and 'name="company"' not in page
    assert "SEPA" not in page


def test_simultaneous_double_submit_creates_one_customer(app, client, signup_form, session):
    """Two requests with the same form racing each other: one customer, both see the confirmation."""
    import threading

    url, data = signup_form()
    cookie = client.get_cookie("__Host-widget_session")
    results, barrier = [], threading.Barrier(4)

    def submit():
        twin = app.test_client()
        twin.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
        barrier.wait()
        results.append(twin.post(url, data=data))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [303] * 4
    assert len({r.headers["Location"] for r in results}) == 1
    assert count(session, Customer) == 1 and count(session, Contract) == 1


def test_each_visitor_gets_their_own_token_and_submission_id(app):
    from tests.conftest import hidden_inputs

    first = hidden_inputs(app.test_client().get("/t/demo/signup/basic").get_data(as_text=True))
    second = hidden_inputs(app.test_client().get("/t/demo/signup/basic").get_data(as_text=True))
    assert first["csrf_token"] != second["csrf_token"] and first["submission"] != second["submission"]
    assert "slot" not in first["csrf_token"] + first["submission"]


def test_an_edited_theme_shows_on_the_form_at_once(client, themes_dir):
    from tests.tenants.test_loader import edit

    assert 'name="goal"' in client.get("/t/demo/signup/basic").get_data(as_text=True)
    edit(themes_dir / "demo" / "theme.toml", 'name = "goal"', 'name = "aim"')
    assert 'name="aim"' in client.get("/t/demo/signup/basic").get_data(as_text=True)
