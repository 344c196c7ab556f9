"""PostgreSQL gone for 10 seconds in the middle of traffic: friendly 503 answers (never a 500), the
service recovers by itself when the database is back, and no sign-up is stored twice."""
import threading
import time
from collections import Counter

from sqlalchemy import create_engine, func, select

from tests.api.conftest import create_key
from tests.conftest import TEST_SECRET, VALID_SIGNUP, hidden_inputs
from widget_server import create_app
from widget_server.storage.models import Customer

OUTAGE_SECONDS = 10
CLIENTS = 4


def test_an_outage_answers_503_and_the_service_recovers_without_duplicates(faults_database, outage, themes_dir, tmp_path):
    url = faults_database.replace("127.0.0.1:5432", f"127.0.0.1:{outage.port}")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": TEST_SECRET, "WIDGET_THEMES_DIR": str(themes_dir),
                      "WIDGET_PUBLIC_URL": "http://127.0.0.1:8000", "WIDGET_PDF_CACHE_DIR": str(tmp_path / "pdf"),
                      "WIDGET_SIGNUP_RATE_LIMIT": "100000 per minute"})  # all clients share one address here
    key = create_key(app, "demo")
    statuses: Counter = Counter()
    outage_pages: list[tuple[int, str, dict]] = []
    done: list[str] = []
    lock = threading.Lock()
    phase = {"cut": None, "restored": None, "first_success_after": None, "stop": False}

    def record(kind: str, answer):
        with lock:
            statuses[(kind, answer.status_code)] += 1
            if answer.status_code == 503 and len(outage_pages) < 20:
                outage_pages.append((answer.status_code, answer.get_data(as_text=True), dict(answer.headers)))
            if answer.status_code in (200, 303) and kind == "post" and phase["restored"] and not phase["first_success_after"]:
                phase["first_success_after"] = time.monotonic() - phase["restored"]

    def customer(number: int):
        client = app.test_client()
        page = client.get("/t/demo/signup/basic")  # the empty form comes from the page cache: no database
        form = {**VALID_SIGNUP, **hidden_inputs(page.get_data(as_text=True)), "email": f"outage-{number}@example.com"}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answer = client.post("/t/demo/signup/basic", data=form)  # the same submission until it is acknowledged
            record("post", answer)
            if answer.status_code == 303:
                with lock:
                    done.append(form["submission"])
                return
            time.sleep(0.2)

    def sign_ups(worker: int):
        number = worker * 1000
        while not phase["stop"]:
            number += 1
            customer(number)

    def api_reader():
        client = app.test_client()
        while not phase["stop"]:
            record("api", client.get("/api/v1/customers?limit=5", headers={"Authorization": f"Bearer {key}"}))
            time.sleep(0.1)

    threads = [threading.Thread(target=sign_ups, args=(i,)) for i in range(CLIENTS)] + [threading.Thread(target=api_reader)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    phase["cut"] = time.monotonic()
    outage.cut()
    time.sleep(OUTAGE_SECONDS)
    phase["restored"] = time.monotonic()
    outage.restore()
    time.sleep(5)
    phase["stop"] = True
    for thread in threads:
        thread.join(timeout=90)

    assert not any(status >= 500 and status != 503 for _kind, status in statuses), statuses
    assert statuses[("post", 503)] and statuses[("api", 503)], statuses  # the outage was seen by both
    assert statuses[("post", 303)] == len(done) and statuses[("api", 200)], statuses
    status, html, headers = next(p for p in outage_pages if "<html" in p[1])
    assert "short technical problem" in html and headers["Retry-After"] == "10"
    problem = next(p for p in outage_pages if p[2].get("Content-Type") == "application/problem+json")
    assert '"status": 503' in problem[1] or '"status":503' in problem[1]
    assert phase["first_success_after"] is not None and phase["first_success_after"] < 5  # it recovered by itself

    engine = create_engine(faults_database)
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Customer))
        emails = conn.scalar(select(func.count(func.distinct(Customer.email))))
        keys = conn.scalar(select(func.count(func.distinct(Customer.signup_key))))
    engine.dispose()
    app.extensions["database"].dispose()
    assert stored == emails == keys == len(set(done)) == len(done)  # acknowledged once each, stored once each
