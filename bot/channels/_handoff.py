"""Leaving an adviser's queue from any channel. While a case is open Rasa's conversation is
paused and Rasa ignores what the person types, so the turn itself hears "cancel" (under Rasa's
lock on the conversation: ``bot.channels._admission.run_checked_turn``). The handoff store is
read and written off the event loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional

from bot.settings import ROOT, Settings

logger = logging.getLogger(__name__)

CANCEL_MESSAGES = {
    "cancel",
    "/cancel",
    "stop",
    "/restart",
    "restart",
    "cancel handoff",
    "back to the assistant",
    "go back to the assistant",
    "leave the queue",
}
LEFT_THE_QUEUE = "OK, you've left the advisers' queue and you're back with the assistant. What would you like to know?"
# once an adviser has joined there is no queue to leave: the chat with them ends
ENDED_WITH_ADVISER = (
    "OK, your chat with the adviser has ended and you're back with the assistant. What would you like to know?"
)


def crisis_reply() -> Dict[str, Any]:
    """The domain's ``utter_crisis`` (where to find help), for a channel to send itself."""
    import yaml

    global _CRISIS
    if _CRISIS is None:
        response = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]["utter_crisis"][0]
        _CRISIS = {"text": response["text"], "buttons": response.get("buttons") or []}
    return _CRISIS


_CRISIS: Optional[Dict[str, Any]] = None


class HandoffGate:
    def __init__(self, settings: Optional[Settings] = None):
        self.settings = settings
        self._store = None

    @property
    def store(self):
        if self._store is None:
            from bot.handoff import HandoffStore

            self._store = HandoffStore((self.settings or Settings.from_env()).handoff_store)
        return self._store

    async def intercept(self, rasa: Any, conversation_id: str, text: str) -> Optional[Dict[str, Any]]:
        """The reply when ``text`` takes the person out of a handoff, else ``None`` (Rasa handles it).
        ``/restart`` leaves the queue and still goes on to Rasa, which starts the conversation over.
        Any other message goes on to Rasa (``count`` counts it on an open case). ``rasa``: whatever
        has the ``tracker_store`` (Rasa's processor or agent), or ``None``."""
        if text.strip().lower() not in CANCEL_MESSAGES:
            return None
        case = await asyncio.to_thread(self.store.open_case_for, conversation_id)
        if case is None:
            return None
        from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed, UserUttered

        said = ENDED_WITH_ADVISER if case.status == "assigned" else LEFT_THE_QUEUE
        await asyncio.to_thread(self.store.close, case.id, None, "cancelled")
        logger.info("handoff: case %s cancelled by the person", case.id)
        if rasa is not None:
            tracker = await rasa.tracker_store.retrieve(conversation_id)
            if tracker is not None and tracker.is_paused():
                tracker.update(UserUttered(text))
                tracker.update(ConversationResumed())
                if text.strip() != "/restart":
                    tracker.update(BotUttered(said))
                tracker.update(ActionExecuted("action_listen"))  # the assistant waits for the person
                await rasa.tracker_store.save(tracker)
        if text.strip() == "/restart":
            return None
        return {"text": said, "buttons": []}

    def status(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        """The web chat's status line for the conversation's open case (``None``: no case, or the
        store cannot be read: the chat works without it)."""
        try:
            from bot.handoff import status_event

            return status_event(self.store, conversation_id)
        except Exception:
            logger.exception("handoff: could not read the status of %s's case", conversation_id)
            return None

    async def crisis_while_waiting(self, rasa: Any, conversation_id: str, text: str) -> Optional[Dict[str, Any]]:
        """Where to find help, when a person waiting for (or talking to) an adviser writes something
        that shows a risk to someone's safety: Rasa is paused then and would say nothing, so the
        channel answers it, after the turn has logged the message for the adviser, and puts the
        reply in the transcript. ``None`` for any other message or conversation."""
        from bot.safety import find_crisis

        if not find_crisis(text) or await asyncio.to_thread(self.store.open_case_for, conversation_id) is None:
            return None
        reply = crisis_reply()
        if rasa is not None:
            from rasa.shared.core.events import BotUttered

            tracker = await rasa.tracker_store.retrieve(conversation_id)
            if tracker is None or not tracker.is_paused():
                return None  # Rasa answered it itself
            tracker.update(BotUttered(reply["text"], {"buttons": reply["buttons"]}))
            await rasa.tracker_store.save(tracker)
        logger.warning(
            "handoff: a message on case for %s shows a risk to safety; the channel signposted help", conversation_id
        )
        return reply

    async def count(self, conversation_id: str, text: str) -> None:
        """Count a message whose turn runs on its conversation's open case, so the console's queue
        flags it as new for the adviser (Rasa logs the message; the paused conversation does not
        answer it). A message sent again with its id is answered from the stored turn and not run,
        so it is not counted twice; "cancel" and the like are not counted."""
        if text.strip().lower() not in CANCEL_MESSAGES:
            await asyncio.to_thread(self.note_person_message, conversation_id)

    def note_person_message(self, conversation_id: str) -> None:
        try:
            case = self.store.record_person_message(conversation_id)
        except Exception:  # the person's message still goes to Rasa; only the queue's flag is missed
            logger.exception("handoff: could not record a new message on %s's case", conversation_id)
            return
        if case is not None:
            logger.debug("handoff: case %s has a new message from the person", case.id)

    async def pushed_since_last_turn(self, rasa: Any, conversation_id: str) -> List[Dict[str, Any]]:
        """Messages put into the conversation from outside a turn (an adviser's replies, the
        hand-back) since the person last spoke: a channel that cannot push delivers them now."""
        if rasa is None or not await asyncio.to_thread(self.store.has_case, conversation_id):
            return []
        tracker = await rasa.tracker_store.retrieve(conversation_id)
        pushed: List[Dict[str, Any]] = []
        for event in reversed(list(tracker.events) if tracker else []):
            if getattr(event, "type_name", "") == "user":
                break
            data = getattr(event, "data", None) or {}
            sender = (data.get("custom") or {}).get("sender") if isinstance(data.get("custom"), dict) else None
            if getattr(event, "type_name", "") == "bot" and sender:
                pushed.append({"text": event.text or "", "buttons": data.get("buttons") or [], "sender": sender})
                reply_id = data["custom"].get("reply_id")
                if reply_id:  # an adviser's reply that may be emailed: the channel marks it seen
                    pushed[-1]["reply_id"] = reply_id
        return list(reversed(pushed))

    def replies_fetched(self, conversation_id: str, pushed: List[Dict[str, Any]]) -> None:
        """The person now has these pushed messages (a REST turn's reply carried them): an adviser's
        reply among them is not emailed (bot/handoff/_email.py). Takes ``reply_id`` out of each."""
        ids = [m.pop("reply_id") for m in pushed if "reply_id" in m]
        if not ids:
            return
        try:
            from bot.handoff._outbox import outbox_of

            outbox_of(self.store).mark_seen(conversation_id, ids)
        except Exception:
            logger.exception("handoff: could not mark adviser replies fetched")
