"""Issuing invoices: numbers, per-line tax, ledger entry and outbox event, all in the caller's transaction."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ..storage.base import public_id, utcnow
from ..storage.models import AuditEvent, Contract, Customer, Invoice, InvoiceLine, LedgerEntry, OutboxEvent
from . import numbering, tax


@dataclass(frozen=True)
class LineSpec:
    kind: str  # plan | setup_fee | proration | credit | discount
    description: str
    price_minor: int  # as the tenant prices it (gross or net, see Billing.prices_include_tax)
    plan_id: str | None = None
    period_start: date | None = None
    period_end: date | None = None


@dataclass
class Draft:
    tenant: object  # tenants.model.Tenant
    customer: Customer
    currency: str
    issue_date: date
    lines: list[LineSpec]
    contract: Contract | None = None
    period_start: date | None = None
    period_end: date | None = None
    kind: str = "invoice"
    corrects: Invoice | None = None


@dataclass(frozen=True)
class Issued:
    """What callers learn about an invoice that was stored."""

    id: int
    public_id: str
    number: str
    gross_minor: int


BUYER_FIELDS = ("first_name", "last_name", "company", "street", "postal_code", "city", "country", "vat_id")


def buyer_snapshot(customer: Customer) -> dict:
    """What the invoice says about its buyer and how they pay, frozen at issue time (no full IBAN)."""
    method = customer.default_payment_method
    return {
        "email": customer.email, "locale": customer.locale,
        "fields": {key: value for key, value in (customer.fields or {}).items() if key in BUYER_FIELDS},
        "payment_method": None if method is None else {
            "kind": method.kind, "masked_iban": method.masked_iban, "mandate_reference": method.mandate_reference,
            "card_brand": method.card_brand, "card_last4": method.card_last4,
        },
    }


def _rows(draft: Draft, number: str) -> tuple[dict, list[dict]]:
    """The invoice row and its line rows (without ids), with per-line tax."""
    billing = draft.tenant.billing
    treatment = tax.treatment(billing, draft.customer.fields or {})
    rate, gross_prices = billing.tax_rate, billing.prices_include_tax
    if draft.corrects is not None:  # a correction (refund) repeats the corrected invoice's tax; its prices are what was paid
        treatment = tax.Treatment(rate=Decimal(draft.corrects.tax_rate), reverse_charge=draft.corrects.reverse_charge)
        rate, gross_prices = treatment.rate, True
    sign = -1 if draft.kind == "credit_note" else 1
    lines = []
    for position, spec in enumerate(draft.lines, start=1):
        amounts = tax.line_amounts(spec.price_minor, rate, gross_prices, treatment)
        lines.append({
            "position": position, "kind": spec.kind, "plan_id": spec.plan_id, "description": spec.description[:200],
            "period_start": spec.period_start, "period_end": spec.period_end,
            "net_minor": sign * amounts.net, "tax_minor": sign * amounts.tax, "gross_minor": sign * amounts.gross,
        })
    invoice = {
        "public_id": public_id("inv"), "tenant": draft.tenant.slug, "customer_id": draft.customer.id,
        "contract_id": draft.contract.id if draft.contract else None, "number": number, "kind": draft.kind,
        # A credit note is booked as credit at once; there is nothing left to pay on it.
        "status": "paid" if draft.kind == "credit_note" else "open", "currency": draft.currency,
        "net_minor": sum(line["net_minor"] for line in lines), "tax_minor": sum(line["tax_minor"] for line in lines),
        "gross_minor": sum(line["gross_minor"] for line in lines),
        "tax_rate": str(treatment.rate.normalize()), "reverse_charge": treatment.reverse_charge,
        "issue_date": draft.issue_date, "due_date": draft.issue_date + timedelta(days=billing.payment_terms_days),
        "period_start": draft.period_start, "period_end": draft.period_end, "payment_reference": number,
        "corrects_id": draft.corrects.id if draft.corrects else None, "created_at": utcnow(),
        "buyer": buyer_snapshot(draft.customer),
    }
    return invoice, lines


def issue(session: Session, drafts: list[Draft]) -> list[Issued]:
    """Number and store the drafts with bulk inserts (the billing run issues thousands at once).

    Numbers are taken in one block per tenant and year."""
    by_series: dict[tuple[str, int], list[Draft]] = defaultdict(list)
    for draft in drafts:
        by_series[(draft.tenant.slug, draft.issue_date.year)].append(draft)
    built = []
    for (slug, year), series in sorted(by_series.items()):
        first = numbering.take(session, slug, year, len(series))
        prefix = series[0].tenant.billing.invoice_prefix
        for offset, draft in enumerate(series):
            built.append((draft, *_rows(draft, numbering.format_number(prefix, year, first + offset))))
    if not built:
        return []
    ids = session.scalars(insert(Invoice).returning(Invoice.id, sort_by_parameter_order=True),
                          [invoice for _draft, invoice, _lines in built]).all()
    lines, entries, events = [], [], []
    now = utcnow()
    for invoice_id, (draft, invoice, invoice_lines) in zip(ids, built):
        lines.extend({**line, "invoice_id": invoice_id} for line in invoice_lines)
        # A credit note reduces what is owed on the invoice it corrects, or else becomes
        # credit (no invoice id) that later invoices use up.
        target = draft.corrects.id if draft.corrects else (invoice_id if draft.kind == "invoice" else None)
        entries.append({
            "tenant": invoice["tenant"], "customer_id": invoice["customer_id"],
            "kind": "credit" if draft.kind == "credit_note" else "invoice", "amount_minor": invoice["gross_minor"],
            "currency": invoice["currency"], "invoice_id": target,
            "payment_id": None, "booked_on": invoice["issue_date"], "created_at": now,
        })
        events.append({
            "public_id": public_id("evt"), "tenant": invoice["tenant"], "type": f"{draft.kind}.created", "created_at": now,
            "payload": {
                "invoice_id": invoice["public_id"], "number": invoice["number"], "customer_id": draft.customer.public_id,
                "contract_id": draft.contract.public_id if draft.contract else None, "currency": invoice["currency"],
                "gross_minor": invoice["gross_minor"], "due_date": invoice["due_date"].isoformat(),
            },
        })
    session.execute(insert(InvoiceLine), lines)
    session.execute(insert(LedgerEntry), entries)
    session.execute(insert(OutboxEvent), events)
    new_invoices = [(invoice_id, invoice) for invoice_id, (_d, invoice, _l) in zip(ids, built) if invoice["kind"] == "invoice"]
    for day in sorted({invoice["issue_date"] for _id, invoice in new_invoices}):  # credit is booked on the issue date
        use_up_credit(session, [
            Owed(invoice_id=invoice_id, public_id=invoice["public_id"], number=invoice["number"], tenant=invoice["tenant"],
                 customer_id=invoice["customer_id"], currency=invoice["currency"], owed_minor=invoice["gross_minor"])
            for invoice_id, invoice in new_invoices if invoice["issue_date"] == day], booked_on=day)
    return [Issued(id=i, public_id=inv["public_id"], number=inv["number"], gross_minor=inv["gross_minor"])
            for i, (_d, inv, _l) in zip(ids, built)]


@dataclass(frozen=True)
class Owed:
    """An invoice that credit may pay, with what is still owed on it (from the ledger)."""

    invoice_id: int
    public_id: str
    number: str
    tenant: str
    customer_id: int
    currency: str
    owed_minor: int

    @classmethod
    def of(cls, invoice: Invoice, owed_minor: int) -> "Owed":
        return cls(invoice_id=invoice.id, public_id=invoice.public_id, number=invoice.number, tenant=invoice.tenant,
                   customer_id=invoice.customer_id, currency=invoice.currency, owed_minor=owed_minor)


@dataclass(frozen=True)
class CreditUse:
    """Credit in the customer's favour moved onto one invoice."""

    item: Owed
    amount_minor: int

    @property
    def settles(self) -> bool:
        """The credit pays the whole invoice: nothing is left to pay or to collect."""
        return self.amount_minor == self.item.owed_minor


