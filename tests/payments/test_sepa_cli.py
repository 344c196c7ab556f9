"""`widget-server sepa export`: files, summary and clear refusals."""
import stat
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from widget_server.storage.models import SepaCollection, SepaCollectionItem

from .conftest import ANNA_IBAN, BERT_IBAN, read_pain008, sepa_choice, validate


@pytest.fixture
def today(tenants):
    yield tenants("demo").today()


@pytest.fixture
def due(customer, bill, today):
    """One SEPA customer with one invoice that is overdue today (issued 20 days ago, due 6 days ago)."""
    contract = customer(on=today - timedelta(days=20), payment=sepa_choice())
    bill(today)
    yield contract


@pytest.fixture
def run(app):
    def invoke(*args):
        return app.test_cli_runner().invoke(args=["sepa", "export", *args])
    yield invoke


def items(session):
    return session.scalar(select(func.count()).select_from(SepaCollectionItem))


def test_export_writes_the_file_and_prints_a_summary(run, due, today, tmp_path, session):
    target = tmp_path / "out" / "demo.xml"
    result = run("--date", today.isoformat(), "--tenant", "demo", "--output", str(target))
    assert result.exit_code == 0, result.output + result.stderr
    xml = target.read_bytes()
    validate(xml)
    doc = read_pain008(xml)
    message_id = session.scalar(select(SepaCollection.message_id))
    assert doc["message_id"] == message_id
    assert [(tx["debtor_iban"], tx["amount"], tx["sequence_type"]) for tx in doc["transactions"]] == [(ANNA_IBAN, "19.90", "FRST")]
    assert f"demo: exported 1 direct debit(s), 19.90 EUR, message {message_id} (pain.008.001.08)" in result.output
    assert f"FRST on {doc['transactions'][0]['collection_date']}: 1 debit(s), 19.90 EUR" in result.output
    assert f"wrote {target}" in result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert list(target.parent.iterdir()) == [target]  # no temporary file left behind

    again = run("--date", today.isoformat(), "--tenant", "demo")
    assert again.exit_code == 0 and f"demo: nothing to collect up to {today.isoformat()}" in again.output
    assert items(session) == 1


def test_default_file_is_under_instance_sepa(app, run, due, today, tmp_path, session):
    app.instance_path = str(tmp_path / "instance")
    result = run("--date", today.isoformat(), "--tenant", "demo")
    assert result.exit_code == 0, result.output + result.stderr
    message_id = session.scalar(select(SepaCollection.message_id))
    target = tmp_path / "instance" / "sepa" / f"demo-{message_id}.xml"
    assert target.is_file() and read_pain008(target.read_bytes())["message_id"] == message_id


def test_without_tenant_every_sepa_tenant_is_exported(app, run, customer, bill, today, gym, tmp_path, session):
    app.instance_path = str(tmp_path / "instance")
    customer(on=today - timedelta(days=20), payment=sepa_choice())
    customer(on=today - timedelta(days=20), tenant=gym, payment=sepa_choice(iban=BERT_IBAN))
    customer(on=today - timedelta(days=20), tenant="fjord", plan_id="mellan", payment=sepa_choice())
    bill(today)
    result = run("--date", today.isoformat())
    assert result.exit_code == 0, result.output + result.stderr
    assert "demo: exported 1 direct debit(s)" in result.output and "gym: exported 1 direct debit(s)" in result.output
    assert "fjord" not in result.output + result.stderr  # offers no SEPA: not an error
    files = sorted(p.name.split("-")[0] for p in (tmp_path / "instance" / "sepa").iterdir())
    assert files == ["demo", "gym"]


def test_unknown_tenant(run, today):
    result = run("--date", today.isoformat(), "--tenant", "nobody")
    assert result.exit_code == 1 and "unknown tenant 'nobody'" in result.stderr


def test_tenant_without_sepa(run, today, session):
    result = run("--date", today.isoformat(), "--tenant", "fjord")
    assert result.exit_code == 1
    assert "tenant 'fjord' cannot collect SEPA direct debits: payments.sepa.creditor_id is missing" in result.stderr
    assert items(session) == 0


@pytest.mark.parametrize("bad", ["2026-13-01", "tomorrow", "2026-1-5", "01.12.2026", ""])
def test_bad_dates_are_refused(run, due, bad, session):
    result = run("--date", bad, "--tenant", "demo")
    assert result.exit_code == 2 and f"must be a day like 2026-11-30, not '{bad}'" in result.stderr
    assert items(session) == 0


def test_missing_date_is_refused(run):
    result = run("--tenant", "demo")
    assert result.exit_code == 2 and "--date" in result.stderr


def test_a_day_too_far_ahead_is_refused(run, due, today, session):
    result = run("--date", (today + timedelta(days=15)).isoformat(), "--tenant", "demo")
    assert result.exit_code == 1 and "at most 14 days ahead" in result.stderr
    assert items(session) == 0


def test_output_needs_a_tenant_and_a_new_file(run, due, today, tmp_path, session):
    no_tenant = run("--date", today.isoformat(), "--output", str(tmp_path / "x.xml"))
    assert no_tenant.exit_code == 2 and "--output needs --tenant" in no_tenant.stderr
    existing = tmp_path / "exists.xml"
    existing.write_text("keep me")
    result = run("--date", today.isoformat(), "--tenant", "demo", "--output", str(existing))
    assert result.exit_code == 1 and "already exists" in result.stderr
    assert existing.read_text() == "keep me" and items(session) == 0


def test_no_full_iban_in_the_output(run, customer, bill, today, tmp_path):
    customer(on=today - timedelta(days=20), payment=sepa_choice(iban="DE00370400440532013000"))
    customer(on=today - timedelta(days=20), payment=sepa_choice())
    bill(today)
    result = run("--date", today.isoformat(), "--tenant", "demo", "--output", str(tmp_path / "x.xml"))
    assert result.exit_code == 0, result.output + result.stderr
    assert "is not valid" in result.stderr
    for iban in ("DE00370400440532013000", ANNA_IBAN):
        assert iban not in result.output + result.stderr
