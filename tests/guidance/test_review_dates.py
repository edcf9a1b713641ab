"""Review dates that mean something: every page says when it must be checked again, dated facts
are marked so the check can find them, `mutuals knowledge check` lists what is due (the editors'
monthly worklist), and the guidance web page tells the reader when it was checked and when it is
overdue."""

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.cli import main as mutuals
from bot.guidance import PageError, parse_page
from bot.guidance._check import check_pages, worklist
from bot.settings import Settings
from bot.web.app import create_app

PAGE = """---
title: {title}
slug: {slug}
summary: What it answers.
category: staff
sources:
  - title: Employment Rights Act 2025
    url: https://www.legislation.gov.uk/ukpga/2025/36
last_reviewed: {reviewed}
review_by: {review_by}
---

{body}
"""

DISMISSAL = """## How long before I can claim unfair dismissal?

Until 31 December 2026 most claims need two years' service {until: 2026-12-31}. From 1 January 2027 the
qualifying period is six months {from: 2027-01-01}.

## Is the new code in force?

As at 1 December 2026 no regulations had been made {as at: 2026-12-01}.
"""


def write(
    directory: Path,
    slug: str,
    body: str = "## What is it?\n\nIt is a thing.\n",
    reviewed="2026-12-01",
    review_by="2027-03-01",
    title=None,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{slug}.md"
    path.write_text(
        PAGE.format(
            slug=slug,
            title=title or slug.replace("-", " ").capitalize(),
            body=body,
            reviewed=reviewed,
            review_by=review_by,
        )
    )
    return path


def test_markers_are_taken_out_of_the_text_but_their_dates_are_kept(tmp_path):
    page = parse_page(write(tmp_path, "dismissal", DISMISSAL))
    assert "{" not in page.body and "}" not in page.body
    first, second = page.passages
    assert first.text == (
        "Until 31 December 2026 most claims need two years' service. From 1 January 2027 the\n"
        "qualifying period is six months."
    )
    assert "{" not in first.search_text and "{" not in second.search_text
    assert [(d.kind, d.date, d.anchor) for d in first.dated] == [
        ("until", dt.date(2026, 12, 31), "how-long-before-i-can-claim-unfair-dismissal"),
        ("from", dt.date(2027, 1, 1), "how-long-before-i-can-claim-unfair-dismissal"),
    ]
    assert first.dated[0].sentence == "Until 31 December 2026 most claims need two years' service"
    assert first.dated[1].sentence == "From 1 January 2027 the qualifying period is six months"
    assert [(d.kind, d.due) for d in second.dated] == [("as at", None)]
    assert page.review_by == dt.date(2027, 3, 1)


@pytest.mark.parametrize("marker", ["{from: 1 January 2027}", "{form: 2027-01-01}", "{until: 2027-02-30}"])
def test_a_marker_that_is_not_one_of_the_three_is_an_error_not_text(tmp_path, marker):
    path = write(tmp_path, "bad", f"## When?\n\nIt changes {marker}.\n")
    with pytest.raises(PageError, match=r"bad\.md: line 15: .*not a dated-fact marker"):
        parse_page(path)


def test_markers_belong_after_the_words_they_date_and_never_in_a_heading(tmp_path):
    with pytest.raises(PageError, match="not a heading"):
        parse_page(write(tmp_path, "a", "## When {from: 2027-01-01}?\n\nText.\n"))
    with pytest.raises(PageError, match="must follow the words"):
        parse_page(write(tmp_path, "b", "## When?\n\n{from: 2027-01-01} Text.\n"))


def test_review_by_is_required_after_last_reviewed_and_within_a_year(tmp_path):
    write(tmp_path, "backwards", review_by="2026-11-01")
    write(tmp_path, "too-far", review_by="2028-01-01")
    text = PAGE.format(slug="none", title="None", body="## Q?\n\nA.\n", reviewed="2026-12-01", review_by="x")
    (tmp_path / "none.md").write_text(text.replace("review_by: x\n", ""))
    problems = check_pages(tmp_path)
    assert any("backwards.md" in p and "must come after last_reviewed" in p for p in problems), problems
    assert any("too-far.md" in p and "more than a year" in p for p in problems), problems
    assert any("none.md" in p and "review_by" in p for p in problems), problems


def test_the_worklist_lists_what_is_due_soonest_first(tmp_path):
    pages = [
        parse_page(write(tmp_path, "dismissal", DISMISSAL, review_by="2027-01-15")),
        parse_page(write(tmp_path, "history", review_by="2027-11-01")),
    ]
    assert worklist(pages, dt.date(2026, 12, 31)) == []
    items = worklist(pages, dt.date(2027, 1, 20))
    assert [(i.due.isoformat(), i.where) for i in items] == [
        ("2027-01-01", "dismissal#how-long-before-i-can-claim-unfair-dismissal"),  # the rule that ended
        ("2027-01-01", "dismissal#how-long-before-i-can-claim-unfair-dismissal"),  # the change that happened
        ("2027-01-15", "dismissal"),
    ]
    assert "1 fact(s) marked 'as at'" in items[2].why
    assert [i.where for i in worklist(pages, dt.date(2027, 1, 20), ahead=300)][-1] == "history"


def run_check(monkeypatch, capsys, knowledge: Path, *args):
    monkeypatch.setenv("MUTUALS_KNOWLEDGE_DIR", str(knowledge))
    code = mutuals(["knowledge", "check", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_check_warns_about_due_items_and_fails_on_them_only_when_strict(tmp_path, monkeypatch, capsys):
    write(tmp_path / "pages", "dismissal", DISMISSAL, review_by="2027-01-15")
    write(tmp_path / "pages", "history", review_by="2027-11-01")

    code, out, _ = run_check(monkeypatch, capsys, tmp_path, "--today", "2026-12-01")
    assert code == 0 and "ok: 2 pages" in out and "0 item(s) due on 2026-12-01" in out
    assert not [line for line in out.splitlines() if line.startswith(("due ", "soon"))]

    code, out, _ = run_check(monkeypatch, capsys, tmp_path, "--today", "2027-02-01")
    lines = [line for line in out.splitlines() if line.startswith("due ")]
    assert code == 0 and len(lines) == 3 and "3 item(s) due on 2027-02-01" in out
    assert lines == sorted(lines)  # soonest first
    change = next(line for line in lines if "{from: 2027-01-01}" in line)
    assert change.startswith("due 2027-01-01  dismissal#how-long-before-i-can-claim-unfair-dismissal  reword")
    assert "“From 1 January 2027 the qualifying period is six months” took effect on 2027-01-01" in change
    assert lines[-1].startswith("due 2027-01-15  dismissal  check the page against its sources: review_by 2027-01-15")

    code, out, err = run_check(monkeypatch, capsys, tmp_path, "--today", "2027-02-01", "--strict")
    assert code == 1 and "--strict: 3 item(s) due" in err
    code, out, _ = run_check(monkeypatch, capsys, tmp_path, "--today", "2026-12-01", "--strict")
    assert code == 0

    code, out, _ = run_check(monkeypatch, capsys, tmp_path, "--today", "2026-12-01", "--ahead", "31")
    assert code == 0 and [line[:15] for line in out.splitlines() if line.startswith("soon")] == ["soon 2027-01-01"] * 2


def test_errors_still_fail_without_strict_and_come_before_the_worklist(tmp_path, monkeypatch, capsys):
    write(tmp_path / "pages", "dismissal", DISMISSAL, review_by="2027-01-15")
    write(tmp_path / "pages", "broken", "## Q?\n\nSee [x](/guidance/nowhere).\n")
    code, out, _ = run_check(monkeypatch, capsys, tmp_path, "--today", "2027-02-01")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("error: broken.md: link to /guidance/nowhere")
    assert any(line.startswith("due 2027-01-15  dismissal") for line in lines[1:])


def test_a_bad_today_is_refused(tmp_path, monkeypatch, capsys):
    write(tmp_path / "pages", "ok")
    monkeypatch.setenv("MUTUALS_KNOWLEDGE_DIR", str(tmp_path))
    with pytest.raises(SystemExit):
        mutuals(["knowledge", "check", "--today", "1 January 2027"])
    assert "not a date like" in capsys.readouterr().err


def get_page(knowledge: Path, tmp_path: Path, slug: str) -> str:
    settings = Settings.from_env(env={"MUTUALS_KNOWLEDGE_DIR": str(knowledge)}, var_dir=tmp_path / "var")

    async def run():
        async with TestClient(TestServer(create_app(settings))) as client:
            response = await client.get(f"/guidance/{slug}")
            assert response.status == 200
            return await response.text()

    return asyncio.run(run())


def test_the_web_page_says_when_it_was_checked_next_to_its_title(tmp_path):
    today = dt.date.today()
    write(
        tmp_path / "pages",
        "dismissal",
        DISMISSAL,
        reviewed=today.isoformat(),
        review_by=(today + dt.timedelta(days=90)).isoformat(),
        title="Unfair dismissal",
    )
    html = get_page(tmp_path, tmp_path, "dismissal")
    checked = html.index(f"Checked on <time datetime=\"{today.isoformat()}\">{today.day} {today:%B %Y}</time>")
    assert html.index("<h1>Unfair dismissal</h1>") < checked < html.index("<h2")
    assert "next check due by" in html and "due for review" not in html
    assert "{" not in html.split("<article", 1)[1]  # no marker shows raw
    assert "two years' service." in html


def test_an_overdue_page_tells_the_reader_it_may_be_out_of_date(tmp_path):
    write(tmp_path / "pages", "old", reviewed="2025-01-10", review_by="2025-06-01", title="An old page")
    html = get_page(tmp_path, tmp_path, "old")
    assert "Checked on <time datetime=\"2025-01-10\">10 January 2025</time>" in html
    note = html[html.index('class="overdue"') :]
    assert "This page is due for review" in note and "1 June 2025" in note and "may be out of date" in note
    assert html.index('class="overdue"') < html.index("<h2")  # before the reader starts on the answer


def test_the_real_pages_markers_never_reach_an_answer(desk):
    from bot.guidance import load_pages
    from bot.settings import ROOT

    pages = load_pages(ROOT / "knowledge" / "pages")
    marked = [p for p in pages if p.dated]
    assert marked, "the corpus marks its dated facts"
    assert not [x.id for p in pages for x in p.passages if "{" in x.text or "{" in x.search_text]
    marked_sections = {x.id for p in marked for x in p.passages if x.dated}
    answered_from = set()
    for question in [
        "after a tupe transfer how long do i need to work there before i can claim unfair dismissal",
        "has the community right to buy started yet",
        "does the eot capital gains relief still apply in full",
    ]:
        answer = desk.answer(question)
        assert answer.answered and "{" not in answer.text, (question, answer.text)
        answered_from.add(answer.sources[0].url.split("/guidance/", 1)[1])
    assert answered_from & marked_sections  # at least one answer came from a section with a marker
