"""The adviser console in a real headless Chromium against the running assistant: sign-in, the
queue filling up live, working a case a person opened through the REST channel (claim, reply,
the person's new messages, flagged in the queue until the case is opened, notes, close), text never becoming markup, and the supervisor's export.

``MUTUALS_CONSOLE_SCREENSHOT=1`` makes the case test refresh docs/console.png."""

from __future__ import annotations

import json
import os
import re
import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.support.assistant_stack import say_rest
from tests.support.console_pages import (
    PASSWORD,
    ROOT,
    http_get,
    low_contrast,
    messages,
    open_case_as_a_person,
    page_errors,
    session_cookie,
    sign_in,
    tracker_events,
)
from tests.support.widget_page import no_alert, wait_for

pytestmark = pytest.mark.slow

SCREENSHOT = ROOT / "docs" / "console.png"
XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"
QUESTION = "Can our staff keep their local government pension if we spin out as a mutual?"


@pytest.fixture(scope="module")
def console(stack_console):
    """Here: the running stack's console, with advisers of this module's own (tests/console/conftest.py)."""
    return stack_console


# ---- tests ---------------------------------------------------------------------------------------


def test_anonymous_visitors_are_refused(console):
    web = console.settings.web_url
    for path in ("/console", "/console/", "/console/cases/1", "/console/export.csv"):
        status, headers, _ = http_get(web + path)
        assert status == 303 and headers["Location"] == "/console/login", (path, status)
    for path in ("/console/api/cases", "/console/api/cases/1", "/console/api/me"):
        status, _, body = http_get(web + path)
        assert status == 401 and "error" in json.loads(body), (path, status, body)
    status, _, _ = http_get(web + "/console/login")
    assert status == 200


def test_a_wrong_password_shows_an_error(console, browser_factory):
    driver = browser_factory(1024, 768)
    sign_in(driver, console.settings.web_url, console.adviser.email, "not the password at all")
    error = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".error[role=alert]"), message="the sign-in error")
    assert "don't match" in error[0].text
    assert driver.current_url.endswith("/console/login")
    assert driver.find_element(By.ID, "password").get_attribute("value") == ""
    # and the right one still works afterwards
    sign_in(driver, console.settings.web_url, console.adviser.email, PASSWORD)
    wait_for(lambda: driver.current_url.rstrip("/").endswith("/console"), message="the queue after signing in")
    assert page_errors(driver) == []


