"""Email that reaches people who have left, through the whole stack (Rasa, actions, web) and a
real SMTP server on loopback (aiosmtpd) that refuses the first attempt: a person hands over on
the web chat with an email address, leaves, an adviser replies from the console, and the email
arrives once, with the reply and a link that opens the same conversation, reply and all."""

import asyncio
import re
import time
import urllib.error
import urllib.request

import pytest

from tests.support.assistant_stack import post_json, stack_settings
from bot.stack import Stack
from tests.support.person_and_adviser import ConsoleAdviser, WidgetPerson
from tests.support.smtp_server import SmtpServer, body as body_of

from tests.support.widget_page import Chat, wait_for

pytestmark = pytest.mark.slow
PASSWORD = "a long test password"
REPLY = "Hi Sam, you'd join the LGPS as an admitted body: your pension carries on as it is."
AFTER_SECONDS = 5


@pytest.fixture(scope="module")
def email_stack(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("var")
    with SmtpServer(refuse_first=1) as smtp:
        settings = stack_settings(
            var_dir,
            smtp_url=smtp.url,
            email_from="Mutuals Assistant <advice@example.org>",
            email_reply_to="advisers@example.org",
            email_after_seconds=AFTER_SECONDS,
            email_retry_seconds=1,
            email_poll_seconds=0.5,
        )
        if not settings.model_file.exists():
            pytest.fail(f"no trained model at {settings.model_file}: the test command runs 'mutuals setup' first")
        with Stack(settings, log_dir=var_dir / "logs") as stack:
            yield stack, smtp


class ReopenedChat(WidgetPerson):
    """The widget on the page an email links to: it asks for the conversation by the link's token,
    reads the history, and says which adviser replies it has shown (as widget.js does)."""

    def __init__(self, rasa_url: str, token: str):
        super().__init__(rasa_url)
        self.token = token
        self.history = None
        self.deleted = None
        self.client.on("history", self._on_history)
        self.client.on("data_deleted", self._on_deleted)

    async def _on_bot(self, message):
        await super()._on_bot(message)
        if message.get("reply_id"):
            await self.client.emit("reply_seen", {"reply_id": message["reply_id"]})

    async def _on_history(self, data):
        self.history = data
        self._arrived.set()

    async def _on_deleted(self, data):
        self.deleted = data
        self._arrived.set()

    async def connect(self) -> "ReopenedChat":
        await self.client.connect(self.rasa_url, transports=["polling"], socketio_path="/socket.io")
        await self.client.emit("session_request", {"session_id": None, "reopen": self.token})
        await self.wait_for(lambda: self.session_id)
        await self.client.emit("history_request", {"session_id": self.session_id})
        await self.wait_for(lambda: self.history is not None)
        return self


def fetch(url: str) -> tuple:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def notices_of(adviser, case_id, until, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        status = await adviser.api("GET", f"/cases/{case_id}/email")
        if until([n["status"] for n in status["notices"]]) or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.5)


def test_a_reply_the_person_left_before_is_emailed_once_and_its_link_opens_the_conversation(
    email_stack, browser_factory
):
    stack, smtp = email_stack
    s = stack.settings
    ConsoleAdviser.create(s.handoff_store, "Alex Adviser", "alex@example.org", PASSWORD)

    async def scenario():
        person = await WidgetPerson(s.rasa_url).connect()
        adviser = ConsoleAdviser(s.web_url)
        chat = None
        try:
            await person.say("I want to talk to a human", wait_for=2)
            await person.say("How do we keep our council pensions if we spin out?")
            asked = await person.say("Sam")
            assert "we'll email it to you with a link back to this chat" in asked[-1]["text"], asked
            assert "Type your email address to agree to that" in asked[-1]["text"]
            handed = await person.say("sam@example.org")
            assert (
                "If you're not here when the adviser replies, we'll email the reply to sam@example.org with a "
                "link back to this chat."
            ) in handed[-1]["text"], handed
            conversation = person.session_id
            await person.close()  # the person leaves: nobody is listening

            assert await adviser.sign_in("alex@example.org", PASSWORD) == 303
            [case] = [
                c for c in (await adviser.api("GET", "/cases"))["waiting"] if c["conversation_id"] == conversation
            ]
            before = await adviser.api("GET", f"/cases/{case['id']}/email")
            assert before["state"] == "on" and "sam@example.org" in before["text"] and before["notices"] == []
            await adviser.api("POST", f"/cases/{case['id']}/reply", {"text": REPLY})
            queued = await adviser.api("GET", f"/cases/{case['id']}/email")
            assert [n["status"] for n in queued["notices"]] == ["queued"]  # not sent by the request itself

            [message] = await asyncio.to_thread(smtp.wait_for, 1, 90)
            sent = await notices_of(adviser, case["id"], lambda statuses: statuses == ["sent"])
            await asyncio.sleep(3)  # a second send (a retry, a second worker) would have come by now
            assert len(smtp.messages) == 1 and smtp.refused == 1  # refused once (451), retried, sent once
            [notice] = sent["notices"]
            assert notice["status"] == "sent" and notice["attempts"] == 2

            assert message["To"] == "sam@example.org" and message["Reply-To"] == "advisers@example.org"
            body = body_of(message)
            assert f"> {REPLY}" in body and "Alex Adviser, an adviser, replied" in body
            link = re.search(r"(http://127\.0\.0\.1:\d+/chat/reopen/([A-Za-z0-9_-]+))", body)
            assert link and link.group(1).startswith(s.web_url), body
            url, token = link.group(1), link.group(2)

            status, page = await asyncio.to_thread(fetch, url)
            assert status == 200 and f'data-reopen="{token}"' in page and "adviser's reply" in page
            guessed, _ = await asyncio.to_thread(fetch, url[:-4] + "abcd")
            assert guessed == 410

            # the link in a browser that never saw the chat: the widget opens on that conversation
            driver = await asyncio.to_thread(browser_factory)
            await asyncio.to_thread(driver.get, url)
            page = Chat(driver)
            await asyncio.to_thread(page.wait_online)
            await asyncio.to_thread(
                wait_for,
                lambda: any(REPLY in m.text for m in page.bot_messages()),
                30,
                "the adviser's reply in the reopened chat",
            )
            assert driver.execute_script("return MutualsWidget.instance.sessionId") == conversation
            # a reply the open chat shows (widget.js says so) is not emailed
            await adviser.api("POST", f"/cases/{case['id']}/reply", {"text": "Anything else I can help with?"})
            await asyncio.to_thread(
                wait_for,
                lambda: any("Anything else I can help" in m.text for m in page.bot_messages()),
                30,
                "the second reply",
            )
            await asyncio.sleep(AFTER_SECONDS + 2)
            seen = await adviser.api("GET", f"/cases/{case['id']}/email")
            assert [n["status"] for n in seen["notices"]] == ["sent", "seen"] and len(smtp.messages) == 1
            await asyncio.to_thread(driver.quit)

            chat = await ReopenedChat(s.rasa_url, token).connect()  # as the widget does, without a browser
            assert chat.session_id == conversation
            assert REPLY in [m["text"] for m in chat.history["messages"]]
            assert chat.history["handoff"]["status"] == "adviser"  # the chat with Alex carries on

            # "Delete my data": the link stops working
            await chat.client.emit("delete_my_data", {"confirm": True})
            await chat.wait_for(lambda: chat.deleted is not None)
            assert chat.deleted == {"erased": True}
            gone, page = await asyncio.to_thread(fetch, url)
            assert gone == 410 and "This link no longer works" in page
        finally:
            await person.close()
            if chat is not None:
                await chat.close()
            await adviser.close()

    asyncio.run(asyncio.wait_for(scenario(), 300))


def test_over_rest_nobody_listens_so_a_reply_is_emailed_unless_the_next_turn_fetches_it(email_stack):
    stack, smtp = email_stack
    s = stack.settings
    ConsoleAdviser.create(s.handoff_store, "Alex Adviser", "alex@example.org", PASSWORD)
    sender = "rest-person-email-1"

    def say(text):
        status, replies = post_json(f"{s.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": text})
        assert status == 200, replies
        return replies

    async def scenario():
        adviser = ConsoleAdviser(s.web_url)
        try:
            for text in ("I want to talk to a human", "Can a mutual pay its staff bonuses?", "skip"):
                await asyncio.to_thread(say, text)
            handed = await asyncio.to_thread(say, "kim@example.org")
            assert "we'll email the reply to kim@example.org" in handed[-1]["text"], handed
            assert await adviser.sign_in("alex@example.org", PASSWORD) == 303
            [case] = [c for c in (await adviser.api("GET", "/cases"))["waiting"] if c["conversation_id"] == sender]
            had = len(smtp.messages)

            await adviser.api("POST", f"/cases/{case['id']}/reply", {"text": "Yes, if the rules allow it."})
            fetched = await asyncio.to_thread(say, "hello?")  # the next REST turn carries the reply
            assert "Yes, if the rules allow it." in [r.get("text") for r in fetched]
            assert all("reply_id" not in r for r in fetched)
            await adviser.api("POST", f"/cases/{case['id']}/reply", {"text": "Look at the bonus rules page."})
            await asyncio.to_thread(smtp.wait_for, had + 1, 90)
            status = await notices_of(adviser, case["id"], lambda statuses: statuses == ["seen", "sent"])
            assert [n["status"] for n in status["notices"]] == ["seen", "sent"]
            mine = [m for m in smtp.messages if m["To"] == "kim@example.org"]
            assert len(mine) == 1 and "> Look at the bonus rules page." in body_of(mine[0])
        finally:
            await adviser.close()

    asyncio.run(asyncio.wait_for(scenario(), 300))
