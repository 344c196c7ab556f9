"""Invoice PDFs rendered on demand and kept as files, so asking again does not render again.

A cached file is named `<invoice public_id>-<fingerprint>.pdf` in WIDGET_PDF_CACHE_DIR
(default: `<instance folder>/invoice-pdfs`). The fingerprint hashes everything the
PDF shows: the invoice and its lines, the customer's printed data and language,
the tenant's brand (with the logo and font file contents), seller, bank and SEPA
details, and the template, stylesheet and message catalog. When any of these
changes, the next request renders a new file and removes the old one.

The folder is only a cache: deleting it is always safe; several workers or
machines each fill their own (a file is written under a temporary name and
renamed, so readers never see half a PDF).
"""
import functools
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from flask import current_app
from sqlalchemy.orm import object_session

from ..extensions import db
from ..paths import TRANSLATIONS
from ..storage.models import Customer, Invoice
from . import invoice_content, pdf

SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def cache_dir() -> Path:
    configured = current_app.config.get("WIDGET_PDF_CACHE_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "invoice-pdfs"


def filename(invoice) -> str:
    """`DEMO-2026-000123.pdf`: the invoice number, reduced to characters every file system accepts."""
    return f"{SAFE_FILENAME.sub('_', invoice.number).strip('._') or invoice.public_id}.pdf"


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@functools.cache
def layout_digest() -> str:
    """The template, the stylesheet and the code that fills them (fixed for the life of the process)."""
    parts = sorted(pdf.TEMPLATES.glob("*")) + [Path(invoice_content.__file__), Path(pdf.__file__)]
    return hashlib.sha256("".join(f"{p.name}:{_file_digest(p)}" for p in parts).encode()).hexdigest()


def _catalog_digest(locale: str) -> str | None:
    folder = Path(current_app.config.get("BABEL_TRANSLATION_DIRECTORIES") or TRANSLATIONS)
    return _file_digest(folder / locale / "LC_MESSAGES" / "messages.mo")


def fingerprint(invoice, tenant, customer, corrects=None) -> str:
    """A short hash of everything the rendered PDF depends on."""
    folder = Path(tenant.folder)
    brand = tenant.brand
    method = customer.default_payment_method
    locale = invoice_content.document_locale(customer, tenant)
    facts = {
        "layout": layout_digest(),
        "catalog": _catalog_digest(locale),
        "locale": locale,
        "invoice": [invoice.number, invoice.kind, invoice.currency, invoice.net_minor, invoice.tax_minor,
                    invoice.gross_minor, invoice.tax_rate, bool(invoice.reverse_charge), invoice.issue_date,
                    invoice.due_date, invoice.period_start, invoice.period_end, invoice.payment_reference],
        "lines": [[line.position, line.description, line.period_start, line.period_end, line.net_minor]
                  for line in invoice.lines],
        "corrects": [corrects.number, corrects.issue_date] if corrects is not None else None,
        "customer": [customer.email, customer.fields or {}],
        "payment_method": [method.kind, method.masked_iban, method.mandate_reference] if method else None,
        "brand": [brand.name, brand.colors, brand.font_family, brand.logo, brand.font_file,
                  _file_digest(folder / brand.logo) if brand.logo else None,
                  _file_digest(folder / brand.font_file) if brand.font_file else None],
        "billing": [tenant.billing.seller, tenant.billing.bank] if tenant.billing else None,
        "sepa": tenant.sepa_creditor_id,
        "contact": tenant.contact,
        "languages": [tenant.default_language, list(tenant.languages)],
    }
    encoded = json.dumps(facts, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()[:24]


def _store(folder: Path, name: str, data: bytes, public_id: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".render-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
        os.replace(temporary, folder / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for stale in folder.glob(f"{public_id}-*.pdf"):
        if stale.name != name:
            stale.unlink(missing_ok=True)


def invoice_pdf(invoice: Invoice) -> tuple[bytes, str]:
    """The invoice's PDF and its download file name, from the cache or rendered now.

    Needs an app context: the tenant comes from the theme registry (a broken or
    missing theme raises the registry's UnknownTenant / TenantUnavailable)."""
    tenant = current_app.extensions["widget_themes"].get(invoice.tenant)
    session = object_session(invoice) or db.session
    customer = session.get(Customer, invoice.customer_id)
    corrects = session.get(Invoice, invoice.corrects_id) if invoice.corrects_id else None
    folder = cache_dir()
    name = f"{invoice.public_id}-{fingerprint(invoice, tenant, customer, corrects)}.pdf"
    try:
        return (folder / name).read_bytes(), filename(invoice)
    except FileNotFoundError:
        pass
    data = pdf.render_invoice_pdf(invoice, tenant, customer, corrects)
    _store(folder, name, data, invoice.public_id)
    return data, filename(invoice)


def content_tag(data: bytes) -> str:
    """An ETag for a rendered PDF."""
    return hashlib.sha256(data).hexdigest()[:32]