def test_an_adviser_works_a_case_from_the_queue(console, browser_factory):
    settings, store = console.settings, console.store
    driver = browser_factory(1280, 1000)
    sign_in(driver, settings.web_url, console.adviser.email, PASSWORD)
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#cases-waiting h2"), message="the queue")
    assert "Ada Lovelace" in driver.find_element(By.CSS_SELECTOR, ".console-who").text
    assert not driver.find_elements(By.CSS_SELECTOR, "a[href='/console/export.csv']"), "only supervisors export"
    driver.execute_script("window.stillTheSamePage = true;")

    # a person asks for a human after the queue is open: the case appears without a reload
    sender = f"console-{uuid.uuid4().hex[:10]}"
    case = open_case_as_a_person(
        console.stack, store, sender, QUESTION, "Priya Patel", first="How do I register a co-operative?"
    )
    row_css = f"#cases-waiting tr[data-id='{case.id}']"
    row = wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, row_css), timeout=15, message="the new case in the waiting list"
    )[0]
    assert QUESTION in row.text and "Priya Patel" in row.text and "REST API" in row.text
    assert "New message" not in row.text  # a new case is not a new message in it
    assert driver.execute_script("return window.stillTheSamePage === true;"), "the queue page was reloaded"
    assert re.match(r"\(\d+\) Queue", driver.title), driver.title  # the waiting count in the tab's title

    # open it: the transcript and the person's details
    row.find_element(By.LINK_TEXT, f"Case {case.id}").click()
    wait_for(lambda: QUESTION in messages(driver, "user"), message="the person's question in the transcript")
    details = driver.find_element(By.ID, "details").text
    assert "Priya Patel" in details and QUESTION in details and "REST API" in details
    assert any("talk to a human" in m for m in messages(driver, "user"))
    answer = driver.find_elements(By.CSS_SELECTOR, "#transcript li.msg-bot")[0]
    assert "Answered from:" in answer.text and "retrieval score" in answer.text
    links = [a.get_attribute("href") for a in answer.find_elements(By.CSS_SELECTOR, "a")]
    assert links and all(href.startswith(f"{settings.web_url}/guidance/") for href in links), links
    assert "Waiting" in driver.find_element(By.ID, "case-status").text
    driver.execute_script("window.stillTheSamePage = true;")

    # claim
    driver.find_element(By.ID, "claim").click()
    wait_for(lambda: "With you" in driver.find_element(By.ID, "case-status").text, message="the case claimed")
    assert store.case(case.id).status == "assigned" and store.case(case.id).adviser_id == console.adviser.id
    assert not driver.find_element(By.ID, "claim").is_displayed()

    # reply with Ctrl+Enter: shown as the adviser's, and in the person's conversation
    reply = "Hello Priya, I'm Ada. Yes: staff who transfer usually keep access to the LGPS."
    box = driver.find_element(By.ID, "reply-text")
    box.send_keys(reply)
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    adviser_msg = wait_for(
        lambda: [e for e in driver.find_elements(By.CSS_SELECTOR, "#transcript li.msg-adviser") if reply in e.text],
        message="the reply in the transcript",
    )[0]
    assert "Ada Lovelace (adviser)" in adviser_msg.text
    assert box.get_attribute("value") == ""
    pushed = [e for e in tracker_events(settings, sender) if e.get("event") == "bot" and e.get("text") == reply]
    assert pushed and pushed[0]["data"]["custom"]["sender"] == {"kind": "adviser", "name": "Ada Lovelace"}

    # the person writes again: it appears without a reload
    follow_up = "Thanks! And what about staff who join after the transfer?"
    say_rest(console.stack, sender, follow_up)
    wait_for(lambda: follow_up in messages(driver, "user"), timeout=15, message="the person's new message")

    # back on the queue, the person writes again: the claimed case is flagged, in words, without a reload
    driver.find_element(By.LINK_TEXT, "← All cases").click()
    mine_css = f"#cases-mine tr[data-id='{case.id}']"
    mine = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, mine_css), message="the case with me")[0]
    assert "New message" not in mine.text  # she had read everything on the case page
    driver.execute_script("window.stillTheSamePage = true;")
    second_follow_up = "Sorry, one more thing: does that apply to part-time staff?"
    say_rest(console.stack, sender, second_follow_up)
    badge = wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, f"{mine_css} .badge"),
        timeout=15,
        message="the new message flagged in the queue",
    )[0]
    assert badge.text == "New message" and badge.is_displayed()
    assert re.search(r"last at \d\d:\d\d", driver.find_element(By.CSS_SELECTOR, mine_css).text)
    assert f"New message from Priya Patel in case {case.id}" in driver.find_element(By.ID, "announce").get_attribute(
        "textContent"
    )  # read out by screen readers
    assert driver.execute_script("return window.stillTheSamePage === true;"), "the queue page was reloaded"
    assert low_contrast(driver) == []
    third = "And casual staff?"
    say_rest(console.stack, sender, third)
    wait_for(
        lambda: "2 new messages" in driver.find_element(By.CSS_SELECTOR, mine_css).text,
        timeout=15,
        message="two new messages",
    )

    # opening the case shows them and clears the flag
    driver.find_element(By.CSS_SELECTOR, f"{mine_css} a").click()
    wait_for(lambda: third in messages(driver, "user"), message="the new messages on the case page")
    assert second_follow_up in messages(driver, "user")
    driver.find_element(By.LINK_TEXT, "← All cases").click()
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, mine_css), message="the case with me again")
    assert not driver.find_elements(By.CSS_SELECTOR, f"{mine_css} .badge")
    assert "New message" not in driver.find_element(By.CSS_SELECTOR, mine_css).text
    driver.find_element(By.CSS_SELECTOR, f"{mine_css} a").click()
    wait_for(lambda: third in messages(driver, "user"), message="the case page again")
    driver.execute_script("window.stillTheSamePage = true;")

    # an internal note
    driver.find_element(By.ID, "note-text").send_keys("Pointed her to the pensions page.")
    driver.find_element(By.CSS_SELECTOR, "#note-form button").click()
    wait_for(
        lambda: "Pointed her to the pensions page." in driver.find_element(By.ID, "notes").text, message="the note"
    )
    assert "Ada Lovelace" in driver.find_element(By.ID, "notes").text

    assert low_contrast(driver) == []

    if os.environ.get("MUTUALS_CONSOLE_SCREENSHOT"):
        driver.execute_script("window.scrollTo(0, 0); document.getElementById('transcript').scrollTop = 1e6;")
        driver.save_screenshot(str(SCREENSHOT))

    # markup from the person stays text
    say_rest(console.stack, sender, XSS)
    wait_for(lambda: XSS in messages(driver, "user"), timeout=15, message="the markup shown as text")
    assert driver.find_elements(By.CSS_SELECTOR, "#transcript img, #transcript script, main img") == []
    assert driver.execute_script("return document.querySelectorAll('img[src=x], script:not([src])').length") == 0
    assert no_alert(driver)

    # an API error is shown next to its control: an empty reply
    driver.find_element(By.ID, "reply-send").click()
    assert "Write a reply first" in driver.find_element(By.ID, "reply-error").text

    # tags ticked from the supervisors' list, then close with an outcome: back to the assistant
    for tag in ("pensions", "tupe"):
        if tag not in [t["name"] for t in store.tag_list()]:
            store.add_tag(console.supervisor, tag)
        wait_for(
            lambda: driver.find_elements(By.CSS_SELECTOR, f"#case-tags input[value='{tag}']"),
            message=f"the tag {tag} offered",
        )[0].click()
        wait_for(lambda: tag in store.case(case.id).tags.split(","), message=f"the tag {tag} saved")
    Select(driver.find_element(By.ID, "close-outcome")).select_by_value("answered")
    # her last message has no reply: the console asks first, and "Keep it open" keeps it open
    driver.find_element(By.ID, "close-case").click()
    confirm = wait_for(
        lambda: (lambda e: e.is_displayed() and e)(driver.find_element(By.ID, "close-confirm")),
        message="the question before closing",
    )
    assert confirm.text.startswith(
        f"Priya Patel's last message has no reply yet: \u201c{XSS}\u201d. Close the case anyway?"
    ), confirm.text
    assert driver.switch_to.active_element == confirm  # focus moved to the question: it is read out
    driver.find_element(By.ID, "close-cancel").click()
    assert not confirm.is_displayed() and store.case(case.id).status == "assigned"
    assert driver.switch_to.active_element.get_attribute("id") == "reply-text"
    driver.find_element(By.ID, "close-case").click()
    wait_for(lambda: confirm.is_displayed(), message="the question again")
    driver.find_element(By.ID, "close-anyway").click()
    status = wait_for(
        lambda: (lambda t: "Closed" in t and t)(driver.find_element(By.ID, "case-status").text),
        message="the case closed",
    )
    assert "went back to the assistant" in status
    wait_for(lambda: "Back with the assistant." in messages(driver, "system"), message="the resume event")
    assert not driver.find_element(By.ID, "reply-form").is_displayed()
    assert not driver.find_element(By.ID, "close-form").is_displayed()
    closed = store.case(case.id)
    assert closed.status == "closed" and closed.outcome == "answered" and closed.tags == "pensions,tupe"
    events = tracker_events(settings, sender)
    assert any(e.get("event") == "resume" for e in events)
    assert driver.execute_script("return window.stillTheSamePage === true;"), "the case page was reloaded"
    assert no_alert(driver)
    assert page_errors(driver) == []

    assert low_contrast(driver) == []

    # back on the queue it is closed
    driver.find_element(By.LINK_TEXT, "← All cases").click()
    closed_row = wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, f"#cases-closed tr[data-id='{case.id}']"),
        message="the case among the closed",
    )[0]
    assert "Answered" in closed_row.text and "Ada Lovelace" in closed_row.text
    assert not driver.find_elements(By.CSS_SELECTOR, row_css)
    assert low_contrast(driver) == []

    # sign out: the console is closed to this browser again
    driver.find_element(By.ID, "sign-out").click()
    wait_for(lambda: driver.current_url.endswith("/console/login"), message="the sign-in page after signing out")
    driver.get(f"{settings.web_url}/console/cases/{case.id}")
    assert driver.current_url.endswith("/console/login")


