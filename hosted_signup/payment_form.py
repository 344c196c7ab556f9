"""The payment-method part of the sign-up form."""
from flask_babel import gettext as _
from schwifty import IBAN

from widget_server.billing.contracts import PaymentChoice
from widget_server.web.fields import clean_iban

HOLDER_MAX = 70  # the SEPA limit for a debtor name


def mandate_text(tenant) -> str:
    """The SEPA mandate the customer agrees to (same text as on the sign-up form), in the page's language."""
    return _("By signing this mandate form, you authorise (A) %(creditor)s to send instructions to your bank to debit "
             "your account and (B) your bank to debit your account in accordance with the instructions from %(creditor)s. "
             "As part of your rights, you are entitled to a refund from your bank under the terms and conditions of your "
             "agreement with your bank. A refund must be claimed within 8 weeks starting from the date on which your "
             "account was debited. Creditor identifier: %(creditor_id)s.",
             creditor=tenant.sepa_creditor_name, creditor_id=tenant.sepa_creditor_id)


def validate(tenant, form, *, card: bool = False) -> tuple[PaymentChoice | None, dict, dict]:
    """(choice, errors by input name, values as typed). "card" counts only where the caller
    offers it (`card`: the sign-up, with Stripe keys); its choice is kind "stripe", and the
    caller still has to check the posted SetupIntent with Stripe (hosted_signup.card.verify)."""
    methods = tuple(m for m in tenant.payment_methods if card or m != "card")
    kind = form.get("payment_method") or (methods[0] if len(methods) == 1 else "")
    typed = {"payment_method": kind, "account_holder": form.get("account_holder", ""), "iban": form.get("iban", ""),
             "sepa_mandate": form.get("sepa_mandate") == "1",
             "setup_intent": form.get("setup_intent", "")[:255], "payment_method_id": form.get("payment_method_id", "")[:255]}
    if kind not in methods:
        return None, {"payment_method": _("Please choose a payment method.")}, typed
    if kind == "card":
        if not typed["setup_intent"]:
            return None, {"card": _("Please enter your card details.")}, typed
        return PaymentChoice(kind="stripe"), {}, typed
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
