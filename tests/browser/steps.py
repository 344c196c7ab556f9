"""Steps the browser tests share: reaching the embedded frame, filling the sign-up form,
waiting for the iframe to fit its content, reading the merchant page's event log, running axe."""
import json
import time
from dataclasses import dataclass

from sqlalchemy import select

from widget_server.extensions import db
from widget_server.storage.models import Contract

VALID_IBAN = "DE89 3704 0044 0532 0130 00"
FIT_TOLERANCE_PX = 3


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str
    street: str
    postal_code: str
    city: str
    country: str


ANNA = Person("Anna", "Berg", "anna.berg@example.com", "Musterweg 1", "10115", "Berlin", "DE")
SVEN = Person("Sven", "Ström", "sven.strom@example.se", "Storgatan 3", "11122", "Stockholm", "SE")


def open_merchant(page, merchant, **query):
    """The merchant page with the snippet; returns (iframe element handle, its frame) once the frame said `loaded`."""
    params = "&".join(f"{k}={v}" for k, v in query.items())
    page.goto(f"{merchant.url}/?{params}")
    page.locator('#events li[data-event="widget:loaded"]').first.wait_for()
    iframe = page.locator("#signup iframe").element_handle()
    return iframe, iframe.content_frame()


def events(page, name: str) -> list[dict]:
    """The details of the widget:<name> events the merchant page logged, oldest first."""
    texts = page.locator(f'#events li[data-event="widget:{name}"]').all_inner_texts()
    return [json.loads(text.split(" ", 1)[1]) for text in texts]


def wait_for_event(page, name: str, count: int = 1) -> dict:
    """The detail of the count-th widget:<name> event, waiting for it."""
    page.locator(f'#events li[data-event="widget:{name}"]').nth(count - 1).wait_for()
    return events(page, name)[count - 1]


def fitted_height(page, iframe, frame, timeout: float = 5.0) -> float:
    """Wait until the iframe is as tall as the document inside it (within a few px) and nothing
    scrolls inside it, the same in two polls in a row; return that height.

    The frame renders in another process (another site), so the iframe's new size reaches the
    frame's viewport a moment later: the frame's own innerHeight must agree too.
    """
    deadline = time.monotonic() + timeout
    seen, previous = None, None
    while time.monotonic() < deadline:
        try:
            outer = iframe.evaluate("e => e.getBoundingClientRect().height")
            inner = frame.evaluate(
                "() => [document.documentElement.getBoundingClientRect().height, innerHeight,"
                " document.documentElement.scrollHeight]")
        except Exception:  # the frame is between two documents
            inner = None
        else:
            seen = {"iframe": outer, "document": inner[0], "viewport": inner[1], "scrollHeight": inner[2]}
            if all(abs(outer - value) <= FIT_TOLERANCE_PX for value in inner):
                if previous == seen:
                    return outer
                previous = seen
                continue
        previous = None
        page.wait_for_timeout(50)
    raise AssertionError(f"the iframe did not fit its content: {seen}")


def fill_details(target, person: Person) -> None:
    """Fill the personal fields of the demo tenant's form (target: a Page or a Frame)."""
    for name in ("first_name", "last_name", "email", "street", "postal_code", "city"):
        target.fill(f"#f-{name}", getattr(person, name))
    target.select_option("#f-country", person.country)


def choose_payment(target, method: str, holder: str = "", iban: str = VALID_IBAN) -> None:
    target.check(f'input[name="payment_method"][value="{method}"]')
    if method == "sepa":
        target.fill("#f-account_holder", holder)
        target.fill("#f-iban", iban)
        target.check("#f-sepa_mandate")


def submit(target) -> None:
    with target.expect_navigation():
        target.click('form.signup-form button[type="submit"]')


def stored_signup(app, contract_id: str) -> dict | None:
    """What the database holds for this contract id (plain values), or None."""
    with app.app_context():
        contract = db.session.scalar(select(Contract).where(Contract.public_id == contract_id))
        if contract is None:
            return None
        customer = contract.customer
        method = customer.default_payment_method
        return {
            "tenant": contract.tenant, "plan": contract.plan_id, "status": contract.status,
            "customer_id": customer.public_id, "email": customer.email, "locale": customer.locale,
            "fields": dict(customer.fields), "payment": method.kind if method else None,
            "iban": method.iban if method else None,
        }


def run_axe(frame, axe_source: str) -> list[dict]:
    """Inject axe-core into this frame (axe does not enter cross-site frames by itself) and run it."""
    if not frame.evaluate("() => typeof window.axe === 'object'"):
        frame.evaluate(axe_source)
    results = frame.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return results["violations"]


def describe_violations(violations: list[dict], where: str) -> str:
    lines = [f"{len(violations)} accessibility violation(s) on {where}:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']}  [{v['helpUrl']}]")
        for node in v["nodes"]:
            lines.append(f"    at {' > '.join(map(str, node['target']))}")
            lines.append(f"       {node['html'][:200]}")
            for summary_line in (node.get("failureSummary") or "").splitlines():
                lines.append(f"       {summary_line}")
    return "\n".join(lines)


def fallback_link(page, target: str):
    """Once the merchant page logged widget:fallback for the container #`target`: the frame, its German
    "Continue in a new tab" link and where that leads."""
    page.locator(f'#events li[data-event="fallback"][data-target="{target}"]').wait_for()
    frame = page.locator(f"#{target} iframe").element_handle().content_frame()
    link = frame.locator("#widget-fallback-notice a")
    assert link.inner_text() == "In einem neuen Tab fortfahren"
    return frame, link, link.get_attribute("href")
