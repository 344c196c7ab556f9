"""Merchant webhooks, delivered to a real HTTP server on 127.0.0.1."""
import logging
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from widget_server.metrics import WEBHOOK_FAILURES
from widget_server.notify import outbox, webhook_signature, webhooks
from widget_server.storage.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint

from .conftest import free_port, outbox_events


def add_endpoint(app, tenant, url):
    """`widget-server webhooks add`: returns (endpoint public id, secret from the last line)."""
    result = app.test_cli_runner().invoke(args=["webhooks", "add", tenant, url])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, "stdout holds the secret alone"
    endpoint_id = result.stderr.split()[2]
    assert endpoint_id.startswith("whe_")
    return endpoint_id, lines[-1]


def deliver(session, now=None, **options):
    options.setdefault("timeout", 5)
    options.setdefault("max_attempts", 8)
    return webhooks.deliver_due(session, now=now, **options)


def test_delivery_is_signed_with_the_endpoints_secret_and_marks_the_event_delivered(app, session, receiver, customer_contract):
    hook = receiver()
    _, secret = add_endpoint(app, "demo", hook.url)
    assert secret.startswith("whsec_") and len(secret) > 40
    contract = customer_contract()
    event = outbox_events(session, "signup.completed")[0]

    assert outbox.dispatch(session).deliveries == 1
    result = deliver(session)
    assert (result.attempted, result.delivered) == (1, 1)

    [request] = hook.requests
    assert request["path"] == "/hooks/widget"
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Widget-Event-Id"] == event.public_id
    assert webhook_signature.verify(secret, request["body"], headers["Widget-Signature"])
    assert not webhook_signature.verify("whsec_" + "x" * 43, request["body"], headers["Widget-Signature"])
    body = request["json"]
    assert body["id"] == event.public_id and body["type"] == "signup.completed"
    assert body["created_at"].endswith("Z")
    assert body["data"]["contract_id"] == contract.public_id

    session.expire_all()
    assert session.get(OutboxEvent, event.id).delivered_at is not None
    [attempt] = session.scalars(select(WebhookAttempt)).all()
    assert (attempt.attempt, attempt.status_code, attempt.error) == (1, 200, None)
    assert attempt.duration_ms >= 0
    # Delivered is delivered: nothing is sent again.
    assert outbox.dispatch(session).events == 0
    assert deliver(session, now=datetime.now(timezone.utc) + timedelta(days=3)).attempted == 0
    assert len(hook.requests) == 1


def test_a_failing_receiver_gets_retries_with_the_same_event_id_until_it_succeeds(app, session, receiver, customer_contract):
    hook = receiver()
    hook.statuses = [500, 503]  # then 200
    _, secret = add_endpoint(app, "demo", hook.url)
    customer_contract()
    event = outbox_events(session, "signup.completed")[0]
    outbox.dispatch(session)
    start = datetime.now(timezone.utc)

    assert deliver(session, now=start).retrying == 1
    assert deliver(session, now=start + timedelta(seconds=30)).attempted == 0  # not due before 1 minute
    assert deliver(session, now=start + timedelta(minutes=1)).retrying == 1
    assert deliver(session, now=start + timedelta(minutes=5)).attempted == 0  # 1 min + 5 min backoff
    session.expire_all()
    assert session.get(OutboxEvent, event.id).delivered_at is None
    assert deliver(session, now=start + timedelta(minutes=6)).delivered == 1

    assert [r["json"]["id"] for r in hook.requests] == [event.public_id] * 3
    assert len({r["body"] for r in hook.requests}) == 1, "the body is the same for every attempt"
    assert all(webhook_signature.verify(secret, r["body"], r["headers"]["Widget-Signature"]) for r in hook.requests)
    session.expire_all()
    delivery = session.scalars(select(WebhookDelivery)).one()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert [(a.attempt, a.status_code, a.error) for a in delivery.attempt_log] == [
        (1, 500, "HTTP 500"), (2, 503, "HTTP 503"), (3, 200, None)]
    assert session.get(OutboxEvent, event.id).delivered_at is not None


def test_backoff_grows_and_the_delivery_fails_after_the_last_attempt(app, session, receiver, customer_contract):
    hook = receiver()
    hook.statuses = [500] * 10
    add_endpoint(app, "demo", hook.url)
    customer_contract()
    outbox.dispatch(session)
    now = datetime.now(timezone.utc)
    for expected_wait in (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30)):
        assert deliver(session, now=now, max_attempts=4).retrying == 1
        session.expire_all()
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.next_attempt_at - now == expected_wait
        now = delivery.next_attempt_at
    failures = WEBHOOK_FAILURES._value.get()
    assert deliver(session, now=now, max_attempts=4).failed == 1
    assert WEBHOOK_FAILURES._value.get() == failures + 1  # widget_webhook_failures_total on /metrics
    session.expire_all()
    delivery = session.scalars(select(WebhookDelivery)).one()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 4, None)
    assert deliver(session, now=now + timedelta(days=30), max_attempts=4).attempted == 0
    assert len(hook.requests) == 4
    assert outbox_events(session, "signup.completed")[0].delivered_at is None


def test_no_answer_and_redirects_are_failed_attempts(app, session, receiver, customer_contract):
    closed = f"http://127.0.0.1:{free_port()}/nobody-listens"
    add_endpoint(app, "demo", closed)
    hook = receiver()
    hook.statuses = [302]
    hook.redirect_to = receiver().url  # a second server that must not get the event
    add_endpoint(app, "demo", hook.url)
    customer_contract()
    outbox.dispatch(session)
    assert deliver(session).retrying == 2
    attempts = {a.delivery.endpoint.url: a for a in session.scalars(select(WebhookAttempt))}
    assert attempts[closed].status_code is None and "Connection" in attempts[closed].error
    assert attempts[hook.url].status_code == 302
    assert len(hook.requests) == 1


