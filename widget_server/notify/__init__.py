"""Telling people what happened: e-mails to customers and signed webhooks to merchants.

- outbox.dispatch: new outbox events -> owed e-mails and webhook deliveries;
- emails: composing (templates/email/, the customer's language) and sending owed e-mails;
- mail: the transports (SMTP, or .eml files in the embedded default);
- webhooks: endpoints per tenant and delivery with retries; webhook_signature: signing and verifying.
"""