def test_a_supervisor_reassigns_and_exports(console, browser_factory):
    settings, store = console.settings, console.store
    sender = f"console-{uuid.uuid4().hex[:10]}"
    case = open_case_as_a_person(console.stack, store, sender, "How do we register a community benefit society?", "Tom")
    driver = browser_factory(1280, 900)
    sign_in(driver, settings.web_url, console.supervisor.email, PASSWORD)
    link = wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, "a[href='/console/export.csv']"), message="the export link"
    )[0]
    assert "Export" in link.text

    # reassign a waiting case to the adviser: it moves to "with others"
    driver.get(f"{settings.web_url}/console/cases/{case.id}")
    select = wait_for(
        lambda: [e for e in driver.find_elements(By.ID, "assign-to") if e.is_displayed()],
        message="the reassign control",
    )[0]
    Select(select).select_by_visible_text("Ada Lovelace")
    driver.find_element(By.CSS_SELECTOR, "#assign-form button").click()
    wait_for(lambda: "With Ada Lovelace" in driver.find_element(By.ID, "case-status").text, message="the case with Ada")
    assert store.case(case.id).adviser_id == console.adviser.id
    wait_for(
        lambda: "reassigned" in driver.find_element(By.ID, "audit").get_attribute("textContent"),
        message="the reassignment in the history",
    )
    driver.get(f"{settings.web_url}/console")
    wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, f"#cases-others tr[data-id='{case.id}']"),
        message="the case with another adviser",
    )

    # a supervisor may close another adviser's case
    driver.get(f"{settings.web_url}/console/cases/{case.id}")
    wait_for(lambda: driver.find_element(By.ID, "close-form").is_displayed(), message="the close form")
    Select(driver.find_element(By.ID, "close-outcome")).select_by_value("referred")
    if "registration" not in [t["name"] for t in store.tag_list()]:  # tags come from the supervisors' list
        store.add_tag(console.supervisor, "registration")
    wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, "#case-tags input[value='registration']"),
        message="the tag offered",
    )[0].click()
    wait_for(lambda: store.case(case.id).tags == "registration", message="the tag saved")
    driver.find_element(By.ID, "close-case").click()
    # nobody has replied to Tom's question: asked first
    wait_for(lambda: driver.find_element(By.ID, "close-confirm").is_displayed(), message="the question before closing")
    assert (
        "Tom's last message has no reply yet: \u201cHow do we register a community benefit society?\u201d"
        in driver.find_element(By.ID, "close-confirm").text
    )
    driver.find_element(By.ID, "close-anyway").click()
    wait_for(lambda: "Closed" in driver.find_element(By.ID, "case-status").text, message="the case closed")

    # the export link downloads the closed cases, fetched with this browser's session
    href = driver.find_element(By.CSS_SELECTOR, "a.export").get_attribute("href")
    cookie = driver.get_cookie("mutuals_console")
    status, headers, body = http_get(href, f"mutuals_console={cookie['value']}")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert "attachment" in headers["Content-Disposition"]
    lines = body.splitlines()
    assert lines[0].startswith("case,channel,opened,closed,adviser,outcome,tags")
    assert any(
        line.startswith(f"{case.id},rest,") and ",Ada Lovelace,referred,registration," in line for line in lines
    ), body
    # nobody without a session may, nor an adviser who is not a supervisor
    status, headers, _ = http_get(href)
    assert status == 303 and headers["Location"] == "/console/login"
    status, _, body = http_get(href, session_cookie(settings.web_url, console.adviser.email, PASSWORD))
    assert status == 403 and "supervisor" in body
    assert page_errors(driver) == []

    # the session ends under the page: the next poll sends the adviser to sign in
    driver.delete_cookie("mutuals_console")
    wait_for(lambda: driver.current_url.endswith("/console/login"), timeout=10, message="the sign-in page")


