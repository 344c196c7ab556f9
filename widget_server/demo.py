"""`widget-server demo`: sample customers for the demo tenant, created once (fixed sign-up keys)."""
from flask import current_app

from .billing.contracts import PaymentChoice, find_by_signup_key, start_contract
from .extensions import db

SAMPLES = [
    ("demo-sample-0000000000000000000001", "basic", "de", {"first_name": "Erika", "last_name": "Mustermann",
     "email": "erika@example.com", "street": "Musterstraße 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
     PaymentChoice(kind="sepa", account_holder="Erika Mustermann", iban="DE89370400440532013000", bic="COBADEFFXXX")),
    ("demo-sample-0000000000000000000002", "pro", "sv", {"first_name": "Sven", "last_name": "Svensson",
     "email": "sven@example.com", "street": "Storgatan 1", "postal_code": "11122", "city": "Stockholm", "country": "SE"},
     PaymentChoice(kind="invoice")),
]


def refresh() -> list[str]:
    tenant = current_app.extensions["widget_themes"].get("demo")
    lines = []
    for key, plan_id, locale, fields, payment in SAMPLES:
        contract = find_by_signup_key(db.session, tenant.slug, key)
        if contract is None:
            contract = start_contract(db.session, tenant=tenant.slug, plan=tenant.plan(plan_id), email=fields["email"],
                                      locale=locale, fields=fields, payment=payment, signup_key=key, today=tenant.today())
            db.session.commit()
            lines.append(f"created demo customer {contract.customer.public_id} ({fields['email']}, plan {plan_id})")
        else:
            lines.append(f"demo customer {contract.customer.public_id} ({fields['email']}) already there")
    return lines
