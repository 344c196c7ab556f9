"""Invoice PDFs: what a customer reads in them, in their language, and nothing they should not."""
import io
import re
from datetime import date

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from widget_server.documents import invoice_pdf, render_invoice_pdf
from widget_server.documents.pdf import css_string, embedded_only, invoice_html
from widget_server.storage.models import Customer, Invoice

from .conftest import CUSTOMER_IBAN, pdf_text


def render(session, tenants, invoice):
    invoice = session.get(Invoice, invoice.id)
    return render_invoice_pdf(invoice, tenants(invoice.tenant), session.get(Customer, invoice.customer_id))


def test_german_customer_reads_german_labels_dates_and_amounts(session, tenants, make_invoice):
    invoice = make_invoice(locale="de")
    text = pdf_text(render(session, tenants, invoice))
    for expected in [
        "Rechnung", "Rechnungsnr. DEMO-2026-000001", "Ausstellungsdatum 31.01.2026", "Fällig am 14.02.2026",
        "Leistungszeitraum 31.01.2026 – 27.02.2026",  # the period [31 Jan, 28 Feb) printed with its last day
        "Pro 31.01.2026 – 27.02.2026 16,72 €",
        "Summe netto 16,72 €", "Umsatzsteuer 19 % 3,18 €", "Gesamtbetrag 19,90 €",
        # seller: name, address, VAT ID
        "Acme Fitness GmbH · Musterstraße 1 · 10115 Berlin", "USt-IdNr.: DE136695976",
        # buyer
        "Anna Berg", "Lindenweg 4", "12345 Hamburg",
        # payment by bank transfer
        "Bitte überweisen Sie 19,90 € bis zum 14.02.2026",
        "Kontoinhaber Acme Fitness GmbH", "IBAN DE02 1203 0000 0000 2020 51", "BIC BYLADEM1001",
        "Verwendungszweck DEMO-2026-000001",
    ]:
        assert expected in text, f"{expected!r} not in:\n{text}"
    for english in ("Invoice", "Due date", "VAT", "Total", "€19.90"):
        assert english not in text


def test_swedish_customer_reads_swedish(session, tenants, make_invoice):
    invoice = make_invoice(locale="sv", fields={"country": "SE", "postal_code": "211 22", "city": "Malmö"})
    text = pdf_text(render(session, tenants, invoice))
    for expected in ["Faktura", "Fakturanr. DEMO-2026-000001", "Fakturadatum 31 jan. 2026", "Förfallodatum 14 feb. 2026",
                     "Summa exkl. moms 16,72 €", "Moms 19 % 3,18 €", "Totalt 19,90 €", "Betalningsreferens DEMO-2026-000001",
                     "211 22 Malmö", "Sverige", "Tyskland"]:  # a buyer abroad reads both countries
        assert expected in text, f"{expected!r} not in:\n{text}"
    assert "Rechnung" not in text and "Invoice" not in text


def test_language_the_tenant_does_not_offer_falls_back_to_its_default(session, tenants, make_invoice):
    invoice = make_invoice(locale="fr")  # demo offers en, de, sv, da; its default is en
    text = pdf_text(render(session, tenants, invoice))
    assert "Invoice no. DEMO-2026-000001" in text and "Total €19.90" in text


def test_other_currency_and_tax_rate(session, tenants, make_invoice):
    invoice = make_invoice(tenant="fjord", plan="mellan", locale="sv", fields={"country": "SE"})
    text = pdf_text(render(session, tenants, invoice))
    assert "Moms 12 % 15,96 kr" in text and "Totalt 149,00 kr" in text
    assert "Fjord Kaffe AB · Hamngatan 3 · 411 14 Göteborg" in text and "SE556677889901" in text
    assert "IBAN SE45 5000 0000 0583 9825 7466" in text
    assert "BIC" not in text  # the theme has no BIC: no empty row


