"""A customer's personal data: a copy for them (export) and erasure on request (GDPR Art. 15, 17, 20)."""
