"""The shipped message catalogs: complete, placeholder-safe, and in sync with the code.

Adding translatable text to the code or a template without running
`make extract-messages` and translating it fails this module.
"""
import re
from collections import Counter

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from widget_server.paths import ROOT, TRANSLATIONS

CATALOGS = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
LANGUAGES = [path.parent.parent.name for path in CATALOGS]
# The same keywords as `make extract-messages` (pybabel extract -k lazy_gettext -k _l).
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None}
# %(name)s style placeholders (with optional flags, width and precision) and bare %s / %d.
PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?P<kind>[diouxXeEfFgGcrsa])")


def load(path):
    locale = path.parent.parent.name if path.suffix == ".po" else None
    with open(path, "rb") as fh:
        return read_po(fh, locale=locale)


def messages(catalog):
    """The catalog's messages without the header entry."""
    return [m for m in catalog if m.id]


def strings(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def placeholders(text: str) -> Counter:
    return Counter((m["name"], m["kind"]) for m in PLACEHOLDER.finditer(text.replace("%%", "")))


def stray_percent(text: str) -> bool:
    """A % that is neither %% nor a placeholder: it would break `text % values` at runtime."""
    return "%" in PLACEHOLDER.sub("", text.replace("%%", ""))


def fresh_extraction() -> Catalog:
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, filename="babel.cfg")
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True,
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


@pytest.fixture(scope="module")
def extracted():
    return fresh_extraction()


def test_the_three_languages_ship_a_catalog():
    assert {"de", "sv", "da"} <= set(LANGUAGES)


@pytest.mark.parametrize("path", CATALOGS, ids=LANGUAGES)
def test_catalog_header_names_its_language_and_plural_rule(path):
    catalog = load(path)
    assert str(catalog.locale) == path.parent.parent.name
    header = dict(catalog.mime_headers)
    assert header["Language"] == path.parent.parent.name
    assert header["Plural-Forms"] == "nplurals=2; plural=(n != 1);"
    assert "charset=utf-8" in header["Content-Type"].lower()
    assert not catalog.fuzzy, "the catalog header is marked fuzzy"


@pytest.mark.parametrize("path", CATALOGS, ids=LANGUAGES)
def test_every_message_is_translated_and_not_fuzzy(path):
    catalog = load(path)
    entries = messages(catalog)
    assert len(entries) > 20, "suspiciously few messages: is this the right catalog?"
    problems = []
    for message in entries:
        label = strings(message.id)[0]
        if message.fuzzy:
            problems.append(f"fuzzy: {label!r}")
        translated = strings(message.string)
        if message.pluralizable:
            if len(translated) != catalog.num_plurals:
                problems.append(f"{len(translated)} plural forms instead of {catalog.num_plurals}: {label!r}")
        if not all(text.strip() for text in translated):
            problems.append(f"untranslated: {label!r}")
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", CATALOGS, ids=LANGUAGES)
def test_translations_keep_the_placeholders_of_the_source(path):
    problems = []
    for message in messages(load(path)):
        sources = strings(message.id)
        expected = placeholders(sources[-1])
        if placeholders(sources[0]).keys() != expected.keys():
            problems.append(f"singular and plural source differ: {sources[0]!r}")
        for index, text in enumerate(strings(message.string)):
            if not text:
                continue  # reported by the completeness test
            if placeholders(text).keys() != expected.keys():
                problems.append(
                    f"{sources[0]!r} [{index}]: has {sorted(placeholders(text))}, source has {sorted(expected)}")
            if stray_percent(text):
                problems.append(f"{sources[0]!r} [{index}]: a lone % (write %% for a percent sign)")
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_placeholder_check_notices_differences():
    """Guards the regular expression the placeholder test relies on."""
    assert placeholders("%(price)s per month") == Counter({("price", "s"): 1})
    assert placeholders("%(num)d Tage") != placeholders("%(num)s Tage")
    assert placeholders("Tage") != placeholders("%(num)d days")
    assert placeholders("100 %% sicher") == Counter()
    assert placeholders("100 % sicher") != Counter()  # "% s" is a conversion: the source has none
    assert stray_percent("20 % mehr") and stray_percent("100 %")
    assert not stray_percent("100 %% sicher, %(num)d Tage")


def test_extraction_finds_code_and_template_messages(extracted):
    """Guards the sync test below against an extraction that silently finds nothing."""
    ids = {strings(m.id)[0] for m in messages(extracted)}
    assert "First name" in ids  # lazy_gettext in widget_server/web/fields.py
    assert "Overview" in ids  # `lazy_gettext as _l` in widget_server/portal/__init__.py
    assert "Page not found" in ids  # gettext in widget_server/web/errors.py
    assert "Sign up now" in ids  # hosted_signup/templates/signup/form.html
    assert "%(num)d day free trial" in ids  # ngettext in a template
    assert "Terms and conditions" in ids  # widget_server/web/templates/layout.html


@pytest.mark.parametrize("path", [TRANSLATIONS / "messages.pot", *CATALOGS],
                         ids=["messages.pot", *LANGUAGES])
def test_catalog_holds_every_message_of_the_code(path, extracted):
    catalog = load(path)
    problems = []
    for message in messages(extracted):
        found = catalog.get(message.id, message.context)
        label = strings(message.id)[0]
        if found is None:
            problems.append(f"missing: {label!r} ({message.locations[0][0]}:{message.locations[0][1]})")
        elif strings(found.id) != strings(message.id):
            problems.append(f"plural form changed: {label!r}")
    assert not problems, (
        f"{path.relative_to(ROOT)} is out of date with the code; run `make extract-messages` and translate:\n"
        + "\n".join(problems))


def test_german_addresses_customers_formally():
    """German payment and legal pages say "Sie", never "du"."""
    informal = re.compile(r"\b(du|dich|dir|dein|deine|deinen|deinem|deiner|deines|euch|euer|eure)\b", re.I)
    found = [text for message in messages(load(TRANSLATIONS / "de" / "LC_MESSAGES" / "messages.po"))
             for text in strings(message.string) if informal.search(text)]
    assert not found
