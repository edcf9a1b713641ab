"""The adviser's desk in a real headless Chromium against the running assistant: notifications of a
new case and of a person's new message while the console's tab is in the background, with the
permission asked only when the adviser presses the button and a sound they can switch off; a case
handed to a colleague with a note (the colleague told, the person told, the note kept from them),
tags from the supervisors' list and the search of closed cases.

``MUTUALS_CONSOLE_SCREENSHOT=1`` makes the handover test refresh docs/console-case.png (a case with
its suggested guidance and a saved reply in the reply box)."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.support.axe_check import violations
from tests.support.widget_page import wait_for

from tests.support.assistant_stack import say_rest
from tests.support.console_pages import (
    PASSWORD,
    ROOT,
    low_contrast,
    open_case_as_a_person,
    page_errors,
    sign_in,
    tracker_events,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def console(stack_console):
    """Here: the running stack's console, with advisers of this module's own (tests/console/conftest.py)."""
    return stack_console


NOTIFY_WAIT = 12  # seconds: three of the console's looks at the cases (every 4 s)

# Before any page script: record each notification the page makes (and whether the page was hidden
# then), each request for permission, and each tone the page starts; the real ones still run.
RECORDER = """
(function () {
  window.__desk = {notifications: [], asked: 0, tones: 0};
  var Real = window.Notification;
  if (Real) {
    var Recorded = function (title, options) {
      window.__desk.notifications.push({title: String(title), body: String((options || {}).body || ""),
                                        hidden: document.hidden, focused: document.hasFocus()});
      return new Real(title, options);
    };
    Object.defineProperty(Recorded, "permission", {get: function () { return Real.permission; }});
    Recorded.requestPermission = function () {
      window.__desk.asked += 1;
      return Real.requestPermission.apply(Real, arguments);
    };
    Recorded.prototype = Real.prototype;
    window.Notification = Recorded;
  }
  var Audio = window.AudioContext;
  if (Audio) {
    var make = Audio.prototype.createOscillator;
    Audio.prototype.createOscillator = function () {
      var osc = make.apply(this, arguments), start = osc.start;
      osc.start = function () { window.__desk.tones += 1; return start.apply(osc, arguments); };
      return osc;
    };
  }
}());
"""


def desk(driver) -> dict:
    return driver.execute_script("return window.__desk")


def in_the_background(driver, seconds: float, meanwhile=None):
    """Another tab in front of the console (the console's tab hidden, its timers still running):
    do ``meanwhile``, wait ``seconds``, then bring the console's tab to the front again."""
    console_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    try:
        if meanwhile:
            meanwhile()
        time.sleep(seconds)
    finally:
        driver.close()
        driver.switch_to.window(console_tab)


def test_an_adviser_on_duty_is_told_in_the_background_and_can_switch_the_sound_off(console, browser_factory):
    settings, store = console.settings, console.store
    driver = browser_factory(1280, 900)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER})
    sign_in(driver, settings.web_url, console.adviser.email, PASSWORD)
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#cases-waiting h2"), message="the queue")

    # asked politely: a button, never a prompt on page load
    ask = driver.find_element(By.ID, "notify-permission")
    assert ask.is_displayed() and ask.text == "Turn on notifications"
    assert desk(driver)["asked"] == 0
    driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": settings.web_url, "permissions": ["notifications"]})
    ask.send_keys(Keys.ENTER)
    wait_for(
        lambda: "Notifications are on" in driver.find_element(By.ID, "notify-note").text, message="notifications on"
    )
    assert desk(driver)["asked"] == 1 and not ask.is_displayed()
    sound = driver.find_element(By.ID, "notify-sound")
    assert sound.get_attribute("aria-pressed") == "true"  # on unless switched off

    driver.find_element(By.ID, "availability").click()  # on duty
    wait_for(lambda: console.adviser.id in [a.id for a in store.available_advisers()], message="on duty")
    try:
        time.sleep(5)  # the console's first look at the cases, which is the baseline
        sender = f"desk-{uuid.uuid4().hex[:10]}"
        question = "Can our staff keep their local government pension if we spin out as a mutual?"
        cases = []
        in_the_background(
            driver,
            NOTIFY_WAIT,
            lambda: cases.append(open_case_as_a_person(console.stack, store, sender, question, "Priya")),
        )
        found = desk(driver)
        assert [(n["title"], n["body"], n["hidden"]) for n in found["notifications"]] == [
            ("New case waiting from Priya", question, True)
        ], found
        assert found["tones"] == 2  # two short tones
        assert page_errors(driver) == []

        # the sound switched off (and remembered): the next case notifies, silently
        sound.click()
        assert sound.get_attribute("aria-pressed") == "false"
        assert driver.execute_script("return localStorage.getItem('mutuals.console.sound')") == "off"
        driver.refresh()
        sound = wait_for(lambda: driver.find_elements(By.ID, "notify-sound"), message="the bar again")[0]
        wait_for(lambda: "Notifications are on" in driver.find_element(By.ID, "notify-note").text, message="loaded")
        assert sound.get_attribute("aria-pressed") == "false"
        time.sleep(5)
        store.claim(cases[0].id, console.adviser)  # Priya's case is Ada's now
        in_the_background(
            driver,
            NOTIFY_WAIT,
            lambda: store.open_case(
                f"desk-{uuid.uuid4().hex[:10]}", "socketio", "How do we register a co-operative?", person_name="Tom"
            ),
        )
        found = desk(driver)
        assert [n["title"] for n in found["notifications"]] == ["New case waiting from Tom"]
        assert found["tones"] == 0

        # Priya writes again in Ada's case: told of it too
        in_the_background(driver, NOTIFY_WAIT, lambda: say_rest(console.stack, sender, "Hello, are you still there?"))
        found = desk(driver)
        assert [n["title"] for n in found["notifications"]] == ["New case waiting from Tom", "New message from Priya"]
        assert found["notifications"][-1]["hidden"] is True and found["tones"] == 0

        # away: not on duty, so nothing more
        driver.find_element(By.ID, "availability").click()
        wait_for(lambda: console.adviser.id not in [a.id for a in store.available_advisers()], message="away")
        in_the_background(
            driver,
            NOTIFY_WAIT - 4,
            lambda: store.open_case(f"desk-{uuid.uuid4().hex[:10]}", "socketio", "What is a CIC?", person_name="Kim"),
        )
        assert len(desk(driver)["notifications"]) == 2
        assert page_errors(driver) == []
    finally:
        store.set_available(console.adviser.id, False)


