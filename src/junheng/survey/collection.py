"""The store side of the survey (issue 14, collection): create a survey of a county-year (its
questionnaires and settings frozen), its quotas (from a sampling plan or given), one-time access
codes, open and close it, and record the answers of the public survey page: a partial response
per code (a reload resumes it), answers saved while filling, one submission per code.

Plain SQLAlchemy; the session is the caller's unit of work (like junheng.store.repo): a refused
step raises a SurveyError (Chinese message) and the caller's transaction rolls back, so nothing
is half-saved. Codes are stored only as keyed hashes (junheng.survey.codes), client addresses only
as keyed hashes (junheng.survey.privacy); no names or phone numbers are asked or kept.

Rate limits of the public page (`hit`) are counted in the database (the login throttle's table,
scope "survey"), so several workers agree.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from junheng.errors import JunhengError
from junheng.schoolyear import label as school_year_label
from junheng.store import repo
from junheng.store.models import (
    AuditEntry,
    LoginThrottle,
    OrgNode,
    School,
    Survey,
    SurveyCode,
    SurveyQuota,
    SurveyResponse,
    SurveyResult,
    User,
    utcnow,
)
from junheng.survey import codes as code_tools
from junheng.survey.groups import GROUPS, group_label

MAX_TITLE = 200
MAX_QUOTA_SIZE = 100_000  # one quota (group × school); a province-sized survey is many quotas
MAX_CODES_PER_RUN = 200_000
MAX_ITEMS = 200  # items of one questionnaire the page accepts
MAX_ITEM_ID = 64
MAX_OPTION = 64
QUOTA_FULL = "该类调查名额已满"


class SurveyError(JunhengError):
    """A refused survey step, with its Chinese message; `status` is the HTTP status the public page
    answers with."""

    status = 400


class SurveyNotFound(SurveyError):
    status = 404


class SurveyNotOpen(SurveyError):
    status = 409


class CodeRefused(SurveyError):
    status = 400


class CodeUsed(SurveyError):
    status = 409


class QuotaFull(SurveyError):
    status = 409


class AnswerRefused(SurveyError):
    status = 400


class AlreadySubmitted(SurveyError):
    status = 409


STATUS_LABELS = {"draft": "未开放", "open": "进行中", "closed": "已结束"}


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC


def _plain(value: Any) -> dict:
    """A questionnaire or settings object as the plain dict the survey freezes."""
    if hasattr(value, "frozen"):
        return value.frozen()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return dict(value)
    raise SurveyError(f"无法保存问卷或设置:{type(value).__name__}")


def _audit(session: Session, survey: Survey, field: str, old, new, *, user: User | None, via: str,
           note: str | None = None) -> None:
    session.add(AuditEntry(user_id=user.id if user else None, via=via, entity="survey", entity_key=str(survey.id),
                           county_id=survey.county_id, field=field, old=old, new=new, note=note))


# ---------------------------------------------------------------- questionnaires of a survey


def questionnaire(survey: Survey, questionnaire_id: str) -> dict:
    """The frozen questionnaire `questionnaire_id` of the survey (a plain dict: id, title,
    options, items [{id, text, topic, scored}], ...)."""
    found = (survey.questionnaires or {}).get(questionnaire_id)
    if found is None:
        raise SurveyError(f"调查“{survey.title}”没有问卷 {questionnaire_id}")
    return found


def questionnaire_for_group(survey: Survey, group: str) -> str:
    """The id of the survey's questionnaire whose audiences include `group` (the first by id)."""
    for qid in sorted(survey.questionnaires or {}):
        if group in (survey.questionnaires[qid].get("audiences") or []):
            return qid
    raise SurveyError(f"调查“{survey.title}”的问卷中没有面向{group_label(group)}({group})的问卷:"
                      "请在问卷文件的 audiences 中加入该类人员")


def items_of(q: dict) -> list[dict]:
    return list(q.get("items") or [])


