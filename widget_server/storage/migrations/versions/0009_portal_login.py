"""portal login: magic sign-in links, e-mail changes waiting for confirmation, the portal's back link

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import widget_server.storage.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('flow', sa.String(length=32), nullable=True),
    sa.Column('return_url', sa.String(length=2000), nullable=True),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_login_link_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_link')),
    sa.UniqueConstraint('public_id', name=op.f('uq_login_link_public_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_login_link_token_hash'))
    )
    with op.batch_alter_table('login_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_link_customer_id'), ['customer_id'], unique=False)

    op.create_table('email_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('old_email', sa.String(length=254), nullable=False),
    sa.Column('new_email', sa.String(length=254), nullable=False),
    sa.Column('created_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', widget_server.storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_email_change_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_change')),
    sa.UniqueConstraint('public_id', name=op.f('uq_email_change_public_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_email_change_token_hash'))
    )
    with op.batch_alter_table('email_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_change_customer_id'), ['customer_id'], unique=False)

    with op.batch_alter_table('portal_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('return_url', sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('portal_session', schema=None) as batch_op:
        batch_op.drop_column('return_url')

    with op.batch_alter_table('email_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_change_customer_id'))
    op.drop_table('email_change')

    with op.batch_alter_table('login_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_link_customer_id'))
    op.drop_table('login_link')
