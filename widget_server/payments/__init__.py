"""Payment adapters behind one interface (base.PaymentProvider): bank transfer against the
invoice, SEPA direct debit and cards through Stripe. Look one up by the kind stored in
PaymentMethod.kind. Theme files offer tenants.model.PAYMENT_METHODS; "card" is stored as kind
"stripe" (KIND_OF_METHOD) and is offered only when the tenant's Stripe keys are set."""
from .base import CollectionResult, PaymentProvider, PaymentSetupError
from .invoice import InvoiceProvider
from .sepa import SepaProvider
from .stripe import StripeProvider

PROVIDERS: dict[str, PaymentProvider] = {p.kind: p for p in (InvoiceProvider(), SepaProvider(), StripeProvider())}

# A theme's payments.methods name -> the PaymentMethod.kind (provider) it stores: a card lives in Stripe.
KIND_OF_METHOD = {"invoice": "invoice", "sepa": "sepa", "card": "stripe"}


def provider(kind: str) -> PaymentProvider:
    """The adapter for a payment method kind; KeyError for a kind we do not know."""
    return PROVIDERS[kind]


__all__ = ["CollectionResult", "InvoiceProvider", "KIND_OF_METHOD", "PaymentProvider", "PaymentSetupError", "PROVIDERS", "SepaProvider", "StripeProvider", "provider"]
