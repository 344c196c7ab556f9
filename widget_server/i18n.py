"""Which language a page speaks: ?lang, then the customer's, then the browser's, then the tenant's default.

Always restricted to the tenant's available languages. The browser's
Accept-Language is asked before the tenant default; otherwise it could never
apply, since every tenant has a default.
"""
from pathlib import Path

from flask import current_app, g, has_request_context, request

SOURCE_LANGUAGE = "en"
AUTONYMS = {"en": "English", "de": "Deutsch", "sv": "Svenska", "da": "Dansk"}


def shipped_languages(translations_dir: str | Path) -> set[str]:
    folder = Path(translations_dir)
    found = {p.parent.parent.name for p in folder.glob("*/LC_MESSAGES/messages.po")}
    return found | {SOURCE_LANGUAGE}


def normalize(code: str | None) -> str | None:
    if not code:
        return None
    return code.strip().replace("-", "_").split("_")[0].lower()[:8] or None


def select_locale() -> str:
    if not has_request_context():
        return SOURCE_LANGUAGE
    tenant = g.get("tenant")
    available = list(tenant.languages) if tenant else sorted(current_app.extensions["widget_languages"])
    asked = normalize(request.args.get("lang"))
    if asked:
        if asked in available:
            return asked
        g.unknown_language = request.args.get("lang", "")[:16]
    customer = normalize(g.get("customer_locale"))
    if customer in available:
        return customer
    best = request.accept_languages.best_match(available)
    if best:
        return best
    return tenant.default_language if tenant else SOURCE_LANGUAGE
