"""Signing webhooks, and checking a signature on the merchant's side.

Every webhook request carries

    Widget-Signature: t=<unix timestamp>,v1=<signature>
    Widget-Event-Id: evt_...

where <signature> is the lower-case hex HMAC-SHA256 of `<timestamp>.<raw body>`,
keyed with the endpoint's signing secret (`whsec_...`, printed once by
`widget-server webhooks add`).

To verify a webhook (this module has no dependencies; copy it, or do the same):

1. Read the raw request body as bytes, before any JSON parsing.
2. Split the header at commas into `key=value` pairs; take `t` and every `v1`.
3. Compute HMAC-SHA256(secret, f"{t}.".encode() + body) as hex and compare it
   with each `v1` in constant time (`hmac.compare_digest`).
4. Reject the request unless `t` is within 5 minutes of your clock (replays).
5. De-duplicate by the event id (`Widget-Event-Id`, also the body's `id`):
   a retry sends the same event again with the same id and a fresh signature.

    from widget_server.notify.webhook_signature import verify
    if not verify(secret, request.get_data(), request.headers["Widget-Signature"]):
        abort(400)

Answer with any 2xx status once the event is stored; anything else (or no answer
within 10 seconds) is retried later with backoff.
"""
import hashlib
import hmac
import time

HEADER = "Widget-Signature"
EVENT_ID_HEADER = "Widget-Event-Id"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>`."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The Widget-Signature header value for a body."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def parse(header: str) -> tuple[int | None, list[str]]:
    """(timestamp, [v1 signatures]) from a header value; (None, []) when malformed."""
    timestamp, signatures = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    return timestamp, signatures


def verify(secret: str, body: bytes, header: str, tolerance: int = TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """True when `header` signs `body` with `secret` and is at most `tolerance` seconds old (or ahead)."""
    timestamp, signatures = parse(header)
    if timestamp is None or not signatures:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
