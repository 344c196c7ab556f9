"""The profile page: the tenant's fields with sign-up validation, locked fields, audit and outbox events,
the confirmed e-mail change, escaping, CSRF and languages."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import hidden_inputs
from widget_server.extensions import db
from widget_server.storage.base import utcnow
from widget_server.storage.models import AuditEvent, Customer, EmailChange, OutboxEvent

from .signing_in import customer, link_in, mail_app, sent_mails, signed_in, text_of  # noqa: F401

PROFILE = "/t/demo/portal/profile"
DETAILS = {"first_name": "Anna", "last_name": "Berg", "email": "anna@example.com", "street": "Weg 1", "postal_code": "12345",
           "city": "Berlin", "country": "DE", "birth_date": "1990-05-17"}


def form_of(browser, path=PROFILE) -> dict:
    page = browser.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    return hidden_inputs(page.get_data(as_text=True))


def save(browser, **changes):
    return browser.post(PROFILE, data={**form_of(browser), **DETAILS, **changes})


def stored(app, customer_id) -> Customer:
    with app.app_context():
        found = db.session.get(Customer, customer_id)
        db.session.expunge(found)
        return found


def events(app, model, **where):
    with app.app_context():
        stmt = select(model).order_by(model.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return db.session.scalars(stmt).all()


@pytest.mark.parametrize("lang, first_name, city", [("en", "First name", "City"), ("de", "Vorname", "Ort"),
                                                     ("sv", "Förnamn", "Ort"), ("da", "Fornavn", "By")])
def test_the_page_shows_the_fields_and_values_in_every_language(app, customer, lang, first_name, city):
    browser = signed_in(app, customer(locale=lang, fields=DETAILS))
    response = browser.get(PROFILE)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f'lang="{lang}"' in page
    assert f'<label for="f-first_name">{first_name}' in page and f'<label for="f-city">{city}' in page
    assert 'value="Berlin"' in page and 'value="anna@example.com"' in page
    assert 'aria-current="page"' in page and 'name="csrf_token"' in page


def test_locked_fields_are_read_only_and_posted_values_are_ignored(app, customer):
    anna = customer(fields=DETAILS)
    browser = signed_in(app, anna)
    page = browser.get(PROFILE).get_data(as_text=True)
    assert 'id="f-birth_date" name="birth_date" value="1990-05-17"' in page and "readonly" in page
    assert save(browser, birth_date="2000-01-01", city="Hamburg").status_code == 303
    fields = stored(app, anna.id).fields
    assert fields["birth_date"] == "1990-05-17" and fields["city"] == "Hamburg"


def test_saving_writes_an_audit_and_an_outbox_event(app, customer):
    anna = customer(fields=DETAILS)
    browser = signed_in(app, anna)
    response = save(browser, city="Hamburg", phone="030 1234567")
    assert response.status_code == 303 and response.headers["Location"].startswith(PROFILE + "?done=saved")
    assert "saved" in browser.get(response.headers["Location"]).get_data(as_text=True)
    fields = stored(app, anna.id).fields
    assert fields["city"] == "Hamburg" and fields["phone"] == "+49301234567"  # E.164, as at sign-up
    [audit] = events(app, AuditEvent, action="customer.updated")
    assert audit.actor == "customer" and audit.customer_id == anna.id
    assert audit.before == {"city": "Berlin", "phone": None} and audit.after == {"city": "Hamburg", "phone": "+49301234567"}
    [event] = events(app, OutboxEvent, type="customer.updated")
    assert event.payload == {"customer_id": anna.public_id, "before": audit.before, "after": audit.after}


def test_nothing_changed_writes_nothing(app, customer):
    browser = signed_in(app, customer(fields=DETAILS))
    response = save(browser)
    assert response.headers["Location"].startswith(PROFILE + "?done=nothing")
    assert events(app, AuditEvent, action="customer.updated") == []


def test_invalid_values_are_explained_and_nothing_is_stored(app, customer):
    anna = customer(locale="de", fields=DETAILS)
    browser = signed_in(app, anna)
    response = save(browser, city="Hamburg", phone="12", country="XX", first_name="")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'lang="de"' in page
    assert 'id="f-phone-error"' in page and 'id="f-country-error"' in page and 'id="f-first_name-error"' in page
    assert 'value="Hamburg"' in page  # what was typed is kept
    assert stored(app, anna.id).fields["city"] == "Berlin"
    assert events(app, OutboxEvent, type="customer.updated") == []


def test_payment_fields_belong_to_the_payment_method_page(app, customer, themes_dir):
    theme = themes_dir / "demo" / "theme.toml"
    theme.write_text(theme.read_text() + '\n[[fields]]\nname = "refund_iban"\ntype = "iban"\n'
                     'label = { en = "Refund IBAN", de = "IBAN", sv = "IBAN", da = "IBAN" }\n')
    browser = signed_in(app, customer(fields=DETAILS))
    assert 'name="refund_iban"' not in browser.get(PROFILE).get_data(as_text=True)


def test_without_the_csrf_token_nothing_is_saved(app, customer):
    anna = customer(fields=DETAILS)
    browser = signed_in(app, anna)
    assert browser.post(PROFILE, data={**DETAILS, "city": "Hamburg"}).status_code == 400
    assert stored(app, anna.id).fields["city"] == "Berlin"


def test_signed_out_visitors_are_offered_the_sign_in(client):
    response = client.get(PROFILE)
    page = response.get_data(as_text=True)
    assert response.status_code == 401 and 'href="/t/demo/login?flow=profile"' in page


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_customer_values_are_escaped(app, customer):
    browser = signed_in(app, customer(fields={**DETAILS, "city": XSS, "company": '"><svg onload=alert(1)>'}))
    page = browser.get(PROFILE).get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page and "<svg onload" not in page
    assert "&lt;script&gt;" in page and "&#34;&gt;&lt;svg" in page


def test_a_new_e_mail_address_applies_only_once_confirmed(mail_app, customer):
    anna = customer(locale="sv", fields=DETAILS)
    browser = signed_in(mail_app, anna)
    response = save(browser, email="anna.new@example.com", city="Hamburg")
    assert response.status_code == 303 and "done=email" in response.headers["Location"]
    after = stored(mail_app, anna.id)
    assert after.email == "anna@example.com" and after.fields["city"] == "Hamburg"
    assert "anna.new@example.com" in browser.get(PROFILE).get_data(as_text=True)  # the pending change is shown
    [message] = sent_mails(mail_app)
    assert message["To"] == "anna.new@example.com" and message["Content-Language"] == "sv"
    path = link_in(message)
    with mail_app.app_context():
        [change] = db.session.scalars(select(EmailChange)).all()
        assert path.rsplit("/", 1)[1] not in (change.token_hash, change.public_id)
    confirm = mail_app.test_client()  # the link opens in the mail program's browser, not signed in
    page = confirm.get(path)
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    assert stored(mail_app, anna.id).email == "anna@example.com"  # opening the page alone changes nothing
    assert confirm.post(path, data={}).status_code == 400  # CSRF token required
    done = confirm.post(path, data=hidden_inputs(page.get_data(as_text=True)))
    assert done.status_code == 200 and "anna.new@example.com" in done.get_data(as_text=True)
    changed = stored(mail_app, anna.id)
    assert changed.email == "anna.new@example.com" and changed.fields["email"] == "anna.new@example.com"
    audit = events(mail_app, AuditEvent, action="customer.updated")
    assert audit[-1].before == {"email": "anna@example.com"} and audit[-1].after == {"email": "anna.new@example.com"}
    assert [e.payload["after"] for e in events(mail_app, OutboxEvent, type="customer.updated")] == [
        {"city": "Hamburg"}, {"email": "anna.new@example.com"}]
    [notice] = [m for m in sent_mails(mail_app) if m["To"] == "anna@example.com"]  # files of one second: any order
    assert "anna.new@example.com" in text_of(notice) and notice["Content-Language"] == "sv"
    replay = confirm.post(path, data=hidden_inputs(page.get_data(as_text=True)))
    assert replay.status_code == 400 and "already been used" in replay.get_data(as_text=True)


def test_an_expired_confirmation_link_changes_nothing(mail_app, customer):
    anna = customer(fields=DETAILS)
    browser = signed_in(mail_app, anna)
    save(browser, email="anna.new@example.com")
    path = link_in(sent_mails(mail_app)[0])
    with mail_app.app_context():
        db.session.scalars(select(EmailChange)).one().expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = mail_app.test_client().get(path)
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert mail_app.test_client().get(path.replace("/t/demo/", "/t/fjord/")).status_code == 400
    assert stored(mail_app, anna.id).email == "anna@example.com"


def test_an_address_of_another_customer_is_refused(mail_app, customer):
    customer(email="taken@example.com")
    anna = customer(locale="de", fields=DETAILS)
    browser = signed_in(mail_app, anna)
    response = save(browser, email="taken@example.com")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="f-email-error"' in page and 'lang="de"' in page
    assert events(mail_app, EmailChange) == [] and sent_mails(mail_app) == []


def test_e_mail_changes_are_limited_per_day(mail_app, customer):
    anna = customer(fields=DETAILS)
    browser = signed_in(mail_app, anna)
    for i in range(5):
        assert save(browser, email=f"new{i}@example.com").status_code == 303
    refused = save(browser, email="new5@example.com")
    assert refused.status_code == 422 and "too often" in refused.get_data(as_text=True)
    assert len(events(mail_app, EmailChange)) == 5
