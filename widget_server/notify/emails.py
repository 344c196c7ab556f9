"""E-mails to customers: composed in their language from templates/email/, then sent.

What is owed is an EmailMessage row (see storage/models/email.py), created in the
transaction of what caused it (outbox dispatch, dunning). `send_due` renders and
sends every row that is due; a failure is retried after 1 min, 5 min, 30 min, 2 h,
6 h, then the e-mail has failed. Rendering happens at send time, in the customer's
language (restricted to the tenant's languages), with Flask-Babel's force_locale.

- sign-up confirmation: plan, price, start, trial, payment method, contract number;
- invoice: the facts, the PDF attached (widget_server.documents, when installed) and
  how to pay; for SEPA customers the pre-notification (amount, collection date = due
  date, mandate reference, creditor id);
- dunning reminder: outstanding amount and how to pay; the last stage says so.
"""
import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, format_currency, format_date, get_translations, gettext
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..billing.money import from_minor
from ..payments import card_brands
from ..i18n import normalize
from ..storage.base import utcnow
from ..storage.models import Contract, Customer, EmailMessage, Invoice, LedgerEntry
from . import mail

log = logging.getLogger(__name__)
CONTACT_KEYS = ("email", "phone", "address", "url")  # [contact] in theme.toml

TEMPLATES = Path(__file__).resolve().parent / "templates" / "email"
RETRY = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))
MAX_ATTEMPTS = len(RETRY) + 1
LEASE = timedelta(minutes=10)
KINDS = ("signup_confirmation", "invoice", "dunning_reminder")
# More kinds, registered by the packages that owe them (the portal's sign-in and e-mail change):
# kind -> compose(session, message, tenant, customer, context) -> subject; it adds to `context`.
COMPOSERS: dict = {}


class NothingToSend(Exception):
    """The e-mail is no longer needed (e.g. the reminded invoice was paid meanwhile)."""


@functools.cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      autoescape=select_autoescape(enabled_extensions=("html",), default=False),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    # Flask-Babel's translations of the locale in force, newstyle (formatting and, in HTML, escaping included).
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: get_translations().ugettext(message),
        lambda singular, plural, num: get_translations().ungettext(singular, plural, num),
        newstyle=True,
    )
    return env


def email_locale(customer: Customer, tenant) -> str:
    """The customer's language if the tenant offers it, else the tenant's default."""
    wanted = normalize(customer.locale)
    return wanted if wanted in tenant.languages else tenant.default_language


def money(minor: int, currency: str) -> str:
    return format_currency(from_minor(minor, currency), currency)


def day(value) -> str:
    return format_date(value, "long") if value else ""


def period(start, end) -> str:
    """A billing period is [start, end): shown with its last day, as on the invoice PDF."""
    if not start:
        return ""
    last = end - timedelta(days=1) if end and end > start else end
    return day(start) if not last or last == start else f"{day(start)} – {day(last)}"


def grouped(value: str | None) -> str:
    compact = "".join((value or "").split()).upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def local_day(moment: datetime, tenant):
    """The day a UTC moment falls on where the tenant bills."""
    zone = ZoneInfo(tenant.billing.timezone) if tenant.billing else timezone.utc
    return moment.astimezone(zone).date()


