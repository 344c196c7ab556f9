"""GET /metrics: request latency by route, business events counted when their transaction commits."""
import pytest
from prometheus_client.parser import text_string_to_metric_families

from widget_server.billing.lifecycle import request_cancellation


def scrape(client, **kwargs) -> dict:
    answer = client.get("/metrics", **kwargs)
    assert answer.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.get_data(as_text=True)) for s in family.samples}


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_timed_by_route_and_status_class(client):
    before = scrape(client)
    client.get("/t/demo/signup/basic")
    client.get("/t/demo/signup/nosuchplan")
    after = scrape(client)
    count = "widget_request_duration_seconds_count"
    assert value(after, count, endpoint="signup.form", method="GET", status="2xx") == \
        value(before, count, endpoint="signup.form", method="GET", status="2xx") + 1
    assert value(after, count, endpoint="signup.form", method="GET", status="4xx") == \
        value(before, count, endpoint="signup.form", method="GET", status="4xx") + 1


def test_signups_and_cancellations_count_once_committed(client, signup_form, session, sign_up, tenants):
    before = scrape(client)
    url, data = signup_form()
    assert client.post(url, data=data).status_code == 303
    assert client.post(url, data=data).status_code == 303  # a resubmit is the same sign-up
    contract = sign_up(plan_id="basic")
    request_cancellation(session, contract, tenants("demo").today())
    session.rollback()  # not committed: not counted
    request_cancellation(session, contract, tenants("demo").today())
    session.commit()
    after = scrape(client)
    assert value(after, "widget_signups_total", tenant="demo") - value(before, "widget_signups_total", tenant="demo") == 2
    assert value(after, "widget_cancellations_total", tenant="demo") - \
        value(before, "widget_cancellations_total", tenant="demo") == 1


@pytest.mark.parametrize("config,headers,remote,status", [
    ({}, {}, "10.1.2.3", 403),
    ({}, {}, "127.0.0.1", 200),
    ({"WIDGET_METRICS_TOKEN": "s3cret-metrics"}, {}, "127.0.0.1", 403),
    ({"WIDGET_METRICS_TOKEN": "s3cret-metrics"}, {"Authorization": "Bearer wrong"}, "10.1.2.3", 403),
    ({"WIDGET_METRICS_TOKEN": "s3cret-metrics"}, {"Authorization": "Bearer s3cret-metrics"}, "10.1.2.3", 200),
])
def test_who_may_read_the_metrics(app, client, config, headers, remote, status):
    app.config.update(config)
    assert client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": remote}).status_code == status
