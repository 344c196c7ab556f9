"""Documents customers receive: invoice and credit note PDFs in the tenant's brand and the customer's language.

- `render_invoice_pdf(invoice, tenant, customer)` renders one PDF (WeasyPrint, from templates/invoice.html).
- `invoice_pdf(invoice)` returns (bytes, filename), rendering only when the cached file is missing or stale.
- `pdf_response(invoice)` is the Flask download response for the API and the portal.

All three need an app context (translations, the theme registry, the instance folder).
"""
from .download import pdf_response
from .pdf import render_invoice_pdf
from .pdf_cache import invoice_pdf

__all__ = ["invoice_pdf", "pdf_response", "render_invoice_pdf"]
