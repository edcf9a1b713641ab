"""The adviser console as the browser tests drive it: signing in, a case opened the way a person
opens one (through the REST channel), the page's errors and contrast, and plain HTTP with the
session's cookie."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from selenium.webdriver.common.by import By

from tests.support.assistant_stack import say_rest
from tests.support.widget_page import contrast_ratios, wait_for

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough test password 42"  # every adviser the console's browser tests make


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http_get(url: str, cookie: str = "") -> tuple:
    """``(status, headers, body text)`` without following redirects."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode(errors="replace")


def session_cookie(web_url: str, email: str, password: str) -> str:
    """Sign in with the login form over plain HTTP; the ``Cookie`` header of the session."""
    import http.cookiejar
    import re

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    with opener.open(f"{web_url}/console/login", timeout=30) as response:
        csrf = re.search(r'name="csrf" value="([^"]+)"', response.read().decode()).group(1)
    form = urllib.parse.urlencode({"csrf": csrf, "email": email, "password": password}).encode()
    try:
        opener.open(f"{web_url}/console/login", data=form, timeout=30)
    except urllib.error.HTTPError as exc:
        assert exc.code == 303, exc.code
    return "; ".join(f"{c.name}={c.value}" for c in jar if c.name == "mutuals_console")


def page_errors(driver) -> list:
    """Console messages that mean the page broke the CSP or a script crashed."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and ("Content Security Policy" in e["message"] or "Uncaught" in e["message"])
    ]


CONTRAST_SELECTORS = [
    "main a",
    "main button",
    "label",
    "legend",
    ".hint",
    ".poll-status",
    ".case-status",
    ".msg .who",
    ".msg .meta",
    ".msg .text",
    ".msg .extra",
    ".msg .extra a",
    ".details dt",
    ".details dd",
    ".notes li",
    "select",
    "textarea",
    ".count",
    "th",
    "td",
    ".empty",
    ".sub",
    ".badge",
]


def low_contrast(driver) -> list:
    return [(sel, ratio) for sel, ratio in contrast_ratios(driver, CONTRAST_SELECTORS) if ratio < 4.5]


def sign_in(driver, web_url: str, email: str, password: str) -> None:
    driver.get(f"{web_url}/console/login")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    old_page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    # wait for the answer to the form (the console, or the sign-in page again with an error):
    # navigating on before it arrives would leave the browser without the session cookie
    wait_for(lambda: _replaced(old_page), message="the answer to the sign-in form")


def _replaced(element) -> bool:
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        element.tag_name
        return False
    except StaleElementReferenceException:
        return True


def text_of(driver, selector: str) -> str:
    return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, selector))


def messages(driver, kind: str) -> list:
    return [
        e.find_element(By.CSS_SELECTOR, ".text").text
        for e in driver.find_elements(By.CSS_SELECTOR, f"#transcript li.msg-{kind}")
    ]


def tracker_events(settings, sender: str) -> list:
    query = urllib.parse.urlencode({"token": settings.rasa_token})
    url = f"{settings.rasa_url}/conversations/{urllib.parse.quote(sender, safe='')}/tracker?{query}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)["events"]


def open_case_as_a_person(stack, store, sender: str, question: str, name: str, first: str = ""):
    """Ask for a human through the REST channel and answer the intake form; the case it opened."""
    replies = []
    for message in ([first] if first else []) + ["I want to talk to a human", question, name, "skip"]:
        replies.append(say_rest(stack, sender, message))
    case = store.open_case_for(sender)
    assert case is not None and case.person_name == name, f"the intake went wrong; the assistant said: {replies!r}"
    return case