def test_keyboard_only_and_on_a_phone(console, browser_factory):
    """Claim and reply without a mouse, on a 375-pixel screen with nothing overflowing sideways."""
    settings, store = console.settings, console.store
    sender = f"console-{uuid.uuid4().hex[:10]}"
    case = open_case_as_a_person(console.stack, store, sender, "Do we need to follow procurement rules?", "Lee")
    driver = browser_factory(500, 900)  # Chromium's windows are at least 500 wide: emulate a phone
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 375, "height": 667, "deviceScaleFactor": 1, "mobile": True}
    )
    sign_in(driver, settings.web_url, console.adviser.email, PASSWORD)
    link = wait_for(lambda: driver.find_elements(By.LINK_TEXT, f"Case {case.id}"), message="the case's link")[0]
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")

    def tab_to(element_id: str, limit: int = 80) -> None:
        for _ in range(limit):
            if driver.switch_to.active_element.get_attribute("id") == element_id:
                return
            driver.switch_to.active_element.send_keys(Keys.TAB)
        pytest.fail(f"Tab never reached #{element_id}")

    link.send_keys(Keys.ENTER)
    wait_for(lambda: driver.find_element(By.ID, "claim").is_displayed(), message="the claim button")
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    tab_to("claim")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(
        lambda: driver.switch_to.active_element.get_attribute("id") == "reply-text",
        message="the reply box focused after claiming",
    )
    driver.switch_to.active_element.send_keys("Hello Lee, I can help with that.", Keys.CONTROL, Keys.ENTER)
    wait_for(lambda: "Hello Lee, I can help with that." in messages(driver, "adviser"), message="the reply")
    assert store.case(case.id).adviser_id == console.adviser.id
    tab_to("close-outcome")
    tab_to("close-case")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(lambda: "Closed" in driver.find_element(By.ID, "case-status").text, message="the case closed")
    assert driver.switch_to.active_element.get_attribute("id") == "case-status"
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    assert page_errors(driver) == []


