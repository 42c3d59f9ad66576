"""quality analyses: 教育质量监测 computed from student scores (issue 15)

Only a new table; nothing of 0006 changes, so every stored value and evaluation is as before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quality_analyses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('source_name', sa.String(length=255), nullable=False),
    sa.Column('source_sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('standard', sa.String(length=64), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('cuts', sa.JSON(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('applied', sa.JSON(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('computed_by', sa.Integer(), nullable=True),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['computed_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['county_id'], ['org_nodes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quality_analyses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_analyses_county_id'), ['county_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('quality_analyses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_analyses_county_id'))
    op.drop_table('quality_analyses')
