"""The billing run over real contracts: periods, numbers, ledger, idempotency."""
from datetime import date

import time_machine
from sqlalchemy import func, select

from widget_server.billing.run import bill_due
from widget_server.storage.models import Contract, Invoice, LedgerEntry, OutboxEvent

from tests.billing.test_tenant_days import bills_in, utc
from tests.conftest import SIGNUP_FIELDS

def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_monthly_contract_is_billed_per_calendar_period(session, sign_up, tenants):
    contract = sign_up("pro", on=date(2026, 1, 31))
    result = bill_due(session, tenants, date(2026, 3, 31))
    assert (result.contracts, result.invoices) == (1, 3)
    invoices = session.scalars(select(Invoice).order_by(Invoice.id)).all()
    assert [(i.period_start, i.period_end) for i in invoices] == [
        (date(2026, 1, 31), date(2026, 2, 28)), (date(2026, 2, 28), date(2026, 3, 31)), (date(2026, 3, 31), date(2026, 4, 30)),
    ]
    assert [i.number for i in invoices] == ["DEMO-2026-000001", "DEMO-2026-000002", "DEMO-2026-000003"]
    first = invoices[0]
    # 19.90 gross at 19 %: 16.72 net + 3.18 VAT
    assert (first.net_minor, first.tax_minor, first.gross_minor) == (1672, 318, 1990)
    assert first.due_date == date(2026, 2, 14) and first.payment_reference == first.number
    contract = session.get(Contract, contract.id)
    assert contract.next_billing_date == date(2026, 4, 30) and contract.periods_billed == 3


def test_trial_is_billed_when_it_ends(session, sign_up, tenants):
    contract = sign_up("basic", on=date(2026, 5, 1))
    assert bill_due(session, tenants, date(2026, 5, 14)).invoices == 0
    assert bill_due(session, tenants, date(2026, 5, 15)).invoices == 1
    contract = session.get(Contract, contract.id)
    assert contract.status == "active"
    assert (contract.current_period_start, contract.current_period_end) == (date(2026, 5, 15), date(2026, 6, 15))


def test_running_twice_bills_nothing_twice(session, sign_up, tenants):
    sign_up("pro", on=date(2026, 1, 1))
    first = bill_due(session, tenants, date(2026, 6, 30))
    second = bill_due(session, tenants, date(2026, 6, 30))
    assert first.invoices == 6 and second.invoices == 0
    assert count(session, Invoice) == 6
    assert count(session, LedgerEntry) == 6
    assert session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "invoice.created")) == 6


def test_numbers_are_per_tenant_and_year(session, sign_up, tenants):
    sign_up("pro", on=date(2026, 12, 1))
    sign_up("mellan", on=date(2026, 12, 1), tenant="fjord")
    bill_due(session, tenants, date(2027, 1, 1))
    numbers = sorted(session.scalars(select(Invoice.number)))
    assert numbers == ["DEMO-2026-000001", "DEMO-2027-000001", "FJORD-2026-000001", "FJORD-2027-000001"]


def test_reverse_charge_for_eu_business_from_another_member_state(session, sign_up, tenants):
    sign_up("pro", on=date(2026, 1, 1), fields={**SIGNUP_FIELDS, "vat_id": "ATU13585627"})
    bill_due(session, tenants, date(2026, 1, 1))
    invoice = session.scalar(select(Invoice))
    assert invoice.reverse_charge and invoice.tax_minor == 0
    assert invoice.gross_minor == invoice.net_minor == 1672


def test_domestic_business_pays_vat(session, sign_up, tenants):
    sign_up("pro", on=date(2026, 1, 1), fields={**SIGNUP_FIELDS, "vat_id": "DE136695976"})
    bill_due(session, tenants, date(2026, 1, 1))
    invoice = session.scalar(select(Invoice))
    assert not invoice.reverse_charge and invoice.gross_minor == 1990


def test_broken_tenant_is_skipped_not_fatal(session, sign_up, tenants):
    sign_up("pro", on=date(2026, 1, 1))
    result = bill_due(session, lambda slug: None, date(2026, 2, 1))
    assert result.skipped == 1 and count(session, Invoice) == 0
    assert bill_due(session, tenants, date(2026, 2, 1)).invoices == 2


def invoiced(session) -> list[int]:
    return sorted(session.scalars(select(Invoice.contract_id)))


