"""A fake Stripe on 127.0.0.1 for the real `stripe` library and for browsers: no test reaches the internet.

API (form-encoded in, JSON out, like Stripe; objects belong to the account whose secret key
created them, so another tenant's key gets 404 for them; an Idempotency-Key replays the
first answer):
  POST /v1/customers, POST /v1/customers/<id>
  POST /v1/setup_intents, GET /v1/setup_intents/<id>, POST /v1/setup_intents/<id>/confirm
  GET  /v1/payment_methods/<id>
  POST /v1/payment_intents
Browser side (what the pages use of Stripe.js):
  GET /v3/  a small Stripe.js: Stripe(pk).elements({clientSecret}).create('payment').mount(sel)
            puts an iframe of /elements-frame there; stripe.confirmSetup({elements, redirect:
            'if_required'}) asks that frame, which confirms the SetupIntent on this server with the
            publishable key and client secret (as Stripe's own frame does) and answers
            {setupIntent} or {error}.
  GET /elements-frame  the card form inside that iframe (labelled inputs).

Card numbers: 4242424242424242 (visa) and 5555555555554444 (mastercard) succeed,
4000000000000002 is declined. Payment methods named pm_card_visa / pm_card_mastercard exist
already (as in Stripe's test mode), and DECLINED_CARD declines off-session charges.
"""
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

DEMO_KEY = "sk_test_demo_0123456789"
DEMO_PK = "pk_test_demo_0123456789"
DEMO_WHSEC = "whsec_demo_secret_0123456789"
FJORD_KEY = "sk_test_fjord_0123456789"
FJORD_PK = "pk_test_fjord_0123456789"
FJORD_WHSEC = "whsec_fjord_secret_0123456789"
DECLINED_CARD = "pm_card_chargeDeclinedInsufficientFunds"
PUBLISHABLE = {DEMO_PK: DEMO_KEY, FJORD_PK: FJORD_KEY}
CARD_NUMBERS = {"4242424242424242": ("visa", "4242"), "5555555555554444": ("mastercard", "4444")}
DECLINED_NUMBER = "4000000000000002"

STRIPE_JS = r"""/* fake Stripe.js (tests only): the parts of Stripe.js v3 the pages use. */
(function () {
  "use strict";
  var base = new URL(document.currentScript.src).origin;
  window.Stripe = function (publishableKey) {
    if (!/^pk_/.test(publishableKey || "")) throw new Error("fake Stripe.js: not a publishable key: " + publishableKey);
    var mounted = null;
    return {
      elements: function (options) {
        var secret = options && options.clientSecret;
        if (!secret) throw new Error("fake Stripe.js: elements() needs a clientSecret");
        return {
          clientSecret: secret,
          create: function (type) {
            if (type !== "payment") throw new Error("fake Stripe.js: only the Payment Element");
            return {
              mount: function (selector) {
                var target = typeof selector === "string" ? document.querySelector(selector) : selector;
                var frame = document.createElement("iframe");
                frame.src = base + "/elements-frame?lang=" + encodeURIComponent((options.locale || "en"));
                frame.title = "Secure payment input frame";
                frame.setAttribute("allow", "payment");
                frame.style.width = "100%"; frame.style.height = "170px"; frame.style.border = "0";
                target.appendChild(frame);
                mounted = frame;
              }
            };
          }
        };
      },
      confirmSetup: function (options) {
        var elements = options && options.elements;
        if (!elements || !mounted) return Promise.reject(new Error("fake Stripe.js: nothing mounted"));
        if (options.redirect !== "if_required") return Promise.reject(new Error("fake Stripe.js: expected redirect: 'if_required'"));
        return new Promise(function (resolve) {
          var channel = new MessageChannel();
          channel.port1.onmessage = function (event) { resolve(event.data); };
          mounted.contentWindow.postMessage({ type: "confirm", key: publishableKey, clientSecret: elements.clientSecret },
                                            base, [channel.port2]);
        });
      }
    };
  };
})();
"""

