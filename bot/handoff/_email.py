"""Email that reaches people who have left: an adviser's reply the person has not seen in the
chat within ``email_after_seconds`` is emailed to the address they gave with consent, with its
text and a link that reopens the same conversation in the web chat.

- :class:`EmailingDesk` (the web server's :class:`AdviserDesk`) queues a notice in the outbox
  (bot/handoff/_outbox.py) for each reply on a consenting case, before the reply is pushed, and
  marks the reply with the notice's id (``custom.reply_id``): the widget acknowledges replies it
  receives, and the channels mark replies fetched with a history or a REST turn as seen.
- :class:`EmailWorker` runs in each web server process, outside the request that saved the reply:
  it claims due notices (one owner in the whole cluster), sends them with aiosmtplib, retries a
  refusal (4xx) or a connection failure with back-off, and records ``sent`` or ``failed`` and why.
- Settings (bot/settings.py): ``smtp_url``, ``email_from``, ``email_reply_to`` and the timings;
  email is off unless the server and the sender are set.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, Dict, List, Optional
from urllib.parse import unquote, urlsplit

from bot.settings import Settings, SettingsError

from ._desk import AdviserDesk
from ._outbox import Notice, Outbox, outbox_of
from ._store import Adviser, Case, HandoffError, HandoffStore

logger = logging.getLogger(__name__)
EMAILED_CHANNELS = ("socketio", "rest")  # Telegram delivers an adviser's reply to the person's app itself
LOOPBACK = ("127.0.0.1", "::1", "localhost")
SUBJECT = "An adviser has replied to your question"


@dataclasses.dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    username: Optional[str]
    password: Optional[str]
    use_tls: bool  # TLS from the first byte (smtps://)
    start_tls: bool  # STARTTLS required (smtp://)

    @classmethod
    def from_url(cls, url: str) -> "SmtpServer":
        """``smtps://user:pw@host:465``, ``smtp://user:pw@host:587`` (STARTTLS, required) or, on
        loopback only, ``smtp+plain://127.0.0.1:1025`` (a local relay or a test server)."""
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("smtps", "smtp", "smtp+plain") or not parts.hostname:
            raise SettingsError(
                "MUTUALS_SMTP_URL must be smtps://user:password@host:465, "
                "smtp://user:password@host:587 (STARTTLS) or smtp+plain://127.0.0.1:port"
            )
        if scheme == "smtp+plain" and parts.hostname not in LOOPBACK:
            raise SettingsError("MUTUALS_SMTP_URL: smtp+plain (no TLS) is allowed only to a server on loopback")
        port = parts.port or {"smtps": 465, "smtp": 587, "smtp+plain": 25}[scheme]
        return cls(
            parts.hostname,
            port,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
            scheme == "smtps",
            scheme == "smtp",
        )


def reopen_url(settings: Settings, token: str) -> str:
    return f"{settings.web_url}/chat/reopen/{token}"


def email_text(case: Case, notice: Notice, link: str, link_days: float) -> str:
    greeting = f"Hello {case.person_name}," if case.person_name else "Hello,"
    who = f"{notice.adviser_name}, an adviser," if notice.adviser_name else "An adviser"
    days = f"{link_days:g} day" + ("" if link_days == 1 else "s")
    quoted = "\n".join("> " + line if line else ">" for line in notice.text.splitlines())
    return (
        f"{greeting}\n\n{who} replied to the question you asked the Mutuals Assistant. You had left the "
        f"chat, so here is the reply:\n\n{quoted}\n\nTo read it in the chat and carry on the conversation, "
        f"open this link:\n{link}\n\nThe link works for {days} and opens only your conversation; do not "
        "forward this email. You can delete your conversation and this case at any time with "
        "\"Delete my data\" in the chat.\n\nYou were sent this because you gave this address when you "
        "asked for an adviser. If that was not you, ignore this email.\n\nMutuals Assistant\n"
    )