def test_without_a_date_each_tenant_is_billed_up_to_its_own_today(session, sign_up, tenants, themes_dir):
    bills_in(themes_dir, "demo", "Pacific/Auckland")
    bills_in(themes_dir, "fjord", "America/Los_Angeles")
    auckland_today = sign_up("pro", on=date(2026, 3, 2))
    auckland_tomorrow = sign_up("pro", on=date(2026, 3, 3))
    los_angeles_today = sign_up("mellan", on=date(2026, 3, 1), tenant="fjord")
    los_angeles_tomorrow = sign_up("mellan", on=date(2026, 3, 2), tenant="fjord")
    # The server's (UTC) date is 1 March; in Auckland it is 2 March 01:00, in Los Angeles 1 March 04:00.
    with time_machine.travel(utc(2026, 3, 1, 12, 0), tick=False):
        result = bill_due(session, tenants)
        again = bill_due(session, tenants)
    assert invoiced(session) == [auckland_today.id, los_angeles_today.id]
    assert (result.contracts, result.invoices, result.skipped) == (2, 2, 0)
    assert result.up_to == {"demo": date(2026, 3, 2), "fjord": date(2026, 3, 1)}
    assert (again.contracts, again.invoices) == (0, 0)
    issued = session.scalar(select(Invoice.issue_date).where(Invoice.contract_id == auckland_today.id))
    assert issued == date(2026, 3, 2)

    with time_machine.travel(utc(2026, 3, 2, 12, 0), tick=False):  # a day later, everywhere
        assert bill_due(session, tenants).invoices == 2
    assert invoiced(session) == sorted([auckland_today.id, auckland_tomorrow.id, los_angeles_today.id,
                                        los_angeles_tomorrow.id])


def test_a_tenant_behind_the_server_is_not_billed_a_day_early(session, sign_up, tenants, themes_dir):
    bills_in(themes_dir, "fjord", "America/Los_Angeles")
    berlin = sign_up("pro", on=date(2026, 3, 1))
    los_angeles = sign_up("mellan", on=date(2026, 3, 1), tenant="fjord")
    with time_machine.travel(utc(2026, 3, 1, 5, 0), tick=False):  # Berlin: 1 March 06:00; Los Angeles: 28 Feb 21:00
        assert bill_due(session, tenants).up_to == {"demo": date(2026, 3, 1), "fjord": date(2026, 2, 28)}
    assert invoiced(session) == [berlin.id]
    with time_machine.travel(utc(2026, 3, 1, 8, 0), tick=False):  # midnight in Los Angeles
        assert bill_due(session, tenants).invoices == 1
    assert invoiced(session) == [berlin.id, los_angeles.id]


def test_a_given_date_bills_every_tenant_up_to_that_day(session, sign_up, tenants, themes_dir):
    bills_in(themes_dir, "demo", "Pacific/Auckland")
    sign_up("pro", on=date(2026, 3, 2))
    los_angeles = sign_up("mellan", on=date(2026, 3, 1), tenant="fjord")
    with time_machine.travel(utc(2026, 3, 1, 12, 0), tick=False):  # 2 March in Auckland
        result = bill_due(session, tenants, date(2026, 3, 1))
    assert invoiced(session) == [los_angeles.id]
    assert result.up_to == {"fjord": date(2026, 3, 1)}  # demo had nothing due by then


def test_without_a_date_contracts_of_unavailable_tenants_are_skipped(session, sign_up, tenants, themes_dir):
    bills_in(themes_dir, "demo", "Pacific/Auckland")
    demo = sign_up("pro", on=date(2026, 3, 2))
    sign_up("mellan", on=date(2026, 3, 1), tenant="fjord")
    sign_up("mellan", on=date(2026, 3, 2), tenant="fjord")
    only_demo = lambda slug: tenants(slug) if slug == "demo" else None  # noqa: E731
    with time_machine.travel(utc(2026, 3, 1, 12, 0), tick=False):
        result = bill_due(session, only_demo)
    # a tenant that cannot be read has no time zone: skipped is what is due by the latest today anywhere
    assert (result.contracts, result.invoices, result.skipped) == (1, 1, 2)
    assert invoiced(session) == [demo.id]


def test_billing_run_command_is_idempotent(app, sign_up, session):
    sign_up("pro", on=date(2026, 1, 1))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["billing", "run", "--date", "2026-02-01"])
    assert first.exit_code == 0, first.output
    assert "billed 1 contract(s) up to 2026-02-01: 2 invoice(s)" in first.output
    second = runner.invoke(args=["billing", "run", "--date", "2026-02-01"])
    assert "billed 0 contract(s) up to 2026-02-01: 0 invoice(s)" in second.output
    assert runner.invoke(args=["billing", "run", "--date", "2026-02-31"]).exit_code == 2
