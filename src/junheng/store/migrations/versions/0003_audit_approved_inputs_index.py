"""audit: a partial index for finding the newest change that feeds approved-data evaluations

The web pages find a county's stored evaluation by the id of its newest audit entry that can
change an evaluation of approved data (see models.FEEDS_APPROVED_SQL); saves of draft values are
left out, so they no longer make every dashboard fingerprint the county again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

FEEDS_APPROVED_SQL = "(entity <> 'school_year' OR field IN ('status', 'deleted_at'))"  # frozen copy of the model's


def upgrade() -> None:
    op.create_index('ix_audit_county_approved_inputs', 'audit_log', ['county_id', 'id'],
                    postgresql_where=sa.text(FEEDS_APPROVED_SQL), sqlite_where=sa.text(FEEDS_APPROVED_SQL))


def downgrade() -> None:
    op.drop_index('ix_audit_county_approved_inputs', table_name='audit_log')