def scored_items(q: dict) -> list[str]:
    return [item["id"] for item in items_of(q) if item.get("scored", True)]


def identity_item(q: dict) -> dict | None:
    """The questionnaire's identity question (unscored, with `groups`): on the survey page the
    quota says the group, so it is answered for the respondent and not shown."""
    return next((item for item in items_of(q) if not item.get("scored", True) and item.get("groups")), None)


def shown_items(q: dict) -> list[dict]:
    """The items the page asks, in order (all but the identity question)."""
    identity = identity_item(q)
    return [item for item in items_of(q) if identity is None or item["id"] != identity["id"]]


def options_of(q: dict, item: dict) -> list[str]:
    """An item's answer options: its own (unscored items may have them) or the questionnaire's scale."""
    return list(item.get("options") or q.get("options") or [])


def identity_answer(q: dict, group: str) -> dict[str, str]:
    """{identity item: the option naming `group`} (empty without an identity question)."""
    identity = identity_item(q)
    if identity is None:
        return {}
    option = next((o for o, g in (identity.get("groups") or {}).items() if g == group), None)
    return {identity["id"]: option} if option else {}


# ---------------------------------------------------------------- creating and setting up


def create_survey(session: Session, county_code: str, year: int, *, title: str, questionnaires: Mapping[str, Any],
                  settings: Any, user: User | None, via: str, plan: dict | None = None) -> Survey:
    """A new survey (draft) of the county-year, its questionnaires and settings frozen as they are
    now, with a random public key (the link /s/<key>); audited."""
    county = repo.county_by_code(session, county_code)
    title = (title or "").strip()
    if not title:
        title = f"{county.name}{school_year_label(int(year))}义务教育优质均衡发展社会认可度调查"
    if len(title) > MAX_TITLE:
        raise SurveyError(f"调查标题太长:不能超过 {MAX_TITLE} 个字")
    if not 1990 <= int(year) <= 2100:
        raise SurveyError(f"年度 {year} 无效:应为 1990 到 2100 之间的学年起始年份")
    frozen = {qid: _plain(q) for qid, q in questionnaires.items()}
    if not frozen:
        raise SurveyError("没有问卷:至少需要一份问卷")
    for qid, q in frozen.items():
        if not items_of(q) or len(items_of(q)) > MAX_ITEMS:
            raise SurveyError(f"问卷 {qid} 的题目数应为 1 到 {MAX_ITEMS} 道")
    survey = Survey(county_id=county.id, year=int(year), title=title, status="draft",
                    public_key=secrets.token_urlsafe(18)[:24], questionnaires=frozen, settings=_plain(settings),
                    plan=plan, created_by=user.id if user else None)
    session.add(survey)
    session.flush()
    _audit(session, survey, "status", None, "draft", user=user, via=via, note=f"创建调查“{title}”")
    return survey


def survey_by_id(session: Session, survey_id: int) -> Survey:
    survey = session.get(Survey, survey_id)
    if survey is None or survey.deleted_at is not None:
        raise SurveyNotFound(f"没有编号为 {survey_id} 的调查(见 junheng survey status)")
    return survey


def survey_by_key(session: Session, public_key: str) -> Survey:
    survey = None
    if public_key and len(public_key) <= 32:
        survey = session.scalar(select(Survey).where(Survey.public_key == public_key, Survey.deleted_at.is_(None)))
    if survey is None:
        raise SurveyNotFound("没有找到这个调查:请检查链接或二维码是否完整")
    return survey


@dataclass(frozen=True)
class QuotaRow:
    group: str
    school_code: str | None  # None: county-wide
    size: int


