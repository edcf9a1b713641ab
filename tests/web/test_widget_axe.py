"""axe-core finds nothing (WCAG 2.0–2.2 A and AA, and its best practices) on the public pages: the
demo page with the chat closed, open with a conversation, and asking to delete the data; a
guidance page; the guidance list, with and without search results; and the demo page at 400 % zoom."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.support.axe_check import violations
from tests.support.widget_page import Chat, wait_for

pytestmark = pytest.mark.slow


def test_no_axe_violations_on_the_public_pages(running_stack, browser_factory):
    web = running_stack.settings.web_url
    driver = browser_factory(1280, 900)
    chat = Chat(driver)
    found = {}

    for path in (
        "/",
        "/guidance/",
        "/guidance/?q=Can+staff+keep+their+pensions%3F",
        "/guidance/asset-locks",
        "/guidance/tupe-staff-transfer#what-is-tupe-and-does-it-apply-when-a-service-spins-out",
    ):
        driver.get(web + path)
        wait_for(chat.launcher_shown, 20, f"the launcher on {path}")
        found[path] = violations(driver)

    driver.get(web + "/")
    chat.open()
    chat.ask("Can staff keep their pensions if they move to a mutual?")  # an answer: source, "Did this help?"
    chat.ask("what's the weather tomorrow")  # not the guidance's: quick replies
    found["/ with a conversation"] = violations(driver)

    chat.find(".mw-forget").click()
    wait_for(lambda: chat.find(".mw-confirm").is_displayed(), 5, "the delete question")
    found["/ asking to delete the data"] = violations(driver)
    chat.find(".mw-confirm-no").click()

    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 320, "height": 256, "deviceScaleFactor": 4, "mobile": False}
    )
    driver.refresh()
    wait_for(lambda: chat.is_open() and chat.connection() == "online", 20, "the chat again, at 400 %")
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".mw-log .mw-user"), 20, "the history")
    found["/ at 400 % zoom, the chat open"] = violations(driver)

    assert found == {page: [] for page in found}
