"""Domain logic over the storage session: no Flask, no Stripe, no HTTP."""
