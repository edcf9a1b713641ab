"""Follow-ups, "Tell me more" and follow-up prompts through the running assistant (REST channel)."""

import re
import uuid

import pytest

from tests.support.assistant_stack import say_rest

pytestmark = pytest.mark.slow
SECTION_LINK = re.compile(r"\]\((http://[^)\s]+/guidance/([a-z0-9-]+)#([a-z0-9-]+))\)")


def new_sender():
    return f"test-{uuid.uuid4().hex[:12]}"


def one_reply(replies):
    assert len(replies) == 1, replies
    return replies[0]


def test_a_follow_up_is_answered_in_the_conversation_and_not_after_a_restart(running_stack):
    sender = new_sender()
    first = one_reply(say_rest(running_stack, sender, "What are community shares?"))
    assert "/guidance/community-shares#" in first["text"]
    follow = one_reply(say_rest(running_stack, sender, "cool, is there a limit?"))
    assert "£100,000" in follow["text"], follow["text"]
    assert SECTION_LINK.search(follow["text"]).group(2) == "community-shares"
    # a new conversation carries nothing over: the same words alone are not enough
    say_rest(running_stack, sender, "/restart")
    fresh = say_rest(running_stack, sender, "cool, is there a limit?")
    assert "/guidance/" not in "\n".join(r.get("text", "") for r in fresh)


def test_tell_me_more_and_a_related_question_pressed(running_stack):
    sender = new_sender()
    answer = one_reply(say_rest(running_stack, sender, "what are the risks of buying community shares"))
    payloads = {b["title"]: b["payload"] for b in answer["buttons"]}
    assert payloads.get("Tell me more") == "/tell_me_more"
    more = one_reply(say_rest(running_stack, sender, payloads["Tell me more"]))
    assert len(more["text"]) > len(answer["text"]) and "Financial Ombudsman" in more["text"]
    related = [(t, p) for t, p in payloads.items() if p.startswith('/ask_question{"guidance_slug":"')]
    assert 1 <= len(related) <= 3
    title, payload = related[0]
    section = payload.split('"guidance_slug":"')[1].rstrip('"}')
    pressed = one_reply(say_rest(running_stack, sender, payload))
    link = SECTION_LINK.search(pressed["text"])
    assert link and f"{link.group(2)}#{link.group(3)}" == section, (title, pressed["text"])
