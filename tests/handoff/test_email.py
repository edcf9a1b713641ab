"""Email that reaches people who have left (issue 17 item 5), without the Rasa stack: the outbox,
the worker against a real SMTP server on loopback (aiosmtpd), the links, consent and erasure.
tests/handoff/test_email_end_to_end.py runs the same through the whole stack."""

import asyncio
import re
import threading

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff as intake
from bot.handoff import AdviserDesk, HandoffStore
from bot.handoff._email import EmailingDesk, EmailWorker, SmtpServer as SmtpTarget, email_status
from bot.handoff._outbox import outbox_of
from bot.privacy import ConversationEraser
from bot.settings import Settings, SettingsError
from tests.support.smtp_server import SmtpServer, body as body_of

REPLY = "Hi Sam, you'd join the LGPS as an admitted body.\nCall us if that's unclear."
LINK = re.compile(r"https://chat\.example\.org/chat/reopen/([A-Za-z0-9_-]{40,})")


def settings(tmp_path, smtp_url="smtp+plain://127.0.0.1:1", **overrides):
    values = dict(
        var_dir=tmp_path,
        public_url="https://chat.example.org",
        smtp_url=smtp_url,
        email_from="Mutuals Assistant <advice@example.org>",
        email_reply_to="advisers@example.org",
        email_after_seconds=0.0,
        email_retry_seconds=0.3,
        email_poll_seconds=0.1,
    )
    values.update(overrides)
    return Settings.from_env(env={}, **values)


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def store(tmp_path):
    s = HandoffStore(f"sqlite:///{tmp_path / 'handoffs.db'}")
    yield s
    s.dispose()


def consenting_case(store, conversation="0123456789abcdef0123456789abcdef", email="sam@example.org"):
    case = store.open_case(conversation, "socketio", "How do pensions transfer?", person_name="Sam", email=email)
    outbox_of(store).record_consent(case)
    return case


def test_an_unseen_reply_refused_once_is_retried_and_arrives_once_with_a_link_to_its_conversation(tmp_path, store):
    case = consenting_case(store)
    outbox = outbox_of(store)
    with SmtpServer(refuse_first=1) as smtp:
        worker = EmailWorker(settings(tmp_path, smtp.url), store)
        notice_id = outbox.queue(case, REPLY, "Alex Adviser", after_seconds=0)

        assert asyncio.run(worker.run_once()) == 0  # 451: not sent, queued again with why
        refused = outbox.notice(notice_id)
        assert smtp.refused == 1 and smtp.messages == []
        assert refused.status == "queued" and refused.attempts == 1 and "451" in refused.last_error
        assert asyncio.run(worker.run_once()) == 0  # not yet: the retry waits (back-off)

        import time

        time.sleep(0.4)
        assert asyncio.run(worker.run_once()) == 1
        assert asyncio.run(worker.run_once()) == 0  # nothing twice
        [message] = smtp.wait_for(1)

    assert message["To"] == "sam@example.org" and message["X-Envelope-To"] == "sam@example.org"
    assert message["From"] == "Mutuals Assistant <advice@example.org>"
    assert message["Reply-To"] == "advisers@example.org"
    assert message["Subject"] == "An adviser has replied to your question"
    body = body_of(message)
    assert body.startswith("Hello Sam,") and "Alex Adviser, an adviser, replied" in body
    assert "> Hi Sam, you'd join the LGPS as an admitted body.\n> Call us if that's unclear." in body
    token = LINK.search(body).group(1)
    assert outbox.open_link(token) == case.conversation_id
    assert outbox.open_link(token[:-1] + ("A" if token[-1] != "A" else "B")) is None  # a near guess opens nothing
    sent = outbox.notice(notice_id)
    assert sent.status == "sent" and sent.attempts == 2 and sent.sent_at
    status = email_status(settings(tmp_path), outbox, store.case(case.id))
    assert status["state"] == "on" and [n["status"] for n in status["notices"]] == ["sent"]


def test_a_reply_the_chat_has_shown_is_not_emailed(tmp_path, store):
    case = consenting_case(store)
    outbox = outbox_of(store)
    first = outbox.queue(case, "first reply", "Alex", after_seconds=0)
    second = outbox.queue(case, "second reply", "Alex", after_seconds=0)
    assert outbox.mark_seen("another-conversation", [first, second]) == 0  # only the conversation's own
    assert outbox.mark_seen(case.conversation_id, [first, "not-a-number"]) == 1
    with SmtpServer() as smtp:
        assert asyncio.run(EmailWorker(settings(tmp_path, smtp.url), store).run_once()) == 1
        [message] = smtp.wait_for(1)
    assert "second reply" in body_of(message) and "first reply" not in body_of(message)
    assert [n.status for n in outbox.notices(case.id)] == ["seen", "sent"]


