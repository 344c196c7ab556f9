"""Payment adapters behind one interface (base.PaymentProvider): bank transfer against the
invoice, SEPA direct debit and cards through Stripe. Look one up by the kind stored in
PaymentMethod.kind. Theme files may offer only tenants.model.PAYMENT_METHODS at sign-up
(Stripe cards are saved through a SetupIntent, not by the sign-up form yet)."""
from .base import CollectionResult, PaymentProvider, PaymentSetupError
from .invoice import InvoiceProvider
from .sepa import SepaProvider
from .stripe import StripeProvider

PROVIDERS: dict[str, PaymentProvider] = {p.kind: p for p in (InvoiceProvider(), SepaProvider(), StripeProvider())}


def provider(kind: str) -> PaymentProvider:
    """The adapter for a payment method kind; KeyError for a kind we do not know."""
    return PROVIDERS[kind]


__all__ = ["CollectionResult", "InvoiceProvider", "PaymentProvider", "PaymentSetupError", "PROVIDERS", "SepaProvider", "StripeProvider", "provider"]
