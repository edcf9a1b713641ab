"""axe-core finds nothing (WCAG 2.0–2.2 A and AA, and its best practices) on the knowledge-gap
page with a group on it, and after one of its forms reports an error."""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from axe_check import violations  # noqa: E402
from widget_page import browser_factory, wait_for  # noqa: E402,F401  (browser_factory is a fixture)

from assistant_stack import say_rest  # noqa: E402
from test_console_browser import PASSWORD, sign_in  # noqa: E402

pytestmark = pytest.mark.slow


def test_no_axe_violations_on_the_gap_page(running_stack, browser_factory):
    from bot.console import hash_password
    from bot.handoff import HandoffStore

    settings = running_stack.settings
    store = HandoffStore(settings.handoff_store)
    try:
        suffix = uuid.uuid4().hex[:8]
        supervisor = store.add_adviser("Gil Gaps", f"gil-{suffix}@advisers.example.org", "supervisor",
                                       hash_password(PASSWORD))
        say_rest(running_stack, f"gaps-axe-{suffix}", "can our bowls club members divvy up the clubhouse money when we disband")
        driver = browser_factory(1280, 900)
        sign_in(driver, settings.web_url, supervisor.email, PASSWORD)
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "nav a[href='/console/gaps']"), message="the console")
        driver.get(f"{settings.web_url}/console/gaps")
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "section.gap"), message="a group of missed questions")
        found = {"gaps": violations(driver)}
        driver.find_element(By.CSS_SELECTOR, "section.gap details.decide summary").click()
        found["gaps, a group's choices open"] = violations(driver)
        driver.find_element(By.CSS_SELECTOR, "section.gap form[action$='/dismiss'] input[name=reason]").send_keys(" ")
        driver.find_element(By.CSS_SELECTOR, "section.gap form[action$='/dismiss'] button").click()
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".error[role=alert]"), message="the error")
        found["gaps, an error"] = violations(driver)
        assert found == {page: [] for page in found}
    finally:
        store.dispose()