def compose(settings: Settings, case: Case, notice: Notice, link: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.email_from
    message["To"] = case.email
    if settings.email_reply_to:
        message["Reply-To"] = settings.email_reply_to
    message["Subject"] = SUBJECT
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(settings.email_from)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(f"reply-{notice.id}", domain=domain)
    message.set_content(email_text(case, notice, link, settings.email_link_days))
    return message


class SendFailure(Exception):
    """Sending failed; ``permanent`` when trying again cannot help (a 5xx answer)."""

    def __init__(self, why: str, permanent: bool):
        super().__init__(why)
        self.permanent = permanent


async def send_message(server: SmtpServer, message: EmailMessage, timeout: float = 30.0) -> None:
    import aiosmtplib

    try:
        await aiosmtplib.send(
            message,
            hostname=server.hostname,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=True if server.start_tls else False,
            timeout=timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        why = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        raise SendFailure(
            f"the mail server refused the address: {why}", permanent=all(c >= 500 for c in codes)
        ) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise SendFailure(f"the mail server answered {exc.code} {exc.message}", permanent=exc.code >= 500) from None
    except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
        raise SendFailure(
            f"could not reach the mail server ({exc.__class__.__name__}: {exc})"[:300], permanent=False
        ) from None


class EmailWorker:
    """Sends the outbox's due notices, in the web server process (``start``/``stop``)."""

    def __init__(self, settings: Settings, store: HandoffStore, sender=send_message):
        self.settings = settings
        self.store = store
        self.outbox = outbox_of(store)
        self.server = SmtpServer.from_url(settings.smtp_url) if settings.email_enabled else None
        self._send = sender
        self._task: Optional[asyncio.Task] = None
        self._wake = asyncio.Event()

    def poke(self) -> None:
        """Look now (a notice has just been queued or become due)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Send what is due now; the number sent."""
        if self.server is None:
            return 0
        await asyncio.to_thread(self.outbox.interrupted)
        sent = 0
        for notice in await asyncio.to_thread(self.outbox.claim_due):
            sent += await self._deliver(notice)
        return sent

    async def _deliver(self, notice: Notice) -> int:
        try:
            case = self.store.case(notice.case_id)
        except HandoffError:  # erased meanwhile
            self.outbox.failed(notice, "the case no longer exists")
            return 0
        if not case.email or not self.outbox.consented(case.id):
            self.outbox.failed(notice, "the person gave no email address with consent")
            return 0
        link = reopen_url(self.settings, self.outbox.new_link(notice, self.settings.email_link_days))
        try:
            await self._send(self.server, compose(self.settings, case, notice, link))
        except SendFailure as exc:
            if exc.permanent or notice.attempts >= self.settings.email_attempts:
                self.outbox.failed(notice, f"{exc} (after {notice.attempts} attempt(s))")
                logger.warning("email: the reply email for case %s failed: %s", case.id, exc)
            else:
                delay = self.settings.email_retry_seconds * 2 ** (notice.attempts - 1)
                self.outbox.retry(notice, f"{exc}; trying again", delay)
                logger.info("email: case %s's reply email will be tried again in %.0f s: %s", case.id, delay, exc)
            return 0
        self.outbox.sent(notice)
        logger.info("email: sent case %s's reply email (notice %s)", case.id, notice.id)
        return 1

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup: the next round tries again
                logger.exception("email: the outbox worker's round failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.email_poll_seconds)
            except asyncio.TimeoutError:
                pass

    def start(self) -> None:
        if self.server is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


_replying: contextvars.ContextVar = contextvars.ContextVar("mutuals_replying", default=None)


class EmailingDesk(AdviserDesk):
    """The adviser's desk, with each reply on a case whose person consented queued for email
    (sent only if the person has not seen it in the chat by the time it is due)."""

    def __init__(self, settings: Settings, store: HandoffStore, telegram_push=None):
        super().__init__(settings, store, telegram_push=telegram_push)
        self.outbox: Outbox = outbox_of(store)
        self.worker: Optional[EmailWorker] = None

    async def reply(
        self, case_id: int, adviser: Adviser, text: str, sources: Optional[List[Dict[str, str]]] = None
    ) -> Case:
        token = _replying.set({"case_id": case_id, "adviser": adviser.name, "text": (text or "").strip()})
        try:
            return await super().reply(case_id, adviser, text, sources=sources)
        finally:
            _replying.reset(token)

    async def append(
        self, conversation_id: str, events: List[Dict[str, Any]], output_channel: Optional[str] = None
    ) -> None:
        replying, queued = _replying.get(), None
        if replying and self.settings.email_enabled:
            for event in events:
                custom = (event.get("data") or {}).get("custom") or {}
                if (
                    event.get("event") == "bot"
                    and (custom.get("sender") or {}).get("kind") == "adviser"
                    and event.get("text") == replying["text"]
                ):
                    case = self.store.case(replying["case_id"])
                    if case.channel in EMAILED_CHANNELS:
                        queued = self.outbox.queue(
                            case, replying["text"], replying["adviser"], self.settings.email_after_seconds
                        )
                    if queued is not None:
                        custom["reply_id"] = str(queued)
        try:
            await super().append(conversation_id, events, output_channel=output_channel)
        except Exception:
            if queued is not None:  # the reply is not in the conversation: nothing to email
                self.outbox.cancel(queued, "the reply did not reach the conversation")
            raise
        if queued is not None and self.worker is not None:
            asyncio.get_running_loop().call_later(self.settings.email_after_seconds + 0.05, self.worker.poke)


def email_status(settings: Settings, outbox: Outbox, case: Case) -> Dict[str, Any]:
    """What the console shows about email on a case."""
    if not settings.email_enabled:
        state, text = (
            "off",
            (
                "Email is off: no mail server is set up, so replies are never emailed and the "
                "person was not told they would be."
            ),
        )
    elif case.channel not in EMAILED_CHANNELS:
        state, text = "not-needed", "Replies reach this person in their Telegram chat; none is emailed."
    elif not case.email:
        state, text = "no-address", "The person gave no email address: replies wait for them in the chat."
    elif not outbox.consented(case.id):
        state, text = (
            "no-consent",
            (
                "The person gave an address before email was switched on, without being "
                "told replies would be emailed: none is sent."
            ),
        )
    else:
        minutes = settings.email_after_seconds / 60
        after = (
            f"{minutes:g} minute" + ("" if minutes == 1 else "s")
            if minutes >= 1
            else f"{settings.email_after_seconds:g} seconds"
        )
        state, text = (
            "on",
            (
                f"A reply the person has not seen in the chat within {after} is emailed to "
                f"{case.email}, with a link back to this conversation."
            ),
        )
    return {"state": state, "text": text, "notices": [n.as_json() for n in outbox.notices(case.id)]}
