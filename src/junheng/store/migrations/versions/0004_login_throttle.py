"""login throttle: failed logins per account and per client address

Counted in the database (not in a worker's memory) so that `junheng serve --workers N` refuses
the eleventh wrong password whichever worker answers it. Only a new table; nothing of 0001–0003
changes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scope', 'key')
    )


def downgrade() -> None:
    op.drop_table('login_throttle')
