"""Rules that span several keys of a theme, checked after the schema passed.

Each problem is (key path, message) so `themes check` can point at the line a
designer has to fix.
"""
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import vat

from .model import FIELD_TYPES
from .schema import currency_precision

# Fields whose label and help we translate ourselves; any other name needs a label per language.
STANDARD_FIELDS = {
    "first_name": "text", "last_name": "text", "email": "email", "phone": "phone",
    "company": "text", "street": "text", "postal_code": "text", "city": "text",
    "country": "country", "vat_id": "vat_id", "birth_date": "date",
}
LENGTH_TYPES = {"text", "email", "phone", "vat_id", "iban"}
MIN_CONTRAST = 4.5  # WCAG AA for normal text


def luminance(hex_color: str) -> float:
    """WCAG relative luminance of a #rgb or #rrggbb colour."""
    value = hex_color.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _missing_languages(translations: dict, languages: list[str]) -> list[str]:
    return [lang for lang in languages if not translations.get(lang)]


def check(data: dict, folder: Path, shipped_languages: set[str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    add = lambda path, message: problems.append((path, message))  # noqa: E731

    languages = data["languages"]
    available = languages["available"]
    for i, lang in enumerate(available):
        if lang not in shipped_languages:
            add(f"languages.available[{i}]", f"'{lang}' is not a shipped language ({', '.join(sorted(shipped_languages))}).")
    if len(set(available)) != len(available):
        add("languages.available", "A language is listed twice.")
    if languages["default"] not in available:
        add("languages.default", f"'{languages['default']}' must be one of languages.available.")
    for lang in data["texts"]:
        if lang not in available:
            add(f"texts.{lang}", f"'{lang}' is not in languages.available.")

    brand = data["brand"]
    for key in ("logo", "font_file"):
        if brand.get(key) and not (folder / brand[key]).is_file():
            add(f"brand.{key}", f"File '{brand[key]}' is not in the theme folder.")
    if brand.get("font_file") and not brand["font_file"].endswith(".woff2"):
        add("brand.font_file", "Font files must be .woff2.")
    colors = brand["colors"]
    for fg, bg in (("text", "background"), ("text", "surface"), ("on_primary", "primary"), ("primary", "surface")):
        ratio = contrast(colors[fg], colors[bg])
        if ratio < MIN_CONTRAST:
            add(f"brand.colors.{fg}", f"Contrast of {fg} on {bg} is {ratio:.2f}:1; at least {MIN_CONTRAST}:1 is needed to be readable.")

    seen: set[str] = set()
    for i, fld in enumerate(data["fields_"]):
        path = f"fields[{i}]"
        name, ftype = fld["name"], fld["type"]
        if name in seen:
            add(f"{path}.name", f"Field '{name}' is listed twice.")
        seen.add(name)
        if name in STANDARD_FIELDS and STANDARD_FIELDS[name] != ftype:
            add(f"{path}.type", f"Field '{name}' must have type '{STANDARD_FIELDS[name]}'.")
        if name not in STANDARD_FIELDS:
            for lang in _missing_languages(fld["label"], available):
                add(f"{path}.label.{lang}", f"Label missing for language '{lang}'.")
        for lang in fld["help"]:
            if lang not in available:
                add(f"{path}.help.{lang}", f"'{lang}' is not in languages.available.")
        if ftype == "select":
            if not fld["options"]:
                add(f"{path}.options", "A select field needs at least one option.")
            for j, option in enumerate(fld["options"]):
                for lang in _missing_languages(option["label"], available):
                    add(f"{path}.options[{j}].label.{lang}", f"Label missing for language '{lang}'.")
        elif fld["options"]:
            add(f"{path}.options", f"Only select fields have options, not {ftype} fields.")
        if fld.get("max_length") and ftype not in LENGTH_TYPES:
            add(f"{path}.max_length", f"max_length applies to {', '.join(sorted(LENGTH_TYPES))} fields only.")
        assert ftype in FIELD_TYPES
    email = [f for f in data["fields_"] if f["name"] == "email"]
    if not email:
        add("fields", "An 'email' field is required: it is how customers are reached.")
    elif not email[0]["required"]:
        add(f"fields[{data['fields_'].index(email[0])}].required", "The 'email' field must be required.")

    plan_ids: set[str] = set()
    for i, plan in enumerate(data["plans"]):
        if plan["id"] in plan_ids:
            add(f"plans[{i}].id", f"Plan '{plan['id']}' is listed twice.")
        plan_ids.add(plan["id"])
        for lang in _missing_languages(plan["name"], available):
            add(f"plans[{i}].name.{lang}", f"Name missing for language '{lang}'.")
        for key in ("price", "setup_fee"):
            places = -plan[key].as_tuple().exponent
            if places > currency_precision(plan["currency"]):
                add(f"plans[{i}].{key}", f"{plan['currency']} has {currency_precision(plan['currency'])} decimal places.")

    payments = data["payments"]
    if len(set(payments["methods"])) != len(payments["methods"]):
        add("payments.methods", "A payment method is listed twice.")
    if "sepa" in payments["methods"] and not payments.get("sepa"):
        add("payments.sepa", "SEPA direct debit needs [payments.sepa] with creditor_id and creditor_name.")
    problems.extend(_check_billing(data))
    problems.extend(_check_portal(data, plan_ids, seen, available))
    return problems


def _check_billing(data: dict) -> list[tuple[str, str]]:
    problems = []
    billing = data["billing"]
    try:
        ZoneInfo(billing["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(("billing.timezone", f"'{billing['timezone']}' is not a time zone such as Europe/Berlin."))
    seller_vat = billing["seller"].get("vat_id")
    if seller_vat and not vat.is_valid(seller_vat):
        problems.append(("billing.seller.vat_id", "Not a valid EU VAT ID."))
    bank = billing.get("bank")
    if bank:
        try:
            IBAN(bank["iban"])
        except (SchwiftyException, ValueError):
            problems.append(("billing.bank.iban", "Not a valid IBAN."))
    elif "invoice" in data["payments"]["methods"]:
        problems.append(("billing.bank", "Paying by bank transfer needs [billing.bank] with account_holder and iban."))
    days = billing["dunning_days"]
    if days != sorted(set(days)):
        problems.append(("billing.dunning_days", "List each day once, in ascending order."))
    return problems


def _check_portal(data: dict, plan_ids: set[str], field_names: set[str], languages: list[str]) -> list[tuple[str, str]]:
    """Every plan, field and offer the portal policy names must exist; every text needs every language."""
    problems = []
    add = lambda path, message: problems.append((path, message))  # noqa: E731
    portal = data["portal"]
    for i, name in enumerate(portal["locked_fields"]):
        if name not in field_names:
            add(f"portal.locked_fields[{i}]", f"There is no field '{name}'.")
    for plan, targets in portal["plan_changes"].items():
        if plan not in plan_ids:
            add(f"portal.plan_changes.{plan}", f"There is no plan '{plan}'.")
        for j, target in enumerate(targets):
            if target not in plan_ids or target == plan:
                add(f"portal.plan_changes.{plan}[{j}]", f"'{target}' is not another plan.")
    cancellation = portal["cancellation"]
    offer_ids = set()
    for i, offer in enumerate(cancellation["offers"]):
        path = f"portal.cancellation.offers[{i}]"
        if offer["id"] in offer_ids:
            add(f"{path}.id", f"Offer '{offer['id']}' is listed twice.")
        offer_ids.add(offer["id"])
        if offer["type"] == "discount" and not (offer.get("percent") and offer.get("periods")):
            add(path, "A discount offer needs percent and periods.")
        if offer["type"] == "downgrade" and offer.get("plan") not in plan_ids:
            add(f"{path}.plan", "A downgrade offer needs the id of an existing plan.")
        if offer["type"] == "pause" and not portal["pause"]["enabled"]:
            add(f"{path}.type", "A pause offer needs [portal.pause] enabled = true.")
        for lang in _missing_languages(offer["text"], languages):
            add(f"{path}.text.{lang}", f"Text missing for language '{lang}'.")
    reason_ids = set()
    for i, reason in enumerate(cancellation["reasons"]):
        path = f"portal.cancellation.reasons[{i}]"
        if reason["id"] in reason_ids:
            add(f"{path}.id", f"Reason '{reason['id']}' is listed twice.")
        reason_ids.add(reason["id"])
        for lang in _missing_languages(reason["label"], languages):
            add(f"{path}.label.{lang}", f"Label missing for language '{lang}'.")
        for j, offer_id in enumerate(reason["offers"]):
            if offer_id not in offer_ids:
                add(f"{path}.offers[{j}]", f"There is no offer '{offer_id}' in portal.cancellation.offers.")
    return problems