def set_quotas(session: Session, survey: Survey, rows: Iterable[QuotaRow | tuple]) -> list[SurveyQuota]:
    """The survey's quotas, one per (group, school or county-wide): sizes of existing quotas are
    updated, new ones added, and quotas not listed removed (only those without codes). Each
    quota's questionnaire is the one whose audiences include its group. Every row is checked
    before anything changes."""
    wanted: dict[tuple[str, int | None], tuple[int, str]] = {}
    problems = []
    schools = {s.code: s for s in session.scalars(select(School).where(School.county_id == survey.county_id,
                                                                       School.deleted_at.is_(None)))}
    for number, row in enumerate(rows, start=1):
        row = row if isinstance(row, QuotaRow) else QuotaRow(*row)
        where = f"第 {number} 个名额({row.group}{'、' + row.school_code if row.school_code else ''})"
        if row.group not in GROUPS:
            problems.append(f"{where}:人员类别“{row.group}”无效,应为 {'、'.join(GROUPS)} 之一")
            continue
        school_id = None
        if row.school_code:
            school = schools.get(row.school_code)
            if school is None:
                problems.append(f"{where}:本县区没有学校标识码为 {row.school_code} 的学校")
                continue
            school_id = school.id
        if not isinstance(row.size, int) or isinstance(row.size, bool) or not 0 < row.size <= MAX_QUOTA_SIZE:
            problems.append(f"{where}:人数 {row.size} 无效,应为 1 到 {MAX_QUOTA_SIZE} 之间的整数")
            continue
        try:
            qid = questionnaire_for_group(survey, row.group)
        except SurveyError as exc:
            problems.append(f"{where}:{exc}")
            continue
        key = (row.group, school_id)
        if key in wanted:
            problems.append(f"{where}:与前面的名额重复")
            continue
        wanted[key] = (row.size, qid)
    if problems:
        raise SurveyError("名额有误:" + ";".join(problems))
    existing = {(q.group, q.school_id): q for q in
                session.scalars(select(SurveyQuota).where(SurveyQuota.survey_id == survey.id))}
    for key, quota in existing.items():
        if key in wanted:
            continue
        issued = session.scalar(select(func.count()).select_from(SurveyCode).where(SurveyCode.quota_id == quota.id))
        if issued:
            raise SurveyError(f"名额“{quota_title(quota)}”已生成 {issued} 个访问码,不能删除")
        session.delete(quota)
    out = []
    for (group, school_id), (size, qid) in wanted.items():
        quota = existing.get((group, school_id))
        if quota is None:
            quota = SurveyQuota(survey_id=survey.id, group=group, school_id=school_id, questionnaire=qid, size=size)
            session.add(quota)
        else:
            quota.size, quota.questionnaire = size, qid
        out.append(quota)
    session.flush()
    return out


def quota_rows_from_plan(plan: Mapping[str, Any]) -> list[QuotaRow]:
    """The quotas of a sampling plan (junheng.survey.sampling.SamplingPlan.to_json()): a row per
    school and group (`schools`: [{school_id, quotas: {group: n}}]) and the county-wide quotas
    (`county_quotas` or `county`: {group: n}). Zero quotas are skipped."""
    if not isinstance(plan, Mapping):
        raise SurveyError("抽样方案格式有误:应为 junheng survey plan 生成的 JSON 对象")
    rows: list[QuotaRow] = []
    for number, school in enumerate(plan.get("schools") or [], start=1):
        if not isinstance(school, Mapping):
            raise SurveyError(f"抽样方案第 {number} 所学校格式有误")
        code = school.get("school_id") or school.get("school_code") or school.get("code")
        quotas = school.get("quotas") or {}
        if not code or not isinstance(quotas, Mapping):
            raise SurveyError(f"抽样方案第 {number} 所学校缺少 school_id 或 quotas")
        rows += [QuotaRow(str(g), str(code), _count(n, f"学校 {code} 的 {g}")) for g, n in quotas.items()
                 if _count(n, f"学校 {code} 的 {g}")]
    county = next((plan[k] for k in ("county_wide", "county_quotas") if plan.get(k) is not None), {})
    if isinstance(county, Mapping):
        rows += [QuotaRow(str(g), None, _count(n, f"全县 {g}")) for g, n in county.items()
                 if not isinstance(n, Mapping) and _count(n, f"全县 {g}")]
    if not rows:
        raise SurveyError("抽样方案中没有任何名额(schools 与 county_wide 都为空)")
    return rows


