"""The plan page (整改规划) and the saved scenarios in the web app, on SQLite and PostgreSQL (the
`database` fixture): the plan of the county's stored approved data as `plan_county` makes it,
its JSON and downloads in the CLI's contract, "保存为方案" with its audit entry, a saved scenario
applied before/after, who may see and who may save, and bad input refused in Chinese with
nothing saved.

The county is tiny (three primary schools; the planner's brute-force county): P2 lacks a backbone
teacher, P3 a multimedia classroom, and P1's backbone teachers put the R2 CV over its limit; it
fails, and a plan (one rotation, one hire, one room) passes."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import builders
import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from web_world import PASSWORD, WebClient, login, role_users, seed_store, web_settings

from junheng.data.dataset import Dataset
from junheng.data.writer import write_dataset_csv
from junheng.planner.service import plan_county
from junheng.store import repo
from junheng.store.models import AuditEntry, User
from junheng.web.app import create_app

COUNTY, CITY = "990301", "990300"
YEAR = builders.YEAR
PLAN = f"/counties/{COUNTY}/plan"
STUDENTS = {"G-P1": 100, "G-P2": 150, "G-P3": 200}
ROWS = {"G-P1": {"backbone_teachers_primary": 4}, "G-P2": {"backbone_teachers_primary": 1},
        "G-P3": {"backbone_teachers_primary": 2, "multimedia_classrooms": 4}}
USERS = role_users(admin=None, county=COUNTY, supervisor=CITY, viewer=COUNTY, school="G-P1")
CONTRACT_KEYS = {"actions", "total_cost", "lower_bound", "gap", "policy_items", "verification"}


def plan_dataset() -> Dataset:
    schools = [builders.school(sid, "primary", county_code=COUNTY, county_name="规划县") for sid in ROWS]
    years = [builders.school_year(sid, "primary", students=STUDENTS[sid], **ROWS[sid]) for sid in ROWS]
    quality = [{**row, "county_code": COUNTY} for row in builders.quality()]
    counties = [{"county_code": COUNTY, "county_name": "规划县", "city": "规划市", "province": "测试省",
                 "standard": "national-2017", "target_year": 2026}]
    return Dataset.from_frames(source="tests", schools=pd.DataFrame(schools), school_year=pd.DataFrame(years),
                               county_year=pd.DataFrame([{**builders.county_year(), "county_code": COUNTY}]),
                               quality=pd.DataFrame(quality), counties=pd.DataFrame(counties))


class World:
    def __init__(self, database, tmp_path: Path):
        self.database, self.root = database, tmp_path
        seed_store(database, plan_dataset(), USERS)
        self.settings = web_settings(database, tmp_path / "uploads")
        self.app = create_app(self.settings, database)

    @property
    def scenarios(self) -> Path:
        return self.root / "scenarios" / COUNTY

    def login(self, username: str) -> WebClient:
        return login(self.app, username)

    def stored_dataset(self) -> Dataset:
        with self.database.session() as s:
            return repo.load_dataset(s, [COUNTY], approved_only=True)

    def scenario_audit(self) -> list[AuditEntry]:
        with self.database.session() as s:
            return list(s.scalars(select(AuditEntry).where(AuditEntry.entity == "scenario").order_by(AuditEntry.id)))

    def audit_count(self) -> int:
        with self.database.session() as s:
            return s.scalar(select(func.count()).select_from(AuditEntry))


@pytest.fixture
def world(database, tmp_path) -> World:
    return World(database, tmp_path)


def plan_options(**extra) -> dict:
    return {"year": str(YEAR), "mode": "both", "budget": "", "budget_kind": "per_year", "years": "1", **extra}


def action_costs(html: str) -> list[float]:
    return [float(x) for x in re.findall(r'<tr class="action" data-kind="[a-z_]+" data-cost="([0-9.e+-]+)"', html)]


# ---------------------------------------------------------------- the plan


def test_the_plan_page_shows_the_plan_of_the_stored_data(world):
    county = world.login("county")
    form = county.get(PLAN)
    assert form.status_code == 200 and 'id="plan-form"' in form.text and 'id="plan"' not in form.text  # no solve yet
    page = county.get(PLAN, params=plan_options(run="1"))
    assert page.status_code == 200, page.text
    expected = plan_county(world.stored_dataset(), county=COUNTY, year=YEAR)
    assert expected.status == "pass" and expected.total_cost > 0
    costs = action_costs(page.text)
    assert len(costs) == len([a for a in expected.actions if a.kind != "rotate_teachers"])
    assert sum(costs) == pytest.approx(expected.total_cost)
    total = re.search(r'id="total-cost" data-total="([0-9.]+)"', page.text).group(1)
    assert float(total) == pytest.approx(expected.total_cost)
    assert f"{expected.total_cost / 10000:,.2f} 万元" in page.text and f"{expected.total_cost:,.0f} 元" in page.text
    assert f"{expected.lower_bound / 10000:,.2f} 万元" in page.text and f"{expected.gap * 100:.2f}%" in page.text
    assert expected.status_label in builders.plain(page.text)
    # the rotation move, named; the engine's verdict before → after; the solve time
    moves = page.text[page.text.index('id="moves"'):]
    move = expected.moves[0]
    assert move.from_school_name in moves and move.to_school_name in moves and move.kind_label in moves
    verdicts = page.text[page.text.index('id="verdicts"'):page.text.index("实施前 → 实施后")]
    assert verdicts.index("badge fail") < verdicts.index("badge pass")
    assert re.search(r'id="solve-seconds">\d+\.\d\d 秒', page.text) and "X-Solve-Seconds" in page.headers
    # per school: the multimedia classroom at P3 in whole rooms, with its year
    p3 = builders.plain(page.text[page.text.index('data-school="G-P3"'):])
    assert "建设网络多媒体教室" in p3 and "1 间" in p3 and f"{YEAR + 1}(第 1 年)" in p3
    assert 'id="save-form"' in page.text  # a county admin may save it


def test_the_json_and_the_downloads_are_the_cli_contract(world, tmp_path):
    county = world.login("county")
    response = county.get(PLAN, params={"format": "json"})  # the defaults: both modes, latest year
    assert response.status_code == 200
    plan = response.json()
    assert CONTRACT_KEYS <= set(plan)
    assert set(plan) == set(plan_county(world.stored_dataset(), county=COUNTY).to_json())
    assert plan["status"] == "pass" and plan["verification"]["verdict"] == "pass"
    assert plan["total_cost"] >= plan["lower_bound"]
    # the CLI on the same data writes the same contract and the same plan
    folder = tmp_path / "data"
    write_dataset_csv(world.stored_dataset(), folder)
    cli = builders.run_junheng("plan", str(folder), "-c", COUNTY, "-y", str(YEAR), "--format", "json")
    assert cli.returncode == 0, cli.stderr
    cli_plan = json.loads(cli.stdout)
    assert set(cli_plan) == set(plan)
    assert cli_plan["total_cost"] == pytest.approx(plan["total_cost"])
    assert sorted((a["kind"], a["school_id"], a["quantity"]) for a in cli_plan["actions"]) == \
        sorted((a["kind"], a["school_id"], a["quantity"]) for a in plan["actions"])
    # downloads: the JSON file and the workbook
    download = county.get(f"{PLAN}.json", params=plan_options())
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert json.loads(download.content) == plan
    book = county.get(f"{PLAN}.xlsx", params=plan_options())
    assert book.status_code == 200 and "attachment" in book.headers["content-disposition"]
    workbook = load_workbook(io.BytesIO(book.content))
    cells = [str(c) for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for c in row if c]
    assert any("规划县" in c for c in cells) and "建设网络多媒体教室" in cells


def test_an_infeasible_budget_is_explained_in_chinese(world):
    county = world.login("county")
    page = county.get(PLAN, params=plan_options(mode="build", budget="1万", run="1"))
    assert page.status_code == 200
    assert 'data-status="infeasible"' in page.text and "无法达标的原因" in page.text
    reasons = page.text[page.text.index('id="reasons"'):]
    assert "预算不足" in reasons and "10,000 元" in reasons
    assert 'id="save-form"' not in page.text  # nothing to save
    data = county.get(PLAN, params=plan_options(mode="build", budget="1万", format="json")).json()
    assert data["status"] == "infeasible" and data["actions"] == [] and any("预算不足" in r for r in data["reasons"])


def test_a_total_budget_is_spread_over_the_years(world):
    county = world.login("county")
    data = county.get(PLAN, params=plan_options(mode="build", budget="150万", budget_kind="total", years="3",
                                                format="json")).json()
    assert data["budget"] == pytest.approx([500000.0] * 3) and data["years"] == 3
    assert data["status"] == "pass"
    assert all(y["amount"] <= 500000.0 + 1e-6 for y in data["cost_by_year"])
    page = county.get(PLAN, params=plan_options(mode="build", budget="150万", budget_kind="total", years="3", run="1"))
    assert "方案期合计预算 1,500,000 元,按 3 年平均分配,每年 500,000 元" in builders.plain(page.text)
    assert 'id="cost-by-year"' in page.text


# ---------------------------------------------------------------- bad input


BAD_INPUT = [  # (form fields, words the Chinese message must contain)
    ({"budget": "abc"}, ["预算“abc”无法识别", "500万"]),
    ({"budget": "-5万"}, ["预算", "负数"]),
    ({"budget": "100万,200万", "years": "3"}, ["2 个年度预算", "方案年限为 3 年"]),
    ({"budget": "100万,200万", "budget_kind": "total", "years": "2"}, ["方案期合计", "只能填一个金额"]),
    ({"years": "0"}, ["方案年限“0”无效", "1 到 10"]),
    ({"years": "三"}, ["方案年限“三”无效"]),
    ({"year": "1999"}, ["没有 1999 学年的已审核学校数据", str(YEAR)]),
    ({"year": "下一年"}, ["学年“下一年”无效", "四位数字"]),
    ({"mode": "magic"}, ["方案模式“magic”无效", "rotation"]),
]


def test_bad_input_is_refused_in_chinese_and_nothing_is_saved(world):
    county = world.login("county")
    before = world.audit_count()
    for params, words in BAD_INPUT:
        page = county.get(PLAN, params=plan_options(run="1", **params))
        assert page.status_code == 400, params
        error = page.text[page.text.index('id="plan-error"'):]
        assert all(w in error for w in words), (params, error[:400])
        assert 'id="plan-form"' in page.text and 'id="plan"' not in page.text  # the form again, no plan
        if "budget" in params:
            assert f'value="{params["budget"]}"' in page.text  # with what was typed
        data = county.get(PLAN, params=plan_options(format="json", **params))
        assert data.status_code == 400 and all(w in data.json()["detail"] for w in words), params
        saved = county.post(f"{PLAN}/save", plan_options(name="坏方案", **params))
        assert saved.status_code == 400 and words[0] in saved.text, params
    assert world.audit_count() == before and not world.scenarios.exists()


# ---------------------------------------------------------------- saving and applying scenarios


def test_a_saved_scenario_is_listed_audited_and_applied_before_and_after(world):
    county = world.login("county")
    response = county.post(f"{PLAN}/save", plan_options(name="2025年达标方案"))
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(f"/counties/{COUNTY}/scenarios?saved=")
    path = world.scenarios / "2025年达标方案.yaml"
    assert path.is_file() and "apply_plan" in path.read_text("utf-8")
    [entry] = world.scenario_audit()
    with world.database.session() as s:
        user = s.get(User, entry.user_id)
        assert user.username == "county"
    assert entry.entity_key == f"{COUNTY}/2025年达标方案" and entry.via == "form" and entry.at is not None
    assert "2025年达标方案" in entry.new
    audit_page = county.get(f"/counties/{COUNTY}/audit")
    assert audit_page.status_code == 200 and "保存情景" in audit_page.text and "情景“2025年达标方案”" in audit_page.text
    listing = county.get(response.headers["location"])
    assert listing.status_code == 200 and "已保存情景“2025年达标方案”" in listing.text
    assert 'data-scenario="2025年达标方案"' in listing.text
    assert county.get(f"/counties/{COUNTY}/scenarios?format=json").json()["scenarios"][0]["name"] == "2025年达标方案"
    # 应用: the evaluation before and after, side by side
    applied = county.get(f"/counties/{COUNTY}/scenarios/2025年达标方案")
    assert applied.status_code == 200
    before = applied.text[applied.text.index('id="verdict-before"'):applied.text.index('id="verdict-after"')]
    after = applied.text[applied.text.index('id="verdict-after"'):]
    assert "badge fail" in before and "badge pass" in after.split("</div>")[0]
    assert 'data-key="resource_allocation"' in applied.text and "执行方案" in applied.text
    data = county.get(f"/counties/{COUNTY}/scenarios/2025年达标方案", params={"format": "json"}).json()
    assert data["before"]["verdict"] == "fail" and data["after"]["verdict"] == "pass"
    assert next(r for r in data["comparison"] if r["key"] == "resource_allocation")["after_met"] is True
    # the same name again: refused unless overwriting is asked for
    again = county.post(f"{PLAN}/save", plan_options(name="2025年达标方案"))
    assert again.status_code == 400 and "已有名为“2025年达标方案”的情景" in again.text
    assert len(world.scenario_audit()) == 1
    assert county.post(f"{PLAN}/save", plan_options(name="2025年达标方案", overwrite="1")).status_code == 303
    assert len(world.scenario_audit()) == 2


def test_a_bad_scenario_name_saves_nothing(world):
    county = world.login("county")
    for name, words in (("a/b", "情景名称“a/b”无效"), ("", "请填写情景名称"), (".隐藏", "不能以点")):
        response = county.post(f"{PLAN}/save", plan_options(name=name))
        assert response.status_code == 400 and words in response.text
        assert 'id="save-error"' in response.text and 'id="plan"' in response.text  # the plan stays on the page
    assert world.scenario_audit() == [] and not world.scenarios.exists()
    assert county.post(f"{PLAN}/save", plan_options(name="x"), csrf=False).status_code == 403
    assert county.get(f"/counties/{COUNTY}/scenarios/不存在").status_code == 404


# ---------------------------------------------------------------- who may do what


def test_viewers_and_supervisors_see_plans_but_cannot_save(world):
    county = world.login("county")
    assert county.post(f"{PLAN}/save", plan_options(name="县里的方案")).status_code == 303
    before = world.audit_count()
    for username in ("supervisor", "viewer"):
        client = world.login(username)
        page = client.get(PLAN, params=plan_options(run="1"))
        assert page.status_code == 200 and 'id="plan"' in page.text
        assert 'id="save-form"' not in page.text and "只有本县区的县级管理员可以把方案保存为情景" in page.text
        assert client.get(PLAN, params={"format": "json"}).status_code == 200
        assert client.get(f"{PLAN}.xlsx", params=plan_options()).status_code == 200
        refused = client.post(f"{PLAN}/save", plan_options(name=f"{username}的方案"))
        assert refused.status_code == 403 and "县级管理员" in refused.text
        listing = client.get(f"/counties/{COUNTY}/scenarios")
        assert listing.status_code == 200 and "县里的方案" in listing.text
        assert client.get(f"/counties/{COUNTY}/scenarios/县里的方案").status_code == 200
        dashboard = client.get(f"/counties/{COUNTY}")
        assert 'id="link-plan"' in dashboard.text and "整改规划" in dashboard.text
    assert world.audit_count() == before
    assert sorted(p.name for p in world.scenarios.iterdir()) == ["县里的方案.yaml"]


def test_a_school_filler_gets_403_everywhere(world):
    county = world.login("county")
    assert county.post(f"{PLAN}/save", plan_options(name="县里的方案")).status_code == 303
    school = world.login("school")
    for url in (PLAN, f"{PLAN}?run=1", f"{PLAN}?format=json", f"{PLAN}.xlsx", f"{PLAN}.json",
                f"/counties/{COUNTY}/scenarios", f"/counties/{COUNTY}/scenarios/县里的方案",
                f"/counties/{COUNTY}/scenarios/县里的方案?format=json"):
        assert school.get(url).status_code == 403, url
    before = world.audit_count()
    assert school.post(f"{PLAN}/save", plan_options(name="学校的方案")).status_code == 403
    assert world.audit_count() == before and not (world.scenarios / "学校的方案.yaml").exists()


def test_the_admin_may_save_and_the_dashboard_links_the_plan(world):
    admin = world.login("admin")
    dashboard = admin.get(f"/counties/{COUNTY}")
    assert f'href="/counties/{COUNTY}/plan?year={YEAR}" id="link-plan">整改规划</a>' in dashboard.text
    assert admin.post(f"{PLAN}/save", plan_options(name="管理员的方案")).status_code == 303
    assert (world.scenarios / "管理员的方案.yaml").is_file()


# ---------------------------------------------------------------- in a browser at 1366×768


def test_in_a_browser_the_county_admin_plans_saves_and_applies(tmp_path, chromium):
    """Chromium at 1366×768 (office screen): dashboard link → plan → save → list → 应用; no page
    is wider than the screen. SQLite only (the store is exercised on both above). Chromium and
    Playwright may be missing only outside CI (the `chromium` fixture, tests/web/browser.py)."""
    import os

    from browser import SCREEN, launch_chromium, serve

    from junheng.store.db import Database

    if os.environ.get("CI"):
        from playwright import sync_api  # in CI a missing Playwright is a failure, not a skip
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    database = Database(f"sqlite:///{tmp_path / 'junheng.db'}")
    database.migrate()
    world = World(database, tmp_path)
    try:
        with serve(world.app) as base, sync_api.sync_playwright() as playwright:
            browser = launch_chromium(playwright, chromium)
            page = browser.new_page(viewport=SCREEN)

            def width() -> int:
                return page.evaluate("document.documentElement.scrollWidth")

            page.goto(f"{base}/login")
            page.fill("input[name=username]", "county")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            page.goto(f"{base}/counties/{COUNTY}")
            page.click("#link-plan")
            page.wait_for_url(f"**/counties/{COUNTY}/plan*")
            page.fill("input[name=budget]", "abc")
            page.click("button[name=run]")
            assert "预算“abc”无法识别" in page.locator("#plan-error").inner_text()
            page.fill("input[name=budget]", "50万")
            page.click("button[name=run]")
            page.wait_for_selector("#plan")
            assert page.locator("#plan-status").inner_text().startswith("方案经评估引擎核验")
            assert page.locator("#save-form button").is_visible() and width() <= 1366
            page.fill("#scenario-name", "浏览器方案")
            page.click("#save-form button")
            page.wait_for_url(f"**/counties/{COUNTY}/scenarios?saved=*")
            assert "已保存情景“浏览器方案”" in page.locator("#saved").inner_text() and width() <= 1366
            page.click("a.apply")
            page.wait_for_selector("#verdict-after")
            assert page.locator("#verdict-before").inner_text() == "未达标"
            assert page.locator("#verdict-after").inner_text() == "达标" and width() <= 1366
            browser.close()
    finally:
        database.engine.dispose()


# ---------------------------------------------------------------- counts, words and names (issue 12)


def visible(html: str) -> str:
    """The page's text as read (no tags or attributes), typeset as `builders.plain`."""
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", html, flags=re.S))
    return builders.plain(re.sub(r"\s*\n\s*", "\n", re.sub(r"[ \t]+", " ", text)))


