"""Alembic environment: the engine is handed in by junheng.store.db.migrate."""

from alembic import context

from junheng.store.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
