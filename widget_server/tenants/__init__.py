"""Tenants as designers see them: theme files validated, cached and turned into CSS."""
from .model import Field, Plan, Tenant
from .registry import ThemeRegistry, TenantUnavailable, UnknownTenant

__all__ = ["Field", "Plan", "Tenant", "ThemeRegistry", "TenantUnavailable", "UnknownTenant"]
