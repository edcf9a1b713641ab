"""A person's "delete my data", end to end on a running stack: from the widget (socket.io), from
Telegram (through the Bot API stand-in and the relay), and by a supervisor in the console. After
each, nothing of theirs is left in the tracker store, the case store or the project's logs."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest

from tests.support.assistant_stack import log_text, say_rest, stored_rows
from tests.support.person_and_adviser import ConsoleAdviser, WidgetPerson

pytestmark = pytest.mark.slow
PASSWORD = "a long test password"


def run(coro, timeout=240):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def tracker_json(stack, conversation_id: str) -> dict:
    s = stack.settings
    url = f"{s.rasa_url}/conversations/{conversation_id}/tracker?token={s.rasa_token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def assert_nothing_left(stack, conversation_id: str, secrets) -> None:
    tracker = tracker_json(stack, conversation_id)
    texts = json.dumps(tracker["events"])
    assert not [e for e in tracker["events"] if e.get("event") in ("user", "bot")], tracker["events"]
    trackers, cases, logs = (
        stored_rows(stack.settings.tracker_store),
        stored_rows(stack.settings.handoff_store),
        log_text(stack),
    )
    assert conversation_id not in trackers and conversation_id not in cases
    for secret in secrets:
        assert secret not in texts, secret
        assert secret not in trackers, secret
        assert secret not in cases, secret
        assert secret not in logs, secret


def test_a_person_deletes_their_data_from_the_widget(running_stack):
    s = running_stack.settings
    question = "Can our social care team in SW1A 1AA spin out as a mutual?"
    email = "priya.widget@example.org"

    async def scenario():
        person = await WidgetPerson(s.rasa_url).connect()
        deleted = []
        person.client.on("data_deleted", lambda data: deleted.append(data))
        try:
            await person.say("How do I register a co-operative?")
            await person.say("I want to talk to a human", wait_for=2)
            await person.say(question)
            await person.say("Priya Widgetson")
            queued = await person.say(email)
            assert "in the queue" in queued[-1]["text"], queued
            case = [c for c in running_stack_store(s).cases("waiting") if c.conversation_id == person.session_id]
            assert case and case[0].email == email
            assert tracker_json(running_stack, person.session_id)["events"]

            await person.client.emit("delete_my_data", {"confirm": False})
            await person.wait_for(lambda: deleted, 30)
            assert deleted[-1]["erased"] is False and tracker_json(running_stack, person.session_id)["events"]

            await person.client.emit("delete_my_data", {"session_id": person.session_id, "confirm": True})
            await person.wait_for(lambda: len(deleted) == 2, 60)
            assert deleted[-1] == {"erased": True}
            return person.session_id
        finally:
            await person.close()

    session_id = run(scenario())
    assert_nothing_left(running_stack, session_id, [question, "SW1A 1AA", "Priya Widgetson", email])


def running_stack_store(settings):
    from bot.handoff import HandoffStore

    return HandoffStore(settings.handoff_store)


def test_a_supervisor_deletes_a_persons_data_from_the_console(running_stack):
    s = running_stack.settings
    sender = "erase-me-by-console"
    question = "We run a library in M1 1AE; can staff keep their pensions?"
    email = "sam.console@example.org"
    say_rest(running_stack, sender, "talk to an adviser please")
    say_rest(running_stack, sender, question)
    say_rest(running_stack, sender, "Sam Consolesson")
    queued = say_rest(running_stack, sender, email)
    assert any("in the queue" in r.get("text", "") for r in queued), queued
    from bot.insights._misses import MissStore

    misses = MissStore(s.handoff_store)  # the question handed over is kept for the gap page, masked
    assert [(m.kind, m.question) for m in misses.misses() if m.conversation_id == sender] == [
        ("handoff", "We run a library in [postcode]; can staff keep their pensions?")
    ]
    misses.dispose()
    ConsoleAdviser.create(s.handoff_store, "Ada Adviser", "ada.adviser@example.org", PASSWORD)
    ConsoleAdviser.create(s.handoff_store, "Sue Supervisor", "sue.super@example.org", PASSWORD, role="supervisor")

    async def scenario():
        adviser, supervisor = ConsoleAdviser(s.web_url), ConsoleAdviser(s.web_url)
        try:
            assert await adviser.sign_in("ada.adviser@example.org", PASSWORD) == 303
            assert await supervisor.sign_in("sue.super@example.org", PASSWORD) == 303
            [case] = [c for c in (await supervisor.api("GET", "/cases"))["waiting"] if c["conversation_id"] == sender]
            await supervisor.api("POST", f"/cases/{case['id']}/note", {"text": "Sam phoned from 07700 900123"})
            await adviser.api("POST", "/erase", {"conversation_id": sender}, expect=403)
            supervisor_csrf, supervisor.csrf = supervisor.csrf, "wrong"
            await supervisor.api("POST", "/erase", {"conversation_id": sender}, expect=403)
            supervisor.csrf = supervisor_csrf
            await supervisor.api("POST", "/erase", {"conversation_id": 5}, expect=400)
            erased = await supervisor.api("POST", "/erase", {"conversation_id": sender})
            assert erased["erased"] is True and erased["cases"] == 1 and erased["events"] > 5
            await supervisor.api("GET", f"/cases/{case['id']}", expect=409)
        finally:
            await adviser.close()
            await supervisor.close()

    run(scenario())
    assert_nothing_left(running_stack, sender, [question, "M1 1AE", "Sam Consolesson", email, "07700 900123"])
    # the erasure itself stays on record, naming the supervisor who did it and nothing of the person
    import sqlalchemy as sa
    from bot.handoff._store import audit_table

    store = running_stack_store(s)
    supervisor_id = next(a.id for a in store.advisers() if a.email == "sue.super@example.org")
    with store.engine.connect() as db:
        erasures = db.execute(sa.select(audit_table).where(audit_table.c.action == "deleted cases")).all()
    store.dispose()
    assert any(row.adviser_id == supervisor_id and "erased on request" in row.detail for row in erasures), erasures
    # the conversation starts again from nothing
    assert say_rest(running_stack, sender, "hello")


def test_a_telegram_user_deletes_their_data_with_a_confirmation_button(running_stack):
    from tests.support.bot_api_stand_in import BotApiStandIn
    from tests.support.front_end_harness import front_end_for, settings_for
    from tests.support.telegram_updates import callback_update, message_update, user

    chat_id = 4_242_4242
    person = user(chat_id, "Zebedee", "Quuxworth")
    question = "How does TUPE protect my pay? I'm at CR2 6XH, 020 7946 0000"
    stack = running_stack.settings

    async def scenario():
        async with BotApiStandIn() as api:
            settings = settings_for(
                api,
                stack.rasa_url,
                relay_token=stack.relay_token,
                telegram_relay_timeout_seconds=30.0,
                rasa_token=stack.rasa_token,
            )

            async def say(text, replies=1):
                before = len(api.sent(chat_id))
                api.inject(message_update(api.next_update_id(), chat_id, text, from_user=person))
                if replies:
                    await api.wait_for_messages(chat_id, before + replies, timeout=60)
                return api.sent(chat_id)[before:]

            async with front_end_for(settings):
                await say("/human", 2)
                await say(question)
                await say("Zebedee")
                await say("zeb.telegram@example.org")
                case = running_stack_store(stack).open_case_for(f"tg-{chat_id}")
                assert case and case.email == "zeb.telegram@example.org"

                [asked] = await say("/delete_my_data")
                markup = asked.params["reply_markup"]
                markup = json.loads(markup) if isinstance(markup, str) else markup
                [confirm], [keep] = markup["inline_keyboard"]
                assert confirm["text"] == "Yes, delete my data"
                assert running_stack_store(stack).open_case_for(f"tg-{chat_id}")  # nothing yet

                before = len(api.sent(chat_id))
                api.inject(
                    callback_update(
                        api.next_update_id(),
                        chat_id,
                        confirm["callback_data"],
                        from_user=person,
                        on_message={
                            "message_id": 1,
                            "date": int(time.time()),
                            "text": "Delete?",
                            "chat": {"id": chat_id, "type": "private", "first_name": "Zebedee"},
                            "from": {"id": 1, "is_bot": True, "first_name": "Bot"},
                        },
                    )
                )
                await api.wait_for_messages(chat_id, before + 1, timeout=60)
                assert "have been deleted" in api.sent(chat_id)[-1].params["visible_text"]

    run(scenario())
    assert_nothing_left(
        running_stack, f"tg-{chat_id}", [question, "CR2 6XH", "020 7946 0000", "Quuxworth", "zeb.telegram@example.org"]
    )