def _count(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
        raise SurveyError(f"抽样方案中{where}的人数“{value}”无效:应为非负整数")
    return int(value)


def quota_title(quota: SurveyQuota) -> str:
    return f"{group_label(quota.group)} · {quota.school.name if quota.school is not None else '全县'}"


def issue_codes(session: Session, survey: Survey, *, secret: str, extra: int = 0) -> list[tuple[SurveyQuota, str]]:
    """New one-time codes: for every quota as many as its size exceeds the codes issued so far
    (the first run: one code per place), plus `extra` more per quota (for lost sheets). Returns
    (quota, plain code) pairs: the plain codes are not kept anywhere else."""
    if survey.status == "closed":
        raise SurveyNotOpen(f"调查“{survey.title}”已结束,不能再生成访问码")
    if not 0 <= extra <= MAX_QUOTA_SIZE:
        raise SurveyError(f"补发的访问码数 {extra} 无效:应为 0 到 {MAX_QUOTA_SIZE}")
    quotas = quotas_of(session, survey)
    if not quotas:
        raise SurveyError(f"调查“{survey.title}”还没有名额:请用抽样方案创建调查(--plan)")
    issued = dict(session.execute(select(SurveyCode.quota_id, func.count()).where(SurveyCode.survey_id == survey.id)
                                  .group_by(SurveyCode.quota_id)).all())
    wanted = {q.id: max(0, q.size - issued.get(q.id, 0)) + extra for q in quotas}
    if sum(wanted.values()) > MAX_CODES_PER_RUN:
        raise SurveyError(f"一次最多生成 {MAX_CODES_PER_RUN} 个访问码")
    out = []
    for quota in quotas:
        for _ in range(wanted[quota.id]):
            while True:  # a collision of 8 random characters is astronomically rare; try again then
                code = code_tools.new_code()
                digest = code_tools.code_hash(secret, code)
                if session.scalar(select(SurveyCode.id).where(SurveyCode.code_hash == digest)) is None:
                    break
            session.add(SurveyCode(survey_id=survey.id, quota_id=quota.id, code_hash=digest))
            out.append((quota, code))
    session.flush()
    return out


def quotas_of(session: Session, survey: Survey) -> list[SurveyQuota]:
    order = {g: i for i, g in enumerate(GROUPS)}
    quotas = list(session.scalars(select(SurveyQuota).where(SurveyQuota.survey_id == survey.id)))
    return sorted(quotas, key=lambda q: (q.school.code if q.school is not None else "", order.get(q.group, 99)))


def open_survey(session: Session, survey: Survey, *, user: User | None, via: str) -> bool:
    """Open the survey for answers (from draft, or again after closing); audited. False when it
    was open already."""
    if survey.status == "open":
        return False
    if not quotas_of(session, survey):
        raise SurveyError(f"调查“{survey.title}”还没有名额,不能开放")
    old, survey.status = survey.status, "open"
    survey.opened_at, survey.closed_at = utcnow(), None
    _audit(session, survey, "status", old, "open", user=user, via=via, note="开放调查")
    return True


def close_survey(session: Session, survey: Survey, *, user: User | None, via: str) -> bool:
    """Close the survey: no more starts, saves or submissions; audited. False when it was not open."""
    if survey.status != "open":
        return False
    survey.status, survey.closed_at = "closed", utcnow()
    _audit(session, survey, "status", "open", "closed", user=user, via=via, note="结束调查")
    return True


# ---------------------------------------------------------------- answering


def _require_open(survey: Survey) -> None:
    if survey.status == "draft":
        raise SurveyNotOpen(f"调查“{survey.title}”尚未开始,请在调查开始后再来作答")
    if survey.status != "open":
        raise SurveyNotOpen(f"调查“{survey.title}”已经结束,感谢您的关注")


def _submitted_in(session: Session, quota_id: int) -> int:
    return session.scalar(select(func.count()).select_from(SurveyResponse).where(
        SurveyResponse.quota_id == quota_id, SurveyResponse.submitted_at.is_not(None))) or 0


def start_or_resume(session: Session, survey: Survey, typed_code: str, *, secret: str,
                    ip_hash: str | None = None) -> SurveyResponse:
    """The response of a code: its partial response if it has one (a reload or a second phone
    resumes it), else a new partial response of the code's quota. Refused: survey not open,
    code unknown or of another survey, code already submitted, quota full."""
    _require_open(survey)
    try:
        code_text = code_tools.normalise_code(typed_code)
    except code_tools.CodeFormatError as exc:
        raise CodeRefused(str(exc)) from None
    code = session.scalar(select(SurveyCode).where(SurveyCode.code_hash == code_tools.code_hash(secret, code_text)))
    if code is None or code.survey_id != survey.id:
        raise CodeRefused(f"访问码 {code_tools.shown(code_text)} 不正确:请核对卡片上的访问码(不区分大小写)")
    if code.used_at is not None:
        raise CodeUsed(f"访问码 {code_tools.shown(code_text)} 已经提交过问卷:每个访问码只能提交一次,感谢您的参与")
    response = session.scalar(select(SurveyResponse).where(SurveyResponse.code_id == code.id))
    if response is not None:
        return response
    quota = code.quota
    if _submitted_in(session, quota.id) >= quota.size:
        raise QuotaFull(f"{QUOTA_FULL}({quota_title(quota)}):感谢您的参与")
    response = SurveyResponse(survey_id=survey.id, source="web", quota_id=quota.id, code_id=code.id,
                              group=quota.group, school_id=quota.school_id, questionnaire=quota.questionnaire,
                              answers=identity_answer(questionnaire(survey, quota.questionnaire), quota.group),
                              started_at=utcnow(), ip_hash=ip_hash)
    try:
        with session.begin_nested():
            session.add(response)
    except IntegrityError:  # the same code started at the same moment elsewhere: that one is it
        response = session.scalar(select(SurveyResponse).where(SurveyResponse.code_id == code.id))
        if response is None:
            raise
    return response


def clean_answers(survey: Survey, response: SurveyResponse, answers: Mapping[str, Any]) -> dict[str, str | None]:
    """`answers` (item id → option text; "" or None: blank) checked against the response's frozen
    questionnaire; AnswerRefused names the first item or option that does not belong."""
    q = questionnaire(survey, response.questionnaire)
    items = {item["id"]: item for item in shown_items(q)}
    if len(answers) > len(items):
        raise AnswerRefused(f"答案太多:问卷只有 {len(items)} 道题")
    out: dict[str, str | None] = {}
    for item, option in answers.items():
        if not isinstance(item, str) or len(item) > MAX_ITEM_ID or item not in items:
            raise AnswerRefused(f"问卷中没有题目“{str(item)[:MAX_ITEM_ID]}”:请刷新页面后重新作答")
        if option is None or option == "":
            out[item] = None
            continue
        options = options_of(q, items[item])
        if not isinstance(option, str) or len(option) > MAX_OPTION or option not in options:
            raise AnswerRefused(f"第“{items[item].get('text', item)[:40]}”题的答案“{str(option)[:MAX_OPTION]}”"
                                f"不是问卷的选项(应为 {'、'.join(options)} 之一)")
        out[item] = option
    return out


def save_answers(session: Session, survey: Survey, response: SurveyResponse,
                 answers: Mapping[str, Any]) -> SurveyResponse:
    """Merge answers into a partial response (blank removes an answer); refused once submitted
    or when the survey is not open."""
    _require_open(survey)
    if response.submitted_at is not None:
        raise AlreadySubmitted("这份问卷已经提交,不能再修改:感谢您的参与")
    cleaned = clean_answers(survey, response, answers)
    merged = dict(response.answers or {})
    for item, option in cleaned.items():
        if option is None:
            merged.pop(item, None)
        else:
            merged[item] = option
    response.answers = merged  # a new dict: the JSON column sees the change
    session.flush()
    return response


def unanswered(survey: Survey, response: SurveyResponse) -> list[dict]:
    """The scored items of the response's questionnaire without an answer (they count as blank,
    excluded from the rates; the page asks to confirm before submitting)."""
    q = questionnaire(survey, response.questionnaire)
    answered = response.answers or {}
    return [item for item in items_of(q) if item.get("scored", True) and not answered.get(item["id"])]


def submit(session: Session, survey: Survey, response: SurveyResponse, answers: Mapping[str, Any] | None = None,
           *, now: datetime | None = None) -> SurveyResponse:
    """Submit a partial response (saving `answers` first): the code is marked used in the same
    transaction, so a code submits once (a second submission is refused even from a race: the
    code's row is updated only while unused). Refused when the quota has filled meanwhile.
    Unanswered items stay blank (excluded from the rates)."""
    if response.submitted_at is not None:
        raise AlreadySubmitted("这份问卷已经提交过了:每个访问码只能提交一次,感谢您的参与")
    if answers:
        save_answers(session, survey, response, answers)
    _require_open(survey)
    now = now or utcnow()
    if response.quota_id is not None:
        quota = session.scalar(select(SurveyQuota).where(SurveyQuota.id == response.quota_id).with_for_update())
        if _submitted_in(session, quota.id) >= quota.size:
            raise QuotaFull(f"{QUOTA_FULL}({quota_title(quota)}):感谢您的参与")
    if response.code_id is not None:
        marked = session.execute(update(SurveyCode).where(SurveyCode.id == response.code_id,
                                                          SurveyCode.used_at.is_(None)).values(used_at=now)
                                 .execution_options(synchronize_session=False))
        if marked.rowcount != 1:
            raise AlreadySubmitted("这个访问码已经提交过问卷:每个访问码只能提交一次,感谢您的参与")
    response.submitted_at = now
    response.seconds = round(max(0.0, (now - _aware(response.started_at)).total_seconds()), 1)
    session.flush()
    return response


def response_for_page(session: Session, survey: Survey, response_id: int) -> SurveyResponse | None:
    """The survey's response `response_id`, or None."""
    response = session.get(SurveyResponse, response_id)
    if response is None or response.survey_id != survey.id:
        return None
    return response


# ---------------------------------------------------------------- reading back


def list_responses(session: Session, survey: Survey, *, submitted_only: bool = True) -> list[SurveyResponse]:
    query = select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)
    if submitted_only:
        query = query.where(SurveyResponse.submitted_at.is_not(None))
    return list(session.scalars(query.order_by(SurveyResponse.id)))