def test_two_web_servers_never_send_the_same_reply_twice(tmp_path, store):
    url = f"sqlite:///{tmp_path / 'handoffs.db'}"
    case = consenting_case(store)
    ids = [outbox_of(store).queue(case, f"reply {n}", "Alex", after_seconds=0) for n in range(12)]
    servers = [HandoffStore(url), HandoffStore(url)]  # two processes' stores on one database
    owned, start = [[], []], threading.Barrier(2)

    def claim(n):
        start.wait()
        for _ in range(12):
            owned[n] += [notice.id for notice in outbox_of(servers[n]).claim_due(limit=3)]

    threads = [threading.Thread(target=claim, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(owned[0] + owned[1]) == sorted(ids) and not set(owned[0]) & set(owned[1])

    more = [outbox_of(store).queue(case, f"later {n}", "Alex", after_seconds=0) for n in range(6)]
    with SmtpServer() as smtp:
        workers = [EmailWorker(settings(tmp_path, smtp.url), s) for s in servers]

        async def both():
            return await asyncio.gather(*(w.run_once() for w in workers))

        assert sum(asyncio.run(both())) == 6
        messages = smtp.wait_for(6)
    bodies = sorted(re.search(r"> (later \d)", body_of(m)).group(1) for m in messages)
    assert bodies == sorted(f"later {n}" for n in range(6)) and len(more) == 6
    for s in servers:
        s.dispose()


def test_a_server_that_stops_mid_send_is_not_sent_again(tmp_path):
    clock = Clock()
    store = HandoffStore(f"sqlite:///{tmp_path / 'h.db'}", clock=clock)
    case = consenting_case(store)
    outbox = outbox_of(store)
    notice_id = outbox.queue(case, REPLY, "Alex", after_seconds=0)
    [claimed] = outbox.claim_due()
    assert outbox.claim_due() == []  # owned: nobody else takes it
    clock.now += 121  # its worker never finished
    assert outbox.interrupted() == 1
    assert outbox.notice(notice_id).status == "failed" and "not sent again" in outbox.notice(notice_id).last_error
    assert not outbox.sent(claimed)  # the late worker cannot change the record
    store.dispose()


def test_a_permanent_refusal_fails_with_the_reason(tmp_path, store):
    case = consenting_case(store)
    outbox = outbox_of(store)
    notice_id = outbox.queue(case, REPLY, "Alex", after_seconds=0)

    async def refuse(server, message):
        from bot.handoff._email import SendFailure

        raise SendFailure("the mail server refused the address: 550 5.1.1 no such user", permanent=True)

    worker = EmailWorker(settings(tmp_path), store, sender=refuse)
    assert asyncio.run(worker.run_once()) == 0
    failed = outbox.notice(notice_id)
    assert failed.status == "failed" and "550 5.1.1 no such user" in failed.last_error


def test_links_expire_and_stop_working_when_the_person_deletes_their_data(tmp_path):
    clock = Clock()
    store = HandoffStore(f"sqlite:///{tmp_path / 'h.db'}", clock=clock)
    outbox = outbox_of(store)
    mine, theirs = consenting_case(store), consenting_case(store, "f" * 32)
    token = outbox.new_link(outbox.notice(outbox.queue(mine, REPLY, "Alex", 0)), days=7)
    other = outbox.new_link(outbox.notice(outbox.queue(theirs, REPLY, "Alex", 0)), days=7)
    assert outbox.open_link(token) == mine.conversation_id and outbox.open_link(other) == "f" * 32
    import sqlalchemy as sa

    with store.engine.connect() as db:  # only a hash of the token is kept
        kept = " ".join(str(r) for r in db.execute(sa.text("SELECT * FROM reopen_links")))
    assert token not in kept and other not in kept

    clock.now += 7 * 86400 - 1
    assert outbox.open_link(token) == mine.conversation_id
    clock.now += 2
    assert outbox.open_link(token) is None  # expired

    clock.now -= 2
    eraser = ConversationEraser(f"sqlite:///{tmp_path / 'trackers.db'}", store)
    eraser.erase(mine.conversation_id)  # "Delete my data"
    assert outbox.open_link(token) is None and outbox.notices(mine.id) == []
    assert not outbox.consented(mine.id)
    assert outbox.open_link(other) == "f" * 32  # someone else's link still works
    eraser.dispose()
    store.dispose()


def test_a_rest_conversation_opened_by_its_link_carries_on_in_the_web_chat(store):
    case = store.open_case("rest-person-1", "rest", "q", email="kim@example.org")
    outbox = outbox_of(store)
    assert outbox.continued_in_web_chat("rest-person-1") is True
    assert store.case(case.id).channel == "socketio"  # the adviser's next reply is pushed to the widget
    assert outbox.continued_in_web_chat("rest-person-1") is False
    assert "continued in the web chat" in [a["action"] for a in store.audit_trail(case.id)]


def test_with_no_mail_server_nothing_is_sent_or_promised(tmp_path, store):
    off = Settings.from_env(env={}, var_dir=tmp_path)
    assert not off.email_enabled
    case = consenting_case(store)
    assert asyncio.run(EmailWorker(off, store).run_once()) == 0
    status = email_status(off, outbox_of(store), case)
    assert status["state"] == "off" and "Email is off" in status["text"]
    import yaml
    from bot.settings import ROOT

    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    # the question the trained model asks, and the action's, are the same and promise no email
    assert intake.email_question(off) == domain["responses"]["utter_ask_handoff_email"][0]["text"]
    assert "don't send replies by email" in intake.email_question(off)


@pytest.mark.parametrize(
    "url, ok",
    [
        ("smtps://user:p%40ss@mail.example.org", ("mail.example.org", 465, "user", "p@ss", True, False)),
        ("smtp://mail.example.org:2525", ("mail.example.org", 2525, None, None, False, True)),
        ("smtp+plain://127.0.0.1:1025", ("127.0.0.1", 1025, None, None, False, False)),
        ("smtp+plain://mail.example.org:25", None),  # no TLS off loopback
        ("http://mail.example.org", None),
    ],
)
def test_the_smtp_url_says_how_tls_is_used(url, ok):
    if ok is None:
        with pytest.raises(SettingsError):
            SmtpTarget.from_url(url)
    else:
        target = SmtpTarget.from_url(url)
        assert (target.hostname, target.port, target.username, target.password, target.use_tls, target.start_tls) == ok


# ---- the desk: which replies are queued --------------------------------------------------------


def test_only_replies_on_a_consenting_case_are_queued_and_marked_for_the_chat(tmp_path, store, monkeypatch):
    pushed = []

    async def append(self, conversation_id, events, output_channel=None):
        if "refuse" in conversation_id:
            from bot.handoff import RasaUnavailable

            raise RasaUnavailable("the assistant cannot be reached")
        pushed.append((conversation_id, events))

    monkeypatch.setattr(AdviserDesk, "append", append)
    from bot.console import hash_password

    alex = store.add_adviser("Alex Adviser", "alex@example.org", "adviser", hash_password("a long test password"))
    desk = EmailingDesk(settings(tmp_path, email_after_seconds=60), store)
    consenting = consenting_case(store)
    without = store.open_case("b" * 32, "socketio", "q", email="kim@example.org")  # no consent recorded
    telegram = store.open_case("tg-1", "telegram", "q", email="lee@example.org", chat_id="1")
    outbox_of(store).record_consent(telegram)

    async def replies():
        for case in (consenting, without, telegram):
            await desk.reply(case.id, alex, f"reply to {case.conversation_id}")

    asyncio.run(replies())
    custom = {
        cid: [
            e["data"]["custom"]
            for e in events
            if e.get("event") == "bot" and e["data"]["custom"]["sender"]["kind"] == "adviser"
        ]
        for cid, events in pushed
    }
    [queued] = outbox_of(store).notices(consenting.id)
    assert custom[consenting.conversation_id] == [
        {"sender": {"kind": "adviser", "name": "Alex Adviser"}, "reply_id": str(queued.id)}
    ]
    assert queued.status == "queued" and queued.text == f"reply to {consenting.conversation_id}"
    assert 59 < queued.due_at - queued.created_at <= 60
    assert "reply_id" not in custom["b" * 32][0] and outbox_of(store).notices(without.id) == []
    assert "reply_id" not in custom["tg-1"][0] and outbox_of(store).notices(telegram.id) == []

    refused = consenting_case(store, "refuse" + "0" * 26)
    with pytest.raises(Exception):
        asyncio.run(desk.reply(refused.id, alex, "this never reaches the conversation"))
    assert [n.status for n in outbox_of(store).notices(refused.id)] == ["cancelled"]


# ---- the intake: consent, and what the person is told -------------------------------------------


def tracker_after(question_text, email="sam@example.org", channel="socketio"):
    events = [
        {"event": "bot", "text": question_text},
        {"event": "user", "text": email, "input_channel": channel, "parse_data": {"intent": {"name": "nlu_fallback"}}},
    ]
    return Tracker(
        sender_id="c" * 32,
        slots={"handoff_question": "How do pensions transfer?", "handoff_name": "Sam", "handoff_email": email},
        latest_message={"text": email, "intent": {"name": "nlu_fallback"}, "entities": [], "metadata": {}},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize(
    "hours, expected",
    [
        (
            "Mon-Sun 00:00-24:00",
            "If you're not here when the adviser replies, we'll email the reply to sam@example.org "
            "with a link back to this chat.",
        ),
        (
            "Mon-Mon 09:00-09:01",
            "No email comes before an adviser replies, so not before Monday; then, if you haven't "
            "seen the reply here, we'll email it to sam@example.org with a link back to this chat.",
        ),
    ],
)
def test_consent_is_the_address_typed_after_the_email_on_question(tmp_path, store, monkeypatch, hours, expected):
    on = settings(tmp_path, email_after_seconds=300, adviser_hours=hours)
    monkeypatch.setattr(Settings, "from_env", classmethod(lambda cls, env=None, **kw: on))
    monkeypatch.setattr(intake, "topic_of", lambda question: question)
    intake.use_store(store)
    try:
        asked = CollectingDispatcher()
        asyncio.run(intake.ActionAskHandoffEmail().run(asked, tracker_after(""), {}))
        question = asked.messages[0]["text"]
        assert "within 5 minutes of the adviser sending it, we'll email it to you" in question
        assert [b["title"] for b in asked.messages[0]["buttons"]] == ["Skip", "Cancel"]
        on_telegram = CollectingDispatcher()  # Telegram has the reply in the person's app: never emailed
        asyncio.run(intake.ActionAskHandoffEmail().run(on_telegram, tracker_after("", channel="telegram"), {}))
        assert "don't send replies by email" in on_telegram.messages[0]["text"]

        told = CollectingDispatcher()
        asyncio.run(intake.ActionCreateHandoff().run(told, tracker_after(question), {}))
        [case] = store.cases("waiting")
        assert outbox_of(store).consented(case.id)
        assert expected in told.messages[0]["text"]

        # an address typed after the email-off question (the domain's) is no consent, email on or not
        import yaml
        from bot.settings import ROOT

        domain = yaml.safe_load((ROOT / "domain.yml").read_text())
        other = tracker_after(domain["responses"]["utter_ask_handoff_email"][0]["text"], email="kim@example.org")
        other.sender_id = "d" * 32
        told = CollectingDispatcher()
        asyncio.run(intake.ActionCreateHandoff().run(told, other, {}))
        kim = store.open_case_for("d" * 32)
        assert not outbox_of(store).consented(kim.id) and "we'll email" not in told.messages[0]["text"]
    finally:
        intake.use_store(None)


# ---- the web server: the console's email box and the link's page -------------------------------


def test_the_console_says_email_is_off_and_a_bad_link_opens_nothing(tmp_path):
    from aiohttp.test_utils import TestClient, TestServer

    from bot.console import COOKIE, hash_password
    from bot.web.app import create_app

    off = Settings.from_env(env={}, var_dir=tmp_path)
    store = HandoffStore(off.handoff_store)
    alex = store.add_adviser("Alex Adviser", "alex@example.org", "adviser", hash_password("a long test password"))
    cookie, _ = store.start_session(alex)
    case = store.open_case("e" * 32, "socketio", "q", email="sam@example.org")

    async def visit():
        async with TestClient(TestServer(create_app(off))) as client:
            anonymous = await client.get(f"/console/api/cases/{case.id}/email")
            client.session.cookie_jar.update_cookies({COOKIE: cookie})
            shown = await client.get(f"/console/api/cases/{case.id}/email")
            page = await client.get("/chat/reopen/" + "x" * 43)
            return anonymous.status, await shown.json(), page.status, await page.text(), page.headers

    anonymous, shown, status, page, headers = asyncio.run(visit())
    assert anonymous == 401
    assert shown["state"] == "off" and shown["text"].startswith("Email is off") and shown["notices"] == []
    assert status == 410 and "This link no longer works" in page and "data-reopen" not in page
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    store.dispose()


def test_with_email_on_the_web_server_runs_the_outbox_worker(tmp_path):
    from aiohttp.test_utils import TestClient, TestServer

    from bot.web._reopen import WORKER_KEY
    from bot.web.app import create_app

    with SmtpServer() as smtp:
        on = settings(tmp_path, smtp.url)
        store = HandoffStore(on.handoff_store)
        case = consenting_case(store)
        outbox_of(store).queue(case, REPLY, "Alex Adviser", after_seconds=0)

        async def serve():
            app = create_app(on)
            async with TestClient(TestServer(app)):
                await asyncio.to_thread(smtp.wait_for, 1, 20)  # sent by the server's own worker
                assert app[WORKER_KEY]._task is not None
            return app[WORKER_KEY]._task  # stopped with the server

        assert asyncio.run(serve()) is None
        assert len(smtp.messages) == 1 and [n.status for n in outbox_of(store).notices(case.id)] == ["sent"]
    store.dispose()