def test_each_count_says_what_it_counts_and_agrees_with_the_plan_json(world):
    """The plan's actions (JSON `actions`) include the teacher moves; the action list shows the
    others, at their schools; some cost nothing. Each count on the page names which it is."""
    county = world.login("county")
    plan = county.get(PLAN, params=plan_options(format="json")).json()
    actions = plan["actions"]
    rotations = [a for a in actions if a["kind"] == "rotate_teachers"]
    others = [a for a in actions if a["kind"] != "rotate_teachers"]
    paid = [a for a in actions if a["cost"]]
    schools = {a["school_id"] for a in others}
    assert rotations and others and len(paid) < len(actions)  # three different numbers in this county
    page = county.get(PLAN, params=plan_options(run="1")).text
    counts = re.search(r'id="action-counts" data-actions="(\d+)" data-rotations="(\d+)" data-others="(\d+)" '
                       r'data-paid="(\d+)" data-schools="(\d+)"', page)
    assert [int(x) for x in counts.groups()] == [len(actions), len(rotations), len(others), len(paid), len(schools)]
    people = sum(m["count"] for m in plan["moves"])
    summary = visible(re.search(r'<p id="action-counts"[^>]*>(.*?)</p>', page, flags=re.S).group(1)).replace(" ", "")
    assert builders.plain(f"本方案共{len(actions)}项行动:交流轮岗{len(rotations)}项(共{people}人次),"
                          f"建设、购置、招聘等{len(others)}项(在{len(schools)}所学校") in summary
    assert builders.plain(f"其中{len(paid)}项有费用(交流轮岗") in summary
    text = visible(page)
    assert builders.plain(f"交流轮岗({len(rotations)} 项,共 {people} 人次)") in text
    assert builders.plain(f"行动清单(按学校:{len(others)} 项行动,{len(schools)} 所学校") in text
    assert builders.plain(f"({len(paid)} 项有费用的行动") in visible(page[page.index('id="plan-message"'):])
    assert len(re.findall(r'<tr class="action"', page)) == len(others)
    # the saved scenario counts the same actions the same way
    assert county.post(f"{PLAN}/save", plan_options(name="计数方案")).status_code == 303
    applied = visible(county.get(f"/counties/{COUNTY}/scenarios/计数方案").text)
    assert builders.plain(f"{len(actions)} 项行动(交流轮岗 {len(rotations)} 项、其他 {len(others)} 项)") in applied
    assert builders.plain(f"{len(actions)} 项行动(交流轮岗 {len(rotations)} 项") in world.scenario_audit()[0].new


