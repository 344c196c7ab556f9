"""Returned SEPA direct debits (R-transactions after settlement): the bank took a debit back.

What merchants get. Their bank lists returned debits on the account statement and, on request,
as camt.054 (debit notification, the ISO 20022 file German banks deliver for returned direct
debits) or as a CSV export of the statement. We read the camt.054 file as it comes (every
transaction with return information: end-to-end id, reason code, booking date, charges), and a
simple CSV that anything else can be turned into, one returned debit per line, with a header line:

    end_to_end_id,reason_code,return_date,fee
    DEMO-2026-000123,AM04,2026-01-20,3.00

(`;` works as separator too; `fee` is optional: the bank's charge for the return, a decimal in
EUR). The end-to-end id is the one we put into the pain.008 file: the invoice number, or
"<number>-R2" for a debit after a returned one. The API takes the same facts one at a time.

What a return books (one transaction, in the caller's session):
- The debit is marked returned (one SepaReturn per collection item: the same return twice is
  booked once).
- What had been booked as paid by SEPA on the invoice (record_payment, method "sepa") is
  reversed, up to the debit's amount, with a ledger entry of kind `return`; the invoice is open
  again, so it counts into the balance, arrears and dunning.
- The bank's return fee is charged to the customer (ledger entry `return_fee` on the invoice)
  only when the tenant allows it: WIDGET_SEPA_CHARGE_RETURN_FEES_<TENANT>=1 (off by default;
  in Germany such a fee is damages, not a supply, so no VAT). Otherwise it is only recorded.
- Reason codes that say the mandate cannot be used (REVOKING) revoke it: the customer must give
  a new payment method and the next export leaves their invoices out.
- Whether the next `sepa export` debits the invoice again (collect_again): after AM04
  (insufficient funds) and MS03 (no reason given) with the same mandate, and after a revoking
  reason once the customer gave a new mandate; at most MAX_ATTEMPTS debits per invoice. After
  any other reason (technical, disputed amount, duplicate...) the invoice stays open for dunning
  and the merchant decides.
- An audit event and an outbox event `invoice.payment_returned`, and `payment_method.revoked`
  when the mandate was revoked (the merchant's webhooks).
"""
import csv
import io
import os
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..billing.ledger import charge, paid_parts, refresh_status, take_back
from ..billing.money import to_minor
from ..storage.models import AuditEvent, Invoice, OutboxEvent, PaymentMethod, SepaCollection, SepaCollectionItem, SepaReturn

CHARGE_FEES_VARIABLE = "WIDGET_SEPA_CHARGE_RETURN_FEES_{}"
MAX_ATTEMPTS = 2  # an invoice is debited at most twice; after a second return the merchant decides

# ISO 20022 / EPC reason codes of SDD R-transactions, in words.
REASONS = {
    "AC01": "account identifier incorrect", "AC04": "account closed", "AC06": "account blocked",
    "AC13": "debtor account is a consumer account", "AG01": "direct debits forbidden on this account",
    "AG02": "invalid bank operation code", "AM04": "insufficient funds", "AM05": "duplicate collection",
    "BE05": "creditor unknown to the bank", "CNOR": "creditor bank not registered", "DNOR": "debtor bank not registered",
    "FF01": "invalid file format", "MD01": "no mandate (or unauthorised debit)", "MD02": "mandate data missing or wrong",
    "MD06": "refund requested by the customer (disputed)", "MD07": "customer deceased", "MS02": "refused by the customer",
    "MS03": "reason not given", "RC01": "bank identifier incorrect", "RR01": "debtor account or identification missing",
    "RR02": "debtor name or address missing", "RR03": "creditor name or address missing", "RR04": "regulatory reason",
    "SL01": "specific service offered by the debtor bank",
}
# The mandate cannot be used again: the customer must give a new payment method.
REVOKING = frozenset({"AC01", "AC04", "AC06", "AC13", "AG01", "DNOR", "MD01", "MD02", "MD06", "MD07", "MS02", "RR01", "RR02"})
# The same mandate may be debited again for the invoice (a new debit, not a re-presentation of the old one).
COLLECT_AGAIN = frozenset({"AM04", "MS03"})
REASON_CODE = re.compile(r"^[A-Z0-9]{4}$")


