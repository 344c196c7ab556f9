"""Returned SEPA direct debits: the invoice is open again, mandates revoked where the reason says
so, the same return booked once, and the next export debits again only where it may."""
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from widget_server.billing.dunning import remind_overdue
from widget_server.billing.ledger import balance, record_payment
from widget_server.billing.refunds import refund_invoice
from widget_server.cli import main as widget_server_cli
from widget_server.payments.sepa import export
from widget_server.payments.sepa_returns import ReturnError, ReturnNotice, book_return, charges_fees, read_csv, read_file
from widget_server.storage.models import AuditEvent, DunningNotice, Invoice, LedgerEntry, OutboxEvent, PaymentMethod, SepaReturn

from tests.billing.ledger_steps import bill_later, empty_tables, refund_newest

from .conftest import ANNA_IBAN, BERT_IBAN, read_pain008, sepa_choice

JAN_12 = date(2026, 1, 12)
RETURNED_ON = date(2026, 1, 20)


@pytest.fixture
def collected(session, tenants, customer, bill):
    """A SEPA customer whose first invoice (19.90, due 15 Jan) was debited on 15 Jan and booked as paid."""
    contract = customer(payment=sepa_choice())
    bill(date(2026, 1, 1))
    export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    invoice = session.scalar(select(Invoice).where(Invoice.customer_id == contract.customer_id))
    record_payment(session, customer=contract.customer, amount_minor=1990, currency="EUR", received_on=date(2026, 1, 15),
                   method="sepa", invoice=invoice, external_id="bank-1")
    session.commit()
    yield invoice


def returned(session, invoice, code, **extra):
    result = book_return(session, "demo", ReturnNotice(end_to_end_id=invoice.number, reason_code=code, return_date=RETURNED_ON,
                                                       **extra))
    session.commit()
    return result


def test_insufficient_funds_reopens_the_invoice_and_it_is_debited_again(session, tenants, collected):
    assert collected.status == "paid"
    booked = returned(session, collected, "AM04", fee_minor=300)
    row = booked.sepa_return
    assert booked.created and (row.reversed_minor, row.collect_again, row.mandate_revoked, row.fee_charged) == (1990, True, False, False)
    assert collected.status == "open"
    owed = balance(session, collected.customer, today=date(2026, 1, 21))
    assert (owed.balance_minor, owed.overdue_minor) == (1990, 1990)  # the fee is recorded, not charged: off by default
    entries = session.execute(select(LedgerEntry.kind, LedgerEntry.amount_minor).where(LedgerEntry.invoice_id == collected.id)
                              .order_by(LedgerEntry.id)).all()
    assert entries == [("invoice", 1990), ("payment", -1990), ("return", 1990)]
    event = session.scalar(select(OutboxEvent).where(OutboxEvent.type == "invoice.payment_returned"))
    assert (event.payload["number"], event.payload["reason_code"], event.payload["collect_again"]) == (collected.number, "AM04", True)
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "invoice.payment_returned")).actor == "merchant"

    again = export(session, tenants("demo"), up_to=date(2026, 1, 22), today=date(2026, 1, 21))
    session.commit()
    [tx] = read_pain008(again.xml)["transactions"]
    # the only debit of this mandate came back: FRST again, with an end-to-end id of its own
    assert (tx["end_to_end_id"], tx["amount"], tx["sequence_type"]) == (f"{collected.number}-R2", "19.90", "FRST")
    # a second return of the second debit: at most two debits per invoice
    second = book_return(session, "demo", ReturnNotice(end_to_end_id=f"{collected.number}-R2", reason_code="AM04",
                                                       return_date=date(2026, 1, 28)))
    session.commit()
    assert second.created and not second.sepa_return.collect_again and second.sepa_return.reversed_minor == 0
    assert export(session, tenants("demo"), up_to=date(2026, 2, 10), today=date(2026, 1, 29)).debits == []