def unallocated_credit(session: Session, customer_ids) -> dict[int, int]:
    """Per customer, credit that no invoice has used yet (overpayments, credit notes correcting no
    invoice): the negative sum of their ledger entries without an invoice, as a positive amount.
    `customer_ids` is a collection of ids or a select of them."""
    unallocated = func.sum(LedgerEntry.amount_minor)
    return {customer: -int(amount) for customer, amount in session.execute(
        select(LedgerEntry.customer_id, unallocated)
        .where(LedgerEntry.customer_id.in_(customer_ids), LedgerEntry.invoice_id.is_(None))
        .group_by(LedgerEntry.customer_id).having(unallocated < 0))}


def take_credit(credit: dict[int, int], item: Owed) -> CreditUse | None:
    """Use as much of the customer's remaining `credit` (updated in place) as `item` needs; None if there is none."""
    use = min(credit.get(item.customer_id, 0), item.owed_minor)
    if use <= 0:
        return None
    credit[item.customer_id] -= use
    return CreditUse(item=item, amount_minor=use)


def allocate_credit(session: Session, uses: list[CreditUse], *, booked_on: date, actor: str = "system") -> None:
    """Book credit uses (from take_credit) in the caller's transaction.

    The ledger stays append-only: a pair of `allocation` entries moves the amount from the
    unallocated credit (plus, no invoice) onto the invoice (minus); an invoice the credit pays in
    full is marked paid. Each use is an audit event `credit.allocated`. Bulk statements: the
    billing run allocates credit for many invoices at once."""
    if not uses:
        return
    now = utcnow()
    entries, events = [], []
    for use in uses:
        item = use.item
        common = {"tenant": item.tenant, "customer_id": item.customer_id, "kind": "allocation",
                  "currency": item.currency, "payment_id": None, "booked_on": booked_on, "created_at": now}
        entries += [{**common, "amount_minor": use.amount_minor, "invoice_id": None},
                    {**common, "amount_minor": -use.amount_minor, "invoice_id": item.invoice_id}]
        events.append({"tenant": item.tenant, "customer_id": item.customer_id, "actor": actor, "action": "credit.allocated",
                       "before": None, "created_at": now,
                       "after": {"invoice_id": item.public_id, "number": item.number, "amount_minor": use.amount_minor,
                                 "currency": item.currency, "invoice_paid": use.settles}})
    session.execute(insert(LedgerEntry), entries)
    session.execute(insert(AuditEvent), events)
    paid = [use.item.invoice_id for use in uses if use.settles]
    if paid:
        session.execute(update(Invoice).where(Invoice.id.in_(paid)).values(status="paid", paid_at=now))


def use_up_credit(session: Session, items: list[Owed], *, booked_on: date, actor: str = "system") -> list[CreditUse]:
    """Apply what customers have in credit to `items`, in the order given (oldest first): the one
    way credit is ever used, at issue time (billing run, plan changes) and before a SEPA export."""
    credit = unallocated_credit(session, {item.customer_id for item in items if item.owed_minor > 0})
    uses = [use for item in items if (use := take_credit(credit, item)) is not None] if credit else []
    allocate_credit(session, uses, booked_on=booked_on, actor=actor)
    return uses
