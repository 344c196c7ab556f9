"""Persistence: typed SQLAlchemy 2 models (a module per aggregate) and migrations."""