def test_the_same_return_twice_is_booked_once(session, collected):
    first = returned(session, collected, "AM04")
    second = returned(session, collected, "AM04")
    assert not second.created and second.sepa_return.id == first.sepa_return.id
    assert session.scalar(select(func.count()).select_from(SepaReturn)) == 1
    assert session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "return")) == 1


@pytest.mark.parametrize("code", ["MD06", "MD01", "AC04"])
def test_reasons_that_revoke_the_mandate(session, tenants, customer, bill, collected, code):
    booked = returned(session, collected, code)
    method = collected.customer.default_payment_method
    assert booked.sepa_return.mandate_revoked and (method.revoked_on, method.revoked_reason) == (RETURNED_ON, code)
    revoked = session.scalar(select(OutboxEvent).where(OutboxEvent.type == "payment_method.revoked"))
    assert revoked.payload["payment_method_id"] == method.public_id and ANNA_IBAN not in str(revoked.payload)
    bill(date(2026, 2, 1))
    result = export(session, tenants("demo"), up_to=date(2026, 2, 15), today=date(2026, 2, 10))
    assert result.debits == []
    assert all("revoked" in reason and code in reason for reason in result.skipped.values()) and len(result.skipped) == 2


def test_other_reasons_leave_the_invoice_to_dunning(session, tenants, collected):
    booked = returned(session, collected, "AM05")
    assert not booked.sepa_return.collect_again and collected.status == "open"
    assert export(session, tenants("demo"), up_to=date(2026, 1, 22), today=date(2026, 1, 21)).debits == []


def test_a_return_of_a_debit_not_booked_as_paid_reverses_nothing(session, tenants, customer, bill):
    contract = customer(payment=sepa_choice())
    bill(date(2026, 1, 1))
    export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    session.commit()
    invoice = session.scalar(select(Invoice).where(Invoice.customer_id == contract.customer_id))
    booked = returned(session, invoice, "AM04")
    assert booked.sepa_return.reversed_minor == 0 and balance(session, contract.customer, RETURNED_ON).balance_minor == 1990


def test_the_fee_is_charged_only_when_the_tenant_allows_it(session, collected, monkeypatch):
    assert not charges_fees("demo")
    monkeypatch.setenv("WIDGET_SEPA_CHARGE_RETURN_FEES_DEMO", "1")
    assert charges_fees("demo")
    booked = returned(session, collected, "AM04", fee_minor=350)
    assert booked.sepa_return.fee_charged
    assert balance(session, collected.customer, RETURNED_ON).balance_minor == 1990 + 350


def test_a_refunded_payment_is_not_reversed_again(session, tenants, collected):
    refund_invoice(session, tenants("demo"), collected, today=date(2026, 1, 16))
    session.commit()
    booked = returned(session, collected, "MD06")
    assert booked.sepa_return.reversed_minor == 0
    assert balance(session, collected.customer, RETURNED_ON).balance_minor == 0


@pytest.mark.parametrize("notice,field", [
    (ReturnNotice(end_to_end_id="DEMO-2026-999999", reason_code="AM04", return_date=RETURNED_ON), "end_to_end_id"),
    (ReturnNotice(end_to_end_id="DEMO-2026-000001", reason_code="am4", return_date=RETURNED_ON), "reason_code"),
    (ReturnNotice(end_to_end_id="DEMO-2026-000001", reason_code="AM04", return_date=date(2026, 1, 2)), "return_date"),
    (ReturnNotice(reason_code="AM04", return_date=RETURNED_ON), "end_to_end_id"),
])
def test_bad_notices_are_refused_and_book_nothing(session, collected, notice, field):
    with pytest.raises(ReturnError) as info:
        book_return(session, "demo", notice)
    session.rollback()
    assert info.value.field == field
    assert session.scalar(select(func.count()).select_from(SepaReturn)) == 0
    assert collected.status == "paid"


