"""stripe: the customer's id and a saved card's id in the tenant's Stripe account

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_customer_id', sa.String(length=255), nullable=True))
    with op.batch_alter_table('payment_method', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_payment_method_id', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payment_method', schema=None) as batch_op:
        batch_op.drop_column('stripe_payment_method_id')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('stripe_customer_id')
