"""contract discounts: a percentage off the plan price for N billing periods (retention offers)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import widget_server.storage.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contract_discount',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('periods', sa.Integer(), nullable=False),
    sa.Column('periods_applied', sa.Integer(), server_default='0', nullable=False),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_contract_discount_contract_id_contract')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_discount')),
    sa.UniqueConstraint('public_id', name=op.f('uq_contract_discount_public_id'))
    )
    with op.batch_alter_table('contract_discount', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_discount_contract_id'), ['contract_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contract_discount', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_discount_contract_id'))
    op.drop_table('contract_discount')
