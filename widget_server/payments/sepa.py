"""SEPA direct debit (CORE scheme): mandates stored at sign-up, open invoices collected
by exporting a pain.008 file for the tenant to upload to its bank.

What is collected. One export covers one tenant: every open invoice (kind "invoice", EUR)
that is due up to a given day, whose customer's default payment method is a SEPA mandate,
and that has not been exported before. The amount is what is still owed on the invoice
(ledger). Credit in the customer's favour that no invoice has used yet (an overpayment, a
credit note from a downgrade) is first moved onto these invoices, oldest first, by
billing.invoices.allocate_credit, the same booking as at issue time; an invoice the credit pays in full
is marked paid and not debited. End-to-end id and remittance information are the invoice
number.

Collection date. Our rule: the first TARGET2 business day on or after
max(due date, next TARGET2 business day after the export day). Since the 2016 rulebook
CORE debits need to reach the creditor's bank one business day before the collection date
(D-1), for first and recurrent debits alike; exporting on day D and uploading the same day
therefore allows collecting on D+1. Invoices are pre-notified by the invoice itself (due
date = issue date + payment terms, 14 days by default), so we never collect before the due
date. Invoices due up to at most MAX_DAYS_AHEAD days after the export day are accepted,
because banks take direct debits only that far ahead.

Sequence type. Per mandate (payment method): FRST for its first debit, RCUR afterwards,
including further invoices of the same mandate in the same file (the rulebook allows RCUR
from the second debit on; FRST is no longer required to have settled first). A mandate that
has not been used for 36 months has expired: its invoices are skipped with a reason.
A mandate whose debits all came back (payments/sepa_returns.py) starts with FRST again, which
the rulebook always accepts for a mandate without a settled debit.

Returned debits (payments/sepa_returns.py). An invoice whose debit came back is exported
again only when the return allows it (AM04 insufficient funds, MS03 reason not given, or a
reason that revoked the mandate, once the customer gave a new one), with its own end-to-end id
("<number>-R2"). A revoked mandate is never debited again: its invoices are left out with the
reason until the customer gives a new payment method.

Once exported. A SepaCollection row keeps the message id and the XML; one
SepaCollectionItem per invoice and attempt (unique) makes sure an invoice is never exported
twice, also when two exports run at the same time (the second one fails and writes nothing).
The invoice stays open until the money is booked with billing.ledger.record_payment.

Schema. pain.008.001.08 (ISO 20022 2019 version), the version of the EPC implementation
guidelines since the 2023 rulebook, to which German banks (DFÜ-Abkommen Anlage 3) moved
from pain.008.001.02; .02 can still be chosen for banks that want it. sepaxml builds the
file and validates it against the official XSD before we keep it.

Secrets. Full IBANs appear only in the XML (file and database); logs, audit events,
webhooks, errors and the command's output show masked IBANs at most.
"""
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaDD
from sepaxml.validation import ValidationError as SepaXmlValidationError
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from stdnum.eu import at_02

from ..billing import invoices
from ..billing.contracts import mandate_reference
from ..billing.money import from_minor
from ..storage.models import (AuditEvent, Invoice, LedgerEntry, OutboxEvent, PaymentMethod, SepaCollection, SepaCollectionItem,
                              SepaReturn)
from . import target2
from .base import CollectionResult, PaymentProvider, PaymentSetupError

log = logging.getLogger(__name__)

SCHEMA = "pain.008.001.08"
SCHEMAS = ("pain.008.001.08", "pain.008.001.02")
CURRENCY = "EUR"
MAX_DAYS_AHEAD = 14
MANDATE_EXPIRY_MONTHS = 36
CREDITOR_ID = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}$")


class SepaError(ValueError):
    """An export that cannot be made; the message says why (never with a full IBAN)."""


class SepaNotConfigured(SepaError, PaymentSetupError):
    def __init__(self, tenant_slug: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"tenant '{tenant_slug}' cannot collect SEPA direct debits: " + "; ".join(problems)
                         + f" (see themes/{tenant_slug}/theme.toml)")


@dataclass(frozen=True)
class Creditor:
    name: str
    creditor_id: str
    iban: str
    bic: str | None