@dataclass(frozen=True)
class QuotaStatus:
    quota: SurveyQuota
    submitted: int
    partial: int
    codes: int
    codes_used: int

    @property
    def title(self) -> str:
        return quota_title(self.quota)


def quota_status(session: Session, survey: Survey) -> list[QuotaStatus]:
    """Per quota: submitted and partial responses, codes issued and used."""
    submitted = dict(session.execute(select(SurveyResponse.quota_id, func.count()).where(
        SurveyResponse.survey_id == survey.id, SurveyResponse.submitted_at.is_not(None))
        .group_by(SurveyResponse.quota_id)).all())
    partial = dict(session.execute(select(SurveyResponse.quota_id, func.count()).where(
        SurveyResponse.survey_id == survey.id, SurveyResponse.submitted_at.is_(None))
        .group_by(SurveyResponse.quota_id)).all())
    issued = dict(session.execute(select(SurveyCode.quota_id, func.count()).where(SurveyCode.survey_id == survey.id)
                                  .group_by(SurveyCode.quota_id)).all())
    used = dict(session.execute(select(SurveyCode.quota_id, func.count()).where(
        SurveyCode.survey_id == survey.id, SurveyCode.used_at.is_not(None)).group_by(SurveyCode.quota_id)).all())
    return [QuotaStatus(q, submitted.get(q.id, 0), partial.get(q.id, 0), issued.get(q.id, 0), used.get(q.id, 0))
            for q in quotas_of(session, survey)]


