"""The tenant's field configuration as form inputs: labels, help, options, validation.

Shared by the sign-up form and (later) the portal's profile page, so both
accept exactly the same values.
"""
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import phonenumbers
from babel import Locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import vat

from ..tenants.model import pick

STANDARD_LABELS = {
    "first_name": lazy_gettext("First name"),
    "last_name": lazy_gettext("Last name"),
    "email": lazy_gettext("E-mail address"),
    "phone": lazy_gettext("Phone number"),
    "company": lazy_gettext("Company"),
    "street": lazy_gettext("Street and number"),
    "postal_code": lazy_gettext("Postal code"),
    "city": lazy_gettext("City"),
    "country": lazy_gettext("Country"),
    "vat_id": lazy_gettext("VAT ID"),
    "birth_date": lazy_gettext("Date of birth"),
}
STANDARD_HELP = {
    "phone": lazy_gettext("Add the country code if the number is not from the country you selected, e.g. +49 30 1234567."),
    "vat_id": lazy_gettext("For businesses in the EU, e.g. DE123456789."),
}
DEFAULT_MAX = {"text": 200, "email": 254, "phone": 30, "vat_id": 20, "iban": 42, "date": 10, "select": 100, "country": 2}
EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]{2,}$")
AUTOCOMPLETE = {
    "first_name": "given-name", "last_name": "family-name", "email": "email", "phone": "tel",
    "company": "organization", "street": "street-address", "postal_code": "postal-code",
    "city": "address-level2", "country": "country", "birth_date": "bday",
}
INPUT_TYPES = {"email": "email", "phone": "tel", "date": "date"}
# Babel territories that are not countries one can live in.
NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}


def label(field, locale: str, default_language: str) -> str:
    return pick(field.label, locale, default_language) or str(STANDARD_LABELS.get(field.name, field.name))


def help_text(field, locale: str, default_language: str) -> str:
    text = pick(field.help, locale, default_language)
    return text or str(STANDARD_HELP.get(field.name, ""))


# Letters the Nordic alphabets sort after z, in their order there (each group sorts as one letter).
AFTER_Z = {"sv": ("å", "äæ", "öø"), "da": ("æä", "øö", "å"), "nb": ("æä", "øö", "å"), "nn": ("æä", "øö", "å")}
# Letters that Unicode does not decompose into a base letter.
UNDECOMPOSED = str.maketrans({"æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ł": "l", "ı": "i"})


def _sort_key(text: str, language: str = "en") -> str:
    """Alphabetical order for the language: Nordic letters after z, other accents as their base letter."""
    tail = {ch: chr(ord("z") + 1 + i) for i, group in enumerate(AFTER_Z.get(language, ())) for ch in group}
    return "".join(
        tail.get(ch) or unicodedata.normalize("NFKD", ch.translate(UNDECOMPOSED)).encode("ascii", "ignore").decode()
        for ch in text.casefold()
    )


@lru_cache(maxsize=16)
def countries(locale: str) -> tuple[tuple[str, str], ...]:
    """(code, name) pairs in the locale's language, sorted by name."""
    names = Locale.parse(locale).territories
    pairs = [(code, name) for code, name in names.items() if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES]
    language = Locale.parse(locale).language
    return tuple(sorted(pairs, key=lambda pair: _sort_key(pair[1], language)))


@dataclass
class Rendered:
    """One field, ready for the template."""

    field: object
    label: str
    help: str
    value: object
    error: str | None
    locked: bool
    input_type: str
    autocomplete: str | None
    max_length: int
    options: tuple[tuple[str, str], ...] = ()


def render(fields, values: dict, errors: dict, locked: set, locale: str, default_language: str) -> list[Rendered]:
    out = []
    for f in fields:
        options: tuple = ()
        if f.type == "select":
            options = tuple((o.value, pick(o.label, locale, default_language)) for o in f.options)
        elif f.type == "country":
            options = countries(locale)
        out.append(Rendered(
            field=f, label=label(f, locale, default_language), help=help_text(f, locale, default_language),
            value=values.get(f.name), error=errors.get(f.name), locked=f.name in locked,
            input_type=INPUT_TYPES.get(f.type, "text"), autocomplete=AUTOCOMPLETE.get(f.name),
            max_length=f.max_length or DEFAULT_MAX.get(f.type, 200), options=options,
        ))
    return out


def clean_iban(raw: str) -> str | None:
    """The IBAN in compact form, or None when it is not a valid IBAN."""
    try:
        return str(IBAN(raw).compact)
    except (SchwiftyException, ValueError, TypeError):
        return None


def _validate_one(f, raw: str, form, default_country: str, today: date):
    """(clean value, error message or None) for one submitted value."""
    kind = f.type
    if kind == "checkbox":
        checked = raw in ("1", "on", "true", "yes")
        if f.required and not checked:
            return False, _("Please tick this box to continue.")
        return checked, None
    value = raw.strip()
    if not value:
        return None, (_("Please fill in this field.") if f.required else None)
    limit = f.max_length or DEFAULT_MAX.get(kind, 200)
    if kind not in ("iban", "phone") and len(value) > limit:
        return value, _("Please use at most %(max)d characters.", max=limit)
    if kind == "email":
        if not EMAIL.match(value):
            return value, _("Please enter a valid e-mail address, e.g. name@example.com.")
        return value, None
    if kind == "phone":
        if len(value) > limit:
            return value, _("Please use at most %(max)d characters.", max=limit)
        region = (form.get("country") or default_country or "").upper()[:2] or None
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            return value, _("Please enter a valid phone number, e.g. +49 30 1234567.")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None
    if kind == "vat_id":
        if not vat.is_valid(value):
            return value, _("Please enter a valid EU VAT ID, e.g. DE123456789.")
        return vat.compact(value), None
    if kind == "iban":
        if len(value) > limit:
            return value, _("Please use at most %(max)d characters.", max=limit)
        compact = clean_iban(value)
        if compact is None:
            return value, _("This IBAN is not valid. Please check it.")
        return compact, None
    if kind == "country":
        code = value.upper()
        if code not in dict(countries("en")):
            return value, _("Please choose a country from the list.")
        return code, None
    if kind == "select":
        if value not in {o.value for o in f.options}:
            return value, _("Please choose one of the options.")
        return value, None
    if kind == "date":
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return value, _("Please enter a date as YYYY-MM-DD.")
        if f.name == "birth_date" and not (date(1900, 1, 1) <= day < today):
            return value, _("Please enter a date of birth between 1900 and today.")
        return day.isoformat(), None
    return value, None


def validate(fields, form, *, locked: dict, default_country: str, today: date) -> tuple[dict, dict, dict]:
    """(clean values, errors by field, values as typed for redisplay).

    Locked fields take their value from the signed prefill, whatever the form says.
    """
    values, errors, typed = {}, {}, {}
    for f in fields:
        if f.name in locked:
            values[f.name] = typed[f.name] = locked[f.name]
            continue
        raw = form.get(f.name, "")
        if not isinstance(raw, str):
            raw = ""
        clean, error = _validate_one(f, raw, form, default_country, today)
        typed[f.name] = raw if f.type != "checkbox" else clean
        if error:
            errors[f.name] = error
        elif clean not in (None, ""):
            values[f.name] = clean
    return values, errors, typed
