"""Why a billing operation was refused; the API turns these into problem+json."""


class BillingError(ValueError):
    """A request the books cannot accept. `field` names the input at fault."""

    field: str | None = None

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field or self.field
