"""The embedded portal's hand-off to a new tab: an entry inside a merchant's frame passes the cookie check;
where the cookie did not come back, "Continue in a new tab" resumes the same page, signed in, once."""
import json
import re
import time
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from tests.conftest import TEST_SECRET
from widget_server import create_app, tokens
from widget_server.extensions import db
from widget_server.portal import handoff
from widget_server.storage.models import PortalSession
from widget_server.web.request_log import redact

from .signing_in import customer, entry_path  # noqa: F401

SHOP = "http://localhost:8001"  # on the demo tenant's embed allowlist (http://localhost:*)


def framed_entry(app, customer, **entry) -> tuple[object, str]:
    """Open a one-time link inside the shop's frame: (the frame's client, the check URL it is sent to)."""
    frame = app.test_client()
    response = frame.get(entry_path(app, customer, **entry) + f"&embed={SHOP}")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert location.startswith("/t/demo/portal/enter/check?")
    return frame, location


def fallback(app, check: str):
    """The check as a browser that refused the cookie in the frame sees it: without the session cookie."""
    return app.test_client().get(check)


def resume_link(page: str) -> str:
    """The path and query of the page's "Continue in a new tab" link."""
    [href] = re.findall(r'<a class="button primary" href="([^"]+)" target="_blank" rel="noopener">', page)
    parts = urlsplit(unescape(href))
    return f"{parts.path}?{parts.query}"


def handoff_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["handoff"][0]


def backdated(app, token: str, seconds: int) -> str:
    """The same hand-off, signed `seconds` ago."""
    class Backdated(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - seconds

    with app.test_request_context():
        payload = tokens.load_expired(handoff.PURPOSE, "demo", token)
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="widget-server.portal-handoff", signer=Backdated)
    return serializer.dumps({"t": "demo", "p": payload})


def sessions(app) -> list[PortalSession]:
    with app.app_context():
        found = db.session.scalars(select(PortalSession).order_by(PortalSession.id)).all()
        db.session.expunge_all()
        return found


def test_when_the_cookie_came_back_the_check_opens_the_page(app, customer):
    frame, check = framed_entry(app, customer(), flow="profile", locale="de")
    assert parse_qs(urlsplit(check).query)["lang"] == ["de"] and parse_qs(urlsplit(check).query)["embed"] == [SHOP]
    opened = frame.get(check)
    assert opened.status_code == 302
    assert opened.headers["Location"] == f"/t/demo/portal/profile?lang=de&embed={SHOP}"
    page = frame.get(opened.headers["Location"])
    assert page.status_code == 200 and "Ihre Angaben" in page.get_data(as_text=True)
    # Not needed any more, so used up: the frame's URL history holds nothing that signs in.
    used = app.test_client().get(f"/t/demo/portal/enter/resume?handoff={handoff_of(check)}")
    assert used.status_code == 400 and "bereits verwendet" in used.get_data(as_text=True)
    assert frame.get(check).status_code == 302  # reloading the frame still works: the cookie is there


def test_without_the_cookie_the_frame_offers_a_new_tab(app, customer):
    _frame, check = framed_entry(app, customer(), flow="invoices", locale="de")
    refused = fallback(app, check)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "erlaubt dieser eingebetteten Seite nicht, Sie in Ihrem Kundenkonto" in page
    assert "In einem neuen Tab fortfahren" in page and 'lang="de"' in page
    link = resume_link(page)
    assert link.startswith("/t/demo/portal/enter/resume?") and "embed" not in link
    assert parse_qs(urlsplit(link).query) == {"handoff": [handoff_of(check)], "lang": ["de"]}
    [detail] = re.findall(r"data-widget-event=\"fallback\" data-widget-detail='([^']*)'", page)
    assert json.loads(unescape(detail)) == {"url": "http://127.0.0.1:8000" + link}
    assert 'id="widget-fallback-notice"' in page  # frame.js's own probe adds no second notice
    assert refused.headers["Referrer-Policy"] == "no-referrer" and refused.headers["Cache-Control"] == "no-store"
    assert "http://localhost:*" in refused.headers["Content-Security-Policy"]


