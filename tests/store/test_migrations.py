"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL: a model
change without its migration (or a migration the models do not know) fails here."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from junheng.store.models import Base


def test_migrated_schema_equals_the_models(database):
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