def test_a_debit_is_found_by_mandate_and_invoice_too(session, collected):
    mandate = collected.customer.default_payment_method.mandate_reference
    booked = book_return(session, "demo", ReturnNotice(mandate_reference=mandate, invoice_number=collected.number,
                                                       reason_code="AM04", return_date=RETURNED_ON))
    assert booked.created and booked.sepa_return.end_to_end_id == collected.number


def test_csv_lines_are_checked_before_anything_is_booked():
    assert read_csv("\ufeffend_to_end_id;reason_code;return_date;fee\nDEMO-2026-000001;am04;20.01.2026;3,50\n") == [
        ReturnNotice(end_to_end_id="DEMO-2026-000001", reason_code="AM04", return_date=RETURNED_ON, fee_minor=350)]
    for text, message in [("a,b,c\n", "header must name"), ("end_to_end_id,reason_code,return_date\n", "lists no returned debit"),
                          ("end_to_end_id,reason_code,return_date\nX,AM04,2026-13-01\n", "line 2: '2026-13-01' is not a day"),
                          ("end_to_end_id,reason_code,return_date,fee\nX,AM04,2026-01-20,-1\n", "line 2: the fee"),
                          ("end_to_end_id,reason_code,return_date\nX,A,2026-01-20\n", "line 2: The reason code")]:
        with pytest.raises(ReturnError, match=message):
            read_csv(text)


def test_the_command_books_a_file_once_and_refuses_unknown_ids(app, session, collected, tmp_path):
    runner = app.test_cli_runner()
    bad = tmp_path / "bad.csv"
    bad.write_text(f"end_to_end_id,reason_code,return_date\n{collected.number},AM04,2026-01-20\nDEMO-2026-999999,AM04,2026-01-20\n")
    result = runner.invoke(widget_server_cli, ["sepa", "return", "--tenant", "demo", "--file", str(bad)])
    assert result.exit_code == 1 and "DEMO-2026-999999" in result.output and "Nothing was booked" in result.output
    assert session.scalar(select(func.count()).select_from(SepaReturn)) == 0
    result = runner.invoke(widget_server_cli, ["sepa", "return", "--tenant", "demo", "--file", str(bad), "--skip-unknown"])
    assert result.exit_code == 0, result.output
    assert f"returned {collected.number}, 19.90 EUR: reason AM04 (insufficient funds); invoice {collected.number} is open" in result.output
    assert "1 return(s) booked, 0 already booked, 1 skipped" in result.output
    again = runner.invoke(widget_server_cli, ["sepa", "return", "--tenant", "demo", "--file", str(bad), "--skip-unknown"])
    assert "0 return(s) booked, 1 already booked" in again.output
    assert session.scalar(select(func.count()).select_from(SepaReturn)) == 1
    broken = tmp_path / "broken.csv"
    broken.write_text("nothing useful\n")
    result = runner.invoke(widget_server_cli, ["sepa", "return", "--tenant", "demo", "--file", str(broken)])
    assert result.exit_code == 1 and "header must name" in result.output and "nothing was booked" in result.output