@dataclass(frozen=True)
class Debit:
    """One planned direct debit of one invoice."""

    invoice: Invoice
    method: PaymentMethod
    amount_minor: int
    sequence_type: str  # FRST | RCUR
    collection_date: date
    attempt: int = 1  # 2, 3...: the invoice is debited again after a returned debit

    @property
    def end_to_end_id(self) -> str:
        """The invoice number; a debit after a returned one gets "-R<attempt>", so every debit has its own id."""
        return self.invoice.number if self.attempt == 1 else f"{self.invoice.number}-R{self.attempt}"


@dataclass(frozen=True)
class CreditUse:
    """Credit in the customer's favour (unallocated ledger entries) used for an invoice before debiting it,
    booked with billing.invoices.allocate_credit like credit used at issue time."""

    invoice: Invoice
    booking: invoices.CreditUse

    @property
    def amount_minor(self) -> int:
        return self.booking.amount_minor

    @property
    def settles(self) -> bool:  # the credit pays the whole invoice: nothing left to debit
        return self.booking.settles


@dataclass
class Plan:
    debits: list[Debit]
    credit: list[CreditUse]
    skipped: dict[str, str]  # invoice number -> why it cannot be debited


@dataclass
class SepaExport:
    """The result of `export`: the stored collection and its XML, or nothing to collect."""

    tenant: str
    collection: SepaCollection | None
    xml: bytes | None
    debits: list[Debit]
    skipped: dict[str, str] = field(default_factory=dict)  # invoice number -> reason
    credit: list[CreditUse] = field(default_factory=list)

    @property
    def message_id(self) -> str | None:
        return self.collection.message_id if self.collection else None

    @property
    def total_minor(self) -> int:
        return sum(d.amount_minor for d in self.debits)

    def groups(self) -> list[tuple[str, date, int, int]]:
        """(sequence type, collection date, number of debits, total) per payment information block."""
        totals: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
        for debit in self.debits:
            entry = totals[(debit.sequence_type, debit.collection_date)]
            entry[0] += 1
            entry[1] += debit.amount_minor
        return [(seq, day, n, total) for (seq, day), (n, total) in sorted(totals.items(), key=lambda kv: (kv[0][1], kv[0][0]))]


def compact(value: str | None) -> str:
    return "".join((value or "").split()).upper()


def valid_creditor_id(value: str) -> bool:
    """A SEPA creditor identifier (AT-02): country, MOD 97-10 check digits, business code, national id."""
    value = compact(value)
    return bool(CREDITOR_ID.match(value)) and at_02.is_valid(value)


def creditor(tenant, schema: str = SCHEMA) -> Creditor:
    """The tenant's creditor data from its theme, or SepaNotConfigured naming every missing key."""
    problems = []
    creditor_id = compact(tenant.sepa_creditor_id)
    if not creditor_id:
        problems.append("payments.sepa.creditor_id is missing")
    elif not valid_creditor_id(creditor_id):
        problems.append(f"payments.sepa.creditor_id '{creditor_id}' is not a valid SEPA creditor identifier")
    name = (tenant.sepa_creditor_name or "").strip()
    if not name:
        problems.append("payments.sepa.creditor_name is missing")
    bank = (tenant.billing.bank if tenant.billing else None) or {}
    iban = compact(bank.get("iban"))
    if not iban:
        problems.append("billing.bank.iban is missing (the account the debits are paid into)")
    else:
        try:
            iban = IBAN(iban).compact
        except (SchwiftyException, ValueError):
            problems.append("billing.bank.iban is not a valid IBAN")
    bic = compact(bank.get("bic")) or None
    if bic is None and schema == "pain.008.001.02":
        problems.append("billing.bank.bic is missing (pain.008.001.02 needs the creditor's BIC)")
    if problems:
        raise SepaNotConfigured(tenant.slug, problems)
    return Creditor(name=name, creditor_id=creditor_id, iban=iban, bic=bic)


def collection_date(due_date: date, today: date) -> date:
    """max(due date, next business day after the export day), moved to a TARGET2 business day."""
    return target2.business_day_on_or_after(max(due_date, target2.next_business_day(today)))


