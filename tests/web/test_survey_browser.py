"""A respondent fills the survey on a phone-sized screen (360×640, Debian's Chromium): enters the
code, answers, reloads mid-way and finds the answers kept (saved by survey.js as they were
chosen), answers the rest, submits and sees the thanks page; the page fits the screen, its
touch targets are large and it runs without a CSP violation."""

from __future__ import annotations

import builders
from browser import ARTIFACTS, serve
from sqlalchemy import select
from test_survey_public import survey_store

from junheng.store.models import SurveyResponse
from junheng.web.survey_app import create_survey_app

PHONE = {"width": 360, "height": 640}


def test_a_phone_fills_the_survey_with_a_reload_in_between(browser, tmp_path):
    store = survey_store(tmp_path)
    code = store.codes["parents"][0]
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    context.set_default_timeout(60_000)
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        with serve(create_survey_app(store.settings, store.database)) as base:
            page.goto(f"{base}/s/{store.key}")
            page.fill("#code", code[:4].lower() + "-" + code[4:].lower())  # as a person types it
            page.tap("#start")
            page.wait_for_selector("#survey-form")
            fieldsets = page.locator("fieldset.item")
            total = fieldsets.count()
            assert total >= 8
            # phone first: nothing wider than the screen, answers easy to hit
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            option = page.locator("label.option").first.bounding_box()
            assert option["height"] >= 44 and option["width"] >= 300
            for index in range(3):
                fieldsets.nth(index).locator("label.option").nth(index).tap()
                page.wait_for_selector(f"#answered:text-is('{index + 1}')")
            page.wait_for_selector("#save-status:has-text('已自动保存')")

            page.reload()  # the cookie brings the same partial response back
            page.wait_for_selector("#survey-form")
            for index in range(3):
                assert fieldsets.nth(index).locator("input[type=radio]").nth(index).is_checked(), index
            assert builders.plain(page.inner_text("#survey-progress")).replace(" ", "").startswith("已作答3/")

            for index in range(3, total):
                fieldsets.nth(index).locator("label.option").first.tap()
            page.wait_for_selector(f"#answered:text-is('{total}')")
            page.tap("#submit")
            page.wait_for_selector("#survey-thanks")
            assert "提交成功" in builders.plain(page.inner_text("h1"))
            page.goto(f"{base}/s/{store.key}")  # submitted: the link asks for a code again
            page.wait_for_selector("#code-form")
        assert not problems, problems
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "survey-phone.png"), full_page=True)
        (ARTIFACTS / "survey-phone.html").write_text(page.content(), "utf-8")
        raise
    finally:
        context.close()
    with store.database.session() as s:
        response = s.scalar(select(SurveyResponse))
        assert response.submitted_at is not None and response.seconds is not None
        assert len([k for k in response.answers if k != "identity"]) == total
    store.database.engine.dispose()