def test_the_new_tab_signs_in_once_at_the_same_page(app, customer):
    _frame, check = framed_entry(app, customer(), flow="profile", locale="de")
    link = resume_link(fallback(app, check).get_data(as_text=True))
    tab = app.test_client()
    resumed = tab.get(link)
    assert resumed.status_code == 302 and resumed.headers["Location"] == "/t/demo/portal/profile?lang=de"
    assert resumed.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'self' http://127.0.0.1:* http://localhost:*" in resumed.headers["Content-Security-Policy"]
    page = tab.get(resumed.headers["Location"])
    assert page.status_code == 200 and "Ihre Angaben" in page.get_data(as_text=True)
    framed, opened = sessions(app)
    assert framed.ended_at is not None  # its cookie never reached the browser: nobody may use it later
    assert opened.ended_at is None and opened.key_hash != framed.key_hash and opened.customer_id == framed.customer_id

    again = app.test_client().get(link)
    assert again.status_code == 400 and "bereits verwendet" in again.get_data(as_text=True)
    assert 'name="email"' in again.get_data(as_text=True)  # the e-mail sign-in, as for a used entry link
    assert tab.get(link).status_code == 400
    assert fallback(app, check).status_code == 400  # the frame's check offers no dead button either
    assert tab.get("/t/demo/portal/profile").status_code == 200  # the tab stays signed in


def test_the_return_url_follows_to_the_new_tab(app, customer):
    _frame, check = framed_entry(app, customer(), return_url=f"{SHOP}/account")
    tab = app.test_client()
    tab.get(resume_link(fallback(app, check).get_data(as_text=True)))
    assert f'href="{SHOP}/account" target="_top"' in tab.get("/t/demo/portal/history").get_data(as_text=True)


def test_a_hand_off_works_once_on_any_instance(app, customer, database_url, themes_dir):
    _frame, check = framed_entry(app, customer())
    link = resume_link(fallback(app, check).get_data(as_text=True))
    other = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url,
                        "WIDGET_THEMES_DIR": str(themes_dir), "WIDGET_THEME_RELOAD_SECONDS": 0})
    try:
        assert other.test_client().get(link).status_code == 302
    finally:
        other.extensions["database"].dispose()
    assert app.test_client().get(link).status_code == 400


def test_an_expired_hand_off_is_refused_with_the_sign_in(app, customer):
    _frame, check = framed_entry(app, customer(), flow="profile", locale="de")
    token = handoff_of(check)
    assert app.test_client().get(f"/t/demo/portal/enter/resume?handoff={backdated(app, token, 110)}").status_code == 302
    _frame, check = framed_entry(app, customer(email="bo@example.com"), flow="profile", locale="de")
    late = app.test_client().get(f"/t/demo/portal/enter/resume?handoff={backdated(app, handoff_of(check), 130)}")
    page = late.get_data(as_text=True)
    assert late.status_code == 400 and 'lang="de"' in page and "E-Mail-Adresse" in page
    assert '<input type="hidden" name="flow" value="profile">' in page  # the sign-in still opens the same page
    assert fallback(app, f"/t/demo/portal/enter/check?handoff={backdated(app, handoff_of(check), 130)}").status_code == 400


def test_another_tenants_hand_off_is_refused(app, customer):
    _frame, check = framed_entry(app, customer(), flow="profile")
    link = resume_link(fallback(app, check).get_data(as_text=True))
    foreign = app.test_client().get(link.replace("/t/demo/", "/t/fjord/"))
    assert foreign.status_code == 400 and foreign.headers.get("Location") is None
    assert 'name="flow"' not in foreign.get_data(as_text=True)  # nothing read from another tenant's token
    assert fallback(app, check.replace("/t/demo/", "/t/fjord/")).status_code == 400
    assert app.test_client().get(link).status_code == 302  # still unused for its own tenant


