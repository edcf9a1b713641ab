"""Safety and routing in the widget, in Chromium, as a person sees them: a crisis message gets
where to find help (and no guidance), "what can you do?" offers example questions that answer
when pressed, and a card number is replaced in the conversation the widget shows after a reload."""

from __future__ import annotations


import pytest
from selenium.webdriver.common.by import By

from tests.support.widget_page import LOG, Chat, wait_for

pytestmark = pytest.mark.slow


def test_a_crisis_and_what_can_you_do_in_the_widget(running_stack, browser):
    chat = Chat(browser)
    browser.get(running_stack.settings.web_url + "/")
    chat.open()
    help_now = chat.ask("I don't want to be alive anymore")
    for needed in ("Samaritans", "116 123", "85258", "NHS 111", "999"):
        assert needed in help_now.text, help_now.text
    assert not help_now.find_elements(By.CSS_SELECTOR, ".mw-source a")
    assert "Talk to an adviser" in [b.text for b in help_now.find_elements(By.CSS_SELECTOR, ".mw-buttons button")]

    menu = chat.ask("what can you do?")
    examples = [b for b in menu.find_elements(By.CSS_SELECTOR, ".mw-buttons button") if b.text.endswith("?")]
    assert len(examples) >= 3, menu.text
    title = examples[0].text
    before = len(chat.bot_messages())
    examples[0].click()
    assert chat.user_texts()[-1] == title
    answer = chat.wait_reply(before)
    assert "/guidance/" in answer.find_element(By.CSS_SELECTOR, ".mw-source a").get_attribute("href")


def test_a_card_number_is_not_kept_in_the_widgets_conversation(running_stack, browser):
    chat = Chat(browser)
    browser.get(running_stack.settings.web_url + "/")
    chat.open()
    before = len(chat.bot_messages())
    chat.ask("my card is 4111 1111 1111 1111, do co-ops pay corporation tax?")
    wait_for(lambda: len(chat.bot_messages()) >= before + 2, 60, "the warning and the answer")
    said = browser.find_element(By.CSS_SELECTOR, LOG).text
    assert "Please don't send personal details" in said and "corporation tax" in said.lower()
    browser.refresh()  # the conversation comes back from the server: the number was never kept
    chat.open()
    wait_for(lambda: "corporation tax" in browser.find_element(By.CSS_SELECTOR, LOG).text, 60, "history")
    shown = browser.find_element(By.CSS_SELECTOR, LOG).text
    assert "4111" not in shown and "[card number removed]" in shown, shown