def customer_name(customer: Customer) -> str:
    fields = customer.fields or {}
    name = " ".join(str(fields.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    return name or str(fields.get("company") or "").strip()


def outstanding(session: Session, invoice: Invoice) -> int:
    """What is still owed on the invoice, from the ledger."""
    return int(session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
                              .where(LedgerEntry.invoice_id == invoice.id)))


def payment_details(tenant, customer: Customer, invoice: Invoice, owed_minor: int, *, now: bool = False) -> dict:
    """How the customer pays what is owed: the SEPA pre-notification, or the transfer details."""
    amount = money(owed_minor, invoice.currency)
    bank = (tenant.billing.bank if tenant.billing else None) or {}
    transfer = {"kind": "transfer_now" if now else "transfer", "amount": amount, "date": day(invoice.due_date),
                "reference": invoice.payment_reference, "account_holder": bank.get("account_holder") or "",
                "iban": grouped(bank.get("iban")), "bic": "".join((bank.get("bic") or "").split()).upper()}
    if owed_minor <= 0:
        return {"kind": "settled"}
    method = customer.default_payment_method
    if not now and method is not None and method.kind == "sepa" and method.mandate_reference:
        return {"kind": "sepa", "amount": amount, "date": day(invoice.due_date), "iban": method.masked_iban or "",
                "mandate_reference": method.mandate_reference, "creditor_id": tenant.sepa_creditor_id or "",
                "creditor_name": tenant.sepa_creditor_name or ""}
    if not now and method is not None and method.kind == "stripe" and method.card_last4:  # charged when due (worker card_charges)
        return {"kind": "card", "amount": amount, "date": day(invoice.due_date), "last4": method.card_last4,
                "brand": card_brands.display(method.card_brand)}
    return transfer


@dataclass
class Composed:
    subject: str
    text: str
    html: str
    locale: str
    attachments: list[tuple[bytes, str]]


def _invoice_pdf():
    """widget_server.documents.invoice_pdf, when the documents package is installed."""
    try:
        from ..documents import invoice_pdf
    except ImportError:
        return None
    return invoice_pdf


def compose(session: Session, message: EmailMessage, tenant) -> Composed:
    """Subject, text and HTML of an owed e-mail in the customer's language (needs an app context)."""
    customer = session.get(Customer, message.customer_id)
    locale = email_locale(customer, tenant)
    with force_locale(locale):
        brand = tenant.brand
        context = {
            "locale": locale, "name": customer_name(customer), "brand_name": brand.name,
            "primary": brand.colors.get("primary", "#333333"), "on_primary": brand.colors.get("on_primary", "#ffffff"),
            # every contact key, present or not: the templates are strict about undefined names
            "contact": {key: (tenant.contact or {}).get(key) for key in CONTACT_KEYS},
        }
        attachments = []
        if message.kind == "signup_confirmation":
            contract = session.get(Contract, message.contract_id)
            plan = tenant.plan(contract.plan_id)
            price = money(contract.price_minor, contract.currency)
            method = customer.default_payment_method
            context.update(
                plan=(plan.name.get(locale) or plan.name.get(tenant.default_language)) if plan else contract.plan_id,
                price=gettext("%(price)s per year", price=price) if contract.interval == "year"
                else gettext("%(price)s per month", price=price),
                start=day(local_day(contract.created_at, tenant)), trial_end=day(contract.trial_end),
                payment_method=(gettext("SEPA direct debit") if method and method.kind == "sepa"
                                else gettext("Card") if method and method.kind == "stripe"
                                else gettext("Invoice (bank transfer)")),
                contract_number=contract.public_id,
            )
            subject = gettext("Welcome to %(brand)s", brand=brand.name)
        elif message.kind in ("invoice", "dunning_reminder"):
            invoice = session.get(Invoice, message.invoice_id)
            owed = outstanding(session, invoice)
            reminder = message.kind == "dunning_reminder"
            if reminder and (invoice.status != "open" or owed <= 0):
                raise NothingToSend(f"invoice {invoice.public_id} is no longer open")
            context.update(
                number=invoice.number, issue_date=day(invoice.issue_date), due_date=day(invoice.due_date),
                period=period(invoice.period_start, invoice.period_end),
                amount=money(invoice.gross_minor, invoice.currency), outstanding=money(owed, invoice.currency),
                payment=payment_details(tenant, customer, invoice, owed, now=reminder),
            )
            if reminder:
                final = message.stage is not None and message.stage >= len(tenant.billing.dunning_days)
                context.update(stage=message.stage or 1, final=final)
                subject = (gettext("Final reminder: invoice %(number)s", number=invoice.number) if final
                           else gettext("Payment reminder: invoice %(number)s", number=invoice.number))
            else:
                invoice_pdf = _invoice_pdf()
                if invoice_pdf is not None:
                    attachments.append(invoice_pdf(invoice))
                context.update(attached=bool(attachments))
                subject = gettext("Your invoice %(number)s from %(brand)s", number=invoice.number, brand=brand.name)
        elif message.kind in COMPOSERS:
            subject = COMPOSERS[message.kind](session, message, tenant, customer, context)
        else:
            raise ValueError(f"unknown e-mail kind {message.kind!r}")
        context["subject"] = subject
        env = environment()
        text = env.get_template(f"{message.kind}.txt").render(context)
        html = env.get_template(f"{message.kind}.html").render(context)
    return Composed(subject=subject, text=text, html=html, locale=locale, attachments=attachments)


def mime(message: EmailMessage, composed: Composed, tenant, from_address: str) -> MimeMessage:
    domain = mail.sender_domain(from_address)
    out = MimeMessage()
    out["Subject"] = composed.subject
    out["From"] = formataddr((tenant.brand.name, parseaddr(from_address)[1] or from_address))
    out["To"] = message.recipient
    contact = (tenant.contact or {}).get("email")
    if contact:
        out["Reply-To"] = formataddr((tenant.brand.name, contact))
    out["Date"] = format_datetime(utcnow())
    out["Message-ID"] = message.message_id or f"<{message.public_id}@{domain}>"
    out["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    out.set_content(composed.text)
    out.add_alternative(composed.html, subtype="html")
    for data, filename in composed.attachments:
        out.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    out["Content-Language"] = composed.locale  # after the body: set_content drops Content-* headers
    return out


@dataclass
class SendResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    more: bool = False  # the batch was full: call again


def _claim(session: Session, message_id: int, now: datetime) -> bool:
    claimed = session.execute(
        update(EmailMessage)
        .where(EmailMessage.id == message_id, EmailMessage.status == "pending", EmailMessage.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE, attempts=EmailMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    session.commit()
    return claimed


def send_one(session: Session, message: EmailMessage, transport, from_address: str, now: datetime | None = None) -> str:
    """Render and send one claimed e-mail; records the outcome and commits. Returns the new status."""
    registry = current_app.extensions["widget_themes"]
    label = f"{message.public_id}-{message.kind}"
    try:
        tenant = registry.get(message.tenant)
        composed = compose(session, message, tenant)
        outgoing = mime(message, composed, tenant, from_address)
        sent = transport.send(outgoing, label)
    except NothingToSend as exc:
        message.status, message.next_attempt_at, message.last_error = "cancelled", None, str(exc)[:500]
        log.info("e-mail %s cancelled: %s", label, exc)
    except Exception as exc:  # a broken theme, an unreachable mail server...: try again later
        session.rollback()
        message = session.get(EmailMessage, message.id, populate_existing=True)
        message.last_error = f"{type(exc).__name__}: {exc}"[:500]
        if message.attempts >= MAX_ATTEMPTS:
            message.status, message.next_attempt_at = "failed", None
            log.error("e-mail %s failed for good after %d attempts: %s", label, message.attempts, message.last_error)
        else:
            message.next_attempt_at = (now or utcnow()) + RETRY[message.attempts - 1]
            log.warning("e-mail %s not sent (attempt %d): %s", label, message.attempts, message.last_error)
    else:
        message.status, message.sent_at, message.next_attempt_at = "sent", now or utcnow(), None
        message.subject, message.locale = composed.subject[:300], composed.locale
        message.message_id, message.transport, message.stored_as = outgoing["Message-ID"], sent.transport, sent.stored_as
        message.last_error = None
    session.commit()
    return message.status


def send_due(session: Session, transport=None, *, now: datetime | None = None, limit: int = 100) -> SendResult:
    """Send every e-mail that is due. Needs an app context (themes, config, translations)."""
    config = current_app.config
    transport = transport or mail.transport(config)
    clock = now
    now = now or utcnow()
    due = session.scalars(
        select(EmailMessage.id)
        .where(EmailMessage.status == "pending", EmailMessage.next_attempt_at <= now)
        .order_by(EmailMessage.id).limit(limit)
    ).all()
    session.commit()  # end the read before the (slow) sending
    result = SendResult(more=len(due) == limit)
    for message_id in due:
        if not _claim(session, message_id, now):
            continue
        message = session.get(EmailMessage, message_id, populate_existing=True)
        status = send_one(session, message, transport, config["WIDGET_MAIL_FROM"], clock)
        if status == "sent":
            result.sent += 1
        elif status == "pending":
            result.retrying += 1
        elif status == "failed":
            result.failed += 1
        else:
            result.cancelled += 1
    return result
