"""Merchant webhooks: endpoints per tenant (in the database) and delivery of outbox events to them.

An event becomes one WebhookDelivery per endpoint of its tenant (see outbox.dispatch).
`deliver_due` POSTs every delivery that is due:

    {"id": "evt_...", "type": "invoice.created", "created_at": "...Z", "data": {...}}

signed as described in webhook_signature. A 2xx answer delivers it; anything else
(another status, a redirect, a refused connection, a timeout) is logged as an attempt
and retried after 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, then daily, up to
WIDGET_WEBHOOK_MAX_ATTEMPTS attempts in all; then the delivery has failed. The event
id and body stay the same across retries, so merchants can de-duplicate. The outbox
event is marked delivered once every one of the tenant's endpoints has it.

Several workers may run this at once: a delivery is claimed with a conditional
UPDATE before its request is made, so no two workers send the same attempt.
Secrets and URLs (which may carry tokens) are never logged; logs name the endpoint's
public id and host.
"""
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, joinedload

from ..metrics import WEBHOOK_FAILURES
from ..storage.base import utcnow
from ..storage.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from . import webhook_signature

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
           timedelta(hours=5), timedelta(hours=10), timedelta(hours=24))
USER_AGENT = "widget-server-webhooks/1"
DONE = ("delivered", "cancelled")


class EndpointError(ValueError):
    """An endpoint URL we refuse to send to."""


def check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise EndpointError("the URL must start with https:// (or http://) and name a host")
    if len(url) > 2000:
        raise EndpointError("the URL is longer than 2000 characters")
    return url


def describe(url: str) -> str:
    """What logs may say about a URL: scheme and host only (paths and queries can hold tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def add_endpoint(session: Session, tenant: str, url: str) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned so it can be shown once). The caller commits."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(tenant=tenant, url=check_url(url), secret=secret, created_at=utcnow())
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def endpoints(session: Session, tenant: str, active_only: bool = True) -> list[WebhookEndpoint]:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.tenant == tenant).order_by(WebhookEndpoint.id)
    if active_only:
        stmt = stmt.where(WebhookEndpoint.disabled_at.is_(None))
    return list(session.scalars(stmt))


def disable_endpoint(session: Session, tenant: str, endpoint_id: str) -> WebhookEndpoint | None:
    """Stop sending to an endpoint; its pending deliveries are cancelled on their next turn."""
    endpoint = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.tenant == tenant,
                                                            WebhookEndpoint.public_id == endpoint_id))
    if endpoint is not None and endpoint.disabled_at is None:
        endpoint.disabled_at = utcnow()
    return endpoint


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def body_of(event: OutboxEvent) -> bytes:
    """The request body: the same bytes for every attempt."""
    envelope = {"id": event.public_id, "type": event.type, "created_at": iso(event.created_at), "data": event.payload}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer we do not follow (it would resend the signed event elsewhere)."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: dict, timeout: float) -> tuple[int | None, str | None]:
    """(HTTP status, error text); status None when no answer came."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(1024)
            return response.status, None
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        return None, f"{type(exc.reason).__name__}: {exc.reason}"[:500]
    except (OSError, ValueError) as exc:  # timeouts, resets, malformed answers
        return None, f"{type(exc).__name__}: {exc}"[:500]


@dataclass
class DeliveryResult:
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    more: bool = False  # the batch was full: call again


def backoff(attempt: int) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1-based)."""
    return BACKOFF[min(attempt, len(BACKOFF)) - 1]


def _claim(session: Session, delivery_id: int, now: datetime, lease: timedelta) -> bool:
    """Take a due delivery for this worker (pushes its next attempt past the request's timeout)."""
    claimed = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
               WebhookDelivery.next_attempt_at <= now)
        .values(next_attempt_at=now + lease)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    session.commit()
    return claimed


def complete_event(session: Session, event_id: int, now: datetime) -> None:
    """Mark the event delivered when none of its deliveries is still open. Run after committing a delivery,
    so that of two workers finishing the last two deliveries at once, the later one sees both."""
    open_deliveries = exists().where(WebhookDelivery.event_id == event_id, WebhookDelivery.status.not_in(DONE))
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == event_id, OutboxEvent.delivered_at.is_(None), ~open_deliveries)
        .values(delivered_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def attempt(session: Session, delivery: WebhookDelivery, *, timeout: float, max_attempts: int,
            now: datetime | None = None) -> str:
    """One POST of a claimed delivery; records the attempt and the delivery's new state, commits.
    Returns the state: delivered | pending (retry later) | failed | cancelled."""
    event, endpoint = delivery.event, delivery.endpoint
    if endpoint.disabled_at is not None:
        delivery.status, delivery.next_attempt_at = "cancelled", None
        session.commit()
        complete_event(session, event.id, now or utcnow())
        return "cancelled"
    body = body_of(event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        webhook_signature.HEADER: webhook_signature.sign(endpoint.secret, body),
        webhook_signature.EVENT_ID_HEADER: event.public_id,
    }
    number = delivery.attempts + 1
    started = time.monotonic()
    status, error = post(endpoint.url, body, headers, timeout)
    duration_ms = int((time.monotonic() - started) * 1000)
    finished = now or utcnow()
    ok = status is not None and 200 <= status < 300
    session.add(WebhookAttempt(delivery_id=delivery.id, attempt=number, status_code=status, duration_ms=duration_ms,
                               error=None if ok else error or f"HTTP {status}", created_at=finished))
    delivery.attempts = number
    delivery.last_status_code = status
    where = f"webhook {event.public_id} ({event.type}) to {endpoint.public_id} at {describe(endpoint.url)}"
    if ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", finished, None
        log.info("%s: delivered with %s in %d ms (attempt %d)", where, status, duration_ms, number)
    elif number >= max_attempts:
        delivery.status, delivery.next_attempt_at = "failed", None
        WEBHOOK_FAILURES.inc()
        log.warning("%s: %s (attempt %d of %d); giving up", where, error or status, number, max_attempts)
    else:
        delivery.next_attempt_at = finished + backoff(number)
        log.warning("%s: %s (attempt %d of %d); next attempt at %s", where, error or status, number, max_attempts,
                    iso(delivery.next_attempt_at))
    session.commit()
    if ok:
        complete_event(session, event.id, finished)
    return delivery.status


def deliver_due(session: Session, *, timeout: float = 10, max_attempts: int = 8, now: datetime | None = None,
                limit: int = 200, lease_margin: float = 60) -> DeliveryResult:
    """Make every delivery attempt that is due (at `now`, default the current time).

    A claimed delivery is not due again for `timeout + lease_margin` seconds: if this worker dies
    in the middle of the request, another one (or this one, restarted) sends it again after that,
    with the same event id."""
    clock = now  # a fixed time (tests) or, when None, the time of each attempt
    now = now or utcnow()
    result = DeliveryResult()
    due = session.scalars(
        select(WebhookDelivery.id)
        .where(and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    ).all()
    session.commit()  # end the read before the (slow) requests
    result.more = len(due) == limit
    lease = timedelta(seconds=timeout + lease_margin)
    for delivery_id in due:
        if not _claim(session, delivery_id, now, lease):
            continue  # another worker has it
        delivery = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
            .options(joinedload(WebhookDelivery.event), joinedload(WebhookDelivery.endpoint))
            .execution_options(populate_existing=True)
        ).one()
        state = attempt(session, delivery, timeout=timeout, max_attempts=max_attempts, now=clock)
        result.attempted += state != "cancelled"
        if state == "delivered":
            result.delivered += 1
        elif state == "pending":
            result.retrying += 1
        elif state == "failed":
            result.failed += 1
    return result
