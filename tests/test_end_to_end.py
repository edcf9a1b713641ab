"""The whole assistant, started as `mutuals run` starts it, spoken to through the REST channel."""

import re
import urllib.request
import uuid

import pytest

from tests.support.assistant_stack import post_json, say_rest

pytestmark = pytest.mark.slow
LINK = re.compile(r"\[([^\]]+)\]\((http://[^)\s]+/guidance/([a-z0-9-]+)(?:#[a-z0-9-]+)?)\)")


def new_sender():
    return f"test-{uuid.uuid4().hex[:12]}"


def texts(replies):
    return "\n".join(r.get("text", "") for r in replies)


@pytest.mark.parametrize(
    "question, slug",
    [
        ("How do I register a co-operative?", "co-operative-society"),
        ("will we keep our council pension if we leave and become a mutual", "lgps-admitted-body-status"),
        ("what is a community interest company", "community-interest-company"),
    ],
)
def test_a_question_gets_a_short_answer_with_a_working_source_link(running_stack, question, slug):
    replies = say_rest(running_stack, new_sender(), question)
    assert len(replies) == 1, replies  # one message: the answer and its source stay together
    text = replies[0]["text"]
    links = LINK.findall(text)
    assert links and links[-1][2] == slug, text
    assert text.rstrip().splitlines()[-1].startswith("Source: [")
    assert len(text.split("\n\nSource:")[0]) < 800
    title, url, _ = links[-1]
    with urllib.request.urlopen(url.split("#")[0], timeout=10) as page:
        html = page.read().decode()
    assert page.status == 200 and title.replace("&", "&amp;") in html and "Sources" in html


def test_an_unanswerable_question_gets_no_guess_and_an_adviser_offer(running_stack):
    sender = new_sender()
    replies = say_rest(running_stack, sender, "how do I get my deposit back from my landlord")
    assert "/guidance/" not in texts(replies)
    assert any(b["payload"] == "/request_human" for r in replies for b in r.get("buttons", []))
    follow = say_rest(running_stack, sender, "/request_human")  # the button's payload
    assert "adviser" in texts(follow).lower()


def test_a_question_beside_the_guidance_is_signposted_with_an_adviser_offer(running_stack):
    replies = say_rest(running_stack, new_sender(), "how much state pension will I get and at what age")
    text = texts(replies)
    assert "(https://www.gov.uk/state-pension)" in text and "/guidance/" not in text, text
    assert any(b["payload"] == "/request_human" for r in replies for b in r.get("buttons", []))


def test_a_suggested_topic_button_answers_from_that_page(running_stack):
    replies = say_rest(running_stack, new_sender(), '/ask_question{"guidance_slug":"social-value"}')
    assert "/guidance/social-value" in texts(replies)


def test_greeting_thanks_and_asking_for_a_human(running_stack):
    sender = new_sender()
    assert "mutuals" in texts(say_rest(running_stack, sender, "hello")).lower()
    assert "/guidance/" not in texts(say_rest(running_stack, sender, "thanks a lot"))
    assert "adviser" in texts(say_rest(running_stack, sender, "I want to speak to a human")).lower()


def test_an_unhelpful_answer_leads_to_an_adviser_offer(running_stack):
    sender = new_sender()
    say_rest(running_stack, sender, "what is an asset lock")
    offer = say_rest(running_stack, sender, "that didn't help")
    assert "adviser" in texts(offer).lower() and offer[-1]["buttons"]


@pytest.mark.parametrize(
    "message, expected",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 2001, "longer than I can read"),
        ("🙂🎉👍", "couldn't find any words"),
        ("Как зарегистрировать кооператив?", "only answer in English"),
        ("?!?!", "couldn't find any words"),
    ],
)
def test_bad_messages_get_a_clear_polite_reply(running_stack, message, expected):
    replies = say_rest(running_stack, new_sender(), message)
    assert expected in texts(replies)


def test_html_in_a_message_is_never_echoed_back(running_stack):
    replies = say_rest(running_stack, new_sender(), "<script>alert(1)</script> what is a CIC?")
    assert "<script>" not in texts(replies)


@pytest.mark.parametrize(
    "body, status",
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        ({"sender": "x", "message": 5}, 400),
        ({"sender": "", "message": "hi"}, 400),
        ({"sender": "a b c", "message": "hi"}, 400),
        ({"sender": "tg-123", "message": "hi"}, 400),
        ({"sender": "ok", "message": "hi", "metadata": "nope"}, 400),
    ],
)
def test_malformed_requests_get_a_clear_http_error(running_stack, body, status):
    code, reply = post_json(f"{running_stack.settings.rasa_url}/webhooks/rest/webhook", body)
    assert code == status and isinstance(reply, dict) and reply["error"]


def test_the_conversation_is_kept_and_the_rasa_api_needs_the_token(running_stack):
    sender = new_sender()
    say_rest(running_stack, sender, "what is a community benefit society")
    url = f"{running_stack.settings.rasa_url}/conversations/{sender}/tracker"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 401
    import json

    with urllib.request.urlopen(f"{url}?token={running_stack.settings.rasa_token}", timeout=10) as response:
        tracker = json.loads(response.read())
    said = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert said == ["what is a community benefit society"]
    assert (running_stack.settings.var_dir / "trackers.db").exists()


def test_the_relay_channel_refuses_requests_without_its_token(running_stack):
    url = f"{running_stack.settings.rasa_url}/webhooks/relay/webhook"
    code, _ = post_json(url, {"sender": "tg-1", "message": "hi"})
    assert code == 401
    code, replies = post_json(
        url,
        {"sender": "tg-1", "message": "hi", "metadata": {"channel": "telegram"}},
        headers={"Authorization": f"Bearer {running_stack.settings.relay_token}"},
    )
    assert code == 200 and replies


def test_a_rest_client_gets_an_advisers_messages_with_its_next_reply(running_stack):
    """REST cannot push: what an adviser sent between turns comes with the next reply, once."""
    import asyncio

    from bot.handoff import AdviserDesk, HandoffStore

    s = running_stack.settings
    sender = new_sender()
    say_rest(running_stack, sender, "talk to a human")
    say_rest(running_stack, sender, "Can a charity own shares in a co-op?")
    say_rest(running_stack, sender, "skip")
    say_rest(running_stack, sender, "skip")
    store = HandoffStore(s.handoff_store)
    adviser = store.credentials("rest.adviser@example.org")
    adviser = adviser[0] if adviser else store.add_adviser("Reza Adviser", "rest.adviser@example.org", "adviser", "x")
    case = store.open_case_for(sender)

    async def reply():
        desk = AdviserDesk(s, store)
        try:
            await desk.reply(case.id, adviser, "Yes, as a member, within the society's rules.")
        finally:
            await desk.aclose()

    asyncio.run(reply())
    replies = say_rest(running_stack, sender, "ok thanks")
    assert [r.get("sender", {}).get("kind") for r in replies] == ["system", "adviser"]
    assert "within the society's rules" in replies[1]["text"]
    assert say_rest(running_stack, sender, "anything else?") == []  # delivered once, and the bot stays quiet
    store.dispose()
