"""How a card brand as Stripe names it (PaymentMethod.card_brand) is written for people.

Brand names are proper names: the same in every language."""

NAMES = {
    "amex": "American Express", "cartes_bancaires": "Cartes Bancaires", "diners": "Diners Club",
    "discover": "Discover", "eftpos_au": "eftpos", "interac": "Interac", "jcb": "JCB", "mastercard": "Mastercard",
    "unionpay": "UnionPay", "visa": "Visa",
}


def display(brand: str | None) -> str:
    """'Visa' for 'visa'; unknown brands as Stripe wrote them, title-cased; '' for none."""
    if not brand or brand == "unknown":
        return ""
    return NAMES.get(brand, brand.replace("_", " ").title())
