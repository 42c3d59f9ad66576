"""accounts: forced password change, API token scope and expiry

`users.must_change_password` (a password someone else chose: the user must choose their own at
the next login), `api_tokens.scope` (read or read-write) and `api_tokens.expires_at`. An upgrade
changes nothing for what exists: every existing user keeps using their password
(must_change_password false), every existing token keeps working as before (scope read-write, no
expiry); only tokens and passwords made from now on get the new rules. A downgrade revokes the
tokens that have a limit 0004 cannot express (read-only or expiring) rather than widen them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


# Plain ALTER TABLE ADD/DROP COLUMN, not batch mode: a batch on SQLite copies the table and drops
# the old one, which foreign keys (role_grants, web_sessions, audit_log → users) refuse once the
# store holds data. SQLite has both since 3.35.


def upgrade() -> None:
    op.add_column('users', sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('api_tokens', sa.Column('scope', sa.String(length=16), server_default='read-write', nullable=False))
    op.add_column('api_tokens', sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # 0004 knows neither scope nor expiry: a read-only or expiring token would come out of the
    # downgrade as an unlimited one, so those are revoked (kept as a record, as every revocation)
    op.execute(sa.text("UPDATE api_tokens SET revoked_at = CURRENT_TIMESTAMP WHERE revoked_at IS NULL "
                       "AND (scope <> 'read-write' OR expires_at IS NOT NULL)"))
    op.drop_column('api_tokens', 'expires_at')
    op.drop_column('api_tokens', 'scope')
    op.drop_column('users', 'must_change_password')
