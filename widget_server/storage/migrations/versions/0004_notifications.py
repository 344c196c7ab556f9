"""notifications: webhook endpoints, deliveries and attempts; outgoing e-mails; dunning notices

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import widget_server.storage.base


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_endpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoint')),
    sa.UniqueConstraint('public_id', name=op.f('uq_webhook_endpoint_public_id'))
    )
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_endpoint_tenant'), ['tenant'], unique=False)

    op.create_table('webhook_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('delivered_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.id'], name=op.f('fk_webhook_delivery_endpoint_id_webhook_endpoint')),
    sa.ForeignKeyConstraint(['event_id'], ['outbox_event.id'], name=op.f('fk_webhook_delivery_event_id_outbox_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery')),
    sa.UniqueConstraint('event_id', 'endpoint_id', name='uq_webhook_delivery_event_endpoint')
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_delivery_endpoint_id'), ['endpoint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_delivery_event_id'), ['event_id'], unique=False)

    op.create_table('webhook_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_delivery.id'], name=op.f('fk_webhook_attempt_delivery_id_webhook_delivery')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempt')),
    sa.UniqueConstraint('delivery_id', 'attempt', name='uq_webhook_attempt_delivery_attempt')
    )
    with op.batch_alter_table('webhook_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_attempt_delivery_id'), ['delivery_id'], unique=False)

    op.create_table('email_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('stage', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.Column('transport', sa.String(length=8), nullable=True),
    sa.Column('stored_as', sa.String(length=300), nullable=True),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_email_message_contract_id_contract')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_email_message_customer_id_customer')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_email_message_invoice_id_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_message')),
    sa.UniqueConstraint('key', name=op.f('uq_email_message_key')),
    sa.UniqueConstraint('public_id', name=op.f('uq_email_message_public_id'))
    )
    with op.batch_alter_table('email_message', schema=None) as batch_op:
        batch_op.create_index('ix_email_message_customer', ['customer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_email_message_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_message_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('dunning_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('days_after_due', sa.Integer(), nullable=False),
    sa.Column('reached_on', sa.Date(), nullable=False),
    sa.Column('outstanding_minor', sa.Integer(), nullable=False),
    sa.Column('email_message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['email_message_id'], ['email_message.id'], name=op.f('fk_dunning_notice_email_message_id_email_message')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_dunning_notice_invoice_id_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_notice')),
    sa.UniqueConstraint('invoice_id', 'stage', name='uq_dunning_notice_invoice_stage')
    )
    with op.batch_alter_table('dunning_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dunning_notice_invoice_id'), ['invoice_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dunning_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dunning_notice_invoice_id'))

    op.drop_table('dunning_notice')
    with op.batch_alter_table('email_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_message_invoice_id'))
        batch_op.drop_index('ix_email_message_due')
        batch_op.drop_index('ix_email_message_customer')

    op.drop_table('email_message')
    with op.batch_alter_table('webhook_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_attempt_delivery_id'))

    op.drop_table('webhook_attempt')
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_event_id'))
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_endpoint_id'))
        batch_op.drop_index('ix_webhook_delivery_due')

    op.drop_table('webhook_delivery')
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_endpoint_tenant'))

    op.drop_table('webhook_endpoint')
