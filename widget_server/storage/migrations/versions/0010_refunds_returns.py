"""refunds and returned SEPA direct debits: refund, sepa_return, collection attempts, revoked mandates

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import widget_server.storage.base


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('credit_note_id', sa.Integer(), nullable=True),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payouts', sa.JSON().with_variant(sa.dialects.postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('actor', sa.String(length=16), nullable=False),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['credit_note_id'], ['invoice.id'], name=op.f('fk_refund_credit_note_id_invoice')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_refund_customer_id_customer')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_refund_invoice_id_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund')),
    sa.UniqueConstraint('public_id', name=op.f('uq_refund_public_id'))
    )
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_invoice_id'), ['invoice_id'], unique=False)

    with op.batch_alter_table('payment_method', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('revoked_reason', sa.String(length=4), nullable=True))

    with op.batch_alter_table('sepa_collection_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.Integer(), server_default='1', nullable=False))
        batch_op.drop_constraint('uq_sepa_collection_item_invoice_id', type_='unique')
        batch_op.create_unique_constraint('uq_sepa_collection_item_invoice_attempt', ['invoice_id', 'attempt'])

    op.create_table('sepa_return',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('collection_item_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('payment_method_id', sa.Integer(), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('reason_code', sa.String(length=4), nullable=False),
    sa.Column('return_date', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('reversed_minor', sa.Integer(), nullable=False),
    sa.Column('fee_minor', sa.Integer(), nullable=False),
    sa.Column('fee_charged', sa.Boolean(), nullable=False),
    sa.Column('mandate_revoked', sa.Boolean(), nullable=False),
    sa.Column('collect_again', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['collection_item_id'], ['sepa_collection_item.id'], name=op.f('fk_sepa_return_collection_item_id_sepa_collection_item')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_sepa_return_customer_id_customer')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_sepa_return_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['payment_method_id'], ['payment_method.id'], name=op.f('fk_sepa_return_payment_method_id_payment_method')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sepa_return')),
    sa.UniqueConstraint('collection_item_id', name=op.f('uq_sepa_return_collection_item_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_sepa_return_public_id'))
    )
    with op.batch_alter_table('sepa_return', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sepa_return_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sepa_return_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sepa_return_tenant'), ['tenant'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sepa_return', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sepa_return_tenant'))
        batch_op.drop_index(batch_op.f('ix_sepa_return_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_sepa_return_customer_id'))
    op.drop_table('sepa_return')

    with op.batch_alter_table('sepa_collection_item', schema=None) as batch_op:
        batch_op.drop_constraint('uq_sepa_collection_item_invoice_attempt', type_='unique')
        batch_op.create_unique_constraint('uq_sepa_collection_item_invoice_id', ['invoice_id'])
        batch_op.drop_column('attempt')

    with op.batch_alter_table('payment_method', schema=None) as batch_op:
        batch_op.drop_column('revoked_reason')
        batch_op.drop_column('revoked_on')

    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refund_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_refund_customer_id'))
    op.drop_table('refund')
