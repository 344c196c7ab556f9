"""Which language a page speaks: ?lang, then the customer's, then the browser's, then the tenant's default.

Always restricted to the tenant's available languages. The browser's
Accept-Language is asked before the tenant default; otherwise it could never
apply, since every tenant has a default.
"""
from functools import lru_cache
from pathlib import Path

from babel import Locale
from flask import current_app, g, has_request_context, request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

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


@lru_cache(maxsize=64)
def _locale(code: str) -> Locale:
    """Babel Locale objects, parsed once (Flask-Babel would parse the code at every request)."""
    return Locale.parse(code)


@lru_cache(maxsize=1024)
def _browser_choice(header: str, available: tuple[str, ...]) -> str | None:
    """The best of the available languages for an Accept-Language header (browsers send few distinct ones)."""
    return parse_accept_header(header, LanguageAccept).best_match(available)


def select_locale() -> Locale:
    return _locale(_select_code())


def _select_code() -> str:
    if not has_request_context():
        return SOURCE_LANGUAGE
    tenant = g.get("tenant")
    available = tenant.languages if tenant else tuple(sorted(current_app.extensions["widget_languages"]))
    asked = normalize(request.args.get("lang"))
    if asked:
        if asked in available:
            return asked
        g.unknown_language = request.args.get("lang", "")[:16]
    customer = normalize(g.get("customer_locale"))
    if customer in available:
        return customer
    header = request.headers.get("Accept-Language", "")
    best = _browser_choice(header[:200], available) if header else None
    if best:
        return best
    return tenant.default_language if tenant else SOURCE_LANGUAGE