def check_dates(up_to: date, today: date) -> None:
    latest = today + timedelta(days=MAX_DAYS_AHEAD)
    if up_to > latest:
        raise SepaError(f"invoices due up to {up_to.isoformat()} cannot be collected yet: banks take direct debits at most "
                        f"{MAX_DAYS_AHEAD} days ahead, so choose a day up to {latest.isoformat()}")


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _unusable(invoice: Invoice, method: PaymentMethod, planned_date: date, last_used: date | None) -> str | None:
    """Why this invoice cannot be debited from this mandate, or None."""
    if invoice.currency != CURRENCY:
        return f"invoiced in {invoice.currency}; SEPA direct debits are in {CURRENCY} only"
    if method.revoked_on is not None:
        return (f"the mandate {method.mandate_reference} is revoked since {method.revoked_on.isoformat()} (return reason "
                f"{method.revoked_reason}); the customer must give a new payment method")
    if not (method.mandate_reference and method.mandate_signed_on and (method.account_holder or "").strip() and method.iban):
        return "the SEPA payment method has no complete mandate (reference, signature date, account holder, IBAN)"
    try:
        iban = IBAN(method.iban)
    except (SchwiftyException, ValueError):
        return f"the IBAN {method.masked_iban} is not valid"
    if not iban.in_sepa_zone:
        return f"the IBAN {method.masked_iban} is outside the SEPA area"
    since = last_used or method.mandate_signed_on
    if planned_date > _add_months(since, MANDATE_EXPIRY_MONTHS):
        return f"the mandate {method.mandate_reference} expired: not used for {MANDATE_EXPIRY_MONTHS} months since {since.isoformat()}"
    return None


def plan(session: Session, tenant_slug: str, *, up_to: date, today: date) -> Plan:
    """What an export would do now (reads only): the debits, the credit used up first, the invoices left out."""
    # Exported before, unless every debit of it came back with a return that allows debiting it again.
    again = select(SepaReturn.id).where(SepaReturn.collection_item_id == SepaCollectionItem.id,
                                        SepaReturn.collect_again.is_(True)).exists()
    collected = select(SepaCollectionItem.id).where(SepaCollectionItem.invoice_id == Invoice.id, ~again).exists()
    due = select(Invoice.id).where(
        Invoice.tenant == tenant_slug, Invoice.status == "open", Invoice.kind == "invoice",
        Invoice.due_date <= up_to, ~collected,
    )
    remaining = (
        select(LedgerEntry.invoice_id, func.sum(LedgerEntry.amount_minor).label("remaining"))
        .where(LedgerEntry.invoice_id.in_(due))
        .group_by(LedgerEntry.invoice_id)
        .subquery()
    )
    rows = session.execute(
        select(Invoice, PaymentMethod, remaining.c.remaining)
        .join(remaining, remaining.c.invoice_id == Invoice.id)
        .join(PaymentMethod, and_(PaymentMethod.customer_id == Invoice.customer_id, PaymentMethod.kind == "sepa",
                                  PaymentMethod.is_default.is_(True)))
        .where(remaining.c.remaining > 0)
        .order_by(Invoice.customer_id, Invoice.due_date, Invoice.id, PaymentMethod.id.desc())
    ).all()
    credit = invoices.unallocated_credit(session, select(Invoice.customer_id).where(Invoice.id.in_(due)))
    methods = {method.id for _invoice, method, _remaining in rows}
    last_used = dict(session.execute(
        select(SepaCollectionItem.payment_method_id, func.max(SepaCollectionItem.collection_date))
        .where(SepaCollectionItem.payment_method_id.in_(methods)).group_by(SepaCollectionItem.payment_method_id)
    ).all()) if methods else {}
    # RCUR once a mandate has a debit that did not come back; after a returned first debit, FRST again.
    returned = select(SepaReturn.id).where(SepaReturn.collection_item_id == SepaCollectionItem.id).exists()
    recurring = set(session.scalars(select(SepaCollectionItem.payment_method_id).distinct().where(
        SepaCollectionItem.payment_method_id.in_(methods), ~returned))) if methods else set()
    attempts = dict(session.execute(
        select(SepaCollectionItem.invoice_id, func.count()).where(SepaCollectionItem.invoice_id.in_(due))
        .group_by(SepaCollectionItem.invoice_id)).all())

    result = Plan(debits=[], credit=[], skipped={})
    seen: set[int] = set()
    for invoice, method, owed in rows:
        if invoice.id in seen:  # a customer with two default mandates: the newest one wins
            continue
        seen.add(invoice.id)
        when = collection_date(invoice.due_date, today)
        reason = _unusable(invoice, method, when, last_used.get(method.id))
        if reason:
            result.skipped[invoice.number] = reason
            continue
        owed = int(owed)
        use = invoices.take_credit(credit, invoices.Owed.of(invoice, owed))
        if use is not None:
            result.credit.append(CreditUse(invoice=invoice, booking=use))
            owed -= use.amount_minor
        if owed == 0:
            continue
        sequence = "RCUR" if method.id in recurring else "FRST"
        recurring.add(method.id)
        last_used[method.id] = max(when, last_used.get(method.id) or when)
        result.debits.append(Debit(invoice=invoice, method=method, amount_minor=owed, sequence_type=sequence,
                                   collection_date=when, attempt=attempts.get(invoice.id, 0) + 1))
    return result


