"""The portal's payment method page: current method, switching (SEPA with a new mandate, bank
transfer), the keep-last rule, the card option, CSRF and escaping."""
import json
import re
from datetime import date

import pytest
from flask import url_for
from sqlalchemy import func, select

from tests.conftest import hidden_inputs
from widget_server.billing.contracts import PaymentChoice
from widget_server.extensions import db
from widget_server.payments import sepa
from widget_server.storage.models import AuditEvent, Customer, OutboxEvent, PaymentMethod
from widget_server.storage.queries import by_public_id

from tests.documents.conftest import pdf_text

from .test_invoices import bill, customer, invoices_of, portal, text_of  # noqa: F401  (fixtures)

IBAN = "DE89370400440532013000"
IBAN_TYPED = "DE89 3704 0044 0532 0130 00"
NEW_IBAN = "DE02500105170137075030"
PAGE = "/t/demo/portal/payment-method"
SEPA_CHOICE = PaymentChoice(kind="sepa", account_holder="Anna Berg", iban=IBAN, bic="COBADEFFXXX")


def methods_of(app, customer_id: str, tenant: str = "demo") -> list[dict]:
    with app.app_context():
        found = by_public_id(db.session, Customer, tenant, customer_id)
        return [{"id": m.public_id, "kind": m.kind, "default": m.is_default, "iban": m.iban, "holder": m.account_holder,
                 "mandate": m.mandate_reference, "signed": m.mandate_signed_on} for m in found.payment_methods]


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (PaymentMethod, AuditEvent, OutboxEvent))


def events(app, action="payment_method.updated") -> tuple[list[AuditEvent], list[OutboxEvent]]:
    with app.app_context():
        audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()
        outbox = db.session.scalars(select(OutboxEvent).where(OutboxEvent.type == action).order_by(OutboxEvent.id)).all()
        db.session.expunge_all()
        return audit, outbox


def form(browser, url=PAGE, **data) -> dict:
    """The page's change form with its CSRF token and the given answers."""
    page = browser.get(url).get_data(as_text=True)
    return {"csrf_token": hidden_inputs(page)["csrf_token"], "action": "change", **data}


def test_bank_transfer_shows_the_tenants_bank_details_and_the_choices(customer, portal):
    page = portal(customer()).get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    current = text_of(html.split('id="current-title"', 1)[1].split("</section>", 1)[0])
    assert "Invoice (bank transfer)" in current and "Acme Fitness GmbH" in current
    assert "DE02120300000000202051" in current and "BYLADEM1001" in current
    assert 'value="sepa"' in html and 'value="invoice"' in html
    assert "Creditor identifier: DE98ZZZ09999999999" in text_of(html)  # the mandate text the customer agrees to
    assert 'name="sepa_mandate"' in html and 'for="f-iban"' in html and 'for="f-account_holder"' in html
    assert "Remove this payment method" not in html  # demo keeps the last payment method
    assert 'href="/t/demo/portal/payment-method" aria-current="page"' in html


def test_sepa_is_shown_masked_with_its_mandate(app, customer, portal):
    anna = customer(payment=SEPA_CHOICE)
    (method,) = methods_of(app, anna)
    html = portal(anna).get(PAGE).get_data(as_text=True)
    assert IBAN not in html and IBAN_TYPED not in html
    current = text_of(html.split('id="current-title"', 1)[1].split("</section>", 1)[0])
    assert "SEPA direct debit" in current and "DE89 •••• •••• •••• ••30 00" in current
    assert method["mandate"] in current and "Anna Berg" in current
    assert 'value="sepa" id="pm-sepa" checked' in html  # the current method is preselected


