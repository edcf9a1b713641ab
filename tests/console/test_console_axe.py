"""axe-core finds nothing (WCAG 2.0–2.2 A and AA, and its best practices) on the adviser console's
pages: signing in (and its error), the queue with cases in it, a case with its transcript,
before and after it is claimed, and the insights dashboard with its charts' tables open."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.support.axe_check import violations
from tests.support.widget_page import wait_for

from tests.support.console_pages import PASSWORD, open_case_as_a_person, sign_in

pytestmark = pytest.mark.slow


def test_no_axe_violations_on_the_console(axe_console):
    settings, store, supervisor, driver = (
        axe_console.settings,
        axe_console.store,
        axe_console.supervisor,
        axe_console.driver,
    )
    case = open_case_as_a_person(
        axe_console.stack,
        store,
        f"axe-{axe_console.suffix}",
        "Can our staff keep their pension?",
        "Jo",
        first="How do I register a co-operative?",
    )
    found = {}

    driver.get(f"{settings.web_url}/console/login")
    found["sign in"] = violations(driver)
    sign_in(driver, settings.web_url, supervisor.email, "not the password")
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".error[role=alert]"), message="the sign-in error")
    found["sign in, wrong password"] = violations(driver)

    sign_in(driver, settings.web_url, supervisor.email, PASSWORD)
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, f"tr[data-id='{case.id}']"), message="the queue")
    found["queue"] = violations(driver)

    driver.get(f"{settings.web_url}/console/cases/{case.id}")
    wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#transcript li")) >= 4, message="the transcript")
    wait_for(lambda: driver.find_element(By.ID, "claim").is_displayed(), message="the claim button")
    found["case, waiting"] = violations(driver)

    driver.find_element(By.ID, "claim").click()
    wait_for(lambda: driver.find_element(By.ID, "reply-form").is_displayed(), message="the reply form")
    driver.find_element(By.CSS_SELECTOR, "#audit-heading").click()  # the history opened too
    found["case, claimed"] = violations(driver)

    driver.get(f"{settings.web_url}/console/insights?days=7")  # the dashboard, its tables opened
    wait_for(
        lambda: (
            driver.execute_script(  # the six charts drawn by Chart.js, their tables closed
                "return Array.from(document.querySelectorAll('section.chart-block canvas'))"
                ".filter(function (c) { return window.Chart && Chart.getChart(c); }).length"
            )
            == 6
        ),
        message="the insights charts",
    )
    for summary in driver.find_elements(By.CSS_SELECTOR, "details summary"):
        summary.click()
    found["insights"] = violations(driver)

    assert found == {page: [] for page in found}