def build_xml(creditor_data: Creditor, debits: list[Debit], schema: str = SCHEMA) -> tuple[str, bytes]:
    """(message id, pain.008 XML validated against the schema)."""
    config = {"name": creditor_data.name, "IBAN": creditor_data.iban, "batch": True,
              "creditor_id": creditor_data.creditor_id, "currency": CURRENCY}
    if creditor_data.bic:
        config["BIC"] = creditor_data.bic
    document = SepaDD(config, schema=schema, clean=True)
    for debit in debits:
        method = debit.method
        payment = {
            "name": method.account_holder.strip(), "IBAN": IBAN(method.iban).compact, "amount": debit.amount_minor,
            "type": debit.sequence_type, "collection_date": debit.collection_date,
            "mandate_id": method.mandate_reference, "mandate_date": method.mandate_signed_on,
            "description": debit.invoice.number, "endtoend_id": debit.end_to_end_id,
        }
        bic = _valid_bic(method.bic)
        if bic:
            payment["BIC"] = bic
        document.add_payment(payment)
    try:
        xml = document.export(validate=True)
    except SepaXmlValidationError as exc:
        cause = exc.__cause__
        where = f" at {cause.path}: {cause.reason}" if getattr(cause, "path", None) else ""
        # The cause's full text may quote an IBAN: only its path and reason are shown.
        raise SepaError(f"the pain.008 file does not validate against {schema}{where}") from None
    return document.msg_id, xml


def _valid_bic(value: str | None) -> str | None:
    """The debtor's BIC if it is well formed; otherwise none is sent (IBAN-only is allowed in SEPA)."""
    try:
        return str(BIC(compact(value))) if value else None
    except (SchwiftyException, ValueError):
        return None


def export(session: Session, tenant, *, up_to: date, today: date, actor: str = "system", schema: str = SCHEMA) -> SepaExport:
    """Export the tenant's collectable invoices due up to `up_to` as one pain.008 message.

    Writes the credit used (allocation entries), the collection, its items, audit events and the
    outbox event `sepa.collection_exported` into the session and flushes; the caller commits once
    (or rolls back, and nothing happened). With nothing to debit, the result has no collection and
    only the credit used, if any, is written."""
    if schema not in SCHEMAS:
        raise SepaError(f"unsupported schema '{schema}'; use one of {', '.join(SCHEMAS)}")
    check_dates(up_to, today)
    creditor_data = creditor(tenant, schema)
    planned = plan(session, tenant.slug, up_to=up_to, today=today)
    debits, skipped = planned.debits, planned.skipped
    for number, reason in skipped.items():
        log.warning("sepa export %s: invoice %s left out: %s", tenant.slug, number, reason)
    invoices.allocate_credit(session, [use.booking for use in planned.credit], booked_on=today, actor=actor)
    if not debits:
        session.flush()
        return SepaExport(tenant=tenant.slug, collection=None, xml=None, debits=[], skipped=skipped, credit=planned.credit)

    message_id, xml = build_xml(creditor_data, debits, schema)
    collection = SepaCollection(
        tenant=tenant.slug, message_id=message_id, schema=schema, exported_on=today, due_up_to=up_to,
        transactions=len(debits), total_minor=sum(d.amount_minor for d in debits), currency=CURRENCY, xml=xml.decode("utf-8"),
    )
    session.add(collection)
    items = []
    for debit in debits:
        items.append(SepaCollectionItem(
            collection=collection, invoice_id=debit.invoice.id, customer_id=debit.invoice.customer_id,
            payment_method_id=debit.method.id, mandate_reference=debit.method.mandate_reference,
            sequence_type=debit.sequence_type, end_to_end_id=debit.end_to_end_id, attempt=debit.attempt,
            amount_minor=debit.amount_minor,
            currency=CURRENCY, collection_date=debit.collection_date,
        ))
    session.add_all(items)
    try:
        session.flush()
    except (IntegrityError, OperationalError):
        session.rollback()
        raise SepaError("another SEPA export took some of these invoices at the same time; nothing was exported, "
                        "run the export again") from None

    result = SepaExport(tenant=tenant.slug, collection=collection, xml=xml, debits=debits, skipped=skipped, credit=planned.credit)
    _record_events(session, tenant.slug, result, actor)
    session.flush()
    log.info("sepa export %s: message %s with %d debit(s), %s %s", tenant.slug, message_id, len(debits),
             from_minor(result.total_minor, CURRENCY), CURRENCY)
    return result


