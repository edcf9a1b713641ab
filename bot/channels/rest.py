"""Rasa's REST channel with its input checked (``/webhooks/rest/webhook``), and the
token-protected relay the Telegram front end uses (``/webhooks/relay/webhook``, and
``/webhooks/relay/erase`` for a person's "delete my data")."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.replies import TROUBLE
from bot.settings import Settings

from ._admission import NOT_AN_OBJECT, Incoming, Rejected, StandIn, admit
from ._checks import check_sender
from ._handoff import HandoffGate
from ._limits import ChannelLimits, Refusal

logger = logging.getLogger(__name__)


class WholeMessages(CollectingOutputChannel):
    """Collects each bot message whole: Rasa's collector cuts text into one message per paragraph,
    which would part an answer from its source line."""

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._persist_message(self._message(recipient_id, text=text.strip()))


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class CheckedRestInput(RestInput):
    """``POST {"sender": "...", "message": "..."}``; answers a list of bot messages.

    Malformed JSON or wrong types get HTTP 400 with a sentence saying what is wrong;
    an empty or over-long message gets a polite reply and never reaches the model.
    """

    allow_reserved_senders = False
    # REST cannot push: an adviser's messages sent between turns come with the person's next reply
    delivers_pushed = True

    def __init__(self, max_chars: Optional[int] = None) -> None:
        settings = Settings.from_env()
        self.max_chars = max_chars or settings.max_message_chars
        self.handoff_gate = HandoffGate()
        self.limits = ChannelLimits.from_settings(settings, channel=self.name())

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(credentials.get("max_chars"))

    def authorised(self, request: Request) -> bool:
        return True

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint(f"checked_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.authorised(request):
                return _error(401, "this webhook needs the relay token")
            over = await self.over_address_limit(request)
            if over:
                return over
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError, RecursionError):
                return _error(400, 'the request body must be JSON like {"sender": "...", "message": "..."}')
            if not isinstance(body, dict):
                return _error(400, NOT_AN_OBJECT)
            sender = body.get("sender")
            collector = WholeMessages()
            verdict = await admit(
                Incoming(
                    sender,
                    body.get("message"),
                    self.channel_of(body),
                    message_id=body.get("message_id"),
                    fallback_message_id=request.headers.get("x-request-id"),  # nginx's, the same for each
                    metadata=body.get("metadata"),
                ),  # server it tries
                limits=self.limits,
                max_chars=self.max_chars,
                gate=self.handoff_gate,
                output_channel=collector,
                allow_reserved=self.allow_reserved_senders,
                deliver_pushed=self.delivers_pushed,
            )
            if isinstance(verdict, Rejected):
                return _error(400, verdict.error)
            if isinstance(verdict, Refusal):
                return self.over_limit(sender, verdict.sentence, verdict.retry_after)
            if isinstance(verdict, StandIn):
                return response.json([{"recipient_id": sender, **verdict.reply}])
            message = verdict
            try:
                await on_new_message(message)
                if message.left_handoff:
                    return response.json([{"recipient_id": sender, **message.left_handoff}])
                if message.help_now:
                    collector.messages.append({"recipient_id": sender, **message.help_now})
            except CancelledError:
                logger.error("rest: the turn for %s timed out", sender)
                if not collector.messages:  # sending it again with its message_id is safe
                    return response.json([{"recipient_id": sender, "text": TROUBLE}])
            except Exception:
                logger.exception("rest: the turn for %s failed", sender)
                if not collector.messages:
                    return response.json([{"recipient_id": sender, "text": TROUBLE}])
            # those adviser replies are not emailed (takes their reply_id out, off the event loop)
            await asyncio.to_thread(self.handoff_gate.replies_fetched, message.sender_id, message.pushed)
            return response.json([{"recipient_id": sender, **m} for m in message.pushed] + collector.messages)

        return webhook

    def channel_of(self, body: Dict[Text, Any]) -> Text:
        return self.name()  # a client may not claim to be another channel

    async def over_address_limit(self, request: Request) -> Optional[HTTPResponse]:
        """HTTP 429 when the client's address sent too many messages in the last minute."""
        address = self.limits.address_of(request.ip, request.headers)
        too_many = await self.limits.check_address(address)
        if too_many:
            logger.warning("rest: %s is over its messages-per-minute limit", address)
            return self.over_limit(None, too_many.sentence, too_many.retry_after)
        return None

    def over_limit(self, sender: Optional[Text], sentence: Text, retry_after: int) -> HTTPResponse:
        return response.json({"error": sentence}, status=429, headers={"Retry-After": str(retry_after)})


class RelayInput(CheckedRestInput):
    """The same as the REST channel, for front ends of our own (Telegram) that speak for a
    whole conversation: requests must carry ``Authorization: Bearer <relay token>``."""

    allow_reserved_senders = True
    delivers_pushed = False  # the Telegram front end was sent them already

    def __init__(self, max_chars: Optional[int] = None, token: Optional[str] = None) -> None:
        super().__init__(max_chars)
        self.token = token if token is not None else Settings.from_env().relay_token

    @classmethod
    def name(cls) -> Text:
        return "relay"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(credentials.get("max_chars"), credentials.get("token"))

    def authorised(self, request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return bool(self.token) and hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode())

    def channel_of(self, body: Dict[Text, Any]) -> Text:
        metadata = body.get("metadata")
        return str((metadata.get("channel") if isinstance(metadata, dict) else None) or self.name())

    async def over_address_limit(self, request: Request) -> Optional[HTTPResponse]:
        return None  # one authenticated front end speaking for many people: only conversations are limited

    def over_limit(self, sender: Optional[Text], sentence: Text, retry_after: int) -> HTTPResponse:
        return response.json([{"recipient_id": sender, "text": sentence}])  # the person reads it in Telegram

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        from ._erasure import EraseRequests

        erase_requests = EraseRequests(self.handoff_gate)

        @webhook.route("/erase", methods=["POST"])
        async def erase(request: Request) -> HTTPResponse:
            """``POST {"sender": "tg-..."}`` with the relay token: erase that conversation and its cases
            (the person's "delete my data", confirmed by the front end, or a supervisor's erasure for
            them from the console, which adds ``"by_adviser_id"`` for the audit trail); under Rasa's
            lock on the conversation, so no turn in progress writes it back. See docs/privacy.md."""
            if not self.authorised(request):
                return _error(401, "this webhook needs the relay token")
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                body = None
            if not isinstance(body, dict):
                return _error(400, 'the request body must be JSON like {"sender": "..."}')
            problem = check_sender(body.get("sender"), allow_reserved=True)
            if problem:
                return _error(400, problem)
            by_id = body.get("by_adviser_id")
            if by_id is not None and (isinstance(by_id, bool) or not isinstance(by_id, int)):
                return _error(400, "'by_adviser_id' must be an adviser's id")
            try:
                by = await asyncio.to_thread(self.handoff_gate.store.adviser, by_id) if by_id is not None else None
                if by_id is not None and by is None:
                    return _error(400, "'by_adviser_id' names no adviser")
                erased = await erase_requests.erase(getattr(request.app.ctx, "agent", None), body["sender"], by)
            except Exception:
                logger.exception("relay: erasing a conversation failed")
                return _error(500, "the conversation could not be erased; try again")
            return response.json(erased.as_json())

        return webhook