def test_the_event_is_delivered_only_when_every_endpoint_of_the_tenant_has_it(app, session, receiver, customer_contract):
    good, flaky = receiver(), receiver()
    flaky.statuses = [500]
    add_endpoint(app, "demo", good.url)
    add_endpoint(app, "demo", flaky.url)
    customer_contract()
    event = outbox_events(session, "signup.completed")[0]
    assert outbox.dispatch(session).deliveries == 2
    start = datetime.now(timezone.utc)
    result = deliver(session, now=start)
    assert (result.delivered, result.retrying) == (1, 1)
    session.expire_all()
    assert session.get(OutboxEvent, event.id).delivered_at is None
    assert deliver(session, now=start + timedelta(minutes=2)).delivered == 1
    session.expire_all()
    assert session.get(OutboxEvent, event.id).delivered_at is not None
    assert len(good.requests) == 1 and len(flaky.requests) == 2


def test_tenants_only_receive_their_own_events(app, session, receiver, customer_contract):
    demo_hook, fjord_hook = receiver(), receiver()
    add_endpoint(app, "demo", demo_hook.url)
    add_endpoint(app, "fjord", fjord_hook.url)
    demo_contract = customer_contract(tenant="demo")
    fjord_plan = app.extensions["widget_themes"].get("fjord").plans[0].id
    fjord_contract = customer_contract(tenant="fjord", plan=fjord_plan, locale="sv")
    outbox.dispatch(session)
    deliver(session)
    assert [r["json"]["data"]["contract_id"] for r in demo_hook.requests] == [demo_contract.public_id]
    assert [r["json"]["data"]["contract_id"] for r in fjord_hook.requests] == [fjord_contract.public_id]


def test_events_of_a_tenant_without_endpoints_are_done_at_once(app, session, customer_contract):
    customer_contract()
    assert outbox.dispatch(session).deliveries == 0
    assert all(e.delivered_at is not None for e in outbox_events(session))


def test_an_endpoint_receives_the_events_after_it_was_added(app, session, receiver, customer_contract):
    customer_contract()
    outbox.dispatch(session)
    hook = receiver()
    add_endpoint(app, "demo", hook.url)
    later = customer_contract(email="bo@example.com")
    outbox.dispatch(session)
    deliver(session)
    assert [r["json"]["data"]["contract_id"] for r in hook.requests] == [later.public_id]


def test_removing_an_endpoint_cancels_its_pending_deliveries(app, session, receiver, customer_contract):
    hook = receiver()
    hook.statuses = [500]
    endpoint_id, _ = add_endpoint(app, "demo", hook.url)
    customer_contract()
    outbox.dispatch(session)
    start = datetime.now(timezone.utc)
    deliver(session, now=start)
    result = app.test_cli_runner().invoke(args=["webhooks", "remove", "demo", endpoint_id])
    assert result.exit_code == 0, result.output
    deliver(session, now=start + timedelta(minutes=2))
    assert len(hook.requests) == 1
    session.expire_all()
    assert session.scalars(select(WebhookDelivery)).one().status == "cancelled"
    assert outbox_events(session, "signup.completed")[0].delivered_at is not None


def test_cli_lists_endpoints_without_secrets_and_refuses_bad_input(app, session, receiver):
    hook = receiver()
    endpoint_id, secret = add_endpoint(app, "demo", hook.url)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["webhooks", "list", "demo"])
    assert listed.exit_code == 0 and endpoint_id in listed.stdout and hook.url in listed.stdout
    assert secret not in listed.output
    assert endpoint_id not in runner.invoke(args=["webhooks", "list", "fjord"]).output
    assert runner.invoke(args=["webhooks", "add", "nobody", hook.url]).exit_code != 0
    bad = runner.invoke(args=["webhooks", "add", "demo", "ftp://example.com/x"])
    assert bad.exit_code != 0 and "https://" in bad.output
    assert runner.invoke(args=["webhooks", "remove", "fjord", endpoint_id]).exit_code != 0  # not fjord's
    assert session.scalars(select(WebhookEndpoint)).one().secret == secret  # kept, usable to sign


def test_no_secret_reaches_the_logs(app, session, receiver, customer_contract, caplog):
    caplog.set_level(logging.DEBUG)
    hook = receiver()
    hook.statuses = [500]
    url_token = "tok3n-in-the-url"
    _, secret = add_endpoint(app, "demo", f"{hook.url}?token={url_token}")
    customer_contract()
    outbox.dispatch(session)
    start = datetime.now(timezone.utc)
    deliver(session, now=start)
    deliver(session, now=start + timedelta(minutes=2))
    assert len(hook.requests) == 2
    assert "webhook" in caplog.text  # the deliveries were logged ...
    assert secret not in caplog.text and secret[6:] not in caplog.text  # ... without the secret
    assert url_token not in caplog.text  # nor the URL's query
    for attempt in session.scalars(select(WebhookAttempt)):
        assert secret not in (attempt.error or "")


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_delivers(app, session, receiver, customer_contract, status):
    hook = receiver()
    hook.statuses = [status]
    add_endpoint(app, "demo", hook.url)
    customer_contract()
    outbox.dispatch(session)
    assert deliver(session).delivered == 1
