"""Everything we hold about one customer, as plain JSON-ready data (GDPR Art. 15 and 20).

Payment details are shown as the portal shows them (masked IBAN, card brand and
last four digits): the export is downloaded from a browser session, and a full
IBAN is not something a stolen session should reveal.
"""
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..billing.money import from_minor
from ..storage.models import AuditEvent, Customer, EmailMessage, Invoice, Payment

FORMAT = "widget-server customer data export, version 1"


def _when(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


def customer_data(session: Session, customer: Customer) -> dict:
    def money(minor: int, currency: str) -> str:
        return str(from_minor(minor, currency))

    invoices = session.scalars(select(Invoice).where(Invoice.customer_id == customer.id).order_by(Invoice.id))
    payments = session.scalars(select(Payment).where(Payment.customer_id == customer.id).order_by(Payment.id))
    events = session.scalars(select(AuditEvent).where(AuditEvent.customer_id == customer.id).order_by(AuditEvent.id))
    mails = session.scalars(select(EmailMessage).where(EmailMessage.customer_id == customer.id).order_by(EmailMessage.id))
    return {
        "format": FORMAT,
        "customer": {"id": customer.public_id, "email": customer.email, "language": customer.locale,
                     "fields": customer.fields, "created_at": _when(customer.created_at)},
        "contracts": [{
            "id": c.public_id, "plan": c.plan_id, "status": c.status, "price": money(c.price_minor, c.currency),
            "currency": c.currency, "interval": c.interval, "started": _when(c.created_at),
            "current_period": [_when(c.current_period_start), _when(c.current_period_end)],
            "next_billing_date": _when(c.next_billing_date), "cancel_at": _when(c.cancel_at),
            "cancellation_reason": c.cancellation_reason,
        } for c in customer.contracts],
        "payment_methods": [{
            "kind": m.kind, "default": m.is_default, "account_holder": m.account_holder, "iban": m.masked_iban,
            "mandate_reference": m.mandate_reference, "mandate_signed_on": _when(m.mandate_signed_on),
            "card": f"{m.card_brand} •••• {m.card_last4}" if m.card_last4 else None, "added": _when(m.created_at),
        } for m in customer.payment_methods],
        "invoices": [{
            "number": i.number, "kind": i.kind, "status": i.status, "issue_date": _when(i.issue_date),
            "due_date": _when(i.due_date), "period": [_when(i.period_start), _when(i.period_end)],
            "net": money(i.net_minor, i.currency), "tax": money(i.tax_minor, i.currency),
            "gross": money(i.gross_minor, i.currency), "currency": i.currency, "billed_to": i.buyer,
        } for i in invoices],
        "payments": [{"amount": money(p.amount_minor, p.currency), "currency": p.currency, "method": p.method,
                      "received_on": _when(p.received_on)} for p in payments],
        "emails": [{"kind": m.kind, "subject": m.subject, "to": m.recipient, "status": m.status,
                    "created_at": _when(m.created_at), "sent_at": _when(m.sent_at)} for m in mails],
        "history": [{"when": _when(e.created_at), "action": e.action, "by": e.actor, "before": e.before,
                     "after": e.after} for e in events],
    }
