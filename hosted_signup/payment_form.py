"""The payment-method part of the sign-up form."""
from flask_babel import gettext as _
from schwifty import IBAN

from widget_server.billing.contracts import PaymentChoice
from widget_server.web.fields import clean_iban

HOLDER_MAX = 70  # the SEPA limit for a debtor name


def validate(tenant, form) -> tuple[PaymentChoice | None, dict, dict]:
    """(choice, errors by input name, values as typed)."""
    methods = tenant.payment_methods
    kind = form.get("payment_method") or (methods[0] if len(methods) == 1 else "")
    typed = {"payment_method": kind, "account_holder": form.get("account_holder", ""), "iban": form.get("iban", ""),
             "sepa_mandate": form.get("sepa_mandate") == "1"}
    if kind not in methods:
        return None, {"payment_method": _("Please choose a payment method.")}, typed
    if kind != "sepa":
        return PaymentChoice(kind=kind), {}, typed
    errors = {}
    holder = typed["account_holder"].strip()
    if not holder:
        errors["account_holder"] = _("Please fill in this field.")
    elif len(holder) > HOLDER_MAX:
        errors["account_holder"] = _("Please use at most %(max)d characters.", max=HOLDER_MAX)
    iban = typed["iban"].strip()
    compact = clean_iban(iban) if iban and len(iban) <= 42 else None
    if not iban:
        errors["iban"] = _("Please fill in this field.")
    elif compact is None:
        errors["iban"] = _("This IBAN is not valid. Please check it.")
    if not typed["sepa_mandate"]:
        errors["sepa_mandate"] = _("Please agree to the direct debit mandate to pay by direct debit.")
    if errors:
        return None, errors, typed
    bic = IBAN(compact).bic
    return PaymentChoice(kind="sepa", account_holder=holder, iban=compact, bic=str(bic) if bic else None), {}, typed
