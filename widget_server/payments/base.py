"""The interface every payment adapter implements.

Like pretix's payment providers, one class per way of paying; the docstrings below are
the contract. Adapters may import billing/ and storage/, never Flask: the CLI, the
portal and the API call them with a database session and a Tenant. Only
payments/stripe.py may import stripe.
"""
from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar

from sqlalchemy.orm import Session

from ..storage.models import PaymentMethod


class PaymentSetupError(ValueError):
    """A tenant or a payment method cannot be used as it is. The message says what to fix,
    in words an operator understands, and never contains a full IBAN or other secret."""


@dataclass(frozen=True)
class CollectionResult:
    """What one `collect` call started.

    `reference` identifies the run towards the outside (a pain.008 message id, a Stripe
    batch...); `invoices` are the numbers of the invoices whose collection was started;
    `skipped` maps invoice numbers the adapter had to leave out to the reason (no secrets).
    """

    kind: str
    reference: str | None
    invoices: tuple[str, ...]
    total_minor: int
    currency: str | None
    skipped: dict[str, str] = field(default_factory=dict)


class PaymentProvider:
    """One way customers pay. Subclasses set the class attributes and override the methods.

    Lifecycle:
      1. `configuration_problems(tenant)` says whether the tenant can offer the method at all.
      2. At sign-up, `prepare(method, choice, ...)` fills the customer's new PaymentMethod row
         from what they entered: that row is everything this method ever stores.
      3. Invoices are issued by billing/ independently of the method. Adapters that pull money
         (`collects = True`) start collecting open invoices in `collect(...)`; the others wait
         for the customer to pay, and money received is booked with billing.ledger.record_payment.
    """

    #: The value stored in PaymentMethod.kind and offered in theme files' payments.methods.
    kind: ClassVar[str]
    #: True if we pull the money (direct debit, card); False if the customer sends it.
    collects: ClassVar[bool] = False
    #: The PaymentMethod columns `prepare` fills, besides `kind`.
    stored_fields: ClassVar[tuple[str, ...]] = ()

    def configuration_problems(self, tenant) -> list[str]:
        """Why `tenant` (a tenants.model.Tenant) cannot use this method; [] when it can.

        Each problem names the theme key to fix, e.g. "payments.sepa.creditor_id is missing"."""
        return []

    def prepare(self, method: PaymentMethod, choice, *, tenant, today: date) -> None:
        """Fill a new, unsaved `method` from the customer's sign-up `choice`
        (billing.contracts.PaymentChoice, already validated by the form). Sets `method.kind`
        and exactly the columns in `stored_fields`. Does not add, flush or commit."""
        raise NotImplementedError

    def describe(self, method: PaymentMethod) -> dict:
        """What audit events, webhooks, logs and pages may say about `method`: never a full
        IBAN, card number or token."""
        return {"id": method.public_id, "kind": method.kind}

    def collect(self, session: Session, tenant, *, up_to: date, today: date, actor: str = "system") -> CollectionResult:
        """Start collecting the tenant's open invoices that are due up to `up_to`, paid with
        this method and not being collected already.

        `today` is the tenant's current day, Tenant.today() (collection dates are computed from it). Everything
        is written in the caller's transaction (the caller commits once); an invoice is never
        collected twice, even by two concurrent calls. Methods with `collects = False` start
        nothing and return an empty result."""
        return CollectionResult(kind=self.kind, reference=None, invoices=(), total_minor=0, currency=None)
