"""Rendering an invoice or credit note to PDF with WeasyPrint, from templates/invoice.html and invoice.css.

The renderer fetches nothing: the logo and font arrive as data: URIs, and any
other URL (a file, the network) is refused, so text a customer typed can never
make the renderer read a file or call out, even if it were not escaped (it is).
"""
import functools
import threading
from pathlib import Path

from flask_babel import force_locale, get_translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from sqlalchemy.orm import object_session

from . import invoice_content

TEMPLATES = Path(__file__).resolve().parent / "templates"


def embedded_only():
    """WeasyPrint's URL fetcher for invoices: data: URIs only, every other scheme is refused.

    A new one per document: a fetcher keeps per-request state, so threads must not share one."""
    from weasyprint.urls import URLFetcher
    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False)


@functools.cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    # As Flask-Babel installs them for pages: translations of the locale in force, newstyle (escaped) formatting.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: get_translations().ugettext(message),
        lambda singular, plural, num: get_translations().ungettext(singular, plural, num),
        newstyle=True,
    )
    env.filters["css_string"] = css_string
    return env


@functools.cache
def stylesheet():
    """The print stylesheet, parsed once per process."""
    from weasyprint import CSS
    return CSS(filename=str(TEMPLATES / "invoice.css"), url_fetcher=embedded_only())


_fonts = threading.local()


def font_configuration(needs_own: bool):
    """Pango's font set-up costs ~15 ms: each thread keeps one for documents without a font file of their own.

    A brand font (@font-face) registers with the configuration it is given, so such documents get a fresh one."""
    from weasyprint.text.fonts import FontConfiguration
    if needs_own:
        return FontConfiguration()
    if getattr(_fonts, "shared", None) is None:
        _fonts.shared = FontConfiguration()
    return _fonts.shared


def css_string(value: str) -> Markup:
    """A value as a quoted CSS string: anything but letters, digits and a few safe marks is hex-escaped,
    so it cannot end the string, the rule or the <style> element."""
    escaped = "".join(ch if ch.isalnum() or ch in " .,:-" else f"\\{ord(ch):06x}" for ch in str(value))
    return Markup(f'"{escaped}"')


def invoice_html(invoice, tenant, customer, corrects=None) -> tuple[str, str]:
    """The invoice as HTML in the customer's language, and that language."""
    if corrects is None and invoice.corrects_id:
        session = object_session(invoice)
        corrects = session.get(type(invoice), invoice.corrects_id) if session is not None else None
    locale = invoice_content.document_locale(customer, tenant)
    with force_locale(locale):
        content = invoice_content.build(invoice, tenant, customer, corrects=corrects, locale=locale)
        html = environment().get_template("invoice.html").render(doc=content)
    return html, locale


def render_invoice_pdf(invoice, tenant, customer, corrects=None) -> bytes:
    """The PDF of an invoice or credit note. Needs an app context (translations).

    `corrects` is the invoice a credit note corrects; looked up through the invoice's session when not given."""
    from weasyprint import HTML

    html, _locale = invoice_html(invoice, tenant, customer, corrects)
    fonts = font_configuration(needs_own=bool(tenant.brand.font_file))
    document = HTML(string=html, base_url=None, url_fetcher=embedded_only())
    return document.write_pdf(stylesheets=[stylesheet()], font_config=fonts)