@pytest.mark.parametrize("locale, note", [
    ("en", "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)."),
    ("de", "Steuerschuldnerschaft des Leistungsempfängers: Die Umsatzsteuer schuldet der Leistungsempfänger "
           "(Art. 196 der Richtlinie 2006/112/EG)."),
])
def test_reverse_charge_invoice_carries_the_legal_note(session, tenants, make_invoice, locale, note):
    invoice = make_invoice(locale=locale, fields={"company": "Wiener Turnverein GmbH", "vat_id": "ATU13585627",
                                                  "country": "AT", "postal_code": "1010", "city": "Wien"})
    assert invoice.reverse_charge
    text = " ".join(pdf_text(render(session, tenants, invoice)).split())
    assert note in text
    assert "Wiener Turnverein GmbH" in text and "ATU13585627" in text
    if locale == "en":
        assert "VAT 0% €0.00" in text and "Total €16.72" in text and "Austria" in text


def test_domestic_invoice_has_no_reverse_charge_note(session, tenants, make_invoice):
    text = pdf_text(render(session, tenants, make_invoice(locale="en")))
    assert "Reverse charge" not in text and "VAT 19% €3.18" in text


def test_sepa_invoice_is_a_pre_notification_with_the_masked_iban_only(session, tenants, make_invoice):
    invoice = make_invoice(locale="de", payment="sepa")
    customer = session.get(Customer, invoice.customer_id)
    method = customer.default_payment_method
    data = render(session, tenants, invoice)
    text = pdf_text(data)
    flat = " ".join(text.split())
    assert (f"Wir ziehen 19,90 € am 14.02.2026 per SEPA-Lastschrift von Ihrem Konto {method.masked_iban} ein."
            in flat), flat
    assert f"Mandatsreferenz {method.mandate_reference}" in text
    assert "Gläubiger-ID DE98ZZZ09999999999" in text
    grouped = " ".join(CUSTOMER_IBAN[i:i + 4] for i in range(0, len(CUSTOMER_IBAN), 4))
    compact = text.replace(" ", "")
    for leak in (CUSTOMER_IBAN, CUSTOMER_IBAN[4:-4]):  # the whole IBAN, or its hidden middle
        assert leak not in compact
        assert leak.encode() not in data
    assert grouped not in text and "COBADEFFXXX" not in text
    assert "Verwendungszweck" not in text  # nothing to transfer


def test_credit_note_is_titled_as_such_and_names_the_invoice_it_corrects(session, tenants, make_invoice, credit_note):
    invoice = make_invoice(locale="de")
    note = credit_note(session.get(Invoice, invoice.id))
    text = " ".join(pdf_text(render(session, tenants, note)).split())
    assert "Rechnungskorrektur" in text and "Korrektur-Nr. DEMO-2026-000002" in text
    assert "Korrigiert Rechnung DEMO-2026-000001" in text
    assert "bezieht sich auf die Rechnung DEMO-2026-000001 vom 31.01.2026" in text
    assert "Gesamtbetrag -19,90 €" in text
    assert "Bitte überweisen" not in text and "Fällig am" not in text


def _walk(value, seen, found):
    """Every name and dictionary key reachable from a PDF object."""
    if isinstance(value, IndirectObject):
        if value.idnum in seen:
            return
        seen.add(value.idnum)
        value = value.get_object()
    if isinstance(value, DictionaryObject):
        for key, item in value.items():
            found.add(str(key))
            _walk(item, seen, found)
    elif isinstance(value, ArrayObject):
        for item in value:
            _walk(item, seen, found)
    elif isinstance(value, str) and value.startswith("/"):
        found.add(str(value))


def test_html_in_customer_fields_comes_out_as_text(session, tenants, make_invoice):
    payload = {
        "first_name": "<script>alert(1)</script>",
        "company": '<img src="file:///etc/hostname">',
        "street": '<a href="javascript:alert(2)">Weg</a> 1',
        "city": "</address><h1>Bezahlt</h1>",
    }
    invoice = make_invoice(fields=payload)
    data = render(session, tenants, invoice)
    text = pdf_text(data)
    for literal in ("<script>alert(1)</script>", '<img src="file:///etc/hostname">',
                    '<a href="javascript:alert(2)">Weg</a> 1', "</address><h1>Bezahlt</h1>"):
        assert literal in text, f"{literal!r} not shown as text in:\n{text}"
    reader = PdfReader(io.BytesIO(data))
    names: set[str] = set()
    _walk(reader.trailer["/Root"], set(), names)
    for action in ("/JavaScript", "/JS", "/OpenAction", "/AA", "/URI", "/Launch", "/Annots", "/SubmitForm"):
        assert action not in names, f"{action} in the PDF"
    # the only picture is the (vector) logo: the <img> of the customer field was never fetched
    assert _xobjects(data) == [] and _curves(data) == 4


