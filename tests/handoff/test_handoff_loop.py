"""The whole handoff loop on the web channel: a person asks for a human on the widget's socket.io
channel, an adviser claims and answers from the console, and the person is handed back."""

import asyncio
import urllib.error
import urllib.request

import pytest

from tests.support.person_and_adviser import ConsoleAdviser, WidgetPerson

pytestmark = pytest.mark.slow
PASSWORD = "a long test password"


def texts(messages):
    return [m.get("text", "") for m in messages]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 240))


def test_ask_for_a_human_on_the_web_and_be_answered_by_an_adviser(running_stack):
    s = running_stack.settings
    ConsoleAdviser.create(s.handoff_store, "Alex Adviser", "alex@example.org", PASSWORD)
    from bot.handoff import HandoffStore

    store = HandoffStore(s.handoff_store)  # nobody available (another test may have left someone so)
    for someone in store.available_advisers():
        store.set_available(someone.id, False)
    ConsoleAdviser.create(s.handoff_store, "Tess Supervisor", "tess@example.org", PASSWORD, role="supervisor")
    if "pensions" not in [t["name"] for t in store.tag_list()]:  # tags come from the supervisors' list
        store.add_tag(store.credentials("tess@example.org")[0], "pensions")
    store.dispose()

    async def scenario():
        person = await WidgetPerson(s.rasa_url).connect()
        adviser = ConsoleAdviser(s.web_url)
        try:
            await person.say("can my bank manager lend me money for a holiday", wait_for=1)
            intake = await person.say("I want to talk to a human", wait_for=2)
            assert "adviser" in texts(intake)[0].lower()
            assert any(b["payload"] == "/affirm" for b in intake[-1]["buttons"]), intake  # keep my question
            assert "can my bank manager" in intake[-1]["text"]
            name_q = await person.say("How do we keep our council pensions if we spin out?")
            assert "name" in name_q[-1]["text"].lower()
            email_q = await person.say("Sam <b>Smith</b>")
            assert "email" in email_q[-1]["text"].lower() and "180 days" in email_q[-1]["text"]
            bad = await person.say("not-an-email", wait_for=2)  # why, then the question again
            assert "doesn't look like an email" in bad[0]["text"] and "email" in bad[-1]["text"]
            queued = await person.say("sam@example.org")
            # Alex has not said they are available: the person is told so, and where the reply will be
            assert "No adviser is free at the moment. You're " in queued[-1]["text"], queued
            assert (
                "in the queue, and an adviser will answer here when one is free; the adviser's reply will be "
                "waiting here in this chat"
            ) in queued[-1]["text"]
            assert queued[-1]["event"]["status"] == "waiting"  # the widget's status line
            assert queued[-1]["event"]["text"].startswith("Waiting for an adviser \u00b7 ")

            # the bot is now silent: what the person types waits for the adviser
            await person.say("are you there?", wait_for=0, message_id="w-are-you-there-1")
            # sent again with its id (the widget missed the server's receipt): logged and counted once
            await person.say("are you there?", wait_for=0, message_id="w-are-you-there-1")
            await asyncio.sleep(1.5)
            assert texts(person.received[-1:]) == texts(queued[-1:])

            assert await adviser.sign_in("alex@example.org", "wrong password") == 401
            assert await adviser.sign_in("alex@example.org", PASSWORD) == 303
            queue = await adviser.api("GET", "/cases")
            [case] = [c for c in queue["waiting"] if c["conversation_id"] == person.session_id]
            assert case["question"] == "How do we keep our council pensions if we spin out?"
            assert case["person_name"] == "Sam <b>Smith</b>" and case["email"] == "sam@example.org"
            assert case["channel"] == "socketio"
            assert case["unread_messages"] == 1  # "are you there?", written in the queue

            await adviser.api("POST", f"/cases/{case['id']}/claim")
            await person.wait_for(lambda: any("has joined" in t for t in texts(person.received)))
            joined = [m for m in person.received if "has joined" in m["text"]][-1]
            assert joined["event"] == {
                "type": "handoff",
                "status": "adviser",
                "adviser": "Alex Adviser",
                "text": "Chatting with Alex Adviser",
            }
            await adviser.api(
                "POST", f"/cases/{case['id']}/reply", {"text": "Hi Sam, you'd join the LGPS as an admitted body."}
            )
            await person.wait_for(lambda: any("admitted body" in t for t in texts(person.received)))
            reply = [m for m in person.received if "admitted body" in m["text"]][-1]
            assert reply["sender"] == {"kind": "adviser", "name": "Alex Adviser"}

            await person.say("Thanks! Does that cost us anything?", wait_for=0)
            for _ in range(40):
                shown = await adviser.api("GET", f"/cases/{case['id']}")
                if any(t["text"] == "Thanks! Does that cost us anything?" for t in shown["transcript"]):
                    break
                await asyncio.sleep(0.25)
            kinds = [(t["kind"], t["text"]) for t in shown["transcript"]]
            assert ("user", "Thanks! Does that cost us anything?") in kinds
            assert kinds.count(("user", "are you there?")) == 1
            assert ("adviser", "Hi Sam, you'd join the LGPS as an admitted body.") in kinds
            # read on opening the case: by the page's next refresh at the latest (a message that arrives
            # while the page loads the conversation stays new until then)
            await adviser.api("GET", f"/cases/{case['id']}")
            [mine] = [c for c in (await adviser.api("GET", "/cases"))["mine"] if c["id"] == case["id"]]
            assert mine["unread_messages"] == 0 and mine["last_person_message_at"]
            assert [a["action"] for a in shown["audit"]][:3] == ["opened", "claimed", "replied"]

            await adviser.api("POST", f"/cases/{case['id']}/note", {"text": "Pointed to LGPS page"})
            await adviser.api("POST", f"/cases/{case['id']}/close", {"outcome": "answered", "tags": ["pensions"]})
            await person.wait_for(lambda: any("back with the assistant" in t for t in texts(person.received)))
            back = [m for m in person.received if "back with the assistant" in m["text"]][-1]
            assert [b["title"] for b in back["buttons"]] == ["1", "2", "3", "4", "5"]
            rated = await person.say(back["buttons"][4]["payload"])
            assert "thank" in rated[-1]["text"].lower()

            answered = await person.say("what is a community benefit society?")
            assert "/guidance/community-benefit-society" in answered[-1]["text"]
            closed = await adviser.api("GET", "/cases")
            [done] = [c for c in closed["closed"] if c["id"] == case["id"]]
            assert done["outcome"] == "answered" and done["rating"] == 5 and done["tags"] == "pensions"
        finally:
            await person.close()
            await adviser.close()

    run(scenario())


