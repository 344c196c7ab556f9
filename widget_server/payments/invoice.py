"""Paying by bank transfer against the invoice: nothing to store, nothing to pull.

The customer transfers the amount with the invoice's payment reference to the tenant's
account (billing.bank in the theme); money received is booked with billing.ledger.record_payment.
"""
from datetime import date

from .base import PaymentProvider


class InvoiceProvider(PaymentProvider):
    kind = "invoice"
    collects = False
    stored_fields = ()

    def configuration_problems(self, tenant) -> list[str]:
        bank = (tenant.billing.bank if tenant.billing else None) or {}
        if not bank.get("iban") or not bank.get("account_holder"):
            return ["billing.bank needs account_holder and iban, so customers know where to pay."]
        return []

    def prepare(self, method, choice, *, tenant, today: date) -> None:
        method.kind = self.kind