def test_an_api_error_is_shown_next_to_its_control(console, browser_factory):
    """Another adviser claims the case just before this one presses Claim: the API's reason is shown."""
    settings, store = console.settings, console.store
    sender = f"console-{uuid.uuid4().hex[:10]}"
    case = open_case_as_a_person(console.stack, store, sender, "Can a charity own shares in a mutual?", "Kim")
    driver = browser_factory(1024, 800)
    sign_in(driver, settings.web_url, console.adviser.email, PASSWORD)
    driver.get(f"{settings.web_url}/console/cases/{case.id}")
    wait_for(lambda: driver.find_element(By.ID, "claim").is_displayed(), message="the claim button")
    store.claim(case.id, console.supervisor)
    driver.execute_script("document.getElementById('claim').click();")  # before the next poll shows it
    error = wait_for(lambda: driver.find_element(By.ID, "claim-error").text, message="the claim's error")
    assert "no longer waiting" in error
    wait_for(lambda: "With Sam Okafor" in driver.find_element(By.ID, "case-status").text, message="the new status")
    assert not driver.find_element(By.ID, "reply-form").is_displayed()
    assert "Another adviser has this case" in driver.find_element(By.ID, "actions-note").text
    assert driver.find_element(By.ID, "claim-error").is_displayed()


def test_available_advisers_and_suggested_guidance_in_a_case(console, browser_factory):
    """The adviser says they are available (the person handed over is told so), the case shows the
    guidance that answers the question and refreshes when the person writes, "Use" puts an excerpt
    and its link in the reply box (sent only with Send reply) and the reply keeps its source, and a
    button the person pressed shows as its title. ``MUTUALS_CONSOLE_SCREENSHOT=1`` refreshes
    docs/console-suggestions.png."""
    settings, store = console.settings, console.store
    driver = browser_factory(1280, 1000)
    sign_in(driver, settings.web_url, console.adviser.email, PASSWORD)
    toggle = wait_for(lambda: driver.find_elements(By.ID, "availability"), message="the availability control")[0]
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#cases-waiting h2"), message="the console loaded")
    assert toggle.get_attribute("aria-pressed") == "false" and toggle.text.endswith("Available for new cases")
    assert "You're away" in driver.find_element(By.ID, "availability-note").text
    toggle.send_keys(Keys.ENTER)  # a keyboard press, as a mouse click would
    wait_for(lambda: toggle.get_attribute("aria-pressed") == "true", message="set available")
    assert "You're available" in driver.find_element(By.ID, "availability-note").text
    assert console.adviser.id in [a.id for a in store.available_advisers()]
    try:
        suggestions_in_a_case(console, driver)
    finally:  # away again, whatever happened: other tests expect nobody available
        store.set_available(console.adviser.id, False)