def test_a_case_handed_to_a_colleague_tagged_and_found_again(console, browser_factory):
    settings, store = console.settings, console.store
    for tag in ("pensions", "tupe"):
        if tag not in [t["name"] for t in store.tag_list()]:
            store.add_tag(console.supervisor, tag)
    marker = uuid.uuid4().hex[:6]
    store.add_saved_reply(
        console.supervisor,
        f"Welcome {marker}",
        "Hello {name}, thank you for waiting. I'm looking at your question now.",
    )
    sender = f"desk-{uuid.uuid4().hex[:10]}"
    case = open_case_as_a_person(
        console.stack,
        store,
        sender,
        "Can our staff keep their local government pension if we spin out as a mutual?",
        "Priya",
    )

    ada = browser_factory(1280, 1500)
    sign_in(ada, settings.web_url, console.adviser.email, PASSWORD)
    ada.get(f"{settings.web_url}/console/cases/{case.id}")
    wait_for(lambda: ada.find_element(By.ID, "claim").is_displayed(), message="the claim button")
    ada.find_element(By.ID, "claim").click()
    box = wait_for(
        lambda: [e for e in ada.find_elements(By.ID, "reply-text") if e.is_displayed()], message="the reply box"
    )[0]
    wait_for(lambda: ada.find_elements(By.CSS_SELECTOR, "#suggestions li"), timeout=30, message="suggestions")

    # tags from the list, ticked on the case
    ada.find_element(By.CSS_SELECTOR, "#case-tags input[value='pensions']").click()
    wait_for(lambda: store.case(case.id).tags == "pensions", message="the tag saved")
    wait_for(lambda: "Tags saved: pensions." in ada.find_element(By.ID, "tags-status").text, message="said so")

    # a saved reply in the box, beside the suggestions: the screenshot
    box.send_keys("/wel")
    wait_for(lambda: f"Welcome {marker}" in ada.find_element(By.ID, "saved-finder").text, message="the finder")
    box.send_keys(Keys.ENTER)
    wait_for(
        lambda: box.get_attribute("value").startswith("Hello Priya, thank you for waiting."),
        message="the saved reply with Priya's name",
    )
    if os.environ.get("MUTUALS_CONSOLE_SCREENSHOT"):
        ada.execute_script("window.scrollTo(0, 0);")
        ada.save_screenshot(str(ROOT / "docs" / "console-case.png"))
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    wait_for(lambda: store.replies(case.id), message="the reply sent")

    # handed to Sam with a note the person never sees
    form = ada.find_element(By.ID, "transfer-form")
    assert form.is_displayed()
    choices = Select(ada.find_element(By.ID, "transfer-to")).options
    options = [o.text for o in choices]
    assert options[0] == "Back to the queue" and "Sam Okafor (away)" in options
    # never herself (by id: other tests on the same stack may add another "Ada Lovelace")
    assert str(console.adviser.id) not in [o.get_attribute("value") for o in choices]
    ada.find_element(By.ID, "transfer-send").click()
    wait_for(lambda: "note" in ada.find_element(By.ID, "transfer-error").text, message="a note asked for")
    Select(ada.find_element(By.ID, "transfer-to")).select_by_value(str(console.supervisor.id))  # this module's Sam
    note = f"Admitted body question {marker}; please check the pension fund's terms."
    ada.find_element(By.ID, "transfer-note").send_keys(note)
    ada.find_element(By.ID, "transfer-send").click()
    wait_for(lambda: store.case(case.id).adviser_id == console.supervisor.id, message="the case with Sam")
    wait_for(lambda: "With Sam Okafor" in ada.find_element(By.ID, "case-status").text, message="Ada's page follows")
    assert not ada.find_element(By.ID, "reply-form").is_displayed()
    person_saw = " ".join(e.get("text") or "" for e in tracker_events(settings, sender) if e.get("event") == "bot")
    assert "Your case has passed to Sam Okafor, another adviser" in person_saw
    assert marker not in person_saw

    # Sam is told in his queue and on the case
    sam = browser_factory(1280, 1000)
    sign_in(sam, settings.web_url, console.supervisor.email, PASSWORD)
    row = wait_for(
        lambda: sam.find_elements(By.CSS_SELECTOR, f"#cases-mine tr[data-id='{case.id}']"),
        message="the case in Sam's list",
    )[0]
    assert "Handed to you by Ada Lovelace" in row.text and marker in row.text
    row.find_element(By.TAG_NAME, "a").click()
    notice = wait_for(
        lambda: (lambda e: e.is_displayed() and e)(sam.find_element(By.ID, "transfer-notice")),
        message="the handover notice",
    )
    assert notice.text == f"Ada Lovelace handed this case to you: \u201c{note}\u201d"
    found = {"case, handed over": violations(sam)}
    Select(sam.find_element(By.ID, "close-outcome")).select_by_value("answered")
    sam.find_element(By.ID, "close-case").click()
    wait_for(lambda: "Closed" in sam.find_element(By.ID, "case-status").text, message="closed")
    assert store.case(case.id).tags == "pensions"  # closing keeps the case's tags

    # found again by tag, by words in the note, by adviser and by day
    sam.find_element(By.LINK_TEXT, "Search closed cases").click()
    wait_for(lambda: len(Select(sam.find_element(By.ID, "search-tag")).options) > 1, message="the search form")
    Select(sam.find_element(By.ID, "search-tag")).select_by_visible_text("pensions")
    sam.find_element(By.ID, "search-q").send_keys(marker)
    sam.find_element(By.ID, "search-go").click()
    wait_for(lambda: sam.find_element(By.ID, "search-status").text == "1 closed case.", message="one found")
    [found_row] = sam.find_elements(By.CSS_SELECTOR, "#search-rows tr")
    assert found_row.get_attribute("data-id") == str(case.id) and "Sam Okafor" in found_row.text
    found["search"] = violations(sam)
    Select(sam.find_element(By.ID, "search-tag")).select_by_visible_text("tupe")
    sam.find_element(By.ID, "search-go").click()
    wait_for(lambda: sam.find_element(By.ID, "search-status").text == "No closed case matches.", message="none")
    assert low_contrast(sam) == []
    sam.find_element(By.LINK_TEXT, "Tags").click()
    wait_for(lambda: sam.find_elements(By.CSS_SELECTOR, "#tag-list li[data-tag='pensions']"), message="the tag list")
    found["tags"] = violations(sam)
    assert found == {page: [] for page in found}
    assert page_errors(ada) == [] and page_errors(sam) == []