ELEMENTS_FRAME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Card details</title>
<style>body{font:16px sans-serif;margin:4px;color:#111}label{display:block;margin:6px 0 2px}input{font:inherit;padding:4px;width:90%}</style>
</head><body><main>
<label for="number">Card number</label><input id="number" name="number" inputmode="numeric" autocomplete="cc-number">
<label for="expiry">Expiry (MM / YY)</label><input id="expiry" name="expiry" autocomplete="cc-exp">
<label for="cvc">Security code</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc">
</main>
<script>
window.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "confirm" || !event.ports.length) return;
  var port = event.ports[0];
  var id = data.clientSecret.split("_secret_")[0];
  var body = new URLSearchParams({key: data.key, client_secret: data.clientSecret,
                                  "payment_method_data[card][number]": document.getElementById("number").value.replace(/\\s/g, "")});
  fetch("/v1/setup_intents/" + id + "/confirm", {method: "POST", body: body})
    .then(function (r) { return r.json().then(function (json) { return [r.ok, json]; }); })
    .then(function (answer) { port.postMessage(answer[0] ? {setupIntent: answer[1]} : {error: answer[1].error}); },
          function () { port.postMessage({error: {type: "api_connection_error", message: "Could not reach Stripe."}}); });
});
</script></body></html>
"""


def _missing(kind: str, object_id: str) -> tuple[int, dict]:
    return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing", "param": "id",
                           "message": f"No such {kind}: '{object_id}'"}}


class FakeStripe:
    """Answers what payments/stripe.py and the pages call, and records every request."""

    def __init__(self):
        self.requests: list[dict] = []
        self.replies: dict[str, tuple[int, dict]] = {}
        self.ids = itertools.count(1)
        self.objects: dict[str, tuple[str, dict]] = {}  # id -> (owner secret key, object)
        self.lock = threading.Lock()
        for brand, last4 in (("visa", "4242"), ("mastercard", "4444")):
            self.objects[f"pm_card_{brand}"] = (DEMO_KEY, self._card(f"pm_card_{brand}", brand, last4))
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                url = urlsplit(self.path)
                params = dict(parse_qsl(body or url.query, keep_blank_values=True))
                request = {"method": method, "path": url.path, "params": params,
                           "headers": {k.lower(): v for k, v in self.headers.items()}}
                if url.path == "/v3/" or url.path == "/v3":
                    return self._send(200, STRIPE_JS.encode(), "text/javascript")
                if url.path == "/elements-frame":
                    return self._send(200, ELEMENTS_FRAME.encode(), "text/html; charset=utf-8")
                with fake.lock:
                    fake.requests.append(request)
                    key = request["headers"].get("idempotency-key")
                    if method == "POST" and key and key in fake.replies:
                        status, answer = fake.replies[key]
                    else:
                        status, answer = fake.answer(method, url.path, params, request["headers"])
                        if method == "POST" and key:
                            fake.replies[key] = (status, answer)
                self._send(status, json.dumps(answer).encode(), "application/json")

            def _send(self, status: int, data: bytes, content_type: str):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Request-Id", f"req_{next(fake.ids)}")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.js_url = f"{self.url}/v3/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- objects ----------------------------------------------------------------------------

    @staticmethod
    def _card(pm_id: str, brand: str, last4: str, customer: str | None = None) -> dict:
        return {"id": pm_id, "object": "payment_method", "type": "card", "customer": customer,
                "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2030}}

    def _mine(self, secret: str, object_id: str) -> dict | None:
        found = self.objects.get(object_id)
        if found and object_id.startswith("pm_card_"):  # Stripe's test cards exist in every test-mode account
            return found[1]
        return found[1] if found and found[0] == secret else None

    def succeed_setup(self, setup_intent_id: str, card: str = "pm_card_visa") -> dict:
        """Confirm a SetupIntent as the browser would have (for HTTP tests without a browser)."""
        with self.lock:
            owner, intent = self.objects[setup_intent_id]
            brand, last4 = ("mastercard", "4444") if "mastercard" in card else ("visa", "4242")
            self.objects[card] = (owner, self._card(card, brand, last4, intent["customer"]))
            intent.update(status="succeeded", payment_method=card)
            return intent

    # -- the API ----------------------------------------------------------------------------

    def answer(self, method: str, path: str, p: dict, headers: dict) -> tuple[int, dict]:
        secret = (headers.get("authorization") or "").removeprefix("Bearer ").strip()
        if path.endswith("/confirm") and path.startswith("/v1/setup_intents/"):
            return self.confirm(path.split("/")[3], p)
        if not secret.startswith("sk_"):
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
        n = next(self.ids)
        metadata = {k[len("metadata["):-1]: v for k, v in p.items() if k.startswith("metadata[")}
        parts = path.strip("/").split("/")
        if path == "/v1/customers" and method == "POST":
            customer = {"id": f"cus_fake{n}", "object": "customer", "email": p.get("email"), "metadata": metadata}
            self.objects[customer["id"]] = (secret, customer)
            return 200, customer
        if len(parts) == 3 and parts[1] == "customers" and method == "POST":
            customer = self._mine(secret, parts[2])
            if customer is None:
                return _missing("customer", parts[2])
            customer["metadata"].update(metadata)
            if "email" in p:
                customer["email"] = p["email"]
            return 200, customer
        if path == "/v1/setup_intents" and method == "POST":
            if not self._mine(secret, p.get("customer", "")):
                return _missing("customer", p.get("customer", ""))
            intent = {"id": f"seti_fake{n}", "object": "setup_intent", "client_secret": f"seti_fake{n}_secret_x{n}",
                      "customer": p.get("customer"), "status": "requires_payment_method", "usage": p.get("usage"),
                      "payment_method": None, "payment_method_types": [v for k, v in p.items() if k.startswith("payment_method_types")],
                      "metadata": metadata}
            self.objects[intent["id"]] = (secret, intent)
            return 200, intent
        if len(parts) == 3 and parts[1] == "setup_intents" and method == "GET":
            intent = self._mine(secret, parts[2])
            return (200, intent) if intent else _missing("setup_intent", parts[2])
        if len(parts) == 3 and parts[1] == "payment_methods" and method == "GET":
            card = self._mine(secret, parts[2])
            return (200, card) if card else _missing("payment_method", parts[2])
        if path == "/v1/payment_intents" and method == "POST":
            intent = {"id": f"pi_fake{n}", "object": "payment_intent", "amount": int(p["amount"]), "currency": p["currency"],
                      "customer": p.get("customer"), "payment_method": p.get("payment_method"), "metadata": metadata}
            if p.get("payment_method") == DECLINED_CARD:
                intent.update(status="requires_payment_method", amount_received=0)
                return 402, {"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
                                       "message": "Your card has insufficient funds.", "payment_intent": intent}}
            intent.update(status="succeeded", amount_received=int(p["amount"]))
            return 200, intent
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({method}: {path})"}}

    def confirm(self, setup_intent_id: str, p: dict) -> tuple[int, dict]:
        """What Stripe's frame does with the publishable key and the client secret."""
        secret = PUBLISHABLE.get(p.get("key", ""))
        intent = self._mine(secret, setup_intent_id) if secret else None
        if intent is None or p.get("client_secret") != intent["client_secret"]:
            return _missing("setup_intent", setup_intent_id)
        number = p.get("payment_method_data[card][number]", "")
        if number == DECLINED_NUMBER:
            return 402, {"error": {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                                   "message": "Your card was declined."}}
        if number not in CARD_NUMBERS:
            return 402, {"error": {"type": "card_error", "code": "incorrect_number", "message": "Your card number is incorrect."}}
        brand, last4 = CARD_NUMBERS[number]
        card = self._card(f"pm_fake{next(self.ids)}", brand, last4, intent["customer"])
        self.objects[card["id"]] = (secret, card)
        intent.update(status="succeeded", payment_method=card["id"])
        return 200, intent

    def calls(self, path: str, method: str | None = None) -> list[dict]:
        return [r for r in self.requests if r["path"] == path and (method is None or r["method"] == method)]


@pytest.fixture
def fake_stripe(monkeypatch):
    """The fake Stripe running, and the demo and fjord tenants' Stripe variables pointing at it."""
    fake = FakeStripe()
    fake.thread.start()
    monkeypatch.setenv("WIDGET_STRIPE_API_BASE", fake.url)
    for slug, key, pk, whsec in (("DEMO", DEMO_KEY, DEMO_PK, DEMO_WHSEC), ("FJORD", FJORD_KEY, FJORD_PK, FJORD_WHSEC)):
        monkeypatch.setenv(f"WIDGET_STRIPE_SECRET_KEY_{slug}", key)
        monkeypatch.setenv(f"WIDGET_STRIPE_PUBLISHABLE_KEY_{slug}", pk)
        monkeypatch.setenv(f"WIDGET_STRIPE_WEBHOOK_SECRET_{slug}", whsec)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
