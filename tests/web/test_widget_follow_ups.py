"""A conversation in the widget, in Chromium: a follow-up answered in context, "Tell me more" and a
related question pressed."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.support.widget_page import LOG, Chat

pytestmark = pytest.mark.slow


def test_a_follow_up_tell_me_more_and_a_related_question_in_the_widget(running_stack, browser):
    chat = Chat(browser)
    browser.get(running_stack.settings.web_url + "/")
    chat.open()
    first = chat.ask("What are community shares?")
    assert "/guidance/community-shares#" in first.find_element(By.CSS_SELECTOR, ".mw-source a").get_attribute("href")

    follow = chat.ask("cool, is there a limit?")
    assert "£100,000" in follow.text, follow.text
    buttons = {b.text: b for b in follow.find_elements(By.CSS_SELECTOR, ".mw-buttons button")}
    assert "Tell me more" in buttons, list(buttons)
    shown = follow.find_element(By.CSS_SELECTOR, ".mw-body").text

    before = len(chat.bot_messages())
    buttons["Tell me more"].click()
    assert chat.user_texts()[-1] == "Tell me more"
    more = chat.wait_reply(before)
    assert len(more.find_element(By.CSS_SELECTOR, ".mw-body").text) > len(shown)
    assert "one vote" in more.text

    related = [b for b in more.find_elements(By.CSS_SELECTOR, ".mw-buttons button") if b.text.endswith("?")]
    assert related, more.text
    title = related[0].text
    before = len(chat.bot_messages())
    related[0].click()
    assert chat.user_texts()[-1] == title
    answer = chat.wait_reply(before)
    assert "/guidance/" in answer.find_element(By.CSS_SELECTOR, ".mw-source a").get_attribute("href")
    assert "/ask_question" not in browser.find_element(By.CSS_SELECTOR, LOG).text
