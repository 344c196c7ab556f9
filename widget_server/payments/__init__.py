"""Payment adapters behind one interface (base.PaymentProvider): bank transfer against the
invoice and SEPA direct debit. Look one up by the kind stored in PaymentMethod.kind."""
from .base import CollectionResult, PaymentProvider, PaymentSetupError
from .invoice import InvoiceProvider
from .sepa import SepaProvider

PROVIDERS: dict[str, PaymentProvider] = {p.kind: p for p in (InvoiceProvider(), SepaProvider())}


def provider(kind: str) -> PaymentProvider:
    """The adapter for a payment method kind; KeyError for a kind we do not know."""
    return PROVIDERS[kind]


__all__ = ["CollectionResult", "InvoiceProvider", "PaymentProvider", "PaymentSetupError", "PROVIDERS", "SepaProvider", "provider"]