def record_result(session: Session, survey: Survey, score: Mapping[str, Any], *,
                  user: User | None = None) -> SurveyResult:
    """Keep a scoring of the survey (SurveyScore.to_json(), with exclusions if any): not yet the
    county-year's S1 (audit_id None until it is applied)."""
    overall = score.get("overall") or {}
    result = SurveyResult(survey_id=survey.id, county_id=survey.county_id, year=survey.year,
                          rate=overall.get("rate"), ci_low=overall.get("ci_low"), ci_high=overall.get("ci_high"),
                          respondents=int(overall.get("respondents") or 0), answers=int(overall.get("answers") or 0),
                          result=dict(score), computed_by=user.id if user else None)
    session.add(result)
    session.flush()
    return result


def county_of(session: Session, survey: Survey) -> OrgNode:
    return session.get(OrgNode, survey.county_id)


# ---------------------------------------------------------------- rate limits of the public page
# Fixed one-minute windows per (what, survey, client address hash) and per (what, survey), in the
# login throttle's table under scope "survey": every worker counts the same requests. Rows whose
# window is long over are deleted as new windows begin, so the table stays small.

RATE_SCOPE = "survey"
RATE_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class RateLimits:
    """Requests per minute the public page accepts (per client address; per survey in all)."""

    starts_per_address: int = 20
    saves_per_address: int = 300
    starts_per_survey: int = 3000
    saves_per_survey: int = 30000

    def limit(self, what: str, per: str) -> int:
        return getattr(self, f"{what}s_per_{per}")


