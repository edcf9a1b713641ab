"""The chat carries on across the site: a person asks on the home page, says an answer did not help
(and is offered an adviser or another way to ask), follows its source link to the guidance page,
lands on the section it came from (marked), and carries on the same conversation there."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.support.widget_page import LOG, Chat, wait_for

pytestmark = pytest.mark.slow

QUESTION = "How do I register a co-operative?"


def test_feedback_then_the_same_conversation_on_the_guidance_page(running_stack, browser_factory):
    web = running_stack.settings.web_url
    driver = browser_factory(1100, 900)
    chat = Chat(driver)
    driver.get(web + "/")
    chat.open()
    starters = [b.text for b in chat.find_all(f"{LOG} .mw-welcome .mw-buttons button")]
    assert len(starters) == 3 and all(s.endswith("?") for s in starters)

    answer = chat.ask(QUESTION)
    assert not chat.find_all(f"{LOG} .mw-welcome .mw-buttons")  # the starters go once it has begun
    feedback = answer.find_element(By.CSS_SELECTOR, ".mw-feedback")
    assert feedback.text.split() == ["Did", "this", "help?", "Yes", "No"]
    before = len(chat.bot_messages())
    feedback.find_element(By.XPATH, ".//button[.='No']").click()
    offer = chat.wait_reply(before)
    assert chat.user_texts()[-1] == "No, this didn't help"
    offered = [b.text for b in offer.find_elements(By.CSS_SELECTOR, ".mw-buttons button")]
    assert any("adviser" in t.lower() for t in offered) and any("another way" in t.lower() for t in offered), offered
    assert not answer.find_elements(By.CSS_SELECTOR, ".mw-feedback")  # asked once

    # the source link: a new tab, said so on screen
    source = answer.find_element(By.CSS_SELECTOR, ".mw-source a")
    assert source.find_element(By.CSS_SELECTOR, ".mw-newtab").is_displayed()
    assert "(opens in a new tab)" in source.text
    href = source.get_attribute("href")
    assert href.startswith(web + "/guidance/") and "#" in href
    said = chat.user_texts()
    source.click()
    wait_for(lambda: len(driver.window_handles) == 2, 10, "the guidance page in a new tab")
    driver.switch_to.window(driver.window_handles[-1])
    wait_for(lambda: driver.current_url == href, 10, "the guidance page")

    # the section it came from is marked
    anchor = href.split("#", 1)[1]
    marked = driver.execute_script(
        """var t = document.getElementById(arguments[0]);
        return t && t.matches(':target') && getComputedStyle(t).backgroundColor;""",
        anchor,
    )
    assert marked == "rgb(255, 244, 194)", marked

    # the chat is here too, and it is the same conversation
    here = Chat(driver)
    here.open()
    wait_for(lambda: here.user_texts() == said, 20, f"the conversation so far: {said}")
    reply = here.ask("Who registers co-operatives?")
    assert reply.text
    assert here.user_texts()[: len(said)] == said
