"""The history page: the customer's own audit trail, newest first, in the tenant's time zone and the page's
language, with who did it; never another customer's events."""
from datetime import datetime, timedelta, timezone

import pytest

from widget_server.extensions import db
from widget_server.storage.models import AuditEvent

from .signing_in import customer, signed_in  # noqa: F401

HISTORY = "/t/demo/portal/history"


def later(days: int) -> datetime:
    """After the sign-up (which happened now)."""
    return datetime.now(timezone.utc) + timedelta(days=days)


def add_event(app, customer, at, actor="customer", action="customer.updated", before=None, after=None, tenant="demo"):
    with app.app_context():
        db.session.add(AuditEvent(tenant=tenant, customer_id=customer.id, actor=actor, action=action, before=before,
                                  after=after, created_at=at))
        db.session.commit()


@pytest.mark.parametrize("lang, when", [
    ("en", "Jan 16, 2026, 12:30:00\u202fAM"), ("de", "16.01.2026, 00:30:00"),
    ("sv", "16 jan. 2026 00:30:00"), ("da", "16. jan. 2026 00.30.00"),
])
def test_times_are_in_the_tenants_zone_and_the_pages_language(app, customer, lang, when):
    anna = customer(locale=lang)
    add_event(app, anna, datetime(2026, 1, 15, 23, 30, tzinfo=timezone.utc),  # Berlin: 16 January, 00:30
              before={"city": "Berlin"}, after={"city": "Hamburg"})
    response = signed_in(app, anna).get(HISTORY)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f'lang="{lang}"' in page
    assert when in page and 'datetime="2026-01-15T23:30:00+00:00"' in page
    assert "Berlin → Hamburg" in page


def test_newest_first_with_who_did_it(app, customer):
    anna = customer()
    add_event(app, anna, later(1), actor="merchant", action="payment.received")
    add_event(app, anna, later(2), actor="system", action="invoice.reminder_sent")
    add_event(app, anna, later(3), actor="customer", action="contract.paused",
              before={"status": "active"}, after={"status": "paused"})
    page = signed_in(app, anna).get(HISTORY).get_data(as_text=True)
    rows = page.split("<tr>")[2:]  # after the header row
    assert [("Contract paused" in r, "Payment reminder sent" in r, "Payment received" in r) for r in rows[:3]] == [
        (True, False, False), (False, True, False), (False, False, True)]
    assert "<td>You</td>" in rows[0] and "<td>Automatically</td>" in rows[1] and "<td>Acme Fitness</td>" in rows[2]
    assert "Signed up" in rows[-1]  # the sign-up itself is the oldest entry
    assert "Status: active → paused" in rows[0]


def test_only_the_customers_own_events(app, customer):
    anna, bob = customer(email="anna@example.com"), customer(email="bob@example.com")
    add_event(app, bob, datetime(2026, 2, 1, 9, tzinfo=timezone.utc), before={"city": "Berlin"},
              after={"city": "Bobtown"})
    add_event(app, anna, datetime(2026, 2, 1, 9, tzinfo=timezone.utc), before={"city": "Berlin"},
              after={"city": "Annaburg"}, tenant="fjord")  # a row claiming another tenant
    anna_page = signed_in(app, anna).get(HISTORY).get_data(as_text=True)
    bob_page = signed_in(app, bob).get(HISTORY).get_data(as_text=True)
    assert "Bobtown" in bob_page and "Bobtown" not in anna_page and "Annaburg" not in anna_page
    assert anna_page.count("Signed up") == 1


def test_values_are_escaped_and_secrets_left_out(app, customer):
    anna = customer()
    add_event(app, anna, datetime(2026, 2, 1, 9, tzinfo=timezone.utc),
              before={"city": "Berlin", "iban": "DE89370400440532013000"},
              after={"city": '<script>alert("x")</script>', "iban": "DE02120300000000202051"})
    add_event(app, anna, datetime(2026, 2, 2, 9, tzinfo=timezone.utc), action="<img src=x onerror=alert(1)>")
    page = signed_in(app, anna).get(HISTORY).get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert "DE02120300000000202051" not in page and "DE89370400440532013000" not in page


def test_pages_of_fifty(app, customer):
    anna = customer()
    for day in range(1, 55):
        add_event(app, anna, later(day), action="payment.received", actor="merchant")
    browser = signed_in(app, anna)
    first = browser.get(HISTORY).get_data(as_text=True)
    assert first.count("Payment received") == 50 and "page=2" in first and "Signed up" not in first
    second = browser.get(HISTORY + "?page=2").get_data(as_text=True)
    assert second.count("Payment received") == 4 and "Signed up" in second and "page=1" in second
    assert browser.get(HISTORY + "?page=abc").status_code == 200


def test_signed_out_visitors_get_the_sign_in(client):
    response = client.get(HISTORY)
    assert response.status_code == 401 and 'href="/t/demo/login"' in response.get_data(as_text=True)