class ReturnError(ValueError):
    """A returned debit that cannot be booked; `field` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ReturnNotice:
    """One returned debit as the bank reports it."""

    reason_code: str
    return_date: date
    end_to_end_id: str | None = None
    mandate_reference: str | None = None  # with invoice_number, instead of end_to_end_id
    invoice_number: str | None = None
    fee_minor: int = 0


@dataclass(frozen=True)
class Booked:
    sepa_return: SepaReturn
    created: bool  # False: this return was booked before


def charges_fees(tenant_slug: str, environ=None) -> bool:
    """Whether the tenant passes the bank's return fees on to its customers (off unless set to 1/true/yes)."""
    environ = os.environ if environ is None else environ
    value = environ.get(CHARGE_FEES_VARIABLE.format(tenant_slug.upper().replace("-", "_")), "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def describe(code: str) -> str:
    return REASONS.get(code, "reason code not known to us")


def find_item(session: Session, tenant_slug: str, notice: ReturnNotice) -> SepaCollectionItem | None:
    """The debit the notice is about: by end-to-end id, or by mandate reference and invoice number (the latest debit)."""
    stmt = (select(SepaCollectionItem).join(SepaCollection, SepaCollection.id == SepaCollectionItem.collection_id)
            .where(SepaCollection.tenant == tenant_slug))
    if notice.end_to_end_id:
        stmt = stmt.where(SepaCollectionItem.end_to_end_id == notice.end_to_end_id)
    else:
        stmt = (stmt.join(Invoice, Invoice.id == SepaCollectionItem.invoice_id)
                .where(SepaCollectionItem.mandate_reference == notice.mandate_reference, Invoice.number == notice.invoice_number))
    return session.scalars(stmt.order_by(SepaCollectionItem.attempt.desc())).first()


def check(notice: ReturnNotice) -> None:
    if not REASON_CODE.match(notice.reason_code or ""):
        raise ReturnError("The reason code must be four capital letters or digits, e.g. AM04.", field="reason_code")
    if not notice.end_to_end_id and not (notice.mandate_reference and notice.invoice_number):
        raise ReturnError("Give the end-to-end id of the debit, or the mandate reference and the invoice.", field="end_to_end_id")
    if notice.fee_minor < 0:
        raise ReturnError("The fee cannot be negative.", field="fee")


def _checked(notice: ReturnNotice, where: str) -> ReturnNotice:
    """`check` for one line of a bank file: its problem names the line."""
    try:
        check(notice)
    except ReturnError as exc:
        raise ReturnError(f"{where}: {exc}") from None
    return notice


def book_return(session: Session, tenant_slug: str, notice: ReturnNotice, *, charge_fee: bool | None = None,
                source: str = "api", actor: str = "merchant") -> Booked:
    """Book one returned debit (see the module docstring); the caller commits. ReturnError if it cannot be."""
    check(notice)
    item = find_item(session, tenant_slug, notice)
    if item is None:
        what = notice.end_to_end_id or f"{notice.invoice_number} under mandate {notice.mandate_reference}"
        raise ReturnError(f"No SEPA direct debit {what} was exported for this tenant.", field="end_to_end_id")
    existing = session.scalar(select(SepaReturn).where(SepaReturn.collection_item_id == item.id))
    if existing is not None:
        return Booked(existing, False)
    invoice = session.get(Invoice, item.invoice_id)
    method = session.get(PaymentMethod, item.payment_method_id)
    if notice.return_date < item.collection_date:
        raise ReturnError(f"The return date {notice.return_date.isoformat()} is before the debit's collection date "
                          f"{item.collection_date.isoformat()}.", field="return_date")
    charge_fee = charges_fees(tenant_slug) if charge_fee is None else charge_fee
    code = notice.reason_code
    revokes = code in REVOKING
    debits = session.scalar(select(func.count()).select_from(SepaCollectionItem).where(SepaCollectionItem.invoice_id == invoice.id))
    collect_again = (code in COLLECT_AGAIN or revokes) and debits < MAX_ATTEMPTS
    row = SepaReturn(tenant=tenant_slug, collection_item_id=item.id, invoice_id=invoice.id, customer_id=invoice.customer_id,
                     payment_method_id=method.id, end_to_end_id=item.end_to_end_id, reason_code=code,
                     return_date=notice.return_date, amount_minor=item.amount_minor, reversed_minor=0,
                     fee_minor=notice.fee_minor, fee_charged=bool(charge_fee and notice.fee_minor), mandate_revoked=False,
                     collect_again=collect_again, source=source)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # the same return, booked at this moment by another request: its transaction wins
        session.rollback()
        raise ReturnError("This return was being booked by another request at the same time; nothing was booked here, "
                          "send it again (it is then answered as booked before).", field="end_to_end_id") from None

    # Reverse what SEPA paid on the invoice, newest payment first, up to the debit's amount.
    left = item.amount_minor
    for part in paid_parts(session, invoice):
        if left == 0:
            break
        if part.payment.method != "sepa" or part.left_minor <= 0:
            continue
        take = min(left, part.left_minor)
        take_back(session, invoice=invoice, payment=part.payment, amount_minor=take, kind="return", booked_on=notice.return_date)
        left -= take
        row.reversed_minor += take
    if row.fee_charged:
        charge(session, invoice=invoice, amount_minor=notice.fee_minor, kind="return_fee", booked_on=notice.return_date)
    refresh_status(session, invoice)

    customer = invoice.customer
    if revokes and method.revoked_on is None:
        method.revoked_on, method.revoked_reason = notice.return_date, code
        row.mandate_revoked = True
        facts = {"payment_method_id": method.public_id, "kind": method.kind, "iban": method.masked_iban,
                 "mandate_reference": method.mandate_reference, "revoked_on": notice.return_date.isoformat(),
                 "reason_code": code, "reason": describe(code), "invoice_id": invoice.public_id}
        session.add(AuditEvent(tenant=tenant_slug, customer_id=customer.id, actor=actor, action="payment_method.revoked",
                               before={"payment_method_id": method.public_id, "revoked_on": None}, after=facts))
        session.add(OutboxEvent(tenant=tenant_slug, type="payment_method.revoked", payload={"customer_id": customer.public_id, **facts}))
    facts = {"return_id": row.public_id, "invoice_id": invoice.public_id, "number": invoice.number,
             "end_to_end_id": item.end_to_end_id, "mandate_reference": item.mandate_reference, "reason_code": code,
             "reason": describe(code), "return_date": notice.return_date.isoformat(), "amount_minor": item.amount_minor,
             "reversed_minor": row.reversed_minor, "fee_minor": row.fee_minor, "fee_charged": row.fee_charged,
             "currency": item.currency, "mandate_revoked": row.mandate_revoked, "collect_again": collect_again,
             "invoice_status": invoice.status}
    session.add(AuditEvent(tenant=tenant_slug, customer_id=customer.id, actor=actor, action="invoice.payment_returned",
                           before=None, after=facts))
    session.add(OutboxEvent(tenant=tenant_slug, type="invoice.payment_returned", payload={"customer_id": customer.public_id, **facts}))
    session.flush()
    return Booked(row, True)


# --- the file ---------------------------------------------------------------------------------

def _day(value: str, where: str) -> date:
    value = value.strip()
    for pattern, convert in ((r"^\d{4}-\d{2}-\d{2}$", date.fromisoformat),
                             (r"^\d{2}\.\d{2}\.\d{4}$", lambda v: date(int(v[6:]), int(v[3:5]), int(v[:2])))):
        if re.match(pattern, value):
            try:
                return convert(value)
            except ValueError:
                break
    raise ReturnError(f"{where}: '{value}' is not a day like 2026-01-20 (or 20.01.2026)")


def _fee(value: str, where: str) -> int:
    value = (value or "").strip().replace(",", ".")
    if not value:
        return 0
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ReturnError(f"{where}: the fee '{value}' is not an amount like 3.00") from None
    if amount < 0 or amount.as_tuple().exponent < -2:
        raise ReturnError(f"{where}: the fee '{value}' is not an amount like 3.00")
    return to_minor(amount, "EUR")


def read_csv(text: str) -> list[ReturnNotice]:
    """Notices from a CSV with a header line naming end_to_end_id, reason_code, return_date (and fee);
    ReturnError naming the line for anything else. Every line is checked before any is booked."""
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = {(name or "").strip().lower() for name in reader.fieldnames or []}
    missing = [name for name in ("end_to_end_id", "reason_code", "return_date") if name not in header]
    if missing:
        raise ReturnError(f"line 1: the header must name end_to_end_id, reason_code and return_date (missing: {', '.join(missing)})")
    notices = []
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        where = f"line {number}"
        if not row.get("end_to_end_id"):
            raise ReturnError(f"{where}: the end_to_end_id is empty")
        notices.append(_checked(ReturnNotice(
            end_to_end_id=row["end_to_end_id"], reason_code=row.get("reason_code", "").upper(),
            return_date=_day(row.get("return_date", ""), where), fee_minor=_fee(row.get("fee", ""), where)), where))
    if not notices:
        raise ReturnError("the file lists no returned debit")
    return notices


# --- camt.054 ---------------------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(node, name: str) -> list:
    return [child for child in node if _local(child.tag) == name]


def _path(node, *names: str):
    for name in names:
        found = _children(node, name) if node is not None else []
        node = found[0] if found else None
    return node


def _text(node, *names: str) -> str | None:
    found = _path(node, *names)
    return found.text.strip() if found is not None and found.text else None


def _fee_of(tx, where: str) -> int:
    charges = _path(tx, "Chrgs")
    if charges is None:
        return 0
    total = _path(charges, "TtlChrgsAndTaxAmt")  # camt.054.001.04 and later
    amounts = [total] if total is not None else [_path(r, "Amt") for r in _children(charges, "Rcrd")] or [_path(charges, "Amt")]
    return sum(_fee(a.text or "", where) for a in amounts if a is not None)


def read_camt054(data: bytes) -> list[ReturnNotice]:
    """Returned debits from a camt.054 debit notification (any version from .001.02 on): every
    transaction with return information (RtrInf) gives its end-to-end id, reason code, booking
    date (or value date) and charges. Other transactions in the file are ignored."""
    from xml.etree import ElementTree
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ReturnError("the camt.054 file contains a DOCTYPE; bank files never do, it was not read")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ReturnError(f"the file is not well-formed XML ({exc})") from None
    document = _path(root, "BkToCstmrDbtCdtNtfctn") if _local(root.tag) == "Document" else None
    if document is None:
        raise ReturnError("the XML file is not a camt.054 debit notification (BkToCstmrDbtCdtNtfctn)")
    notices = []
    for n, notification in enumerate(_children(document, "Ntfctn"), start=1):
        for e, entry in enumerate(_children(notification, "Ntry"), start=1):
            day = (_text(entry, "BookgDt", "Dt") or (_text(entry, "BookgDt", "DtTm") or "")[:10]
                   or _text(entry, "ValDt", "Dt") or (_text(entry, "ValDt", "DtTm") or "")[:10])
            for details in _children(entry, "NtryDtls"):
                for t, tx in enumerate(_children(details, "TxDtls"), start=1):
                    code = _text(tx, "RtrInf", "Rsn", "Cd")
                    if code is None:
                        continue
                    where = f"notification {n}, entry {e}, transaction {t}"
                    e2e = _text(tx, "Refs", "EndToEndId")
                    if not e2e or e2e == "NOTPROVIDED":
                        raise ReturnError(f"{where}: the returned debit has no end-to-end id")
                    notices.append(_checked(ReturnNotice(end_to_end_id=e2e, reason_code=code.upper(),
                                                         return_date=_day(day or "", where), fee_minor=_fee_of(tx, where)),
                                            where))
    if not notices:
        raise ReturnError("the camt.054 file lists no returned debit (no transaction with RtrInf)")
    return notices


def read_file(data: bytes) -> tuple[str, list[ReturnNotice]]:
    """(source, notices) from a camt.054 XML file or a CSV file, told apart by their content."""
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "camt.054", read_camt054(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReturnError("the file is neither camt.054 XML nor a UTF-8 CSV file") from None
    return "csv", read_csv(text)