SOLVER_WORDS = ("HiGHS", "Clarabel", "外逼近", "连续松弛", "下界", "求解", "整数规划", "锥")


def test_solver_words_stay_behind_the_method_disclosure(world):
    county = world.login("county")
    for params in (plan_options(run="1"), plan_options(mode="build", budget="1万", run="1")):
        page = county.get(PLAN, params=params).text
        method = re.search(r'<details class="history-table" id="method">.*?</details>', page, flags=re.S)
        outside = visible(page.replace(method.group(0), "") if method else page)
        assert not [w for w in SOLVER_WORDS if w in outside], [w for w in SOLVER_WORDS if w in outside]
        if "infeasible" not in page:
            assert "费用下限" in outside and "HiGHS" in method.group(0) and "Clarabel" in method.group(0)
            assert "<summary><h2>计算方法</h2></summary>" in method.group(0)
        else:
            assert builders.plain("费用下限:任何达标方案都不低于此数") in outside  # the budget's reason, plainly


def test_scenario_items_keep_their_whole_names(world):
    county = world.login("county")
    assert county.post(f"{PLAN}/save", plan_options(name="名称方案")).status_code == 303
    data = county.get(f"/counties/{COUNTY}/scenarios/名称方案", params={"format": "json"}).json()
    names = {item_id: item["name"] for area in data["before"]["areas"].values() if isinstance(area, dict)
             for item_id, item in (area.get("indicators") or {}).items()}
    long = {k: n for k, n in names.items() if len(n) > 24}
    assert long  # the standard has names longer than the old cut
    page = visible(county.get(f"/counties/{COUNTY}/scenarios/名称方案").text)
    for row in data["comparison"]:
        if row["key"] in long:
            assert row["label"] == f"{row['key']} {long[row['key']]}"
            assert builders.plain(row["label"]) in page
