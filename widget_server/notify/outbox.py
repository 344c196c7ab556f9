"""Dispatching outbox events: each new event becomes the e-mail it calls for and one webhook delivery
per endpoint of its tenant.

An event is dispatched once: afterwards it either has deliveries, or (its tenant has
no endpoint that existed when it happened) it is marked delivered at once. Endpoints
receive the events that happen after they were added, as with Stripe.

E-mails (one per thing, see EmailMessage.key):
- `signup.completed` -> the sign-up confirmation;
- `invoice.created` -> the invoice e-mail.
Events older than MAIL_MAX_AGE send no e-mail, so starting a worker on an old
database for the first time does not mail every customer their whole history.

On PostgreSQL two dispatchers share the events (FOR UPDATE SKIP LOCKED); everywhere,
unique keys on deliveries and e-mails make a lost race roll back instead of doubling.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ..storage.base import utcnow
from ..storage.models import Contract, EmailMessage, Invoice, OutboxEvent, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

MAIL_MAX_AGE = timedelta(days=3)
RETRIES = 5


@dataclass
class DispatchResult:
    events: int = 0
    deliveries: int = 0
    emails: int = 0


def _owed_email(session: Session, event: OutboxEvent, now: datetime) -> EmailMessage | None:
    """The e-mail an event calls for, if it is not owed already."""
    payload = event.payload or {}
    if event.type == "signup.completed":
        contract = session.scalar(select(Contract).where(Contract.public_id == payload.get("contract_id")))
        if contract is None:
            return None
        fields = {"kind": "signup_confirmation", "key": f"signup_confirmation:{contract.public_id}",
                  "customer_id": contract.customer_id, "contract_id": contract.id}
        recipient = contract.customer.email
    elif event.type == "invoice.created":
        invoice = session.scalar(select(Invoice).where(Invoice.public_id == payload.get("invoice_id")))
        if invoice is None:
            return None
        fields = {"kind": "invoice", "key": f"invoice:{invoice.public_id}", "customer_id": invoice.customer_id,
                  "contract_id": invoice.contract_id, "invoice_id": invoice.id}
        recipient = invoice.customer.email
    else:
        return None
    if now - event.created_at > MAIL_MAX_AGE:
        log.info("event %s (%s) is older than %s: no e-mail", event.public_id, event.type, MAIL_MAX_AGE)
        return None
    if session.scalar(select(EmailMessage.id).where(EmailMessage.key == fields["key"])) is not None:
        return None
    return EmailMessage(tenant=event.tenant, recipient=recipient, next_attempt_at=now, created_at=now, **fields)


def _pending(session: Session, after_id: int, batch_size: int) -> list[OutboxEvent]:
    stmt = (
        select(OutboxEvent)
        .where(OutboxEvent.delivered_at.is_(None), OutboxEvent.id > after_id,
               ~exists().where(WebhookDelivery.event_id == OutboxEvent.id))
        .order_by(OutboxEvent.id)
        .limit(batch_size)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=OutboxEvent)
    return list(session.scalars(stmt))


def dispatch(session: Session, now: datetime | None = None, batch_size: int = 200) -> DispatchResult:
    """Dispatch every event not dispatched yet; commits per batch."""
    now = now or utcnow()
    result = DispatchResult()
    after_id = 0
    while True:
        for attempt in range(RETRIES):
            try:
                events = _pending(session, after_id, batch_size)
                tenants = {event.tenant for event in events}
                by_tenant: dict[str, list[WebhookEndpoint]] = {}
                if tenants:
                    for endpoint in session.scalars(select(WebhookEndpoint).where(
                            WebhookEndpoint.tenant.in_(tenants), WebhookEndpoint.disabled_at.is_(None))):
                        by_tenant.setdefault(endpoint.tenant, []).append(endpoint)
                deliveries = emails = 0
                for event in events:
                    email = _owed_email(session, event, now)
                    if email is not None:
                        session.add(email)
                        session.flush()
                        emails += 1
                    receivers = [e for e in by_tenant.get(event.tenant, []) if e.created_at <= event.created_at]
                    for endpoint in receivers:
                        session.add(WebhookDelivery(event_id=event.id, endpoint_id=endpoint.id, status="pending",
                                                    attempts=0, next_attempt_at=now, created_at=now))
                    deliveries += len(receivers)
                    if not receivers:
                        event.delivered_at = now
                session.commit()
                break
            except (IntegrityError, OperationalError) as exc:
                session.rollback()  # another dispatcher took some of these events: read again
                log.warning("outbox dispatch after event %s retried (%s)", after_id, exc.__class__.__name__)
                if attempt == RETRIES - 1:
                    raise
        if not events:
            return result
        result.events += len(events)
        result.deliveries += deliveries
        result.emails += emails
        after_id = events[-1].id
