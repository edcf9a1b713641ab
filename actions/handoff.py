"""The person's side of a handoff: asking what an adviser needs, opening the case, pausing the bot."""
from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.handoff import AdviserHours, HandoffStore
from bot.settings import Settings

logger = logging.getLogger(__name__)
EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
SKIP_WORDS = {"skip", "no", "none", "no thanks", "rather not", "pass", "/deny", "n/a", "-"}
KEEP_WORDS = {"yes", "keep", "keep it", "that's right", "correct", "/affirm", "y"}
QUESTION_INTENTS = {"ask_question", "nlu_fallback", "out_of_scope"}

_store: Optional[HandoffStore] = None


def handoff_store() -> HandoffStore:
    global _store
    if _store is None:
        _store = HandoffStore(Settings.from_env().handoff_store)
    return _store


def use_store(store: Optional[HandoffStore]) -> None:
    global _store
    _store = store


def last_question(tracker: Tracker) -> str:
    """The latest thing the person asked (not a button press, not 'talk to a human')."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        text = (event.get("text") or "").strip()
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if text and not text.startswith("/") and intent in QUESTION_INTENTS:
            return text
    return ""


def _said(value: Any) -> str:
    return str(value or "").strip()


class ActionRequestHuman(Action):
    """Starts the intake: remembers the person's last question to offer it back."""

    def name(self) -> Text:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict]:
        dispatcher.utter_message(text=(
            "I'll pass you to a human adviser. First, three quick questions so they can help; "
            "say \"cancel\" at any time to stay with me."))
        return [SlotSet("handoff_suggested_question", last_question(tracker) or None),
                SlotSet("handoff_question", None), SlotSet("handoff_name", None), SlotSet("handoff_email", None),
                SlotSet("adviser_offered", False), SlotSet("misses", 0.0)]


class ActionAskHandoffQuestion(Action):
    def name(self) -> Text:
        return "action_ask_handoff_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict]:
        suggested = tracker.get_slot("handoff_suggested_question")
        if suggested:
            dispatcher.utter_message(
                text=f"What should the adviser help with? I have your question as:\n\n\u201c{suggested}\u201d\n\n"
                     "Keep it, or type it again in your own words.",
                buttons=[{"title": "Keep this question", "payload": "/affirm"},
                         {"title": "Cancel", "payload": "/cancel"}])
        else:
            dispatcher.utter_message(text="What would you like to ask an adviser? Put it in your own words.",
                                     buttons=[{"title": "Cancel", "payload": "/cancel"}])
        return []


class ValidateHandoffForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_handoff_form"

    def validate_handoff_question(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[Text, Any]:
        if value is None:  # a reset when the intake starts, not an answer
            return {"handoff_question": None}
        text = _said(value)
        suggested = tracker.get_slot("handoff_suggested_question")
        if text.lower() in KEEP_WORDS and suggested:
            return {"handoff_question": suggested}
        if len(text) < 3 or text.startswith("/"):
            dispatcher.utter_message(text="Could you type your question in a few words?")
            return {"handoff_question": None}
        return {"handoff_question": text[:2000]}

    def validate_handoff_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        if value is None:  # a reset when the intake starts, not an answer
            return {"handoff_name": None}
        text = _said(value)
        if text.lower() in SKIP_WORDS:
            return {"handoff_name": ""}
        if len(text) > 80:
            dispatcher.utter_message(text="That's longer than a name usually is. What should the adviser call you?")
            return {"handoff_name": None}
        return {"handoff_name": text}

    def validate_handoff_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[Text, Any]:
        if value is None:  # a reset when the intake starts, not an answer
            return {"handoff_email": None}
        text = _said(value)
        if text.lower() in SKIP_WORDS:
            return {"handoff_email": ""}
        if not EMAIL.match(text) or len(text) > 254:
            dispatcher.utter_message(text=(
                "That doesn't look like an email address (like name@example.org). "
                "Type it again, or press Skip to carry on without one."),
                buttons=[{"title": "Skip", "payload": "/deny"}])
            return {"handoff_email": None}
        return {"handoff_email": text.lower()}


class ActionCreateHandoff(Action):
    """Opens the case, tells the person what happens next, and pauses the assistant."""

    def name(self) -> Text:
        return "action_create_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict]:
        settings = Settings.from_env()
        metadata = (tracker.latest_message or {}).get("metadata") or {}
        channel = tracker.get_latest_input_channel() or "rest"
        name = _said(tracker.get_slot("handoff_name"))
        email = _said(tracker.get_slot("handoff_email"))
        case = handoff_store().open_case(
            tracker.sender_id, channel, _said(tracker.get_slot("handoff_question")), person_name=name,
            email=email, topic=_said(tracker.get_slot("last_topic")),
            chat_id=str(metadata["chat_id"]) if metadata.get("chat_id") is not None else None)
        hours = AdviserHours(settings.adviser_hours, settings.adviser_timezone)
        greeting = f"Thank you, {name}." if name else "Thank you."
        if hours.is_open():
            place = handoff_store().queue_position(case)
            where = "next in the queue" if place <= 1 else f"number {place} in the queue"
            text = (f"{greeting} You're {where}; an adviser will join this chat as soon as they can. "
                    "Anything you type now goes to the adviser. Say \"cancel\" to go back to the assistant.")
        else:
            opening = hours.next_opening()
            when = opening.strftime("%A %-d %B at %-H:%M")
            how = f"by email to {email} or here" if email else "here in this chat"
            text = (f"{greeting} Our advisers work {hours.describe()} (UK time), so nobody is free right now. "
                    f"An adviser will reply {how} from {when}. Anything you type now goes to the adviser. "
                    "Say \"cancel\" to go back to the assistant.")
        dispatcher.utter_message(text=text, buttons=[{"title": "Cancel and go back to the assistant",
                                                      "payload": "/cancel"}])
        logger.info("handoff: case %s opened on %s", case.id, channel)
        return [SlotSet("handoff_case", float(case.id)), ConversationPaused()]


class ActionRecordRating(Action):
    def name(self) -> Text:
        return "action_record_rating"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict]:
        rating = next(tracker.get_latest_entity_values("rating"), None)
        try:
            case = handoff_store().rate(tracker.sender_id, int(rating))
        except (TypeError, ValueError):
            case = None
        if case:
            dispatcher.utter_message(text="Thank you for rating the help you had. Ask me anything else whenever you like.")
        else:
            dispatcher.utter_message(text="Thanks. Ask me anything else whenever you like.")
        return []
