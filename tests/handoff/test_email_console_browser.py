"""The case page's "Email to the person" box in Chromium, with axe-core on it: only the web server
runs (no Rasa: the transcript says it cannot be reached), so this is cheap."""

import pytest
from selenium.webdriver.common.by import By

from bot.console import COOKIE, hash_password
from bot.handoff import HandoffStore
from bot.handoff._outbox import outbox_of
from bot.settings import Settings
from bot.stack import free_port

from tests.support.axe_check import AXE
from tests.support.web_server import WebServer
from tests.support.widget_page import wait_for

pytestmark = pytest.mark.slow

_AXE_ON = """
var done = arguments[arguments.length - 1];
axe.run(document.getElementById(arguments[0]), {runOnly: {type: "tag", values: arguments[1]}})
  .then(function (r) { done(r.violations.map(function (v) { return v.id + ": " + v.help; })); })
  .catch(function (e) { done(["axe-error: " + e]); });
"""


@pytest.mark.parametrize("email_on", [True, False])
def test_the_case_page_shows_each_replys_email_and_passes_axe(tmp_path, browser_factory, email_on):
    port = free_port()
    settings = Settings.from_env(
        env={},
        var_dir=tmp_path,
        web_port=port,
        rasa_port=free_port(),
        smtp_url="smtp+plain://127.0.0.1:1" if email_on else "",
        email_from="Mutuals Assistant <advice@example.org>",
        email_poll_seconds=3600,
    )
    store = HandoffStore(settings.handoff_store)
    alex = store.add_adviser("Alex Adviser", "alex@example.org", "adviser", hash_password("a long test password"))
    cookie, _ = store.start_session(alex)
    case = store.open_case(
        "a" * 32, "socketio", "How do pensions transfer?", person_name="Sam", email="sam@example.org"
    )
    outbox = outbox_of(store)
    outbox.record_consent(case)
    for n in (1, 2):
        outbox.queue(case, f"reply {n}", "Alex", after_seconds=0)
    [one, two] = outbox.claim_due()
    outbox.sent(one)
    outbox.failed(two, "the mail server refused the address: 550 5.1.1 no such user (after 1 attempt(s))")
    outbox.queue(case, "reply 3", "Alex", after_seconds=600)

    with WebServer(settings):
        driver = browser_factory(1280, 900)
        driver.get(f"{settings.web_url}/console/login")
        driver.add_cookie({"name": COOKIE, "value": cookie, "path": "/"})
        driver.get(f"{settings.web_url}/console/cases/{case.id}")
        box = wait_for(lambda: driver.find_element(By.ID, "email-status"), message="the email box")
        wait_for(lambda: "Loading" not in driver.find_element(By.ID, "email-state").text, message="the email state")
        state = driver.find_element(By.ID, "email-state").text
        items = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#email-notices li")]
        if email_on:
            assert box.get_attribute("data-email") == "on" and "sam@example.org" in state
            assert items[0].startswith("Reply 1: Sent")
            assert items[1].startswith("Reply 2: Failed") and "550 5.1.1 no such user" in items[1]
            assert items[2].startswith("Reply 3: Queued") and "unless the person sees the reply" in items[2]
        else:
            assert box.get_attribute("data-email") == "off" and state.startswith("Email is off")
        if not AXE.exists():
            pytest.fail(f"no {AXE}: 'mutuals setup' vendors axe-core")
        driver.execute_script(AXE.read_text(encoding="utf-8"))
        found = driver.execute_async_script(
            _AXE_ON, "email-status", ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
        )
        assert found == []
    store.dispose()