def suggestions_in_a_case(console, driver):
    settings, store = console.settings, console.store
    marker = uuid.uuid4().hex[:6]  # the store is the stack's: this test's own saved reply
    welcome = store.add_saved_reply(
        console.supervisor,
        f"Welcome {marker}",
        "Hello {name}, thank you for waiting. I'm looking at your question now.",
    )
    sender = f"console-{uuid.uuid4().hex[:10]}"
    replies = []
    for message in ["I want to talk to a human", QUESTION, "/deny", "skip"]:  # "/deny": the Skip button
        replies.append(say_rest(console.stack, sender, message))
    case = store.open_case_for(sender)
    handed_over = replies[-1][-1]["text"]
    assert "in the queue and " in handed_over and "available now: an adviser will join this chat" in handed_over
    assert "email" not in handed_over

    driver.get(f"{settings.web_url}/console/cases/{case.id}")
    items = wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, "#suggestions li"), timeout=30, message="suggested guidance"
    )
    first = items[0]
    title = first.find_element(By.TAG_NAME, "h3").text
    assert "LGPS" in title or "pension" in title.lower(), title  # the question is about the council pension
    assert re.search(r"score \d\.\d\d", first.text) and f"Best match for \u201c{QUESTION}\u201d" in first.text
    link = first.find_element(By.LINK_TEXT, "Open the section").get_attribute("href")
    assert link.startswith(f"{settings.web_url}/guidance/") and "#" in link
    assert "suggest" in driver.find_element(By.ID, "suggest-status").text
    assert "Skip" in messages(driver, "user") and "/deny" not in messages(driver, "user")
    topic = store.case(case.id).topic  # the guidance section that answers the question handed over
    assert topic != QUESTION and ("LGPS" in topic or "ension" in topic), topic
    assert f"Topic\n{topic}" in driver.find_element(By.ID, "details").text

    # a saved reply, found by typing "/" and letters, with the keyboard alone
    box = driver.find_element(By.ID, "reply-text")
    box.send_keys("/wel")
    finder = wait_for(
        lambda: (lambda e: e.is_displayed() and e)(driver.find_element(By.ID, "saved-finder")),
        message="the saved replies matching /wel",
    )
    wait_for(
        lambda: "1 saved reply matches" in driver.find_element(By.ID, "saved-finder-status").text,
        message="the finder settled on one match",
    )
    options = finder.find_elements(By.CSS_SELECTOR, "[role=option]")
    assert [o.find_element(By.CSS_SELECTOR, ".saved-title").text for o in options] == [f"Welcome {marker}"]
    assert box.get_attribute("aria-activedescendant") == options[0].get_attribute("id")
    assert "1 saved reply matches" in driver.find_element(By.ID, "saved-finder-status").text
    box.send_keys(Keys.ESCAPE)
    assert not finder.is_displayed() and box.get_attribute("value") == "/wel"
    box.send_keys("c")  # typing on opens it again
    wait_for(lambda: finder.is_displayed(), message="the finder again")
    box.send_keys(Keys.ENTER)
    wait_for(
        lambda: box.get_attribute("value") == "Hello, thank you for waiting. I'm looking at your question now.",
        message="the saved reply in the box (no name given: left out)",
    )
    assert store.saved_reply(welcome["id"])["uses"] == 1
    assert not [
        e for e in tracker_events(settings, sender) if e.get("event") == "bot" and "looking at" in (e.get("text") or "")
    ]

    # "Use" with the keyboard: the excerpt and the link in the reply box, after the saved reply; nothing sent yet
    use = first.find_element(By.CSS_SELECTOR, "button[data-use]")
    assert use.get_attribute("aria-label") == f"Use in reply: {title}"
    use.send_keys(Keys.ENTER)
    assert driver.switch_to.active_element == box
    drafted = box.get_attribute("value")
    assert drafted.startswith("Hello, thank you for waiting.") and drafted.endswith(f"Source: [{title}]({link})"), (
        drafted
    )
    if os.environ.get("MUTUALS_CONSOLE_SCREENSHOT"):
        driver.execute_script("window.scrollTo(0, 0);")
        driver.save_screenshot(str(ROOT / "docs" / "console-suggestions.png"))
    assert "Added" in driver.find_element(By.ID, "suggest-status").text
    assert [
        e for e in tracker_events(settings, sender) if e.get("event") == "bot" and link in (e.get("text") or "")
    ] == []
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    wait_for(
        lambda: (
            any(link in m for m in messages(driver, "adviser"))
            or any(title in e.text for e in driver.find_elements(By.CSS_SELECTOR, "#transcript li.msg-adviser"))
        ),
        message="the reply sent",
    )
    [recorded] = store.replies(case.id)
    slug, _, anchor = link.split("/guidance/", 1)[1].partition("#")
    assert [(s["slug"], s["anchor"]) for s in recorded["sources"]] == [(slug, anchor)]
    sent = driver.find_elements(By.CSS_SELECTOR, "#transcript li.msg-adviser")[-1]
    assert f"Guidance used: {title}" in sent.text  # recorded with the reply, shown with it
    assert link in [
        a.get_attribute("href") for a in sent.find_elements(By.CSS_SELECTOR, ".text a")
    ]  # as the person saw it

    # the person writes: the suggestions follow
    follow_up = "And would new staff who join after we spin out be able to join the pension scheme?"
    say_rest(console.stack, sender, follow_up)
    wait_for(
        lambda: (
            driver.find_elements(By.CSS_SELECTOR, "#suggestions [data-query]")
            and any(
                e.get_attribute("data-query") == follow_up
                for e in driver.find_elements(By.CSS_SELECTOR, "#suggestions [data-query]")
            )
        ),
        timeout=30,
        message="suggestions for the new message",
    )
    assert low_contrast(driver) == []
    assert page_errors(driver) == []
    driver.find_element(By.ID, "availability").click()  # away, from the case page's bar too
    wait_for(lambda: console.adviser.id not in [a.id for a in store.available_advisers()], message="away again")