@pytest.mark.parametrize("query", [
    "", "handoff=", "handoff=abc", "handoff=abc.def.ghi", "handoff=" + "x" * 10_000, "handoff=%00%ff",
    "handoff=a&handoff=b",
])
def test_forged_or_garbled_hand_offs_are_refused(app, query):
    for step in ("check", "resume"):
        refused = app.test_client().get(f"/t/demo/portal/enter/{step}?{query}")
        assert refused.status_code == 400 and "not valid" in refused.get_data(as_text=True)


def test_a_tampered_or_misused_token_is_refused(app, customer):
    c = customer()
    _frame, check = framed_entry(app, c)
    token = handoff_of(check)
    assert app.test_client().get(f"/t/demo/portal/enter/resume?handoff={token[:-3]}xyz").status_code == 400
    entry_token = entry_path(app, c).split("token=", 1)[1]  # genuine, but signed for another purpose
    assert app.test_client().get(f"/t/demo/portal/enter/resume?handoff={entry_token}").status_code == 400
    with app.test_request_context():
        payload = tokens.load(handoff.PURPOSE, "demo", token)
        # Genuine signatures over a payload that names nobody here, or a session that is not theirs.
        nobody = tokens.sign(handoff.PURPOSE, "demo", {**payload, "customer": "cus_nobody"})
        no_session = tokens.sign(handoff.PURPOSE, "demo", {**payload, "session": "0" * 64})
        bad_id = tokens.sign(handoff.PURPOSE, "demo", {**payload, "id": "ps_" + payload["id"][3:]})
    for forged in (nobody, no_session, bad_id):
        assert app.test_client().get(f"/t/demo/portal/enter/resume?handoff={forged}").status_code == 400
    assert app.test_client().get(f"/t/demo/portal/enter/resume?handoff={token}").status_code == 302


def test_another_customers_session_cannot_be_borrowed(app, customer):
    """A hand-off names a session and its customer; pairing one customer with another's session is refused."""
    _frame, anna_check = framed_entry(app, customer())
    _frame, bo_check = framed_entry(app, customer(email="bo@example.com"))
    with app.test_request_context():
        anna = tokens.load(handoff.PURPOSE, "demo", handoff_of(anna_check))
        bo = tokens.load(handoff.PURPOSE, "demo", handoff_of(bo_check))
        mixed = tokens.sign(handoff.PURPOSE, "demo", {**anna, "session": bo["session"]})
    assert app.test_client().get(f"/t/demo/portal/enter/resume?handoff={mixed}").status_code == 400


def test_entries_outside_an_allowed_frame_go_straight_to_the_page(app, customer):
    c = customer()
    plain = app.test_client().get(entry_path(app, c, flow="profile"))
    assert plain.status_code == 302 and plain.headers["Location"] == "/t/demo/portal/profile"
    foreign = app.test_client().get(entry_path(app, c, flow="profile") + "&embed=https://evil.example")
    assert foreign.status_code == 302 and foreign.headers["Location"] == "/t/demo/portal/profile"


def test_a_refused_entry_link_in_a_frame_still_offers_the_sign_in(app, customer):
    path = entry_path(app, customer(), flow="profile", locale="de") + f"&embed={SHOP}"
    assert app.test_client().get(path).status_code == 302
    replay = app.test_client().get(path)
    page = replay.get_data(as_text=True)
    assert replay.status_code == 400 and 'lang="de"' in page and 'name="entry"' in page and 'name="email"' in page


def test_hand_offs_never_reach_the_logs():
    line = redact("GET /t/demo/portal/enter/resume?handoff=short-but-secret&lang=de")
    assert "short-but-secret" not in line and "lang=de" in line
