"""The customer's invoices and credit notes, and their PDFs (only the signed-in customer's own)."""
from datetime import date

from flask import abort, g, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..billing.ledger import open_items
from ..billing.money import from_minor
from ..documents import pdf_response
from ..documents.invoice_content import period
from ..extensions import db
from ..storage.models import Invoice
from ..storage.queries import by_public_id
from . import NAV, access, bp

NAV.append(("portal.invoices", _l("Invoices")))


def shown_status(invoice: Invoice, today: date, owed: bool) -> str:
    """What the list says about an invoice: credit_note, void, paid, overdue or open.

    `owed` comes from the ledger: an invoice a credit note settled is still stored as open but
    nothing is left to pay on it, so it shows as paid, as the balance on the overview says.
    Overdue is not stored either: an open invoice is overdue once its due date has passed."""
    if invoice.status == "void":
        return "void"
    if invoice.kind == "credit_note":
        return "credit_note"
    if invoice.status == "paid" or not owed:
        return "paid"
    return "overdue" if invoice.due_date < today else "open"


def own_invoice(public_id: str) -> Invoice:
    """The signed-in customer's invoice, else 404: another customer's or tenant's id looks like no id at all."""
    invoice = by_public_id(db.session, Invoice, g.tenant.slug, public_id)
    if invoice is None or invoice.customer_id != g.customer.id:
        abort(404)
    return invoice


@bp.get("/invoices")
@access.signed_in
def invoices():
    today = g.tenant.today()
    rows = db.session.scalars(
        select(Invoice).where(Invoice.customer_id == g.customer.id, Invoice.tenant == g.tenant.slug)
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
    ).all()
    numbers = {row.id: row.number for row in rows}
    owed = {item.invoice.id for item in open_items(db.session, g.customer.id)}
    listed = [{
        "invoice": row,
        "status": shown_status(row, today, row.id in owed),
        "amount": from_minor(row.gross_minor, row.currency),
        "period": period(row.period_start, row.period_end),
        "corrects": numbers.get(row.corrects_id) if row.corrects_id else None,
    } for row in rows]
    return render_template("portal/invoices.html", invoices=listed)


@bp.get("/invoices/<invoice_id>.pdf")
@access.signed_in
def invoice_pdf(invoice_id: str):
    """The PDF in the customer's language, as an attachment named after the invoice number."""
    return pdf_response(own_invoice(invoice_id))