def test_a_supervisor_keeps_the_saved_replies(console, browser_factory):
    """Add, edit and retire a saved reply on /console/saved-replies; its link must be our guidance."""
    settings, store = console.settings, console.store
    driver = browser_factory(1280, 900)
    sign_in(driver, settings.web_url, console.supervisor.email, PASSWORD)
    wait_for(lambda: driver.find_elements(By.LINK_TEXT, "Saved replies"), message="the saved replies link")[0].click()
    title = wait_for(lambda: driver.find_elements(By.ID, "saved-title"), message="the form")[0]
    marker = uuid.uuid4().hex[:6]
    title.send_keys(f"Pensions {marker}")
    driver.find_element(By.ID, "saved-text").send_keys("Hello {name}, staff who transfer usually stay in the LGPS.")
    driver.find_element(By.ID, "saved-link").send_keys(f"{settings.web_url}/guidance/no-such-page")
    driver.find_element(By.ID, "saved-save").click()
    wait_for(lambda: "not a page" in driver.find_element(By.ID, "saved-error").text, message="the bad link refused")
    link = driver.find_element(By.ID, "saved-link")
    link.clear()
    link.send_keys("lgps-admitted-body-status", Keys.ENTER)  # Enter submits the form
    row = wait_for(
        lambda: [r for r in driver.find_elements(By.CSS_SELECTOR, "#saved-rows tr") if marker in r.text],
        message="the new saved reply listed",
    )[0]
    assert "Keeping council staff in the LGPS" in row.text and "0 times" in row.text and "In use" in row.text
    assert f"Added \u201cPensions {marker}\u201d." == driver.find_element(By.ID, "saved-status").text
    [saved] = [r for r in store.saved_replies() if r["title"] == f"Pensions {marker}"]
    assert (saved["guidance_slug"], saved["guidance_anchor"]) == ("lgps-admitted-body-status", "")

    row.find_element(By.CSS_SELECTOR, "button[aria-label^='Edit']").click()
    assert driver.switch_to.active_element.get_attribute("id") == "saved-title"
    text = driver.find_element(By.ID, "saved-text")
    text.clear()
    text.send_keys("Hi {name}: usually, yes.")
    driver.find_element(By.ID, "saved-save").click()
    wait_for(lambda: store.saved_reply(saved["id"])["text"] == "Hi {name}: usually, yes.", message="the edit saved")
    row = wait_for(
        lambda: [
            r
            for r in driver.find_elements(By.CSS_SELECTOR, "#saved-rows tr")
            if marker in r.text and "usually, yes" in r.text
        ],
        message="the edit listed",
    )[0]
    row.find_element(By.CSS_SELECTOR, "button[aria-label^='Retire']").click()
    wait_for(lambda: not store.saved_reply(saved["id"])["active"], message="retired")
    wait_for(
        lambda: [
            r
            for r in driver.find_elements(By.CSS_SELECTOR, "#saved-rows tr")
            if marker in r.text and "Retired" in r.text
        ],
        message="shown as retired",
    )
    assert low_contrast(driver) == []
    assert page_errors(driver) == []