def _record_events(session: Session, tenant_slug: str, result: SepaExport, actor: str) -> None:
    collection = result.collection
    lines = []
    for debit in result.debits:
        line = {
            "invoice_id": debit.invoice.public_id, "number": debit.invoice.number,
            "amount_minor": debit.amount_minor, "currency": CURRENCY, "sequence_type": debit.sequence_type,
            "collection_date": debit.collection_date.isoformat(), "mandate_reference": debit.method.mandate_reference,
        }
        lines.append({**line, "customer_id": debit.method.customer.public_id})
        session.add(AuditEvent(tenant=tenant_slug, customer_id=debit.invoice.customer_id, actor=actor,
                               action="sepa.debit_scheduled", before=None,
                               after={**line, "iban": debit.method.masked_iban, "message_id": collection.message_id}))
    summary = {
        "collection_id": collection.public_id, "message_id": collection.message_id, "schema": collection.schema,
        "exported_on": collection.exported_on.isoformat(), "due_up_to": collection.due_up_to.isoformat(),
        "transactions": collection.transactions, "total_minor": collection.total_minor, "currency": CURRENCY,
    }
    session.add(AuditEvent(tenant=tenant_slug, customer_id=None, actor=actor, action="sepa.collection_exported",
                           before=None, after={**summary, "invoices": [line["number"] for line in lines],
                                               "credit_used": {u.invoice.number: u.amount_minor for u in result.credit},
                                               "skipped": result.skipped}))
    session.add(OutboxEvent(tenant=tenant_slug, type="sepa.collection_exported", payload={**summary, "debits": lines}))


class SepaProvider(PaymentProvider):
    """SEPA CORE direct debit under a mandate the customer gives at sign-up."""

    kind = "sepa"
    collects = True
    stored_fields = ("account_holder", "iban", "bic", "mandate_reference", "mandate_signed_on")

    def configuration_problems(self, tenant) -> list[str]:
        try:
            creditor(tenant)
        except SepaNotConfigured as exc:
            return exc.problems
        return []

    def prepare(self, method: PaymentMethod, choice, *, tenant, today: date) -> None:
        """The mandate: account holder, compact IBAN, BIC if given, a new reference, signed today."""
        method.kind = self.kind
        method.account_holder = (choice.account_holder or "").strip()
        method.iban = compact(choice.iban)
        method.bic = compact(choice.bic) or None
        method.mandate_reference = mandate_reference(tenant.slug)
        method.mandate_signed_on = today

    def describe(self, method: PaymentMethod) -> dict:
        return {"id": method.public_id, "kind": method.kind, "iban": method.masked_iban,
                "mandate_reference": method.mandate_reference}

    def collect(self, session: Session, tenant, *, up_to: date, today: date, actor: str = "system") -> CollectionResult:
        """Export a pain.008 message (kept in the database; the CLI also writes it to a file)."""
        result = export(session, tenant, up_to=up_to, today=today, actor=actor)
        return CollectionResult(kind=self.kind, reference=result.message_id,
                                invoices=tuple(d.invoice.number for d in result.debits),
                                total_minor=result.total_minor, currency=CURRENCY if result.debits else None,
                                skipped=result.skipped)
