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
    false,
    text,
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
    # set when someone else chose the password (generated, or typed by an administrator): every
    # page but the password change sends the user there until they choose their own
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

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
    scope: Mapped[str] = mapped_column(String(16), default="read", server_default="read-write")  # read, read-write
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # None: tokens from before 0005

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


class LoginThrottle(Base):
    """Failed logins per account (the username as typed, case-folded) and per client address, kept
    in the database so that every worker counts the same failures (junheng.store.users,
    "login throttling"): `failures` since `window_start`; `locked_until` while refused."""

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("scope", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # account, address
    key: Mapped[str] = mapped_column(String(255))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Audit entries that can change an evaluation of *approved* data: everything but value edits of
# school-years, which only drafts and returned rows accept (approved and submitted rows are
# locked), and drafts do not feed those evaluations. Status changes and deletions do count.
# The same SQL is the partial index's condition and the query's, so both databases use the index.
FEEDS_APPROVED_SQL = "(entity <> 'school_year' OR field IN ('status', 'deleted_at'))"


class AuditEntry(Base):
    """One change of one stored value: who, when, how, old and new."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_key"), Index("ix_audit_county_at", "county_id", "at"),
                      Index("ix_audit_county_approved_inputs", "county_id", "id",
                            postgresql_where=text(FEEDS_APPROVED_SQL), sqlite_where=text(FEEDS_APPROVED_SQL)))
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


# ---------------------------------------------------------------- monitoring (issue 4)
# Warnings, supervision tasks (督办) with comments and attachments, notification
# subscriptions and their log, and the optional inputs of the enrolment forecast.

from datetime import date  # noqa: E402  (kept beside the tables that use them)

from sqlalchemy import Date, Float  # noqa: E402

WARNING_KINDS = ("breach", "margin", "decline", "forecast", "data_missing", "data_jump", "task", "schedule")
SEVERITIES = ("yellow", "orange", "red")  # in rising order
TASK_STATUSES = ("open", "in_progress", "done", "verified")
TASK_SOURCES = ("manual", "warning", "plan")


class MonitorWarning(Base):
    """One warning condition, identified by a stable key: a condition that holds run after run
    is one row (last_seen_at moves on); it is resolved when the condition is gone and reopened
    (occurrence + 1) when it comes back."""

    __tablename__ = "warnings"
    __table_args__ = (Index("ix_warnings_county_resolved", "county_id", "resolved_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(Integer, index=True)  # task warnings (no FK: tasks point here)
    kind: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(8))
    indicator: Mapped[str | None] = mapped_column(String(16))
    segment: Mapped[str | None] = mapped_column(String(16))
    year: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(Text)
    numbers: Mapped[dict] = mapped_column(JSON, default=dict)
    responsible: Mapped[list] = mapped_column(JSON, default=list)
    escalate_to: Mapped[str | None] = mapped_column(String(32))  # a role (county_admin) told whatever it subscribed
    badness: Mapped[float] = mapped_column(Float, default=0.0)
    peak_badness: Mapped[float] = mapped_column(Float, default=0.0)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    occurrence: Mapped[int] = mapped_column(Integer, default=1)
    worsened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    worsened_count: Mapped[int] = mapped_column(Integer, default=0)

    county: Mapped[OrgNode] = relationship()
    school: Mapped[School | None] = relationship()

    @property
    def open(self) -> bool:
        return self.resolved_at is None


class SupervisionTask(SoftDeleted, Base):
    """A supervision task (督办事项): what, where, who, by when, and how far it got."""

    __tablename__ = "supervision_tasks"
    __table_args__ = (Index("ix_tasks_county_status", "county_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    indicator: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    responsible: Mapped[list] = mapped_column(JSON, default=list)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_name: Mapped[str | None] = mapped_column(String(100))
    start_date: Mapped[date | None] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    source: Mapped[str] = mapped_column(String(16), default="manual")
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("warnings.id"))
    plan_ref: Mapped[str | None] = mapped_column(String(200))
    amount_wan: Mapped[float | None] = mapped_column(Float)  # investment in 万元
    plan_year: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    county: Mapped[OrgNode] = relationship()
    school: Mapped[School | None] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    warning: Mapped[MonitorWarning | None] = relationship()


class TaskComment(Base):
    __tablename__ = "task_comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("supervision_tasks.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User | None] = relationship()


class TaskAttachment(SoftDeleted, Base):
    """Evidence for a task: the file lives under the workspace uploads folder with a generated
    name (never the uploaded name); the original name is kept here for display."""

    __tablename__ = "task_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("supervision_tasks.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(255), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User | None] = relationship()


class NotificationSubscription(Base):
    """A user's channel (e-mail address or webhook URL) for warnings at or above a severity,
    within the counties the user may read (optionally one county)."""

    __tablename__ = "notification_subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email, webhook
    target: Mapped[str] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(32), default="markdown")  # webhook body: markdown, text, dingtalk, json
    min_severity: Mapped[str] = mapped_column(String(8), default="orange")
    kinds: Mapped[list | None] = mapped_column(JSON)  # None: every kind
    county_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship()


class NotificationLog(Base):
    """One digest sent (or failed, or undeliverable) to one channel in one run."""

    __tablename__ = "notification_log"
    __table_args__ = (Index("ix_notification_log_at", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("notification_subscriptions.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # sent, failed, undeliverable
    error: Mapped[str | None] = mapped_column(Text)
    warning_count: Mapped[int] = mapped_column(Integer, default=0)

    items: Mapped[list["NotificationItem"]] = relationship(back_populates="log", cascade="all, delete-orphan")


class NotificationItem(Base):
    """A warning in a digest, at the occurrence, severity and worsening it was sent with: a
    warning is sent to a subscription again only when it worsened or came back."""

    __tablename__ = "notification_items"
    __table_args__ = (Index("ix_notification_items_warning", "warning_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("notification_log.id"), index=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("warnings.id"))
    occurrence: Mapped[int] = mapped_column(Integer)
    worsened_count: Mapped[int] = mapped_column(Integer, default=0)
    severity: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(16))  # new, worsened, reopened, escalated

    log: Mapped[NotificationLog] = relationship(back_populates="items")
    warning: Mapped[MonitorWarning] = relationship()


class GradeEnrolment(Base):
    """Students per grade (1–9) of a school and year: optional input of the enrolment forecast
    (the interchange format has students per segment only)."""

    __tablename__ = "grade_enrolment"
    __table_args__ = (UniqueConstraint("school_id", "year", "grade"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    grade: Mapped[int] = mapped_column(Integer)
    students: Mapped[int] = mapped_column(Integer)


class CountyIntake(Base):
    """A county's births (by birth year) and kindergarten leavers (by the year they enter
    grade 1): the forecast's source of future grade-1 intake."""

    __tablename__ = "county_intake"
    __table_args__ = (UniqueConstraint("county_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    births: Mapped[int | None] = mapped_column(Integer)
    kindergarten_leavers: Mapped[int | None] = mapped_column(Integer)


class HousingProject(SoftDeleted, Base):
    """A housing project expected to add pupils from the year it is occupied."""

    __tablename__ = "housing_projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    name: Mapped[str] = mapped_column(String(200))
    year_ready: Mapped[int] = mapped_column(Integer)
    primary_pupils: Mapped[int] = mapped_column(Integer, default=0)
    junior_pupils: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)


# ---------------------------------------------------------------- social recognition survey (issue 14)
# A survey of one county-year: the questionnaires and settings it froze when it was created, its
# quotas (group × school), one-time access codes, the responses (from the public survey page or
# imported from a survey platform's export) and the results that became the county-year's S1.
# No names or phone numbers are stored; IP addresses only as keyed hashes (junheng.survey.privacy).

SURVEY_STATES = ("draft", "open", "closed")
RESPONSE_SOURCES = ("web", "import")


class Survey(SoftDeleted, Base):
    __tablename__ = "surveys"
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    public_key: Mapped[str] = mapped_column(String(32), unique=True)  # random: the public link /s/<public_key>
    questionnaires: Mapped[dict] = mapped_column(JSON, default=dict)  # frozen: questionnaire id → its whole file
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # frozen survey settings (scale, checks, weights)
    plan: Mapped[dict | None] = mapped_column(JSON)  # the sampling plan the quotas came from
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    county: Mapped[OrgNode] = relationship()


class SurveyQuota(Base):
    """How many respondents of one group (at one school, or county-wide) the survey wants."""

    __tablename__ = "survey_quotas"
    __table_args__ = (UniqueConstraint("survey_id", "group", "school_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    group: Mapped[str] = mapped_column(String(32))  # parents, students, teachers, principals, npc_deputies, ...
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    questionnaire: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)

    school: Mapped[School | None] = relationship()


class SurveyCode(Base):
    """A one-time access code of a quota; only its hash is kept (the code is printed once)."""

    __tablename__ = "survey_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    quota_id: Mapped[int] = mapped_column(ForeignKey("survey_quotas.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # set on submission

    quota: Mapped[SurveyQuota] = relationship()


class SurveyResponse(Base):
    """One respondent's answers: partial while `submitted_at` is None (a reload resumes it)."""

    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_survey", "survey_id", "submitted_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    source: Mapped[str] = mapped_column(String(16))  # web, import
    row: Mapped[int | None] = mapped_column(Integer)  # imports: the export's 序号
    quota_id: Mapped[int | None] = mapped_column(ForeignKey("survey_quotas.id"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("survey_codes.id"), unique=True)
    group: Mapped[str] = mapped_column(String(32))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    questionnaire: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)  # item id → option text as shown
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    seconds: Mapped[float | None] = mapped_column(Float)  # time taken to answer
    ip_hash: Mapped[str | None] = mapped_column(String(64))  # keyed hash, never the address


class SurveyResult(Base):
    """A scoring of a survey; `audit_id` is the audit entry that made it the county-year's S1
    (None: computed, not applied). The S1 value comes from the survey while that entry is the
    latest change of the field; a later typed value is marked as typed."""

    __tablename__ = "survey_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(64))  # the county_year field it was applied to
    rate: Mapped[float | None] = mapped_column(Float)  # 0–1
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    respondents: Mapped[int] = mapped_column(Integer, default=0)
    answers: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict] = mapped_column(JSON, default=dict)  # the whole score: groups, items, schools, exclusions
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    computed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id"))

    survey: Mapped[Survey] = relationship()


class QualityAnalysis(Base):
    """One county-year's 教育质量监测 computed from student scores (junheng.quality.workspace):
    the file it came from, the settings and cut scores used, and the whole result per subject ×
    grade (levels, shares, ICC with interval, variances, schools, histograms). `applied` maps the
    quality-row subject labels it wrote (Q9) to the level and rate written; the engine names the
    analysis as the rows' source while the stored rows still hold those values."""

    __tablename__ = "quality_analyses"
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    source_name: Mapped[str] = mapped_column(String(255))  # the scores file's name as given (shown, never a path)
    source_sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)  # score rows of this county in the file
    standard: Mapped[str] = mapped_column(String(64))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # method, confidence, county_level, level_share
    cuts: Mapped[list] = mapped_column(JSON, default=list)  # [{subject, grade, level_2, level_3, level_4}]
    results: Mapped[dict] = mapped_column(JSON, default=dict)  # "subject/grade" → result (see quality.workspace)
    applied: Mapped[dict] = mapped_column(JSON, default=dict)  # quality subject label → {level, inter_school_diff_rate}
    notes: Mapped[list] = mapped_column(JSON, default=list)  # Chinese sentences: coverage, what was not applied
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    computed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    via: Mapped[str] = mapped_column(String(16), default="cli")

    county: Mapped[OrgNode] = relationship()