@pytest.mark.parametrize("lang, invalid, required", [
    ("en", "This IBAN is not valid. Please check it.", "Please agree to the direct debit mandate to pay by direct debit."),
    ("de", "Diese IBAN ist ungültig. Bitte prüfen Sie Ihre Eingabe.", "Bitte erteilen Sie das Lastschriftmandat, um per Lastschrift zu bezahlen."),
    ("sv", "IBAN-numret är ogiltigt. Kontrollera det.", "Godkänn autogiromedgivandet för att betala via autogiro."),
    ("da", "IBAN-nummeret er ugyldigt. Tjek det venligst.", "Accepter betalingsaftalen for at betale med SEPA Direct Debit."),
])
def test_an_invalid_iban_is_refused_in_the_customers_language_and_nothing_is_stored(app, customer, portal, lang, invalid, required):
    anna = customer(locale=lang)
    browser = portal(anna)
    before = counts(app)
    response = browser.post(PAGE, data=form(browser, payment_method="sepa", account_holder="Anna Berg",
                                            iban="DE89 3704 0044 0532 0130 01"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert f'<p class="error" id="f-iban-error">{invalid}</p>' in html  # next to the field
    assert re.search(r'id="f-iban" name="iban" value="DE89 3704 0044 0532 0130 01"[^>]*aria-invalid="true" '
                     r'aria-describedby="f-iban-error"', html)
    assert f'<p class="error" id="f-sepa_mandate-error">{required}</p>' in html
    assert 'value="Anna Berg"' in html  # what was typed is kept
    assert counts(app) == before
    assert methods_of(app, anna)[0]["kind"] == "invoice" and methods_of(app, anna)[0]["default"]


def test_every_sepa_field_is_required(app, customer, portal):
    anna = customer()
    browser = portal(anna)
    before = counts(app)
    response = browser.post(PAGE, data=form(browser, payment_method="sepa"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="f-account_holder-error">Please fill in this field.' in html
    assert 'id="f-iban-error">Please fill in this field.' in html
    assert 'href="#f-iban"' in html and 'href="#f-account_holder"' in html  # the error summary links the fields
    assert counts(app) == before


def test_switching_to_sepa_signs_a_new_mandate(app, customer, portal):
    anna = customer()
    browser = portal(anna)
    response = browser.post(PAGE, data=form(browser, payment_method="sepa", account_holder="  Anna Berg ",
                                            iban=IBAN_TYPED.lower(), sepa_mandate="1"))
    assert response.status_code == 303 and response.headers["Location"] == PAGE + "?saved=1"
    old, new = methods_of(app, anna)
    assert old["kind"] == "invoice" and not old["default"]
    assert new["kind"] == "sepa" and new["default"] and new["iban"] == IBAN and new["holder"] == "Anna Berg"
    assert re.fullmatch(r"DEMO-[A-Z2-9]{12}", new["mandate"])
    with app.app_context():
        assert new["signed"] == app.extensions["widget_themes"].get("demo").today()
    html = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your payment method has been changed." in html and new["mandate"] in html and IBAN not in html

    (audit,), (outbox,) = events(app)
    assert audit.actor == "customer" and audit.before == {"id": old["id"], "kind": "invoice"}
    assert audit.after == {"id": new["id"], "kind": "sepa", "iban": "DE89 •••• •••• •••• ••30 00", "mandate_reference": new["mandate"]}
    assert outbox.payload == {"customer_id": anna, "before": audit.before, "after": audit.after}
    for stored in (json.dumps(audit.before), json.dumps(audit.after), json.dumps(outbox.payload)):
        assert IBAN not in stored and "3704004405320130" not in stored


def test_a_new_mandate_replaces_the_old_one_and_is_debited_first_again(app, customer, portal, bill):
    anna = customer(payment=SEPA_CHOICE, plan="pro")
    bill(date(2026, 1, 31))
    today = date.today()
    with app.app_context():
        demo = app.extensions["widget_themes"].get("demo")
        first = sepa.export(db.session, demo, up_to=today, today=today)
        db.session.commit()
        assert [d.sequence_type for d in first.debits] == ["FRST"]
        # The old mandate has been used: its next debit would be RCUR.
    old = methods_of(app, anna)[0]
    browser = portal(anna)
    response = browser.post(PAGE, data=form(browser, payment_method="sepa", account_holder="Anna Berg",
                                            iban=NEW_IBAN, sepa_mandate="1"))
    assert response.status_code == 303
    old_now, new = methods_of(app, anna)
    assert old_now == {**old, "default": False}  # kept for the collections made under it, inactive
    assert new["default"] and new["iban"] == NEW_IBAN and new["mandate"] != old["mandate"]
    bill(date(2026, 2, 28))
    with app.app_context():
        planned = sepa.plan(db.session, "demo", up_to=today, today=today)
        assert [(d.method.public_id, d.sequence_type) for d in planned.debits] == [(new["id"], "FRST")]


def test_switching_from_sepa_to_bank_transfer(app, customer, portal):
    anna = customer(payment=SEPA_CHOICE)
    browser = portal(anna)
    response = browser.post(PAGE, data=form(browser, payment_method="invoice"))
    assert response.status_code == 303
    old, new = methods_of(app, anna)
    assert old["kind"] == "sepa" and not old["default"] and new["kind"] == "invoice" and new["default"]
    (audit,), (outbox,) = events(app)
    assert audit.before["iban"] == "DE89 •••• •••• •••• ••30 00" and audit.after == {"id": new["id"], "kind": "invoice"}
    assert outbox.type == "payment_method.updated"
    html = browser.get(PAGE).get_data(as_text=True)
    assert "DE02120300000000202051" in html  # now the tenant's account is where to pay


def test_choosing_bank_transfer_again_changes_nothing(app, customer, portal):
    anna = customer()
    browser = portal(anna)
    before = counts(app)
    response = browser.post(PAGE, data=form(browser, payment_method="invoice"))
    assert response.status_code == 200 and "nothing was changed" in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_method_the_tenant_does_not_offer_is_refused(app, customer, portal):
    sven = customer(tenant="fjord", locale="sv", plan="mellan", email="sven@example.se")
    browser = portal(sven, "fjord")
    html = browser.get("/t/fjord/portal/payment-method").get_data(as_text=True)
    assert '<html lang="sv">' in html and "Faktura (banköverföring)" in html
    assert 'name="iban"' not in html and "SEPA" not in html  # fjord offers bank transfer only
    before = counts(app)
    token = hidden_inputs(html)["csrf_token"]
    response = browser.post("/t/fjord/portal/payment-method",
                            data={"csrf_token": token, "payment_method": "sepa", "account_holder": "Sven",
                                  "iban": "SE4550000000058398257466", "sepa_mandate": "1"})
    assert response.status_code == 422 and counts(app) == before


def test_the_last_payment_method_cannot_be_removed_when_the_tenant_keeps_it(app, customer, portal):
    anna = customer(payment=SEPA_CHOICE)
    browser = portal(anna)
    before = counts(app)
    response = browser.post(PAGE, data=form(browser, action="remove"))
    assert response.status_code == 409
    assert "You cannot remove your only payment method." in response.get_data(as_text=True)
    assert counts(app) == before and methods_of(app, anna)[0]["default"]


def test_customers_may_remove_their_method_when_the_tenant_allows_it(app, customer, portal, themes_dir):
    theme = themes_dir / "demo" / "theme.toml"
    theme.write_text(theme.read_text().replace("keep_last_payment_method = true", "keep_last_payment_method = false"))
    anna = customer(payment=SEPA_CHOICE)
    browser = portal(anna)
    html = browser.get(PAGE).get_data(as_text=True)
    assert "Remove this payment method" in html
    response = browser.post(PAGE, data=form(browser, action="remove"))
    assert response.status_code == 303
    (method,) = methods_of(app, anna)
    assert not method["default"]
    (audit,), (outbox,) = events(app)
    assert audit.after is None and audit.before["mandate_reference"] == method["mandate"] and IBAN not in json.dumps(audit.before)
    html = browser.get(PAGE).get_data(as_text=True)
    assert "You have no payment method at the moment." in html and "Remove this payment method" not in html


def test_a_post_without_csrf_token_is_refused(app, customer, portal):
    anna = customer()
    browser = portal(anna)
    before = counts(app)
    for data in ({"payment_method": "sepa", "account_holder": "Anna Berg", "iban": IBAN, "sepa_mandate": "1"},
                 {"action": "remove"},
                 {"csrf_token": "forged", "payment_method": "sepa", "account_holder": "A", "iban": IBAN, "sepa_mandate": "1"}):
        assert browser.post(PAGE, data=data).status_code == 400
    assert counts(app) == before


def test_without_a_session_the_page_asks_to_sign_in(client):
    assert client.get(PAGE).status_code == 401
    assert client.post(PAGE, data={}).status_code in (400, 401)


def test_markup_in_the_account_holder_is_shown_as_text(app, customer, portal, bill):
    payload = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    anna = customer(plan="pro", on=date.today())
    browser = portal(anna)
    refused = browser.post(PAGE, data=form(browser, payment_method="sepa", account_holder=payload, iban="DE00"))
    assert refused.status_code == 422
    for html in (refused.get_data(as_text=True),):
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"' in html
    saved = browser.post(PAGE, data=form(browser, payment_method="sepa", account_holder=payload[:70], iban=IBAN, sepa_mandate="1"))
    assert saved.status_code == 303
    html = browser.get(PAGE).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The next invoice is debited under the new mandate; its PDF prints the mandate, never the holder as markup.
    bill(date.today())
    (invoice,) = invoices_of(app, anna)
    mandate = methods_of(app, anna)[-1]["mandate"]
    pdf = browser.get(f"/t/demo/portal/invoices/{invoice.public_id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = pdf_text(pdf.data)
    assert mandate in text and "DE89 •••• •••• •••• ••30 00" in text and "<script>" not in text


STRIPE_VARIABLES = ("WIDGET_STRIPE_SECRET_KEY_DEMO", "WIDGET_STRIPE_PUBLISHABLE_KEY_DEMO", "WIDGET_STRIPE_WEBHOOK_SECRET_DEMO")


def test_pay_by_card_is_offered_only_with_the_card_page_and_stripe(app, customer, portal, monkeypatch, themes_dir):
    if "portal.card_setup" not in app.view_functions:  # the card page of its own module, or a stand-in
        app.add_url_rule("/t/<tenant_slug>/portal/card", endpoint="portal.card_setup", view_func=lambda tenant_slug: "card")
    anna = customer()
    browser = portal(anna)
    for name in STRIPE_VARIABLES:
        monkeypatch.setenv(name, "sk_test_x" if "SECRET_KEY" in name else "pk_test_x" if "PUBLISHABLE" in name else "whsec_x")
    assert "Pay by card" not in browser.get(PAGE).get_data(as_text=True)  # keys, but the theme does not enable card

    theme = themes_dir / "demo" / "theme.toml"
    theme.write_text(theme.read_text().replace('methods = ["invoice", "sepa"]', 'methods = ["invoice", "sepa", "card"]'))
    with app.test_request_context():
        card_page = url_for("portal.card_setup", tenant_slug="demo")
    html = browser.get(PAGE).get_data(as_text=True)
    assert "Pay by card" in html and f'href="{card_page}"' in html
    assert 'value="card"' not in html  # cards are saved on their own page, not by this form
    assert f'href="{card_page}?lang=de"' in browser.get(PAGE + "?lang=de").get_data(as_text=True)
    before = counts(app)
    response = browser.post(PAGE, data=form(browser, payment_method="card"))
    assert response.status_code == 422 and counts(app) == before

    monkeypatch.delenv("WIDGET_STRIPE_SECRET_KEY_DEMO")
    assert "Pay by card" not in browser.get(PAGE).get_data(as_text=True)  # no Stripe account
    monkeypatch.setenv("WIDGET_STRIPE_SECRET_KEY_DEMO", "sk_test_x")
    monkeypatch.delitem(app.view_functions, "portal.card_setup")
    assert "Pay by card" not in browser.get(PAGE).get_data(as_text=True)  # no card page installed


@pytest.mark.parametrize("lang", ["de", "da"])
def test_the_mandate_text_is_the_sign_up_forms(client, customer, portal, lang):
    def mandate(html):
        return re.search(r'<p class="mandate" id="mandate-text">(.*?)</p>', html, re.S).group(1)

    signup = client.get(f"/t/demo/signup/basic?lang={lang}").get_data(as_text=True)
    html = portal(customer(locale=lang)).get(PAGE).get_data(as_text=True)
    assert mandate(html) == mandate(signup) and "DE98ZZZ09999999999" in mandate(html)
