"""axe-core finds nothing (WCAG 2.0–2.2 A and AA, and its best practices) on the knowledge-gap
page with a group on it, and after one of its forms reports an error."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.support.axe_check import violations
from tests.support.widget_page import wait_for

from tests.support.assistant_stack import say_rest
from tests.support.console_pages import PASSWORD, sign_in

pytestmark = pytest.mark.slow


def test_no_axe_violations_on_the_gap_page(axe_console):
    settings, driver = axe_console.settings, axe_console.driver
    say_rest(
        axe_console.stack,
        f"gaps-axe-{axe_console.suffix}",
        "can our bowls club members divvy up the clubhouse money when we disband",
    )
    sign_in(driver, settings.web_url, axe_console.supervisor.email, PASSWORD)
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
