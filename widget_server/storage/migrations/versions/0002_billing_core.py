"""billing core

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import widget_server.storage.base
from sqlalchemy.dialects import postgresql


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invoice_sequence',
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('tenant', 'year', name=op.f('pk_invoice_sequence'))
    )
    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=140), nullable=True),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_payment_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
    sa.UniqueConstraint('public_id', name=op.f('uq_payment_public_id'))
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_payment_tenant_external', ['tenant', 'external_id'], unique=True)

    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('net_minor', sa.Integer(), nullable=False),
    sa.Column('tax_minor', sa.Integer(), nullable=False),
    sa.Column('gross_minor', sa.Integer(), nullable=False),
    sa.Column('tax_rate', sa.String(length=8), nullable=False),
    sa.Column('reverse_charge', sa.Boolean(), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('payment_reference', sa.String(length=35), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('buyer', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_invoice_contract_id_contract')),
    sa.ForeignKeyConstraint(['corrects_id'], ['invoice.id'], name=op.f('fk_invoice_corrects_id_invoice')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_invoice_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('contract_id', 'kind', 'period_start', name='uq_invoice_contract_kind_period'),
    sa.UniqueConstraint('public_id', name=op.f('uq_invoice_public_id')),
    sa.UniqueConstraint('tenant', 'number', name='uq_invoice_tenant_number')
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_customer_issued', ['customer_id', 'issue_date'], unique=False)
        batch_op.create_index('ix_invoice_tenant_status_due', ['tenant', 'status', 'due_date'], unique=False)

    op.create_table('invoice_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('plan_id', sa.String(length=64), nullable=True),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('net_minor', sa.Integer(), nullable=False),
    sa.Column('tax_minor', sa.Integer(), nullable=False),
    sa.Column('gross_minor', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_line_invoice_id_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line'))
    )
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('ledger_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_ledger_entry_customer_id_customer')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_ledger_entry_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_ledger_entry_payment_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entry'))
    )
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entry_customer', ['customer_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entry_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entry_payment_id'), ['payment_id'], unique=False)

    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_billing_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('anchor_day', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('setup_fee_minor', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('periods_billed', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('minimum_term_end', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('notice_period_days', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('cancel_at', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('cancellation_reason', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('pause_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('resume_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('scheduled_plan_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('scheduled_price_minor', sa.Integer(), nullable=True))
        batch_op.create_index('ix_contract_due', ['next_billing_date', 'id'], unique=False)

    # Contracts signed up before billing existed: anchor on their start day; trials bill
    # when the trial ends, the others from the start of their current period.
    day = "CAST(strftime('%d', current_period_start) AS INTEGER)" if op.get_bind().dialect.name == "sqlite" \
        else "CAST(EXTRACT(DAY FROM current_period_start) AS INTEGER)"
    op.execute(f"UPDATE contract SET anchor_day = {day}")
    op.execute("UPDATE contract SET next_billing_date = current_period_end WHERE status = 'trial'")
    op.execute("UPDATE contract SET next_billing_date = current_period_start WHERE status = 'active'")



def downgrade() -> None:
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_index('ix_contract_due')
        for column in ('scheduled_price_minor', 'scheduled_plan_id', 'resume_on', 'pause_from', 'cancellation_reason',
                       'cancel_at', 'notice_period_days', 'minimum_term_end', 'periods_billed'):
            batch_op.drop_column(column)
        batch_op.drop_column('setup_fee_minor')
        batch_op.drop_column('anchor_day')
        batch_op.drop_column('next_billing_date')

    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entry_payment_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_entry_invoice_id'))
        batch_op.drop_index('ix_ledger_entry_customer')

    op.drop_table('ledger_entry')
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_invoice_id'))

    op.drop_table('invoice_line')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_tenant_status_due')
        batch_op.drop_index('ix_invoice_customer_issued')

    op.drop_table('invoice')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_tenant_external')
        batch_op.drop_index(batch_op.f('ix_payment_customer_id'))

    op.drop_table('payment')
    op.drop_table('invoice_sequence')
