"""All models, imported so that Base.metadata knows every table."""
from .api_key import ApiKey
from .audit import AuditEvent
from .contract import Contract
from .customer import Customer, PaymentMethod
from .discount import ContractDiscount
from .dunning import DunningNotice
from .email import EmailMessage
from .idempotency import IdempotencyRecord
from .invoice import Invoice, InvoiceLine, InvoiceSequence
from .ledger import LedgerEntry, Payment
from .outbox import OutboxEvent
from .portal import PortalSession, UsedToken
from .portal import EmailChange, LoginLink
from .sepa import SepaCollection, SepaCollectionItem
from .refund import Refund
from .sepa_return import SepaReturn
from .webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey", "AuditEvent", "Contract", "Customer", "DunningNotice", "EmailMessage", "IdempotencyRecord", "Invoice", "InvoiceLine",
    "InvoiceSequence", "LedgerEntry", "OutboxEvent", "Payment", "PaymentMethod", "PortalSession", "SepaCollection",
    "SepaCollectionItem", "UsedToken", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint",
]
__all__ += ["EmailChange", "LoginLink"]
