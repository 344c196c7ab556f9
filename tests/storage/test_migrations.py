"""The Alembic migrations build exactly the schema the models describe."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from widget_server.storage.base import Base
from widget_server.storage.models import Customer


def test_migrated_schema_matches_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_signup_key_is_unique_per_tenant(app):
    engine = app.extensions["database"]
    with Session(engine) as session:
        session.add(Customer(tenant="demo", email="a@example.com", locale="en", fields={}, signup_key="k" * 32))
        session.add(Customer(tenant="fjord", email="a@example.com", locale="sv", fields={}, signup_key="k" * 32))
        session.commit()
        session.add(Customer(tenant="demo", email="b@example.com", locale="en", fields={}, signup_key="k" * 32))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        assert len(session.scalars(select(Customer)).all()) == 2


def test_datetimes_come_back_in_utc(app):
    engine = app.extensions["database"]
    with Session(engine) as session:
        customer = Customer(tenant="demo", email="a@example.com", locale="en", fields={"x": 1})
        session.add(customer)
        session.commit()
        session.expire_all()
        stored = session.get(Customer, customer.id)
        assert stored.created_at.utcoffset().total_seconds() == 0
        assert stored.fields == {"x": 1}
        assert stored.public_id.startswith("cus_") and len(stored.public_id) > 12