def hit(session: Session, key: str, limit: int, now: datetime | None = None) -> bool:
    """Count one request against `key` (at most 255 characters); False when the key has had
    `limit` requests in its current window already (then this one is not counted either)."""
    now = now or utcnow()
    key = key[:255]
    where = (LoginThrottle.scope == RATE_SCOPE, LoginThrottle.key == key)
    session.execute(update(LoginThrottle).where(*where, LoginThrottle.window_start <= now - RATE_WINDOW)
                    .values(failures=0, window_start=now).execution_options(synchronize_session=False))
    counted = session.execute(update(LoginThrottle).where(*where, LoginThrottle.failures < limit)
                              .values(failures=LoginThrottle.failures + 1).execution_options(synchronize_session=False))
    if counted.rowcount:
        return True
    exists = session.scalar(select(LoginThrottle.id).where(*where))
    if exists is not None:
        return False
    session.execute(delete(LoginThrottle).where(LoginThrottle.scope == RATE_SCOPE,
                                                LoginThrottle.window_start <= now - 10 * RATE_WINDOW)
                    .execution_options(synchronize_session=False))
    try:
        with session.begin_nested():
            session.add(LoginThrottle(scope=RATE_SCOPE, key=key, failures=1, window_start=now))
    except IntegrityError:  # another worker began this window first
        counted = session.execute(update(LoginThrottle).where(*where, LoginThrottle.failures < limit)
                                  .values(failures=LoginThrottle.failures + 1)
                                  .execution_options(synchronize_session=False))
        return bool(counted.rowcount)
    return limit >= 1


def allowed(session: Session, survey: Survey, what: str, ip_hash: str | None, limits: RateLimits,
            now: datetime | None = None) -> bool:
    """One `what` ("start" or "save") request of a client on the survey, within both limits."""
    if not hit(session, f"{what}:{survey.id}:{ip_hash or 'unknown'}", limits.limit(what, "address"), now):
        return False
    return hit(session, f"{what}:{survey.id}:*", limits.limit(what, "survey"), now)