def camt054(*transactions: tuple[str, str, str | None], version="08", booked="2026-01-20") -> bytes:
    """A camt.054 debit notification as banks send it, one entry per (end-to-end id, reason code, fee)."""
    def charges(fee):
        if fee is None:
            return ""
        if version == "02":
            return f'<Chrgs><Amt Ccy="EUR">{fee}</Amt></Chrgs>'
        return f'<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">{fee}</TtlChrgsAndTaxAmt><Rcrd><Amt Ccy="EUR">{fee}</Amt></Rcrd></Chrgs>'
    entries = "".join(f"""
      <Ntry><Amt Ccy="EUR">19.90</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>{booked}</Dt></BookgDt><ValDt><Dt>{booked}</Dt></ValDt>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>{e2e}</EndToEndId><MndtId>MANDATE</MndtId></Refs>
          <Amt Ccy="EUR">19.90</Amt><CdtDbtInd>DBIT</CdtDbtInd>{charges(fee)}
          <RtrInf><Rsn><Cd>{code}</Cd></Rsn><AddtlInf>SEPA RUECKLASTSCHRIFT</AddtlInf></RtrInf>
        </TxDtls></NtryDtls>
      </Ntry>""" for e2e, code, fee in transactions)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.{version}">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr><MsgId>CAMT054-1</MsgId><CreDtTm>2026-01-20T08:00:00</CreDtTm></GrpHdr>
    <Ntfctn><Id>N1</Id><CreDtTm>2026-01-20T08:00:00</CreDtTm>
      <Acct><Id><IBAN>DE02120300000000202051</IBAN></Id></Acct>{entries}
      <Ntry><Amt Ccy="EUR">50.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{booked}</Dt></BookgDt>
        <NtryDtls><TxDtls><Refs><EndToEndId>SOMETHING-ELSE</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>""".encode()


@pytest.mark.parametrize("version", ["08", "02"])
def test_camt054_files_are_read(version):
    source, notices = read_file(camt054(("DEMO-2026-000001", "MD06", "3.00"), ("DEMO-2026-000002-R2", "AM04", None), version=version))
    assert source == "camt.054"
    assert notices == [ReturnNotice(end_to_end_id="DEMO-2026-000001", reason_code="MD06", return_date=RETURNED_ON, fee_minor=300),
                       ReturnNotice(end_to_end_id="DEMO-2026-000002-R2", reason_code="AM04", return_date=RETURNED_ON, fee_minor=0)]


@pytest.mark.parametrize("data,message", [
    (b"<Document><Other/></Document>", "not a camt.054"),
    (b"<Document", "not well-formed"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Document/>', "DOCTYPE"),
    (camt054(), "lists no returned debit"),
    (camt054(("DEMO-2026-000001", "AM04", None), booked="20.01.2026x"), "entry 1, transaction 1"),
])
def test_broken_camt054_files_are_refused(data, message):
    with pytest.raises(ReturnError, match=message):
        read_file(data)


def test_the_command_reads_camt054(app, session, collected, tmp_path):
    path = tmp_path / "camt054.xml"
    path.write_bytes(camt054((collected.number, "MD06", "3.00")))
    result = app.test_cli_runner().invoke(widget_server_cli, ["sepa", "return", "--tenant", "demo", "--file", str(path)])
    assert result.exit_code == 0, result.output
    assert "mandate revoked" in result.output and "1 return(s) booked" in result.output
    row = session.scalar(select(SepaReturn))
    assert (row.source, row.reason_code, row.fee_minor, row.fee_charged) == ("camt.054", "MD06", 300, False)


def test_after_a_revoked_mandate_a_new_one_collects_the_invoice(session, tenants, collected):
    returned(session, collected, "MD06")
    customer = collected.customer
    old = customer.default_payment_method
    old.is_default = False
    new = PaymentMethod(customer=customer, kind="sepa", is_default=True, account_holder="Anna Berg", iban=BERT_IBAN,
                        mandate_reference="NEW-MANDATE-1", mandate_signed_on=date(2026, 1, 21))
    session.add(new)
    session.commit()
    result = export(session, tenants("demo"), up_to=date(2026, 1, 23), today=date(2026, 1, 22))
    [tx] = read_pain008(result.xml)["transactions"]
    assert (tx["end_to_end_id"], tx["mandate_id"], tx["sequence_type"]) == (f"{collected.number}-R2", "NEW-MANDATE-1", "FRST")


def test_a_mandate_with_a_settled_debit_stays_recurring(session, tenants, collected, bill):
    bill(date(2026, 2, 1))  # the second invoice, due 15 Feb, debited RCUR
    export(session, tenants("demo"), up_to=date(2026, 2, 15), today=date(2026, 2, 10))
    session.commit()
    february = session.scalars(select(Invoice).where(Invoice.customer_id == collected.customer_id).order_by(Invoice.id)).all()[1]
    book_return(session, "demo", ReturnNotice(end_to_end_id=february.number, reason_code="AM04", return_date=date(2026, 2, 20)))
    session.commit()
    result = export(session, tenants("demo"), up_to=date(2026, 2, 24), today=date(2026, 2, 23))
    [tx] = read_pain008(result.xml)["transactions"]
    assert (tx["end_to_end_id"], tx["sequence_type"]) == (f"{february.number}-R2", "RCUR")


def test_a_returned_invoice_is_dunned(session, tenants, collected):
    returned(session, collected, "AM05")
    result = remind_overdue(session, lambda slug: tenants(slug), date(2026, 1, 23))  # due 15 Jan, first stage after 7 days
    assert result.reminders == 1
    assert session.scalar(select(DunningNotice.invoice_id)) == collected.id


# --- property: balance = invoices - payments + refunds + returns (+ fees charged) -------------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(st.tuples(st.just("bill"), st.integers(min_value=0, max_value=40)),
                                st.tuples(st.just("collect"), st.just(0)),
                                st.tuples(st.just("return"), st.sampled_from(["AM04", "MD06", "AM05", "MS03"])),
                                st.tuples(st.just("refund"), st.integers(min_value=1, max_value=2500))), min_size=2, max_size=12),
       fees=st.booleans())
def test_the_balance_adds_up_whatever_comes_back(session, tenants, sign_up, monkeypatch, steps, fees):
    from widget_server.storage.models import Payment, Refund, SepaCollectionItem

    empty_tables(session)
    monkeypatch.setenv("WIDGET_SEPA_CHARGE_RETURN_FEES_DEMO", "1" if fees else "0")
    contract = sign_up("pro", on=date(2026, 1, 1), payment=sepa_choice(), key="returns-property")
    today = date(2026, 1, 1)
    for kind, value in [("bill", 0), ("collect", 0), *steps]:
        if kind == "bill":
            today = bill_later(session, tenants, today, value)
        elif kind == "collect":
            result = export(session, tenants("demo"), up_to=today + timedelta(days=14), today=today)
            for debit in result.debits:  # the bank credits every debit; we book it as paid
                record_payment(session, customer=contract.customer, amount_minor=debit.amount_minor, currency="EUR",
                               received_on=debit.collection_date, method="sepa", invoice=debit.invoice,
                               external_id=debit.end_to_end_id)
        elif kind == "return":
            item = session.scalars(select(SepaCollectionItem).order_by(SepaCollectionItem.id.desc())).first()
            if item is not None:
                book_return(session, "demo", ReturnNotice(end_to_end_id=item.end_to_end_id, reason_code=value,
                                                          return_date=item.collection_date + timedelta(days=5), fee_minor=300))
        else:
            refund_newest(session, tenants, today, value)
        session.commit()
    total = lambda column: session.scalar(select(func.coalesce(func.sum(column), 0)))  # noqa: E731
    returned = session.scalar(select(func.coalesce(func.sum(SepaReturn.reversed_minor), 0)))
    fees_charged = session.scalar(select(func.coalesce(func.sum(SepaReturn.fee_minor), 0)).where(SepaReturn.fee_charged.is_(True)))
    owed = balance(session, contract.customer, today)
    assert owed.balance_minor == total(Invoice.gross_minor) - total(Payment.amount_minor) + total(Refund.amount_minor) + returned + fees_charged
    for invoice in session.scalars(select(Invoice).where(Invoice.kind == "invoice")):
        left = session.scalar(select(func.sum(LedgerEntry.amount_minor)).where(LedgerEntry.invoice_id == invoice.id))
        assert (invoice.status == "open") == (left > 0)
    assert fees or fees_charged == 0
