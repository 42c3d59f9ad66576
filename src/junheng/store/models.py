"""The persistent store (SQLAlchemy 2): organisation tree, schools, yearly values, workflow,
users and roles, audit log and evaluation runs.

Yearly values are kept as one JSON object per school-year (or county-year) keyed by the
interchange format's field keys: the format catalogue is the schema, so a new optional field
needs no migration, and every change of one value is an audit entry of its own.
Nothing is deleted: rows carry `deleted_at` and can be restored.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class SoftDeleted:
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


ORG_KINDS = ("province", "city", "county")
WORKFLOW_STATES = ("draft", "submitted", "approved", "returned")


class OrgNode(SoftDeleted, Base):
    """A province, city or county; counties carry their certification settings."""

    __tablename__ = "org_nodes"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    standard: Mapped[str | None] = mapped_column(String(64))
    basic_balance_year: Mapped[int | None] = mapped_column(Integer)
    target_year: Mapped[int | None] = mapped_column(Integer)
    certified_year: Mapped[int | None] = mapped_column(Integer)
    resident_population: Mapped[int | None] = mapped_column(Integer)

    parent: Mapped["OrgNode | None"] = relationship(remote_side=[id])


class School(SoftDeleted, Base):
    __tablename__ = "schools"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # school_id of the format
    county_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    school_type: Mapped[str] = mapped_column(String(32))
    values: Mapped[dict] = mapped_column(JSON, default=dict)  # the other schools fields

    county: Mapped[OrgNode] = relationship()


class SchoolYear(SoftDeleted, Base):
    """One school's values for one school year, with its approval workflow."""

    __tablename__ = "school_years"
    __table_args__ = (UniqueConstraint("school_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    status_note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic locking for forms

    school: Mapped[School] = relationship()


class CountyYear(SoftDeleted, Base):
    __tablename__ = "county_years"
    __table_args__ = (UniqueConstraint("county_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    status_note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    county: Mapped[OrgNode] = relationship()


class QualityRow(SoftDeleted, Base):
    __tablename__ = "quality_rows"
    __table_args__ = (UniqueConstraint("county_id", "year", "subject"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    inter_school_diff_rate: Mapped[float] = mapped_column()


ROLES = ("admin", "supervisor", "county_admin", "school_filler", "viewer")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    grants: Mapped[list["RoleGrant"]] = relationship(back_populates="user", cascade="all, delete-orphan")


class RoleGrant(Base):
    """A role scoped to a node of the tree (org node or school); admin has no scope."""

    __tablename__ = "role_grants"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    org_node_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))

    user: Mapped[User] = relationship(back_populates="grants")
    org_node: Mapped[OrgNode | None] = relationship()
    school: Mapped[School | None] = relationship()


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256: the token is shown once
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class WebSession(Base):
    """Server-side login sessions: logout and disabling a user end them at once."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie value
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class AuditEntry(Base):
    """One change of one stored value: who, when, how, old and new."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_key"), Index("ix_audit_county_at", "county_id", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    via: Mapped[str] = mapped_column(String(16))  # form, upload, api, cli, system
    entity: Mapped[str] = mapped_column(String(32))  # school, school_year, county_year, quality, county, user
    entity_key: Mapped[str] = mapped_column(String(128))
    county_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"))
    field: Mapped[str] = mapped_column(String(64))
    old: Mapped[object | None] = mapped_column(JSON)
    new: Mapped[object | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User | None] = relationship()


class EvaluationRun(Base):
    """An evaluation of a county-year: the inputs' version and the full result (JSON contract)."""

    __tablename__ = "evaluation_runs"
    __table_args__ = (Index("ix_runs_county_year", "county_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    year: Mapped[int] = mapped_column(Integer)
    standard: Mapped[str] = mapped_column(String(64))
    inputs_version: Mapped[str] = mapped_column(String(64))  # sha256 of the inputs used
    approved_only: Mapped[bool] = mapped_column(Boolean, default=True)
    verdict: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
