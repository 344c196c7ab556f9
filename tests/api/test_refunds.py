"""POST /api/v1/refunds and POST /api/v1/sepa-returns: answers as the OpenAPI document says."""
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.api.conftest import IBAN
from tests.payments.fake_stripe import fake_stripe  # noqa: F401  (fixture)
from widget_server.billing.contracts import PaymentChoice
from widget_server.billing.ledger import record_payment
from widget_server.billing.run import bill_due
from widget_server.payments.sepa import export
from widget_server.storage.models import Invoice, LedgerEntry, Refund, SepaReturn



@pytest.fixture
def paid(session, sign_up, tenants):
    def make(method="invoice", external_id=None):
        contract = sign_up("pro", on=date(2026, 1, 1), key=f"refund-{method}")
        bill_due(session, tenants, date(2026, 1, 1))
        invoice = session.scalar(select(Invoice).where(Invoice.customer_id == contract.customer_id))
        record_payment(session, customer=contract.customer, amount_minor=1990, currency="EUR", received_on=date(2026, 1, 10),
                       method=method, invoice=invoice, external_id=external_id)
        session.commit()
        return invoice
    yield make


@pytest.fixture
def stripe_refunds(fake_stripe, monkeypatch):  # noqa: F811
    """The fake Stripe, answering POST /v1/refunds as Stripe does."""
    answer = fake_stripe.answer

    def with_refunds(method, path, params, headers):
        if method == "POST" and path == "/v1/refunds":
            return 200, {"id": f"re_fake{next(fake_stripe.ids)}", "object": "refund", "amount": int(params["amount"]),
                         "currency": "eur", "payment_intent": params["payment_intent"], "status": "succeeded"}
        return answer(method, path, params, headers)

    monkeypatch.setattr(fake_stripe, "answer", with_refunds)
    yield fake_stripe


def test_a_bank_transfer_refund_is_to_be_paid_out(api, session, paid):
    invoice = paid()
    headers = {"Idempotency-Key": "refund-1"}
    response = api.post("/api/v1/refunds", json={"invoice_id": invoice.public_id, "amount": "5.00", "reason": "Late start"},
                        headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["amount"], body["status"], body["currency"], body["reason"]) == ("5.00", "to_be_paid_out", "EUR", "Late start")
    assert body["credit_note_id"].startswith("inv_") and body["payouts"][0]["method"] == "invoice"
    replay = api.post("/api/v1/refunds", json={"invoice_id": invoice.public_id, "amount": "5.00", "reason": "Late start"},
                      headers=headers)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true" and replay.get_json() == body
    assert session.scalar(select(func.count()).select_from(Refund)) == 1
    note = api.get(f"/api/v1/invoices/{body['credit_note_id']}").get_json()
    assert (note["kind"], note["gross"], note["corrects_invoice_id"]) == ("credit_note", "-5.00", invoice.public_id)


@pytest.mark.parametrize("body,field,message", [
    ({"amount": "19.91"}, "amount", "At most 19.90 EUR can be refunded"),
    ({"amount": "0"}, "amount", "greater than zero"),
    ({"amount": "1.001"}, "amount", "2 decimal places"),
    ({"invoice_id": "inv_unknown"}, "invoice_id", "No such invoice."),
])
def test_bad_refunds_are_422_and_book_nothing(api, session, paid, body, field, message):
    invoice = paid()
    response = api.post("/api/v1/refunds", json={"invoice_id": invoice.public_id, **body})
    assert response.status_code == 422
    assert message in response.get_json()["errors"][field][0]
    assert session.scalar(select(func.count()).select_from(Refund)) == 0


def test_a_card_payment_is_refunded_through_stripe(api, session, paid, stripe_refunds):
    invoice = paid(method="stripe", external_id="pi_card1")
    response = api.post("/api/v1/refunds", json={"invoice_id": invoice.public_id})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["amount"], body["status"]) == ("19.90", "succeeded")
    [call] = stripe_refunds.calls("/v1/refunds")
    assert (call["params"]["payment_intent"], call["params"]["amount"]) == ("pi_card1", "1990")
    assert call["headers"]["idempotency-key"].startswith("refund-pay_")
    assert body["payouts"][0]["stripe_refund_id"].startswith("re_fake")


def test_nothing_is_booked_when_stripe_fails(api, session, paid, fake_stripe):  # noqa: F811  (no /v1/refunds: Stripe answers 404)
    invoice = paid(method="stripe", external_id="pi_card1")
    response = api.post("/api/v1/refunds", json={"invoice_id": invoice.public_id})
    assert response.status_code == 502 and "Nothing was booked" in response.get_json()["detail"]
    assert session.scalar(select(func.count()).select_from(Refund)) == 0
    assert session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "refund")) == 0


def test_a_returned_debit_through_the_api(api, session, tenants, sign_up):
    sign_up("pro", on=date(2026, 1, 1), payment=PaymentChoice(kind="sepa", account_holder="Anna Berg", iban=IBAN))
    bill_due(session, tenants, date(2026, 1, 1))
    session.commit()
    invoice = session.scalars(select(Invoice).order_by(Invoice.id)).first()
    export(session, tenants("demo"), up_to=invoice.due_date, today=invoice.issue_date)
    session.commit()
    body = {"end_to_end_id": invoice.number, "reason_code": "MD06", "return_date": invoice.due_date.isoformat(), "fee": "3.00"}
    first = api.post("/api/v1/sepa-returns", json=body)
    assert first.status_code == 201, first.get_json()
    data = first.get_json()
    assert (data["reason"], data["mandate_revoked"], data["fee_charged"], data["invoice_status"]) == (
        "refund requested by the customer (disputed)", True, False, "open")
    again = api.post("/api/v1/sepa-returns", json=body)
    assert again.status_code == 200 and again.get_json()["id"] == data["id"]
    assert session.scalar(select(func.count()).select_from(SepaReturn)) == 1
    unknown = api.post("/api/v1/sepa-returns", json={**body, "end_to_end_id": "DEMO-1999-000001"})
    assert unknown.status_code == 422 and "No SEPA direct debit" in unknown.get_json()["errors"]["end_to_end_id"][0]
    neither = api.post("/api/v1/sepa-returns", json={"reason_code": "AM04", "return_date": "2026-01-20"})
    assert neither.status_code == 422 and "end_to_end_id" in neither.get_json()["errors"]
