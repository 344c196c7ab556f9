"""SEPA direct debit collections: exported pain.008 batches and one item per collected invoice

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import widget_server.storage.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sepa_collection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('schema', sa.String(length=20), nullable=False),
    sa.Column('exported_on', sa.Date(), nullable=False),
    sa.Column('due_up_to', sa.Date(), nullable=False),
    sa.Column('transactions', sa.Integer(), nullable=False),
    sa.Column('total_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('xml', sa.Text(), nullable=False),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sepa_collection')),
    sa.UniqueConstraint('message_id', name=op.f('uq_sepa_collection_message_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_sepa_collection_public_id'))
    )
    with op.batch_alter_table('sepa_collection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sepa_collection_tenant'), ['tenant'], unique=False)

    op.create_table('sepa_collection_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('payment_method_id', sa.Integer(), nullable=False),
    sa.Column('mandate_reference', sa.String(length=35), nullable=False),
    sa.Column('sequence_type', sa.String(length=4), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('collection_date', sa.Date(), nullable=False),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['sepa_collection.id'], name=op.f('fk_sepa_collection_item_collection_id_sepa_collection')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_sepa_collection_item_customer_id_customer')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_sepa_collection_item_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['payment_method_id'], ['payment_method.id'], name=op.f('fk_sepa_collection_item_payment_method_id_payment_method')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sepa_collection_item')),
    sa.UniqueConstraint('invoice_id', name=op.f('uq_sepa_collection_item_invoice_id'))
    )
    with op.batch_alter_table('sepa_collection_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sepa_collection_item_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sepa_collection_item_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sepa_collection_item_payment_method_id'), ['payment_method_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sepa_collection_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sepa_collection_item_payment_method_id'))
        batch_op.drop_index(batch_op.f('ix_sepa_collection_item_customer_id'))
        batch_op.drop_index(batch_op.f('ix_sepa_collection_item_collection_id'))

    op.drop_table('sepa_collection_item')
    with op.batch_alter_table('sepa_collection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sepa_collection_tenant'))

    op.drop_table('sepa_collection')
