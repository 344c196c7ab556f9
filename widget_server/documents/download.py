"""The Flask response that hands an invoice PDF to a browser or an API client."""
from flask import Response, has_request_context, request

from . import pdf_cache


def pdf_response(invoice) -> Response:
    """`application/pdf` as an attachment named after the invoice number, e.g. DEMO-2026-000123.pdf.

    The caller checks that the requester may see this invoice."""
    data, name = pdf_cache.invoice_pdf(invoice)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    # Personal data: browsers may keep it, shared caches may not.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(pdf_cache.content_tag(data))
    if has_request_context():
        response.make_conditional(request)
    return response