def test_renderer_fetches_data_uris_only():
    fetcher = embedded_only()
    for url in ("file:///etc/passwd", "http://127.0.0.1:9/x.png", "https://example.com/x.png"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"


def test_css_string_cannot_leave_the_string():
    value = str(css_string('Evil"; } body { color: red } </style><script>'))
    assert value.startswith('"') and value.endswith('"')
    inner = value[1:-1]
    assert not set('"{};<>') & set(inner)


def test_brand_colours_and_font_reach_the_stylesheet(session, tenants, make_invoice):
    invoice = make_invoice()
    html, locale = invoice_html(invoice, tenants("demo"), session.get(Customer, invoice.customer_id))
    assert locale == "de" and '<html lang="de">' in html
    assert "--primary: #6d28d9;" in html and "--text: #1e1b4b;" in html
    assert 'font-family: "Trebuchet MS", "DejaVu Sans"' in html
    assert 'src="data:image/svg+xml;base64,' in html


def _edit_theme(themes_dir, slug, old, new):
    path = themes_dir / slug / "theme.toml"
    source = path.read_text(encoding="utf-8")
    assert old in source
    path.write_text(source.replace(old, new, 1), encoding="utf-8")


def test_unreadable_brand_colours_give_way_on_white_paper(session, tenants, make_invoice, themes_dir):
    """A dark theme (light text on dark surfaces) is readable on screen, not on paper."""
    for old, new in [('primary = "#6d28d9"', 'primary = "#a78bfa"'), ('on_primary = "#ffffff"', 'on_primary = "#111827"'),
                     ('background = "#f5f3ff"', 'background = "#111827"'), ('surface = "#ffffff"', 'surface = "#1f2937"'),
                     ('text = "#1e1b4b"', 'text = "#f9fafb"')]:
        _edit_theme(themes_dir, "demo", old, new)
    invoice = make_invoice()
    html, _ = invoice_html(invoice, tenants("demo"), session.get(Customer, invoice.customer_id))
    assert "--text: #1f2937;" in html and "--primary: #1f2937;" in html and "--panel: #f3f4f6;" in html


def _xobjects(data: bytes) -> list[DictionaryObject]:
    page = PdfReader(io.BytesIO(data)).pages[0]
    found = page["/Resources"].get("/XObject") or {}
    return [found[name].get_object() for name in found]


def _curves(data: bytes) -> int:
    """Bezier segments drawn on the first page: only the logo draws curves (boxes here have square corners)."""
    content = PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data().decode("latin-1")
    return len(re.findall(r" c\n", content))


def test_svg_logo_is_embedded_as_vector_art(session, tenants, make_invoice):
    data = render(session, tenants, make_invoice())
    # The demo logo is a circle (four curves), a triangle and the words "Acme Fitness", drawn into the page.
    assert _curves(data) == 4
    assert "Acme Fitness" in pdf_text(data).splitlines()


def test_raster_logo_is_embedded_as_an_image(session, tenants, make_invoice, themes_dir):
    from PIL import Image
    Image.new("RGB", (240, 60), (109, 40, 217)).save(themes_dir / "demo" / "logo.png")
    _edit_theme(themes_dir, "demo", 'logo = "logo.svg"', 'logo = "logo.png"')
    images = [o for o in _xobjects(render(session, tenants, make_invoice())) if o["/Subtype"] == "/Image"]
    assert [(i["/Width"], i["/Height"]) for i in images] == [(240, 60)]


def test_without_a_logo_the_brand_name_is_printed(session, tenants, make_invoice, themes_dir):
    _edit_theme(themes_dir, "demo", 'logo = "logo.svg"\n', "")
    data = render(session, tenants, make_invoice())
    assert _xobjects(data) == [] and _curves(data) == 0
    assert "Acme Fitness" in pdf_text(data).splitlines()


def test_invoice_pdf_names_the_file_after_the_number(session, make_invoice):
    data, name = invoice_pdf(session.get(Invoice, make_invoice().id))
    assert name == "DEMO-2026-000001.pdf" and data.startswith(b"%PDF-")


def test_long_invoice_runs_over_pages_that_name_it(session, tenants, make_invoice):
    from widget_server.billing.invoices import Draft, LineSpec, issue
    first = make_invoice()
    customer = session.get(Customer, first.customer_id)
    lines = [LineSpec(kind="proration", description=f"Upgrade, part {n}", price_minor=100 * n,
                      period_start=date(2026, 2, 1), period_end=date(2026, 2, 15)) for n in range(1, 61)]
    issued = issue(session, [Draft(tenant=tenants("demo"), customer=customer, currency="EUR", issue_date=date(2026, 2, 1),
                                   lines=lines, period_start=date(2026, 2, 1), period_end=date(2026, 3, 1))])
    session.commit()
    reader = PdfReader(io.BytesIO(render(session, tenants, session.get(Invoice, issued[0].id))))
    pages = [pdf_text_of(page) for page in reader.pages]
    assert len(pages) >= 2
    assert "Rechnung DEMO-2026-000002" not in pages[0]  # page one has the full head instead
    for number, text in enumerate(pages, start=1):
        assert f"Seite {number} / {len(pages)}" in text
        assert "USt-IdNr.: DE136695976" in text  # the seller's footer on every page
        if number > 1:
            assert "Rechnung DEMO-2026-000002" in text
        if "Upgrade, part" in text:  # the table's head repeats on every page with lines
            assert "Beschreibung Leistungszeitraum Nettobetrag" in text
    assert "Gesamtbetrag 1.830,00 €" in "\n".join(pages) and "Verwendungszweck DEMO-2026-000002" in pages[-1]


def pdf_text_of(page) -> str:
    return re.sub(r"[ \t\u00a0\u202f]+", " ", page.extract_text() or "")


def _font_names(data: bytes) -> set[str]:
    fonts = PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"]
    return {str(fonts[name].get_object()["/BaseFont"]).split("+")[-1] for name in fonts}


def test_brand_font_file_is_embedded(session, tenants, make_invoice, themes_dir):
    import shutil
    import subprocess
    from fontTools.ttLib import TTFont
    found = shutil.which("fc-match") and subprocess.run(["fc-match", "-f", "%{file}", "DejaVu Serif:style=Book"],
                                                        capture_output=True, text=True).stdout
    if not found or "DejaVuSerif" not in found:
        pytest.skip("DejaVu Serif (fonts-dejavu-core) is not installed")
    plain = render(session, tenants, make_invoice())
    assert not any("Serif" in name for name in _font_names(plain))  # DejaVu Sans only
    font = TTFont(found)
    font.flavor = "woff2"
    font.save(themes_dir / "demo" / "brand.woff2")
    _edit_theme(themes_dir, "demo", 'font_family = "Trebuchet MS"', 'font_family = "Brand Serif"\nfont_file = "brand.woff2"')
    branded = render(session, tenants, make_invoice(on=date(2026, 2, 1)))
    assert "Brand-Serif" in _font_names(branded)  # the @font-face from the theme's file, embedded


def test_an_issued_invoice_keeps_the_address_it_was_issued_to(session, make_invoice, tenants):
    invoice = make_invoice(fields={"street": "Alte Straße 1"})
    customer = session.get(Customer, invoice.customer_id)
    customer.fields = {**customer.fields, "street": "Neue Allee 99"}
    session.commit()
    text = pdf_text(render_invoice_pdf(invoice, tenants(invoice.tenant), customer))
    assert "Alte Straße 1" in text and "Neue Allee 99" not in text