def test_a_person_can_leave_the_queue_and_the_bot_answers_again(running_stack):
    s = running_stack.settings

    async def scenario():
        person = await WidgetPerson(s.rasa_url).connect()
        try:
            await person.say("talk to an adviser please", wait_for=2)
            await person.say("What grants are there for co-ops?")
            await person.say("skip")
            await person.say("skip")
            left = await person.say("cancel")
            assert "left the advisers' queue" in left[-1]["text"]
            answered = await person.say("what is an asset lock")
            assert "/guidance/asset-locks" in answered[-1]["text"]
        finally:
            await person.close()

    run(scenario())


def test_anonymous_requests_to_the_console_are_refused(running_stack):
    web = running_stack.settings.web_url
    for path in ("/console/api/cases", "/console/api/cases/1", "/console/api/me"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(web + path, timeout=10)
        assert refused.value.code == 401
    for path in ("/console", "/console/cases/1"):
        request = urllib.request.Request(web + path)
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirected:
            opener.open(request, timeout=10)
        assert redirected.value.code == 303 and redirected.value.headers["Location"] == "/console/login"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_restarting_every_server_mid_handoff_loses_nothing(running_stack):
    s = running_stack.settings
    ConsoleAdviser.create(s.handoff_store, "Rita Restart", "rita@example.org", PASSWORD)

    async def before_restart():
        person = await WidgetPerson(s.rasa_url).connect()
        try:
            await person.say("I need a person", wait_for=2)
            await person.say("Who owns the building after we spin out?")
            await person.say("Rowan")
            await person.say("skip")
            await person.say("hello? still waiting", wait_for=0)
            await asyncio.sleep(1)
            return person.session_id
        finally:
            await person.close()

    session_id = run(before_restart())
    for part in ("rasa", "actions", "web"):
        running_stack.restart(part)

    async def after_restart():
        person = WidgetPerson(s.rasa_url)
        await person.client.connect(s.rasa_url, transports=["polling"], socketio_path="/socket.io")
        await person.client.emit("session_request", {"session_id": session_id})  # the widget keeps its id
        await person.wait_for(lambda: person.session_id == session_id)
        adviser = ConsoleAdviser(s.web_url)
        try:
            assert await adviser.sign_in("rita@example.org", PASSWORD) == 303
            queue = await adviser.api("GET", "/cases")
            [case] = [c for c in queue["waiting"] if c["conversation_id"] == session_id]
            shown = await adviser.api("GET", f"/cases/{case['id']}")
            said = [t["text"] for t in shown["transcript"] if t["kind"] == "user"]
            assert "Who owns the building after we spin out?" in said and "hello? still waiting" in said
            # still paused after the restart: the bot does not answer, the adviser does
            await person.say("what is an asset lock", wait_for=0)
            await asyncio.sleep(1.5)
            assert person.received == []
            await adviser.api("POST", f"/cases/{case['id']}/reply", {"text": "Hi Rowan, it depends on the lease."})
            await person.wait_for(lambda: any("depends on the lease" in m["text"] for m in person.received))
            await adviser.api("POST", f"/cases/{case['id']}/close", {"outcome": "answered", "tags": []})
            await person.wait_for(lambda: any("back with the assistant" in m["text"] for m in person.received))
        finally:
            await person.close()
            await adviser.close()

    run(after_restart())
