"""Issuing invoices: numbers, per-line tax, ledger entry and outbox event, all in the caller's transaction."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.orm import Session

from ..storage.models import Contract, Customer, Invoice, InvoiceLine, LedgerEntry, OutboxEvent
from . import numbering, tax


@dataclass(frozen=True)
class LineSpec:
    kind: str  # plan | setup_fee | proration | credit
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
    extra: dict = field(default_factory=dict)


def _build(draft: Draft, number: str) -> Invoice:
    billing = draft.tenant.billing
    treatment = tax.treatment(billing, draft.customer.fields or {})
    sign = -1 if draft.kind == "credit_note" else 1
    lines = []
    for position, spec in enumerate(draft.lines, start=1):
        amounts = tax.line_amounts(spec.price_minor, billing.tax_rate, billing.prices_include_tax, treatment)
        lines.append(InvoiceLine(
            position=position, kind=spec.kind, plan_id=spec.plan_id, description=spec.description[:200],
            period_start=spec.period_start, period_end=spec.period_end,
            net_minor=sign * amounts.net, tax_minor=sign * amounts.tax, gross_minor=sign * amounts.gross,
        ))
    return Invoice(
        tenant=draft.tenant.slug, customer_id=draft.customer.id, contract_id=draft.contract.id if draft.contract else None,
        number=number, kind=draft.kind, status="open", currency=draft.currency,
        net_minor=sum(line.net_minor for line in lines), tax_minor=sum(line.tax_minor for line in lines),
        gross_minor=sum(line.gross_minor for line in lines),
        tax_rate=str(treatment.rate.normalize()), reverse_charge=treatment.reverse_charge,
        issue_date=draft.issue_date, due_date=draft.issue_date + timedelta(days=billing.payment_terms_days),
        period_start=draft.period_start, period_end=draft.period_end, payment_reference=number,
        corrects_id=draft.corrects.id if draft.corrects else None, lines=lines,
    )


def issue(session: Session, drafts: list[Draft]) -> list[Invoice]:
    """Number and store the drafts. Numbers are taken in one block per tenant and year."""
    by_series: dict[tuple[str, int], list[Draft]] = defaultdict(list)
    for draft in drafts:
        by_series[(draft.tenant.slug, draft.issue_date.year)].append(draft)
    invoices = []
    for (slug, year), series in sorted(by_series.items()):
        first = numbering.take(session, slug, year, len(series))
        prefix = series[0].tenant.billing.invoice_prefix
        for offset, draft in enumerate(series):
            invoice = _build(draft, numbering.format_number(prefix, year, first + offset))
            invoices.append((draft, invoice))
    session.add_all([invoice for _draft, invoice in invoices])
    session.flush()
    entries = []
    for draft, invoice in invoices:
        kind = "credit" if invoice.kind == "credit_note" else "invoice"
        # A credit note reduces what is owed on the invoice it corrects.
        target = draft.corrects.id if draft.corrects else invoice.id
        entries.append(LedgerEntry(tenant=invoice.tenant, customer_id=invoice.customer_id, kind=kind,
                                   amount_minor=invoice.gross_minor, currency=invoice.currency,
                                   invoice_id=target, booked_on=invoice.issue_date))
        entries.append(OutboxEvent(tenant=invoice.tenant, type=f"{invoice.kind}.created", payload={
            "invoice_id": invoice.public_id, "number": invoice.number, "customer_id": draft.customer.public_id,
            "contract_id": draft.contract.public_id if draft.contract else None, "currency": invoice.currency,
            "gross_minor": invoice.gross_minor, "due_date": invoice.due_date.isoformat(),
        }))
    session.add_all(entries)
    return [invoice for _draft, invoice in invoices]
