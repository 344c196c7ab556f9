"""The payment adapter interface: one provider per kind, each with the documented contract."""
from datetime import date

import pytest
from sqlalchemy import select

from widget_server.billing.contracts import start_contract
from widget_server.payments import PROVIDERS, PaymentProvider, provider
from widget_server.storage.models import PaymentMethod

from .conftest import ANNA_IBAN, sepa_choice


def test_every_theme_payment_method_has_a_provider():
    from widget_server.tenants.model import PAYMENT_METHODS
    from widget_server.payments import KIND_OF_METHOD
    # Themes offer "card"; it is stored as kind "stripe" (the card lives in the tenant's Stripe account).
    assert set(KIND_OF_METHOD) == set(PAYMENT_METHODS) and set(PROVIDERS) == set(KIND_OF_METHOD.values())
    assert "stripe" not in PAYMENT_METHODS
    for kind, adapter in PROVIDERS.items():
        assert isinstance(adapter, PaymentProvider) and adapter.kind == kind
    with pytest.raises(KeyError):
        provider("cash")


def test_sepa_stores_a_mandate_like_the_sign_up_does(session, tenants):
    demo = tenants("demo")
    method = PaymentMethod()
    provider("sepa").prepare(method, sepa_choice(iban="de89 3704 0044 0532 0130 00"), tenant=demo, today=date(2026, 1, 1))
    assert (method.kind, method.account_holder, method.iban, method.bic, method.mandate_signed_on) == (
        "sepa", "Anna Berg", ANNA_IBAN, "COBADEFFXXX", date(2026, 1, 1))
    assert method.mandate_reference.startswith("DEMO-") and len(method.mandate_reference) <= 35
    contract = start_contract(session, tenant="demo", plan=demo.plan("pro"), email="a@example.com", locale="en", fields={},
                              payment=sepa_choice(), signup_key="providers", today=date(2026, 1, 1))
    session.commit()
    stored = session.scalar(select(PaymentMethod).where(PaymentMethod.customer_id == contract.customer_id))
    filled = {name for name in provider("sepa").stored_fields if getattr(stored, name) is not None}
    assert filled == set(provider("sepa").stored_fields)
    assert provider("sepa").describe(stored) == {"id": stored.public_id, "kind": "sepa", "iban": "DE89 •••• •••• •••• ••30 00",
                                                 "mandate_reference": stored.mandate_reference}


def test_bank_transfer_stores_nothing_and_collects_nothing(session, tenants):
    method = PaymentMethod(kind="sepa", iban=ANNA_IBAN)
    invoice = provider("invoice")
    invoice.prepare(method, None, tenant=tenants("demo"), today=date(2026, 1, 1))
    assert method.kind == "invoice" and invoice.stored_fields == () and not invoice.collects
    result = invoice.collect(session, tenants("demo"), up_to=date(2026, 1, 15), today=date(2026, 1, 12))
    assert (result.reference, result.invoices, result.total_minor) == (None, (), 0)


def test_configuration_problems(tenants):
    assert provider("sepa").configuration_problems(tenants("demo")) == []
    assert provider("sepa").configuration_problems(tenants("fjord")) == [
        "payments.sepa.creditor_id is missing", "payments.sepa.creditor_name is missing"]
    assert provider("invoice").configuration_problems(tenants("fjord")) == []


def test_sepa_collect_exports(session, tenants, customer, bill):
    customer(payment=sepa_choice())
    bill(date(2026, 1, 1))
    result = provider("sepa").collect(session, tenants("demo"), up_to=date(2026, 1, 15), today=date(2026, 1, 12))
    assert (result.kind, result.invoices, result.total_minor, result.currency) == ("sepa", ("DEMO-2026-000001",), 1990, "EUR")
    assert result.reference
