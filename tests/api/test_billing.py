"""Invoices, payments and balances through the API, checked against the OpenAPI document."""
from datetime import timedelta

import pytest

from widget_server.billing.run import bill_due


@pytest.fixture
def billed(app, api, signed_up):
    """A pro customer (19.90/month, no trial) with their first invoice; returns (customer id, invoice JSON)."""
    contract = api.get(f"/api/v1/contracts/{signed_up(plan='pro')}").get_json()
    registry = app.extensions["widget_themes"]
    with app.app_context():
        from widget_server.extensions import db
        bill_due(db.session, registry.get, registry.get("demo").today())  # periods are dates in the tenant's zone
    invoices = api.get(f"/api/v1/invoices?customer_id={contract['customer_id']}").get_json()["data"]
    assert len(invoices) == 1
    yield contract["customer_id"], invoices[0]


def test_invoice_list_and_detail(api, billed, tenants):
    customer_id, invoice = billed
    today = tenants("demo").today()
    assert invoice["number"].startswith(f"DEMO-{today.year}-")
    assert (invoice["net"], invoice["tax"], invoice["gross"], invoice["tax_rate"]) == ("16.72", "3.18", "19.90", "19")
    assert invoice["status"] == "open" and invoice["kind"] == "invoice" and invoice["payment_reference"] == invoice["number"]
    assert invoice["due_date"] == (today + timedelta(days=14)).isoformat()
    assert [line["kind"] for line in invoice["lines"]] == ["plan"]
    assert api.get(f"/api/v1/invoices/{invoice['id']}").get_json() == invoice
    assert api.get(f"/api/v1/invoices?customer_id={customer_id}&status=paid").get_json()["data"] == []


def test_balance_then_payment_settles_the_invoice(api, billed):
    customer_id, invoice = billed
    owed = api.get(f"/api/v1/customers/{customer_id}/balance").get_json()
    assert (owed["balance"], owed["overdue"], owed["currency"]) == ("19.90", "0.00", "EUR")
    assert [item["number"] for item in owed["open_items"]] == [invoice["number"]]
    paid = api.post("/api/v1/payments", json={"customer_id": customer_id, "amount": "19.90", "currency": "EUR",
                                              "reference": invoice["payment_reference"], "external_id": "bank-1"})
    assert paid.status_code == 201 and paid.get_json()["amount"] == "19.90"
    assert api.get(f"/api/v1/invoices/{invoice['id']}").get_json()["status"] == "paid"
    assert api.get(f"/api/v1/customers/{customer_id}/balance").get_json()["balance"] == "0.00"
    again = api.post("/api/v1/payments", json={"customer_id": customer_id, "amount": "19.90", "currency": "EUR", "external_id": "bank-1"})
    assert again.status_code == 200 and again.get_json()["id"] == paid.get_json()["id"]
    assert api.get(f"/api/v1/customers/{customer_id}/balance").get_json()["balance"] == "0.00"


@pytest.mark.parametrize("change,field", [
    ({"amount": "-5"}, "amount"), ({"amount": "0"}, "amount"), ({"amount": "1.999"}, "amount"), ({"amount": 19.9}, "amount"),
    ({"currency": "SEK"}, "currency"), ({"currency": "euro"}, "currency"),
    ({"customer_id": "cus_nobody"}, "customer_id"), ({"invoice_id": "inv_unknown"}, "invoice_id"),
    ({"received_on": "2026-02-30"}, "received_on"), ({"method": "cash"}, "method"),
])
def test_bad_payments_are_refused_and_book_nothing(api, billed, change, field):
    customer_id, _invoice = billed
    body = {"customer_id": customer_id, "amount": "10.00", "currency": "EUR", **change}
    response = api.post("/api/v1/payments", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert api.get(f"/api/v1/customers/{customer_id}/balance").get_json()["balance"] == "19.90"


def test_other_tenants_see_nothing(fjord_api, billed):
    customer_id, invoice = billed
    assert fjord_api.get(f"/api/v1/invoices/{invoice['id']}").status_code == 404
    assert fjord_api.get(f"/api/v1/invoices?customer_id={customer_id}").status_code == 404
    assert fjord_api.get(f"/api/v1/customers/{customer_id}/balance").status_code == 404
    response = fjord_api.post("/api/v1/payments", json={"customer_id": customer_id, "amount": "1.00", "currency": "EUR"})
    assert response.status_code == 422 and "customer_id" in response.get_json()["errors"]


def test_invoice_pdf_download(api, billed):
    _customer_id, invoice = billed
    response = api.client.get(f"/api/v1/invoices/{invoice['id']}/pdf", headers={"Authorization": f"Bearer {api.key}"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"] == f'attachment; filename="{invoice["number"]}.pdf"'
    again = api.client.get(f"/api/v1/invoices/{invoice['id']}/pdf",
                           headers={"Authorization": f"Bearer {api.key}", "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_invoice_pdf_of_another_tenant_is_404(fjord_api, billed):
    _customer_id, invoice = billed
    assert fjord_api.get(f"/api/v1/invoices/{invoice['id']}/pdf").status_code == 404
    assert fjord_api.get("/api/v1/invoices/%00/pdf").status_code == 404
