"""Erasing a customer on request (GDPR Art. 17) while keeping what the law requires.

Invoices (with the buyer's name and address as billed), payments and the ledger
are bookkeeping records: German law (§ 147 AO, § 14b UStG) and its EU
counterparts require keeping them for ten years after the end of the year they
were issued in. A SEPA mandate's reference and signature date stay as proof for
the debits made under it. Everything else personal goes: the profile and its
fields, the e-mail address, bank and card details, e-mail copies, login links,
pending address changes, portal sessions, and the personal details in the
customer's audit trail (the entries themselves stay, as what happened and when).
Running contracts end at once. Erasing twice changes nothing more.
"""
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Text, cast, delete, func, select, update
from sqlalchemy.orm import Session

from ..billing import lifecycle
from ..storage.base import utcnow
from ..storage.models import (AuditEvent, Customer, EmailChange, EmailMessage, Invoice, LedgerEntry, LoginLink, OutboxEvent,
                              Payment, PortalSession)

ERASED_DOMAIN = "erased.invalid"
RETENTION_YEARS = 10


@dataclass
class Erasure:
    customer_id: str
    already_erased: bool
    removed: list[str] = field(default_factory=list)
    kept: list[dict] = field(default_factory=list)
    mail_files: list[str] = field(default_factory=list)  # .eml copies the caller deletes from disk


def is_erased(customer: Customer) -> bool:
    return customer.email.endswith("@" + ERASED_DOMAIN)


def erase(session: Session, customer: Customer, today: date, *, actor: str = "merchant") -> Erasure:
    result = Erasure(customer.public_id, already_erased=is_erased(customer))
    if not result.already_erased:
        for contract in customer.contracts:
            if contract.status != "ended":
                lifecycle.end(session, contract)
                result.removed.append(f"contract {contract.public_id} ended")
        customer.email = f"{customer.public_id}@{ERASED_DOMAIN}"
        customer.fields = {}
        for method in customer.payment_methods:
            method.account_holder = method.iban = method.bic = method.card_brand = method.card_last4 = None
        mails = list(session.scalars(select(EmailMessage).where(EmailMessage.customer_id == customer.id)))
        result.mail_files = [m.stored_as for m in mails if m.stored_as]
        for mail in mails:
            mail.recipient, mail.subject, mail.stored_as = "", None, None
        session.execute(update(AuditEvent).where(AuditEvent.customer_id == customer.id).values(before=None, after=None))
        session.execute(delete(LoginLink).where(LoginLink.customer_id == customer.id))
        session.execute(delete(EmailChange).where(EmailChange.customer_id == customer.id))
        session.execute(update(PortalSession).where(PortalSession.customer_id == customer.id, PortalSession.ended_at.is_(None))
                        .values(ended_at=utcnow()))
        # Events already in the outbox carry the details the merchant was sent (a sign-up's fields, say).
        session.execute(update(OutboxEvent).where(OutboxEvent.tenant == customer.tenant,
                                                  cast(OutboxEvent.payload, Text).contains(customer.public_id))
                        .values(payload={"customer_id": customer.public_id, "erased": True}))
        session.add(AuditEvent(tenant=customer.tenant, customer_id=customer.id, actor=actor, action="customer.erased"))
        session.add(OutboxEvent(tenant=customer.tenant, type="customer.erased", payload={"customer_id": customer.public_id}))
        result.removed += ["profile and sign-up fields", "e-mail address", "bank and card details",
                           "copies of e-mails sent", "personal details in past webhook events", "login links and pending address changes", "portal sessions",
                           "personal details in the history"]
    result.kept = _kept(session, customer)
    return result


def _kept(session: Session, customer: Customer) -> list[dict]:
    def count(model) -> int:
        return session.scalar(select(func.count()).select_from(model).where(model.customer_id == customer.id))

    last_invoice = session.scalar(select(func.max(Invoice.issue_date)).where(Invoice.customer_id == customer.id))
    until = date(last_invoice.year + RETENTION_YEARS, 12, 31).isoformat() if last_invoice else None
    law = "bookkeeping records: kept for ten years after the year of issue (§ 147 AO, § 14b UStG)"
    kept = [
        {"data": "invoices and credit notes, with the buyer's name and address as billed", "count": count(Invoice),
         "reason": law, "until": until},
        {"data": "payments and ledger entries", "count": count(Payment) + count(LedgerEntry), "reason": law,
         "until": until},
    ]
    mandates = [m.mandate_reference for m in customer.payment_methods if m.mandate_reference]
    if mandates:
        kept.append({"data": "SEPA mandate references and signature dates", "count": len(mandates),
                     "reason": "proof of the direct debits made under the mandate", "until": until})
    kept.append({"data": "history entries (what happened and when, without personal details)",
                 "count": count(AuditEvent), "reason": "accountability for changes to the contract", "until": until})
    return kept
