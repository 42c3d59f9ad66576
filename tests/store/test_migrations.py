"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL: a model
change without its migration (or a migration the models do not know) fails here."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from junheng.store.models import Base


def test_migrated_schema_equals_the_models(database):
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_0005_upgrades_a_0004_store_with_its_users_and_tokens_unchanged_and_downgrades(database):
    """A user and an API token made under 0004 keep working after 0005 (no forced password change,
    a read-write token without expiry); a downgrade keeps them and revokes only the tokens whose
    limits 0004 could not keep (read-only or expiring)."""
    from datetime import datetime, timezone

    from alembic import command
    from sqlalchemy import text

    from junheng.store.db import alembic_config
    from junheng.store.models import ApiToken, User
    from junheng.store.users import _digest, authenticate, create_token, hash_password, token_user

    config = alembic_config(database.engine)
    command.downgrade(config, "0004")
    made = datetime(2025, 3, 1, tzinfo=timezone.utc)
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO users (username, display_name, password_hash, active, created_at) "
                                "VALUES ('xian', '县管理员', :hash, :active, :at)"),
                           {"hash": hash_password("old-store-pass-1"), "active": True, "at": made})
        user_id = connection.execute(text("SELECT id FROM users WHERE username = 'xian'")).scalar_one()
        connection.execute(text("INSERT INTO api_tokens (user_id, name, token_hash, created_at) "
                                "VALUES (:user, '市级平台同步', :digest, :at)"),
                           {"user": user_id, "digest": _digest("jh_old"), "at": made})
        token_id = connection.execute(text("SELECT id FROM api_tokens")).scalar_one()
    command.upgrade(config, "head")
    with database.session() as s:
        user, token = s.get(User, user_id), s.get(ApiToken, token_id)
        assert (user.username, user.active, user.must_change_password) == ("xian", True, False)
        assert (token.scope, token.expires_at, token.revoked_at) == ("read-write", None, None)
        assert authenticate(s, "xian", "old-store-pass-1") is not None
        assert token_user(s, "jh_old", write=True).username == "xian"  # writes as before
        create_token(s, user, "只读", scope="read", days=30)  # limits 0004 cannot express
    command.downgrade(config, "0004")
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT name, revoked_at FROM api_tokens ORDER BY id")).all()
        assert [(name, revoked is None) for name, revoked in rows] == [("市级平台同步", True), ("只读", False)]
        assert connection.execute(text("SELECT username FROM users")).scalars().all() == ["xian"]
    command.upgrade(config, "head")
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
