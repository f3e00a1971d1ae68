"""
The review screen in headless Chromium, under the admin's Content-Security-Policy: an editor
uploads a report, sees the spans highlighted in their speaker's colour, accepts one and edits
another with the forms alone (no script needed), and the page reports no CSP violation.

Run with ``pytest -m browser``; skipped when /usr/bin/chromium or Playwright is missing.
"""

import pytest
from django.contrib.auth.models import Permission

from curation.models import State
from proceedings.models import Position, Status
from tests.browser import ARTIFACTS
from tests.production.test_browser import new_page  # noqa: F401 - the fixture

from .conftest import SIMPLE_REPORT

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_editor_reviews_a_report_in_the_browser(new_page, live_server, django_user_model):  # noqa: F811
    editor = django_user_model.objects.create_user(
        "curator", "c@example.org", "a-long-passphrase", is_staff=True
    )
    editor.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["add_forum", "add_position", "add_speaker", "view_forum"]
        )
    )
    page = new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "curator")
    page.fill("#id_password", "a-long-passphrase")
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/curation/report/new/")
    page.fill("#id_forum_name", "2026数字治理论坛")
    page.fill("#id_forum_year", "2026")
    page.fill("#id_title", "数字治理论坛综述")
    page.fill("#id_text", SIMPLE_REPORT)
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/review/")
    page.screenshot(path=ARTIFACTS / "admin-curation-review-1280.png", full_page=True)

    marks = page.locator("#p3 a.cur-mark")
    assert marks.all_inner_texts() == ["公共数据应当分级开放", "开放要有安全底线"]
    first_colour = marks.first.evaluate("el => getComputedStyle(el).backgroundColor")
    quote = page.locator("#p4 a.cur-mark")
    assert quote.inner_text() == "数据不流动，价值就无从谈起"
    assert quote.evaluate("el => getComputedStyle(el).backgroundColor") != first_colour

    card = page.locator("article.cur-proposal", has_text="公共数据应当分级开放")
    card.locator("button[value=accept]").click()
    page.wait_for_load_state()
    position = Position.objects.get()
    assert (position.text, position.status) == ("公共数据应当分级开放", Status.DRAFT)
    assert "cur-accepted" in (
        page.locator("article.cur-proposal", has_text="公共数据应当分级开放").get_attribute("class")
    )

    card = page.locator("article.cur-proposal", has_text="开放要有安全底线")
    card.locator("summary").click()
    card.locator("textarea").fill("安全底线")
    card.locator("select[name$=fidelity]").select_option("summary")
    card.locator("button[value=edit]").click()
    page.wait_for_load_state()
    assert page.locator("#p3 a.cur-mark").all_inner_texts() == ["公共数据应当分级开放", "安全底线"]
    from curation.models import Proposal

    edited = Proposal.objects.get(text="安全底线")
    assert (edited.fidelity, edited.state) == ("summary", State.PENDING)

    # Dragging over words of the paragraph moves the open proposal's span to them.
    card = page.locator("article.cur-proposal", has_text="安全底线")
    card.locator("summary").click()
    # The details' toggle event is queued as a task: wait until the script has seen the form
    # open (its hint is shown) before selecting, as a reader's hand always does.
    status = page.locator("#cur-selection-status")
    expect(status).to_have_text("選取 ¶3 的文字，即設為正在編輯之建議的範圍。")
    page.evaluate(SELECT_CHARACTERS, ["#p3 .cur-para__text", "开放要有安全底线"])
    expect(status).to_have_text("範圍已設為「开放要有安全底线」：儲存變更後生效。")
    assert card.locator("textarea").input_value() == "开放要有安全底线"
    card.locator("button[value=edit]").click()
    page.wait_for_load_state()
    edited.refresh_from_db()
    paragraph = edited.report.paragraphs[2]
    assert edited.text == "开放要有安全底线"
    assert paragraph[edited.start : edited.end] == "开放要有安全底线"
    assert page.locator("#p3 a.cur-mark").all_inner_texts() == [
        "公共数据应当分级开放",
        "开放要有安全底线",
    ]
    assert page.console.problems == []


# Select the first occurrence of a string inside an element, across the text nodes of its
# marks, as a mouse drag would, and release the mouse there.
SELECT_CHARACTERS = """([selector, wanted]) => {
  const root = document.querySelector(selector);
  const begin = root.textContent.indexOf(wanted);
  const stop = begin + wanted.length;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let seen = 0;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const length = node.textContent.length;
    if (seen <= begin && begin < seen + length) range.setStart(node, begin - seen);
    if (seen < stop && stop <= seen + length) range.setEnd(node, stop - seen);
    seen += length;
  }
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  root.dispatchEvent(new MouseEvent("mouseup", {bubbles: true}));
}"""
