"""What advisers do to a conversation, through Rasa's own mechanisms: read its transcript from
the tracker, push a reply into it (delivered live by the person's channel), pause and resume it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import aiohttp

from bot.settings import Settings

from ._status import adviser_event, ended_event, place_in_queue, waiting_event
from ._store import Adviser, Case, HandoffError, HandoffStore

logger = logging.getLogger(__name__)

BACK_WITH_ASSISTANT = (
    "The adviser has closed your case, so you're back with the assistant. "
    "How helpful was the adviser, from 1 (not at all) to 5 (very)?"
)


def rating_buttons() -> List[Dict[str, str]]:
    return [{"title": str(n), "payload": '/rate_handoff{"rating":"%d"}' % n} for n in range(1, 6)]


def adviser_sender(adviser: Adviser) -> Dict[str, str]:
    return {"kind": "adviser", "name": adviser.name}


class RasaUnavailable(HandoffError):
    """The Rasa server did not answer; the message says so plainly."""


class AdviserDesk:
    """Claim, reply, note and close, for one web-server process."""

    def __init__(self, settings: Settings, store: HandoffStore, telegram_push=None):
        self.settings = settings
        self.store = store
        self._telegram_push = telegram_push
        self._http: Optional[aiohttp.ClientSession] = None

    async def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        return self._http

    async def aclose(self) -> None:
        if self._http and not self._http.closed:
            await self._http.close()

    # ---- Rasa's HTTP API ----------------------------------------------------------------

    def _url(self, conversation_id: str, suffix: str = "") -> str:
        return f"{self.settings.rasa_url}/conversations/{quote(conversation_id, safe='')}/tracker{suffix}"

    async def tracker(self, conversation_id: str) -> Dict[str, Any]:
        http = await self._session()
        try:
            async with http.get(self._url(conversation_id), params={"token": self.settings.rasa_token}) as r:
                if r.status != 200:
                    raise RasaUnavailable(f"the assistant answered {r.status} for this conversation")
                return await r.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RasaUnavailable(f"the assistant cannot be reached ({exc.__class__.__name__})") from None

    async def append(
        self, conversation_id: str, events: List[Dict[str, Any]], output_channel: Optional[str] = None
    ) -> None:
        """Add events to the conversation; with ``output_channel`` its bot messages are delivered too."""
        params = {"token": self.settings.rasa_token}
        if output_channel:
            params.update(output_channel=output_channel, execute_side_effects="true")
        http = await self._session()
        try:
            async with http.post(self._url(conversation_id, "/events"), params=params, json=events) as r:
                if r.status != 200:
                    raise RasaUnavailable(f"the assistant refused the message ({r.status}): {(await r.text())[:200]}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RasaUnavailable(f"the assistant cannot be reached ({exc.__class__.__name__})") from None

    async def erase(self, conversation_id: str, by: Adviser) -> Dict[str, Any]:
        """Erase a conversation and its cases for the person, inside the Rasa server (the relay's
        ``/erase``), which first waits for any turn of it in progress to finish: deleting the rows
        from here could race a turn that then writes its events back."""
        http = await self._session()
        try:
            async with http.post(
                f"{self.settings.rasa_url}/webhooks/relay/erase",
                headers={"Authorization": f"Bearer {self.settings.relay_token}"},
                json={"sender": conversation_id, "by_adviser_id": by.id},
            ) as r:
                if r.status == 200:
                    return await r.json()
                detail = (await r.text())[:200]
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RasaUnavailable(
                f"the assistant cannot be reached ({exc.__class__.__name__}); nothing was deleted, try again"
            ) from None
        if r.status == 400:
            raise HandoffError(f"the assistant refused this conversation id: {detail}")
        raise RasaUnavailable(
            f"the assistant could not erase the conversation ({r.status}); nothing was deleted, try again"
        )

    # ---- speaking to the person --------------------------------------------------------------

    async def say(
        self,
        case: Case,
        text: str,
        sender: Dict[str, str],
        buttons: Optional[List[Dict]] = None,
        resume: bool = False,
        status: Optional[Dict[str, Any]] = None,
        sources: Optional[List[Dict[str, str]]] = None,
    ) -> None:
        """Put a message in the person's conversation and deliver it on their channel now; with
        ``status``, the web chat's status line changes too (bot/handoff/_status.py); ``sources``
        (the guidance the adviser used) are kept with it for the transcript."""
        custom: Dict[str, Any] = {"sender": sender}
        if status and case.channel == "socketio":
            custom["event"] = status
        event = {"event": "bot", "text": text, "data": {"custom": custom, "buttons": buttons or None}}
        if sources:
            event["metadata"] = {"guidance": {"sources": sources}}
        events = ([{"event": "resume"}] if resume else []) + [event]
        if resume:  # the assistant now waits for the person, as after any turn of its own
            events.append({"event": "action", "name": "action_listen"})
        if case.channel == "telegram":
            await self.append(case.conversation_id, events)  # kept in the transcript
            if case.chat_id and self._telegram_push:
                await self._telegram_push(self.settings, int(case.chat_id), text, sender.get("name"), buttons)
        elif case.channel == "socketio":
            await self.append(case.conversation_id, events, output_channel="socketio")
        else:  # the REST channel cannot push: its next reply to the person carries it
            await self.append(case.conversation_id, events)

    async def claim(self, case_id: int, adviser: Adviser) -> Case:
        case = self.store.claim(case_id, adviser)
        await self._tell(case, f"{adviser.name}, an adviser, has joined the conversation.", adviser_event(adviser.name))
        await self._queue_moved()
        return case

    async def reply(
        self, case_id: int, adviser: Adviser, text: str, sources: Optional[List[Dict[str, str]]] = None
    ) -> Case:
        text = (text or "").strip()
        if not text:
            raise HandoffError("a reply needs some text")
        if len(text) > 4000:
            raise HandoffError("a reply can be at most 4,000 characters")
        was_waiting = self.store.case(case_id).status == "waiting"
        case = self.store.record_reply(case_id, adviser, chars=len(text), sources=sources or [])
        if was_waiting:
            await self._tell(
                case, f"{adviser.name}, an adviser, has joined the conversation.", adviser_event(adviser.name)
            )
        await self.say(case, text, adviser_sender(adviser), sources=sources or None)
        if was_waiting:
            await self._queue_moved()
        return case

    async def assign(self, case_id: int, to: Adviser, by: Adviser) -> Case:
        """A supervisor passes the case to ``to``; the person is told who has it now."""
        before = self.store.case(case_id)
        case = self.store.assign(case_id, to, by)
        if before.adviser_id != to.id:
            await self._tell(
                case,
                f"Your case has passed to {to.name}, another adviser, who will carry on the conversation here."
                if before.adviser_id
                else f"{to.name}, an adviser, has joined the conversation.",
                adviser_event(to.name),
            )
        if before.status == "waiting":
            await self._queue_moved()
        return case

    async def transfer(self, case_id: int, by: Adviser, to: Optional[Adviser], note: str) -> Case:
        """``by`` hands the case to the colleague ``to`` or back to the queue (``None``) with a note
        only advisers see; the person is told their case has passed on, and the web chat's status
        line follows."""
        case = self.store.transfer(case_id, by, to, note)
        if to is not None:
            await self._tell(
                case,
                f"Your case has passed to {to.name}, another adviser, who will carry on the conversation here.",
                adviser_event(to.name),
            )
            return case
        position = self.store.queue_position(case)
        await self._tell(
            case,
            f"Your case has gone back to the advisers' queue: you're {place_in_queue(position)} "
            "in the queue, and the next adviser free will carry on the conversation here.",
            waiting_event(position),
        )
        await self._queue_moved(but=case.id)
        return case

    async def _queue_moved(self, but: Optional[int] = None) -> None:
        """A case left the queue (or came back to it): everyone else still waiting on the web chat
        sees their new place."""
        for position, waiting in enumerate(self.store.cases("waiting"), start=1):
            if waiting.channel != "socketio" or waiting.id == but:
                continue
            try:
                await self.say(
                    waiting, "", {"kind": "system", "name": "Mutuals Assistant"}, status=waiting_event(position)
                )
            except HandoffError:
                logger.warning("could not update case %s's place in the queue", waiting.id)

    async def close(self, case_id: int, adviser: Adviser, outcome: str, tags: List[str]) -> Case:
        case = self.store.close(case_id, adviser, outcome, tags)
        try:
            await self.say(
                case,
                BACK_WITH_ASSISTANT,
                {"kind": "bot", "name": "Mutuals Assistant"},
                buttons=rating_buttons(),
                resume=True,
                status=ended_event(),
            )
        except HandoffError:
            logger.exception("case %s closed, but the conversation could not be resumed now", case.id)
            raise
        return case

    async def _tell(self, case: Case, text: str, status: Optional[Dict[str, Any]] = None) -> None:
        try:
            await self.say(case, text, {"kind": "system", "name": "Mutuals Assistant"}, status=status)
        except HandoffError:
            logger.warning("could not tell case %s's person: %s", case.id, text)

    # ---- the transcript -----------------------------------------------------------------

    async def transcript(self, case: Case) -> List[Dict[str, Any]]:
        tracker = await self.tracker(case.conversation_id)
        return transcript_from_events(tracker.get("events") or [])


def transcript_from_events(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The conversation as an adviser reads it: who said what, when, and where answers came from.
    A button the person pressed shows as its title (what they saw), not its payload; the intent the
    assistant read is given only for messages it answered, not for answers to the handoff form or
    for what the person wrote to the adviser."""
    out = []
    offered: Dict[str, str] = {}  # payload -> title of the buttons the person was last shown
    in_form = paused = False
    for event in events:
        kind, at = event.get("event"), event.get("timestamp")
        if kind == "active_loop":
            in_form = bool(event.get("name"))
        elif kind == "pause":
            paused = True
        elif kind in ("resume", "restart"):
            paused = in_form = False
        if kind == "user":
            parse = event.get("parse_data") or {}
            text = event.get("text") or ""
            if text.startswith("/"):
                text = (
                    str((event.get("metadata") or {}).get("button_title") or "").strip()
                    or offered.get(text)
                    or offered.get(text.split("{", 1)[0])
                    or text
                )
            out.append(
                {
                    "kind": "user",
                    "text": text,
                    "at": at,
                    "intent": None if in_form or paused else (parse.get("intent") or {}).get("name"),
                }
            )
        elif kind == "bot" and (event.get("text") or (event.get("data") or {}).get("buttons")):
            data = event.get("data") or {}
            if data.get("buttons"):
                offered = {str(b.get("payload") or ""): str(b.get("title") or "") for b in data["buttons"]}
            sender = (data.get("custom") or {}).get("sender") or {"kind": "bot", "name": "Mutuals Assistant"}
            guidance = (event.get("metadata") or {}).get("guidance") or {}
            out.append(
                {
                    "kind": sender.get("kind", "bot"),
                    "name": sender.get("name"),
                    "text": event.get("text") or "",
                    "at": at,
                    "buttons": [b.get("title") for b in data.get("buttons") or []],
                    "sources": guidance.get("sources") or [],
                    "score": guidance.get("score"),
                }
            )
        elif kind == "pause":
            out.append({"kind": "system", "text": "Handed to advisers; the assistant is silent.", "at": at})
        elif kind == "resume":
            out.append({"kind": "system", "text": "Back with the assistant.", "at": at})
        elif kind == "restart":
            out.append({"kind": "system", "text": "The person started the conversation over.", "at": at})
    return out
