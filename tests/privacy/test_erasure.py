"""GDPR: customers download their data from the portal; the merchant erases a customer by API."""
import json

from sqlalchemy import select

from tests.api.conftest import create_key
from widget_server.billing.run import bill_due
from widget_server.billing.contracts import PaymentChoice
from widget_server.portal import access
from widget_server.storage.models import AuditEvent, Customer, Invoice, OutboxEvent, PaymentMethod, PortalSession

IBAN = "DE89370400440532013000"
NAME = "Anna <b>Berg</b>"


def sepa_customer(sign_up, session, tenants):
    contract = sign_up(plan_id="basic", fields={"first_name": NAME, "last_name": "Berg", "email": "anna@example.com",
                                                "country": "DE"},
                       payment=PaymentChoice(kind="sepa", account_holder="Anna Berg", iban=IBAN))
    bill_due(session, tenants, contract.next_billing_date)
    session.commit()
    return contract


def enter_portal(app, client, customer):
    with app.test_request_context():
        token, _ = access.issue("demo", customer, flow=None, return_url=None, locale=None)
    assert client.get(f"/t/demo/portal/enter?token={token}").status_code == 302


def test_customers_download_their_data_as_json(app, client, session, sign_up, tenants):
    contract = sepa_customer(sign_up, session, tenants)
    assert client.get("/t/demo/portal/data.json").status_code == 401
    enter_portal(app, client, contract.customer)
    answer = client.get("/t/demo/portal/data.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert "attachment" in answer.headers["Content-Disposition"] and answer.headers["Cache-Control"] == "no-store"
    data = answer.get_json()
    assert data["customer"]["email"] == "anna@example.com" and data["customer"]["fields"]["first_name"] == NAME
    assert [c["id"] for c in data["contracts"]] == [contract.public_id]
    assert data["invoices"] and data["invoices"][0]["billed_to"]
    assert data["payment_methods"][0]["mandate_reference"]
    assert IBAN not in answer.get_data(as_text=True)  # masked, as everywhere in the portal
    assert data["history"]


def test_erasure_removes_personal_data_keeps_invoices_and_says_so(app, client, session, sign_up, tenants):
    contract = sepa_customer(sign_up, session, tenants)
    enter_portal(app, client, contract.customer)
    key = create_key(app, "demo")
    headers = {"Authorization": f"Bearer {key}"}
    answer = client.delete(f"/api/v1/customers/{contract.customer.public_id}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["erased"] and not body["already_erased"]
    kept = {k["data"].split(",")[0]: k for k in body["kept"]}
    assert kept["invoices and credit notes"]["count"] >= 1 and kept["invoices and credit notes"]["until"].endswith("-12-31")
    assert "e-mail address" in body["removed"]

    session.expire_all()
    customer = session.get(Customer, contract.customer_id)
    assert customer.email.endswith("@erased.invalid") and customer.fields == {}
    method = session.scalars(select(PaymentMethod).where(PaymentMethod.customer_id == customer.id)).one()
    assert method.iban is None and method.account_holder is None and method.mandate_reference
    assert customer.contracts[0].status == "ended"
    invoice = session.scalars(select(Invoice).where(Invoice.customer_id == customer.id)).first()
    assert invoice.buyer  # the invoice as billed stays
    assert all(e.before is None and e.after is None for e in session.scalars(
        select(AuditEvent).where(AuditEvent.customer_id == customer.id, AuditEvent.action != "customer.erased")))
    text = " ".join(json.dumps(e.payload) for e in session.scalars(select(OutboxEvent)))
    assert "anna@example.com" not in text and NAME not in text
    assert session.scalars(select(OutboxEvent).where(OutboxEvent.type == "customer.erased")).one()
    assert all(s.ended_at for s in session.scalars(select(PortalSession)))
    assert client.get("/t/demo/portal/").status_code == 401  # the open portal session is gone

    again = client.delete(f"/api/v1/customers/{contract.customer.public_id}", headers=headers).get_json()
    assert again["already_erased"] and again["removed"] == [] and again["kept"]


def test_erasure_is_per_tenant(app, client, sign_up):
    contract = sign_up(plan_id="basic")
    key = create_key(app, "fjord")
    answer = client.delete(f"/api/v1/customers/{contract.customer.public_id}", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"
