"""Bad input on the sign-up form: a clear message next to the field, typed values kept,
nothing stored, never a 500."""
import re

import pytest
from sqlalchemy import func, select

from widget_server.storage.models import AuditEvent, Contract, Customer, OutboxEvent, PaymentMethod


def nothing_stored(session):
    return all(session.scalar(select(func.count()).select_from(m)) == 0
               for m in (Customer, Contract, PaymentMethod, AuditEvent, OutboxEvent))


def field_error(page: str, name: str) -> str | None:
    found = re.search(rf'<p class="error" id="f-{name}-error">([^<]+)</p>', page)
    return found.group(1) if found else None


@pytest.mark.parametrize("overrides,field,message", [
    ({"email": "not-an-address"}, "email", "valid e-mail address"),
    ({"email": ""}, "email", "Please fill in this field"),
    ({"first_name": ""}, "first_name", "Please fill in this field"),
    ({"first_name": "x" * 61}, "first_name", "at most 60 characters"),
    ({"phone": "12"}, "phone", "valid phone number"),
    ({"vat_id": "DE123"}, "vat_id", "valid EU VAT ID"),
    ({"country": "XX"}, "country", "choose a country"),
    ({"birth_date": "31.12.1990"}, "birth_date", "YYYY-MM-DD"),
    ({"birth_date": "2999-01-01"}, "birth_date", "between 1900 and today"),
    ({"goal": "flying"}, "goal", "choose one of the options"),
    ({"payment_method": "bitcoin"}, "payment_method", "choose a payment method"),
    ({"payment_method": "sepa", "account_holder": "A", "iban": "DE89370400440532013001", "sepa_mandate": "1"}, "iban", "IBAN is not valid"),
    ({"payment_method": "sepa", "account_holder": "", "iban": "DE89370400440532013000", "sepa_mandate": "1"}, "account_holder", "fill in"),
    ({"payment_method": "sepa", "account_holder": "A", "iban": "DE89370400440532013000"}, "sepa_mandate", "direct debit mandate"),
    ({"consent": None}, "consent", "accept the terms"),
])
def test_each_bad_value_is_explained_next_to_its_field(client, signup_form, session, overrides, field, message):
    url, data = signup_form(**overrides)
    response = client.post(url, data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = field_error(page, field)
    assert error and message in error, error
    assert f'href="#f-{field}"' in page  # the error summary links to the field
    assert nothing_stored(session)


def test_typed_values_are_kept_after_an_error(client, signup_form):
    url, data = signup_form(email="bad", first_name="Zoë <b>", company="Acme & Co")
    page = client.post(url, data=data).get_data(as_text=True)
    assert 'value="bad"' in page
    assert 'value="Zoë &lt;b&gt;"' in page and 'value="Acme &amp; Co"' in page
    assert '<option value="DE" selected>' in page


def test_errors_are_in_the_page_language(client, signup_form):
    url, data = signup_form(query="?lang=de", email="bad")
    page = client.post(url, data=data).get_data(as_text=True)
    assert 'lang="de"' in page
    assert field_error(page, "email") != "Please enter a valid e-mail address, e.g. name@example.com."


def test_valid_values_are_normalized(client, signup_form, session):
    url, data = signup_form(phone="030 1234567", vat_id="de 136695976", email="Anna@Example.COM")
    assert client.post(url, data=data).status_code == 303
    customer = session.scalar(select(Customer))
    assert customer.fields["phone"] == "+49301234567"
    assert customer.fields["vat_id"] == "DE136695976"
    assert customer.email == "anna@example.com"


def test_missing_csrf_token_is_refused_with_a_page(client, signup_form, session):
    url, data = signup_form()
    data.pop("csrf_token")
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert "reload the page" in response.get_data(as_text=True)
    assert nothing_stored(session)


def test_forged_submission_key_is_refused(client, signup_form, session):
    url, data = signup_form(submission="../../etc")
    assert client.post(url, data=data).status_code == 400
    assert nothing_stored(session)


def test_unknown_plan_and_tenant(client):
    response = client.get("/t/demo/signup/platinum")
    assert response.status_code == 404 and "plan is not available" in response.get_data(as_text=True)
    assert client.post("/t/demo/signup/platinum", data={}).status_code in (400, 404)
    assert client.get("/t/nobody/signup/basic").status_code == 404


def test_unknown_language_falls_back_with_a_notice(client):
    response = client.get("/t/demo/signup/basic?lang=xx")
    assert response.status_code == 200
    assert 'lang="en"' in response.get_data(as_text=True) and "is not available here" in response.get_data(as_text=True)


def test_oversized_body_is_refused_cleanly(client, signup_form, session):
    url, data = signup_form(first_name="x" * 400_000)
    response = client.post(url, data=data)
    assert response.status_code == 413
    assert nothing_stored(session)


def test_nonsense_values_never_cause_a_500(client, signup_form):
    url, data = signup_form()
    for name in ("email", "phone", "vat_id", "country", "birth_date", "goal", "iban", "payment_method", "submission"):
        for value in ("\x00", "💥" * 50, "'; DROP TABLE customer; --", "<script>alert(1)</script>"):
            response = client.post(url, data={**data, name: value})
            assert response.status_code < 500, (name, value)


def test_odd_confirmation_ids_are_a_plain_404(client):
    for contract_id in ("%00", "con_%00x", "x" * 200, "..%2F..%2Fetc"):
        assert client.get(f"/t/demo/signup/complete/{contract_id}").status_code == 404
