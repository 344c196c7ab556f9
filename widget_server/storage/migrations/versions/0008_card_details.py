"""cards: brand and last four digits of a card saved in Stripe, for pages, e-mails and invoices

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payment_method', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_brand', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('card_last4', sa.String(length=4), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payment_method', schema=None) as batch_op:
        batch_op.drop_column('card_last4')
        batch_op.drop_column('card_brand')
