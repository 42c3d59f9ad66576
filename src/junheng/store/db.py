"""Database engines and sessions for the store: SQLite in the workspace by default (WAL mode),
PostgreSQL in production, both migrated by Alembic."""

from __future__ import annotations

from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from junheng.workspace import Settings


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, **kwargs)


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("junheng.store").joinpath("migrations")))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        migrate(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error (nothing half-saved)."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def open_workspace_database(workspace_path: Path | None, *, migrate: bool = True) -> tuple[Database, Settings]:
    """The database of a workspace (its folder, or JUNHENG_WORKSPACE, or the current folder),
    migrated to the newest schema unless `migrate` is false, and the workspace's settings."""
    from junheng.workspace import resolve

    settings = resolve(workspace_path).settings()
    database = Database(settings.database_url)
    if migrate:
        database.migrate()
    return database, settings
