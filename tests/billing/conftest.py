"""Fixtures for billing tests: tenants from the theme files and contracts signed up in code."""
from datetime import date

import pytest

from widget_server.billing.contracts import PaymentChoice, start_contract

SIGNUP_FIELDS = {"first_name": "Anna", "last_name": "Berg", "email": "anna@example.com", "country": "DE"}


@pytest.fixture
def tenants(app):
    registry = app.extensions["widget_themes"]
    yield lambda slug: registry.get(slug)


@pytest.fixture
def sign_up(session, tenants):
    def make(plan_id="pro", on=date(2026, 1, 31), tenant="demo", fields=None, key=None, payment=None):
        t = tenants(tenant)
        contract = start_contract(session, tenant=tenant, plan=t.plan(plan_id), email="anna@example.com", locale="de",
                                  fields=fields or SIGNUP_FIELDS, payment=payment or PaymentChoice(kind="invoice"),
                                  signup_key=key or f"k{on.isoformat()}{plan_id}{tenant}", today=on)
        session.commit()
        return contract
    yield make
