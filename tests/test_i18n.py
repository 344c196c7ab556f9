"""Which language a page speaks, and that prices, dates, countries and errors follow it.

Order (widget_server/i18n.py): ?lang, then the customer's language, then the
browser's Accept-Language, then the tenant's default; always restricted to the
languages the tenant offers.
"""
import os
import re
import tempfile
import unicodedata
from decimal import Decimal
from html import unescape

import pytest
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from widget_server.billing.periods import trial_end
from widget_server.paths import TRANSLATIONS

BASIC_PRICE = Decimal("9.90")  # themes/demo/theme.toml, plan "basic": EUR, 14 days free
BASIC_TRIAL_DAYS = 14


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogs():
    """Compile any catalog whose .mo is missing or older than its .po (what `make translations` does)."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime_ns >= po.stat().st_mtime_ns:
            continue
        with open(po, "rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        fd, temporary = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as fh:
            write_mo(fh, catalog)
        os.replace(temporary, mo)  # atomic: a server reading the catalog never sees half a file


def page(response) -> str:
    return response.get_data(as_text=True)


def language_of(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def notice(html: str) -> str | None:
    found = re.search(r'<p class="notice" role="status">(.*?)</p>', html, re.S)
    return unescape(found.group(1)) if found else None


def select_options(html: str, name: str) -> list[tuple[str, str]]:
    body = re.search(rf'<select id="f-{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return [(unescape(value), unescape(text)) for value, text in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', body)]


def error_of(html: str, name: str) -> str:
    return unescape(re.search(rf'<p class="error" id="f-{name}-error">(.*?)</p>', html, re.S).group(1))


# ---------------------------------------------------------------- choosing the language

def test_lang_parameter_wins_over_the_browser(client):
    html = page(client.get("/t/demo/signup?lang=sv", headers={"Accept-Language": "de, en;q=0.5"}))
    assert language_of(html) == "sv"
    assert "Välj det här abonnemanget" in html
    assert notice(html) is None


def test_lang_parameter_with_a_region_picks_the_language(client):
    html = page(client.get("/t/demo/signup?lang=de-AT"))
    assert language_of(html) == "de"
    assert notice(html) is None


def test_language_links_keep_the_choice(client):
    html = page(client.get("/t/demo/signup?lang=da"))
    assert 'id="choose-basic" aria-describedby="plan-basic" href="/t/demo/signup/basic?lang=da"' in html
    for code, autonym in [("en", "English"), ("de", "Deutsch"), ("sv", "Svenska"), ("da", "Dansk")]:
        assert re.search(rf'<a href="/t/demo/signup\?lang={code}" lang="{code}"[^>]*>{autonym}</a>', html)
    assert re.search(r'lang="da"[^>]*aria-current="true">Dansk<', html)


def test_unknown_lang_shows_a_notice_and_falls_back_to_the_tenant_default(client):
    response = client.get("/t/demo/signup?lang=xx")
    html = page(response)
    assert response.status_code == 200
    assert language_of(html) == "en"
    assert notice(html) == 'The language "xx" is not available here; this page is shown in English instead.'
    assert "Choose this plan" in html


def test_unknown_lang_falls_back_to_the_browser_language_and_says_so_in_it(client):
    response = client.get("/t/demo/signup?lang=xx", headers={"Accept-Language": "de-DE,de;q=0.9"})
    html = page(response)
    assert response.status_code == 200
    assert language_of(html) == "de"
    assert notice(html) == "Die Sprache „xx“ ist hier nicht verfügbar. Diese Seite wird stattdessen auf Deutsch angezeigt."
    # The links carry the language actually shown, so the notice does not follow the visitor around.
    assert 'href="/t/demo/signup/basic?lang=de"' in html and "lang=xx" not in html


def test_a_language_the_tenant_does_not_offer_is_unknown_there(client):
    response = client.get("/t/fjord/signup?lang=de")
    html = page(response)
    assert response.status_code == 200
    assert language_of(html) == "sv"
    assert notice(html) == "Språket ”de” finns inte här, så sidan visas på svenska i stället."


def test_the_unknown_language_notice_escapes_what_was_asked_for(client):
    html = page(client.get("/t/demo/signup?lang=<b>x</b>"))
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<b>x</b>" not in html


@pytest.mark.parametrize("header, expected", [
    ("de", "de"),
    ("da-DK,da;q=0.9,en;q=0.8", "da"),
    ("fr-FR, sv;q=0.8, de;q=0.5", "sv"),
    ("fr, es", "en"),
])
def test_accept_language_chooses_among_the_tenants_languages(client, header, expected):
    html = page(client.get("/t/demo/signup", headers={"Accept-Language": header}))
    assert language_of(html) == expected
    assert notice(html) is None


@pytest.mark.parametrize("header", ["de", "en-GB,en;q=0.9", "da"])
def test_accept_language_cannot_pick_a_language_the_tenant_lacks(client, header):
    html = page(client.get("/t/fjord/signup", headers={"Accept-Language": header}))
    assert language_of(html) == "sv"
    assert "Välj det här abonnemanget" in html
    assert "Choose this plan" not in html


def test_tenant_default_applies_without_lang_or_browser_preference(client):
    html = page(client.get("/t/fjord/signup"))
    assert language_of(html) == "sv"
    html = page(client.get("/t/demo/signup"))
    assert language_of(html) == "en"


def test_tenant_default_is_whatever_the_theme_says(client, themes_dir):
    theme = themes_dir / "demo" / "theme.toml"
    theme.write_text(theme.read_text(encoding="utf-8").replace('default = "en"', 'default = "de"', 1), encoding="utf-8")
    assert language_of(page(client.get("/t/demo/signup"))) == "de"
    assert language_of(page(client.get("/t/demo/signup", headers={"Accept-Language": "fr"}))) == "de"
    assert language_of(page(client.get("/t/demo/signup", headers={"Accept-Language": "sv"}))) == "sv"


def test_confirmation_page_speaks_the_language_the_customer_signed_up_in(client, signup_form, tenants):
    url, data = signup_form(query="?lang=da")
    location = client.post(url, data=data).headers["Location"]
    bare = location.split("?")[0]
    html = page(client.get(bare, headers={"Accept-Language": "de"}))
    assert language_of(html) == "da"
    assert "Tak for din tilmelding" in html
    expected_end = format_date(trial_end(tenants("demo").today(), BASIC_TRIAL_DAYS), "long", locale="da")
    assert f"<dt>Gratis prøveperiode indtil</dt><dd>{expected_end}</dd>" in html
    # ?lang still wins over the customer's language.
    assert language_of(page(client.get(bare + "?lang=sv"))) == "sv"


# ---------------------------------------------------------------- formats per locale

@pytest.mark.parametrize("lang", ["en", "de", "sv", "da"])
def test_prices_are_formatted_for_the_page_language(client, lang):
    html = page(client.get(f"/t/demo/signup?lang={lang}"))
    expected = format_currency(BASIC_PRICE, "EUR", locale=lang)
    assert expected in html
    per_month = {"en": "per month", "de": "pro Monat", "sv": "per månad", "da": "pr. måned"}[lang]
    assert f"{expected} {per_month}" in html


def test_price_formats_are_the_ones_customers_expect(client):
    assert "9,90\xa0€ pro Monat" in page(client.get("/t/demo/signup?lang=de"))
    assert "€9.90 per month" in page(client.get("/t/demo/signup?lang=en"))
    assert "€9.90" not in page(client.get("/t/demo/signup?lang=sv"))
    html = page(client.get("/t/fjord/signup"))
    assert format_currency(Decimal("149.00"), "SEK", locale="sv") in html  # 149,00 kr
    assert "149,00\xa0kr per månad" in html
    assert f"{format_currency(Decimal('1490.00'), 'SEK', locale='sv')} per år" in html


@pytest.mark.parametrize("lang, sentence", [
    ("en", "Free for 14 days. Your first payment of {price} is due on {date}."),
    ("de", "14 Tage kostenlos. Ihre erste Zahlung über {price} ist am {date} fällig."),
    ("sv", "Gratis i 14 dagar. Din första betalning på {price} förfaller den {date}."),
    ("da", "Gratis i 14 dage. Din første betaling på {price} forfalder den {date}."),
])
def test_dates_are_formatted_for_the_page_language(client, tenants, lang, sentence):
    html = page(client.get(f"/t/demo/signup/basic?lang={lang}"))
    first_charge = trial_end(tenants("demo").today(), BASIC_TRIAL_DAYS)  # the tenant's date, not the server's
    expected = sentence.format(price=format_currency(BASIC_PRICE, "EUR", locale=lang),
                               date=format_date(first_charge, "long", locale=lang))
    assert expected in html
    if lang != "en":
        assert first_charge.strftime("%B") not in html  # no English month name


def test_trial_length_is_pluralized_per_language(client):
    assert "14 Tage kostenlos testen" in page(client.get("/t/demo/signup?lang=de"))
    assert "14 dages gratis prøveperiode" in page(client.get("/t/demo/signup?lang=da"))
    assert "30 dagars gratis provperiod" in page(client.get("/t/fjord/signup"))


# ---------------------------------------------------------------- the country list

@pytest.mark.parametrize("lang, germany, austria", [
    ("en", "Germany", "Austria"),
    ("de", "Deutschland", "Österreich"),
    ("sv", "Tyskland", "Österrike"),
    ("da", "Tyskland", "Østrig"),
])
def test_country_names_are_localized(client, lang, germany, austria):
    html = page(client.get(f"/t/demo/signup/basic?lang={lang}"))
    options = dict(select_options(html, "country"))
    assert options[""]  # the "please choose" prompt comes first
    assert options["DE"] == germany
    assert options["AT"] == austria
    assert len(options) > 200


def latin_key(name: str) -> str:
    """Base letters only: how German and English dictionaries order Ä, Å, Ç..."""
    return unicodedata.normalize("NFKD", name.casefold()).encode("ascii", "ignore").decode()


@pytest.mark.parametrize("lang", ["en", "de"])
def test_countries_are_sorted_by_their_localized_name(client, lang):
    names = [text for value, text in select_options(page(client.get(f"/t/demo/signup/basic?lang={lang}")), "country") if value]
    assert [latin_key(n) for n in names] == sorted(latin_key(n) for n in names)
    assert names[0] == "Afghanistan"
    if lang == "de":
        assert names.index("Ägypten") < names.index("Albanien")  # Ä sorts as A in German
        assert names.index("Oman") < names.index("Österreich") < names.index("Pakistan")


def nordic_key(name: str, tail: str) -> str:
    """Swedish and Danish order: the letters of `tail` come after z, in that order; other accents as base letters."""
    return "".join(chr(ord("z") + 1 + tail.index(ch)) if ch in tail else latin_key(ch) for ch in name.casefold())


@pytest.mark.parametrize("lang, tail", [
    ("sv", "åäö"),  # Swedish: ... x y z å ä ö
    ("da", "æøå"),  # Danish: ... x y z æ ø å
])
def test_nordic_letters_sort_after_z(client, lang, tail):
    names = [text for value, text in select_options(page(client.get(f"/t/demo/signup/basic?lang={lang}")), "country") if value]
    assert names == sorted(names, key=lambda name: nordic_key(name, tail))
    assert names[0] == "Afghanistan"
    assert names[-1] == {"sv": "Östtimor", "da": "Åland"}[lang]
    assert names.index("Zimbabwe") < names.index({"sv": "Österrike", "da": "Østrig"}[lang])
    assert names.index("Fiji") < names.index({"sv": "Färöarna", "da": "Færøerne"}[lang])


# ---------------------------------------------------------------- validation messages

@pytest.mark.parametrize("lang, message, summary", [
    ("en", "Please enter a valid e-mail address, e.g. name@example.com.", "Please correct 1 entry"),
    ("de", "Bitte geben Sie eine gültige E-Mail-Adresse ein, z. B. name@example.com.", "Bitte korrigieren Sie 1 Angabe"),
    ("sv", "Ange en giltig e-postadress, t.ex. namn@example.com.", "Rätta 1 uppgift"),
    ("da", "Angiv en gyldig e-mailadresse, f.eks. navn@example.com.", "Ret 1 oplysning"),
])
def test_validation_errors_speak_the_page_language(client, signup_form, lang, message, summary):
    url, data = signup_form(query=f"?lang={lang}", email="anna(at)example")
    response = client.post(url, data=data)
    html = page(response)
    assert response.status_code == 422
    assert language_of(html) == lang
    assert error_of(html, "email") == message
    assert f'<h2 id="error-summary-title">{summary}</h2>' in html


def test_several_german_errors_use_the_plural_and_formal_address(client, signup_form):
    url, data = signup_form(query="?lang=de", email="anna(at)example", city="", consent=None)
    html = page(client.post(url, data=data))
    assert '<h2 id="error-summary-title">Bitte korrigieren Sie 3 Angaben</h2>' in html
    assert error_of(html, "city") == "Bitte füllen Sie dieses Feld aus."
    assert error_of(html, "consent") == "Bitte akzeptieren Sie die AGB und die Datenschutzerklärung, um fortzufahren."
    assert "<title>Fehler: Anmeldung für Basis" in html


def test_validation_language_follows_accept_language_without_lang(client, signup_form):
    url, data = signup_form()
    response = client.post(url, data={**data, "email": "nope"}, headers={"Accept-Language": "sv"})
    assert response.status_code == 422
    assert error_of(page(response), "email") == "Ange en giltig e-postadress, t.ex. namn@example.com."


def test_sepa_mandate_text_is_the_official_wording(client):
    html = unescape(page(client.get("/t/demo/signup/basic?lang=de")))
    assert ("Ich ermächtige Acme Fitness GmbH, Zahlungen von meinem Konto mittels Lastschrift einzuziehen. "
            "Zugleich weise ich mein Kreditinstitut an, die von Acme Fitness GmbH auf mein Konto gezogenen "
            "Lastschriften einzulösen.") in html
    assert "Gläubiger-Identifikationsnummer: DE98ZZZ09999999999." in html
    assert "SEPA-Lastschriftmandat" in html
