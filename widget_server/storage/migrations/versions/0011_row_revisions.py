"""row revisions: customer, payment_method, contract, contract_discount and invoice count their updates

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

TABLES = ('customer', 'payment_method', 'contract', 'contract_discount', 'invoice')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('revision')
