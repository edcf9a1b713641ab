"""The socket.io channel the web chat widget talks to (Rasa's ``socketio`` channel, rebuilt).

Differences from Rasa 3.6's own:
- persistent sessions always: a browser keeps its ``session_id`` and every tab and reload
  joins the same room, so replies and an adviser's messages reach all of them;
- ``session_id`` must look like one we hand out (32 hex digits), so nobody joins a room by
  typing a guess such as ``"admin"``;
- messages are checked (type, emptiness, length) before Rasa sees them;
- one ``bot_uttered`` event per bot message, with its buttons, instead of one per paragraph;
- ``history_request`` answers with the conversation so far, read from the tracker store.

Events (client → server):
- ``session_request {session_id?}``: join the conversation (a stored id, or none for a new
  one); answered with ``session_confirm`` carrying the id (a string) to keep in localStorage;
  ``session_request {reopen: token}`` (the page a reply email links to) joins the one conversation
  the token was made for, while it is valid (bot/handoff/_outbox.py), else a new one;
- ``reply_seen {reply_id}``: the widget has shown the adviser's reply with this id (``bot_uttered``
  carries it), so it is not emailed to the person (bot/handoff/_email.py); a ``history`` sent with
  a reply in it counts the same;
- ``user_uttered {session_id, message, message_id?, button_title?, metadata?}``: a message; for
  a quick-reply button, ``message`` is its payload (``/intent...``) and ``button_title`` its
  title, which the history then shows instead of the payload. ``message_id`` (8 to 64 letters,
  digits or ``. _ : -``) makes sending it again after a lost connection safe: a message whose id
  the conversation already has is answered with its turn's replies, not run twice;
- ``history_request {}``: answered with ``history {messages: [{text, buttons, sender,
  message_id?}], handoff}``, the conversation so far (``handoff``: the status-line event of the
  conversation's open handoff case, or null) (the widget asks again after every reconnect, to show
  what it missed, and sends again a message of its own that the history lacks).
- ``delete_my_data {confirm: true}``: erase the conversation and its handoff cases (the widget
  asks the person to confirm first); answered to every tab of the session with
  ``data_deleted {erased: true}`` (or ``{erased: false, error}``), after which the widget forgets
  its ``session_id`` and history and starts a new session (see docs/privacy.md).

Server → client: ``session_confirm``, ``history``, and ``bot_uttered {text, buttons:
[{title, payload}], sender: {kind: "bot"|"adviser", name?}, event?, reply_id?}``; a message with an
``event`` (such as a handoff's status) may have empty text. ``sender.kind`` in ``history`` is
``user``, ``bot`` or ``adviser``. The client is bot/web/static/widget/widget.js.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
import socketio
from socketio import AsyncServer

from bot.rasa_patches.socketio_queue import subscribe_before_serving
from bot.replies import TROUBLE
from bot.settings import Settings

from ._admission import NOT_AN_OBJECT, Incoming, Rejected, StandIn, admit
from ._erasure import EraseRequests
from ._handoff import HandoffGate
from ._limits import TOO_MANY_CONNECTIONS, ChannelLimits, Refusal
from socketio.exceptions import ConnectionRefusedError as RefusedConnection

logger = logging.getLogger(__name__)
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
COULD_NOT_READ = "Sorry, I couldn't read that message."


def bot_message(
    text: str = "", buttons: Optional[List[Dict[str, Any]]] = None, sender: Optional[Dict[str, str]] = None
) -> Dict[str, Any]:
    """The one shape of a message the widget is sent."""
    return {
        "text": text or "",
        "buttons": [{"title": b.get("title", ""), "payload": b.get("payload", "")} for b in buttons or []],
        "sender": sender or {"kind": "bot", "name": "Mutuals Assistant"},
    }


class WidgetOutput(OutputChannel):
    @classmethod
    def name(cls) -> Text:
        return "socketio"

    def __init__(self, sio: AsyncServer, event: Text = "bot_uttered") -> None:
        self.sio = sio
        self.event = event

    async def emit(self, room: Text, message: Dict[str, Any]) -> None:
        await self.sio.emit(self.event, message, room=room)

    async def answer(self, sid: Text, message: Dict[str, Any]) -> None:
        """To the one socket whose event this server is handling: it is here, so straight to it,
        not round through the message queue."""
        await self.sio.emit(self.event, message, room=sid, ignore_queue=True)

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        buttons = message.get("buttons") or message.get("quick_replies") or []
        custom = message.get("custom") or {}
        sender = custom.get("sender") if isinstance(custom, dict) else None
        event = custom.get("event") if isinstance(custom, dict) else None
        # an adviser's reply that may be emailed carries its id: the widget says it has it (reply_seen)
        reply_id = custom.get("reply_id") if isinstance(custom, dict) else None
        if message.get("text") or buttons:  # a message and its event (a handoff's status line) arrive as one
            await self.emit(
                recipient_id,
                {
                    **bot_message(message.get("text", ""), buttons, sender),
                    **({"event": event} if event else {}),
                    **({"reply_id": str(reply_id)} if reply_id else {}),
                },
            )
        elif event:
            await self.emit(
                recipient_id, {"text": "", "buttons": [], "sender": sender or {"kind": "bot"}, "event": event}
            )

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.emit(recipient_id, bot_message(text))


class _AttachingBlueprint(Blueprint):
    def __init__(self, sio: AsyncServer, path: Text, channel: "WidgetInput", *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.ctx.sio, self.ctx.path, self.ctx.channel = sio, path, channel

    def register(self, app: Sanic, options: Dict[Text, Any]) -> None:
        self.ctx.sio.attach(app, self.ctx.path)
        self.ctx.channel.app = app
        if isinstance(self.ctx.sio.manager, socketio.AsyncRedisManager):
            app.register_listener(self._listen_to_queue, "before_server_start")
        super().register(app, options)

    async def _listen_to_queue(self, app: Sanic, loop: Any = None) -> None:
        await subscribe_before_serving(self.ctx.sio)  # python-socketio would wait for a first connection


class WidgetInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("cors_allowed_origins"),
            credentials.get("max_chars"),
        )

    def __init__(
        self, socketio_path: Text = "/socket.io", cors_allowed_origins: Any = None, max_chars: Optional[int] = None
    ) -> None:
        settings = Settings.from_env()
        self.socketio_path = socketio_path
        origins = cors_allowed_origins if cors_allowed_origins is not None else settings.allowed_origins
        if isinstance(origins, str):
            origins = [o.strip() for o in origins.split(",") if o.strip()]
        self.cors_allowed_origins = "*" if origins in (["*"], "*") else list(origins)
        self.max_chars = max_chars or settings.max_message_chars
        self.queue_url = settings.socketio_queue_url
        self.sio: Optional[AsyncServer] = None
        self.app: Optional[Sanic] = None
        self.handoff_gate = HandoffGate()
        self.limits = ChannelLimits.from_settings(settings, channel=self.name())
        self.addresses: Dict[Text, Text] = {}  # socket id -> client address, for the limits
        self.erase_requests = EraseRequests(self.handoff_gate)

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WidgetOutput(self.sio) if self.sio else None

    async def history(self, session_id: Text) -> List[Dict[str, Any]]:
        """The conversation so far as the widget shows it: people's and bot's messages."""
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        if agent is None or not await agent.tracker_store.exists(session_id):
            return []
        tracker = await agent.tracker_store.retrieve(session_id)
        out, replies = [], []
        for event in tracker.events if tracker else []:
            kind = getattr(event, "type_name", "")
            if kind == "user" and event.text:
                # a button press: show what the button said, not its payload
                shown = (
                    event.text
                    if not event.text.startswith("/")
                    else (event.metadata or {}).get("button_title") or event.text
                )
                out.append({"text": shown, "sender": {"kind": "user"}, "message_id": event.message_id})
            elif kind == "bot" and (event.text or (event.data or {}).get("buttons")):
                data = event.data or {}
                custom = data.get("custom") or {}
                out.append(
                    bot_message(
                        event.text or "",
                        data.get("buttons") or data.get("quick_replies"),
                        custom.get("sender") if isinstance(custom, dict) else None,
                    )
                )
                if isinstance(custom, dict) and custom.get("reply_id"):
                    replies.append(custom["reply_id"])
        for item in out:
            item.setdefault("buttons", [])
        if replies:  # the person's chat now shows these adviser replies: they are not emailed
            self.replies_seen(session_id, replies)
        return out

    def replies_seen(self, session_id: Text, reply_ids: List[Any]) -> None:
        try:
            from bot.handoff._outbox import outbox_of

            outbox_of(self.handoff_gate.store).mark_seen(session_id, reply_ids)
        except Exception:  # the chat works without it; the reply may then be emailed as well
            logger.exception("socketio: could not mark adviser replies seen")

    def reopened(self, token: Any) -> Optional[Text]:
        """The conversation a reply email's link opens (bot/web/_reopen.py), or ``None``."""
        if not isinstance(token, str):
            return None
        try:
            from bot.handoff._outbox import outbox_of

            outbox = outbox_of(self.handoff_gate.store)
            conversation = outbox.open_link(token)
            if conversation:  # a REST conversation carries on here: the adviser's replies come live
                outbox.continued_in_web_chat(conversation)
            return conversation
        except Exception:
            logger.exception("socketio: could not check a reopen link")
            return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # several Rasa servers: every emit goes through Redis, so a reply or an adviser's message
        # reaches the widget whichever server holds its socket (README "Scaling out")
        manager = socketio.AsyncRedisManager(self.queue_url, channel="mutuals-socketio") if self.queue_url else None
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=self.cors_allowed_origins, client_manager=manager)
        self.sio = sio
        webhook = _AttachingBlueprint(sio, self.socketio_path, self, "widget_socketio", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect")
        async def connect(sid: Text, environ: Dict[Text, Any], auth: Any = None) -> None:
            request = environ.get("sanic.request")
            address = self.limits.address_of(getattr(request, "ip", None), getattr(request, "headers", {}))
            self.addresses[sid] = address
            if not await self.limits.connect(address, sid):
                self.addresses.pop(sid, None)
                logger.warning("socketio: refused a connection from %s (too many open)", address)
                raise RefusedConnection(TOO_MANY_CONNECTIONS)
            if sid not in self.addresses:  # it went away while being counted (in Redis): uncount it
                await self.limits.disconnect(address, sid)

        @sio.on("disconnect")
        async def disconnect(sid: Text) -> None:
            address = self.addresses.pop(sid, None)
            if address is not None:
                await self.limits.disconnect(address, sid)

        async def join(sid: Text, room: Text) -> None:
            joined = sio.enter_room(sid, room)
            if inspect.isawaitable(joined):  # python-socketio 5.10+ made it a coroutine
                await joined

        @sio.on("session_request")
        async def session_request(sid: Text, data: Any) -> None:
            wanted = data.get("session_id") if isinstance(data, dict) else None
            session_id = wanted if isinstance(wanted, str) and SESSION_ID.fullmatch(wanted) else uuid.uuid4().hex
            if isinstance(data, dict) and data.get("reopen"):  # the link in a reply email: its one conversation
                reopened: Optional[str] = await asyncio.to_thread(self.reopened, data["reopen"])
                session_id = reopened or session_id
            await join(sid, session_id)
            await sio.save_session(sid, {"session_id": session_id})
            await sio.emit("session_confirm", session_id, room=sid, ignore_queue=True)

        async def session_of(sid: Text) -> Optional[Text]:
            try:
                return (await sio.get_session(sid)).get("session_id")
            except KeyError:
                return None

        @sio.on("history_request")
        async def history_request(sid: Text, data: Any = None) -> None:
            session_id = await session_of(sid)
            if not session_id:
                await sio.emit("history", {"messages": []}, room=sid, ignore_queue=True)
                return
            # with the status line of an open handoff case (bot/handoff/_status.py), if there is one
            await sio.emit(
                "history",
                {
                    "messages": await self.history(session_id),
                    "handoff": await asyncio.to_thread(self.handoff_gate.status, session_id),
                },
                room=sid,
                ignore_queue=True,
            )

        @sio.on("reply_seen")
        async def reply_seen(sid: Text, data: Any = None) -> None:
            """The widget has shown an adviser's reply: it is not emailed (only this session's count)."""
            session_id = await session_of(sid)
            if session_id and isinstance(data, dict) and data.get("reply_id"):
                await asyncio.to_thread(self.replies_seen, session_id, [data["reply_id"]])

        @sio.on("user_uttered")
        async def handle_message(sid: Text, data: Any) -> None:
            output = WidgetOutput(sio)
            session_id = await session_of(sid)
            if not session_id:
                await output.answer(sid, bot_message("Please reload the page to start a conversation."))
                return
            fields = data if isinstance(data, dict) else {}
            metadata = fields.get("metadata", {})
            verdict = await admit(
                Incoming(
                    session_id,
                    fields.get("message"),
                    self.name(),
                    message_id=fields.get("message_id"),
                    metadata={} if metadata is None else metadata,
                    button_title=fields.get("button_title"),
                    shape_error=None if isinstance(data, dict) else NOT_AN_OBJECT,
                ),
                limits=self.limits,
                max_chars=self.max_chars,
                gate=self.handoff_gate,
                output_channel=output,
                address=self.addresses.get(sid, "unknown"),
            )
            if isinstance(verdict, Refusal):
                await output.answer(sid, bot_message(verdict.sentence))
                return
            if isinstance(verdict, (Rejected, StandIn)):
                reply: Dict[str, Any] = (
                    verdict.reply if isinstance(verdict, StandIn) else {"text": COULD_NOT_READ, "buttons": []}
                )
                await output.answer(sid, bot_message(reply["text"], reply["buttons"]))
                return
            message = verdict
            try:
                await on_new_message(message)
                if message.left_handoff:  # the case has closed: the widget hides its handoff status line
                    left = message.left_handoff
                    await output.emit(
                        session_id,
                        {
                            **bot_message(left["text"], left["buttons"]),
                            "event": {"type": "handoff", "status": "assistant", "text": ""},
                        },
                    )
                elif message.help_now:
                    await output.emit(session_id, bot_message(message.help_now["text"], message.help_now["buttons"]))
            except Exception:
                logger.exception("socketio: the turn for %s failed", session_id)
                await output.emit(session_id, bot_message(TROUBLE))

        @sio.on("delete_my_data")
        async def delete_my_data(sid: Text, data: Any = None) -> None:
            session_id = await session_of(sid)
            if not session_id or not isinstance(data, dict) or data.get("confirm") is not True:
                await sio.emit(
                    "data_deleted",
                    {"erased": False, "error": "Nothing was deleted: the request needs a session and {confirm: true}."},
                    room=sid,
                )
                return
            agent = getattr(getattr(self.app, "ctx", None), "agent", None)
            try:
                await self.erase_requests.erase(agent, session_id)
            except Exception:
                logger.exception("socketio: erasing a conversation failed")
                await sio.emit(
                    "data_deleted",
                    {
                        "erased": False,
                        "error": "Sorry, your data could not be deleted just now. Please try again in a minute.",
                    },
                    room=sid,
                )
                return
            await sio.emit("data_deleted", {"erased": True}, room=session_id)
            closed = sio.close_room(session_id)
            if inspect.isawaitable(closed):
                await closed

        return webhook
