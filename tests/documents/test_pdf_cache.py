"""Invoice PDFs are rendered once and served from files until something they show changes."""
import os
from datetime import date

import pytest

from widget_server import config
from widget_server.documents import invoice_pdf, pdf, pdf_response
from widget_server.storage.models import Customer, Invoice

from .conftest import pdf_text


@pytest.fixture
def renders(monkeypatch):
    """Counts real renders."""
    calls = []
    real = pdf.render_invoice_pdf

    def counting(*args, **kwargs):
        calls.append(args[0].number)
        return real(*args, **kwargs)

    monkeypatch.setattr(pdf, "render_invoice_pdf", counting)
    yield calls


def cached_files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_second_request_is_served_from_the_cache(session, make_invoice, renders, pdf_cache_dir):
    invoice = session.get(Invoice, make_invoice().id)
    first, name = invoice_pdf(invoice)
    files = cached_files(pdf_cache_dir)
    assert renders == ["DEMO-2026-000001"] and len(files) == 1
    assert files[0].startswith(invoice.public_id + "-") and files[0].endswith(".pdf")
    stamp = (pdf_cache_dir / files[0]).stat().st_mtime_ns
    second, second_name = invoice_pdf(session.get(Invoice, invoice.id))
    assert renders == ["DEMO-2026-000001"]
    assert second == first and second_name == name == "DEMO-2026-000001.pdf"
    assert (pdf_cache_dir / files[0]).stat().st_mtime_ns == stamp


def test_each_invoice_has_its_own_file(session, make_invoice, renders, pdf_cache_dir):
    ids = [make_invoice(on=on).id for on in (date(2026, 3, 1), date(2026, 3, 2))]
    outputs = [invoice_pdf(session.get(Invoice, i)) for i in ids]
    assert [name for _data, name in outputs] == ["DEMO-2026-000001.pdf", "DEMO-2026-000002.pdf"]
    assert len(renders) == 2 and len(cached_files(pdf_cache_dir)) == 2


def _edit(path, old, new):
    source = path.read_text(encoding="utf-8")
    assert old in source
    path.write_text(source.replace(old, new, 1), encoding="utf-8")
    # the theme registry reloads a tenant when theme.toml's modification time changes
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_a_new_brand_colour_renders_again_and_replaces_the_old_file(session, make_invoice, renders, pdf_cache_dir,
                                                                    themes_dir):
    invoice_id = make_invoice().id
    invoice_pdf(session.get(Invoice, invoice_id))
    before = cached_files(pdf_cache_dir)
    _edit(themes_dir / "demo" / "theme.toml", 'primary = "#6d28d9"', 'primary = "#5b21b6"')
    invoice_pdf(session.get(Invoice, invoice_id))
    after = cached_files(pdf_cache_dir)
    assert len(renders) == 2
    assert len(after) == 1 and after != before  # the stale file is gone


def test_a_new_logo_file_renders_again(session, make_invoice, renders, themes_dir):
    invoice_id = make_invoice().id
    invoice_pdf(session.get(Invoice, invoice_id))
    logo = themes_dir / "demo" / "logo.svg"
    logo.write_text(logo.read_text(encoding="utf-8").replace("#6d28d9", "#047857"), encoding="utf-8")
    invoice_pdf(session.get(Invoice, invoice_id))
    assert len(renders) == 2


def test_the_customers_language_renders_again(session, make_invoice, renders):
    invoice_id = make_invoice(locale="de").id
    german, _ = invoice_pdf(session.get(Invoice, invoice_id))
    invoice = session.get(Invoice, invoice_id)
    session.get(Customer, invoice.customer_id).locale = "sv"
    session.commit()
    swedish, _ = invoice_pdf(session.get(Invoice, invoice_id))
    assert len(renders) == 2
    assert "Rechnung" in pdf_text(german) and "Faktura" in pdf_text(swedish)


def test_no_temporary_files_are_left_behind(session, make_invoice, pdf_cache_dir):
    invoice_pdf(session.get(Invoice, make_invoice().id))
    assert not [name for name in cached_files(pdf_cache_dir) if not name.endswith(".pdf")]


def test_cache_folder_defaults_to_the_instance_folder_and_follows_the_environment():
    assert config.from_env("/srv/widget", environ={})["WIDGET_PDF_CACHE_DIR"] == "/srv/widget/invoice-pdfs"
    settings = config.from_env("/srv/widget", environ={"WIDGET_PDF_CACHE_DIR": "/var/cache/widget-pdfs"})
    assert settings["WIDGET_PDF_CACHE_DIR"] == "/var/cache/widget-pdfs"


def test_pdf_response_is_an_attachment_named_after_the_number(app, session, make_invoice, renders):
    invoice_id = make_invoice().id
    with app.test_request_context("/api/v1/invoices/x/pdf"):
        response = pdf_response(session.get(Invoice, invoice_id))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="DEMO-2026-000001.pdf"'
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.get_data().startswith(b"%PDF-")
    etag = response.headers["ETag"]
    with app.test_request_context("/api/v1/invoices/x/pdf", headers={"If-None-Match": etag}):
        again = pdf_response(session.get(Invoice, invoice_id))
    assert again.status_code == 304  # Werkzeug sends no body with a 304
    assert len(renders) == 1
