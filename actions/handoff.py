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

from bot.handoff import AdviserHours, Case, HandoffStore, place_in_queue, waiting_event
from bot.handoff._email import EMAILED_CHANNELS
from bot.handoff._outbox import outbox_of
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


def _time_zone_name(zone: str) -> str:
    """The advisers' time zone as a person reads it: "UK time", "New York time", "UTC time"."""
    return "UK time" if zone in ("Europe/London", "GB") else f"{zone.rsplit('/', 1)[-1].replace('_', ' ')} time"


def _shortened(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + "\u2026"


def topic_of(question: str) -> str:
    """The case's topic: the guidance section that answers the question handed over (its title),
    else the question itself, shortened; never an earlier topic of the conversation."""
    try:
        from actions.actions import guidance_desk

        answer = guidance_desk().answer(question)
    except Exception:  # the guidance cannot be searched: the question still names the topic
        logger.exception("handoff: could not find the topic of a question")
        answer = None
    if answer is not None and answer.answered and answer.sources:
        return answer.sources[0].title[:120]
    return _shortened(question)


def now() -> dt.datetime:
    """The time now (tests pin it)."""
    return dt.datetime.now(dt.timezone.utc)


AFTER_HANDOVER = "Anything you type now goes to the adviser. Say \"cancel\" to go back to the assistant."
# Without a mail server set up (the default) no email is sent: the person is never told to expect
# one, only where the reply will be. With one, only a person who agreed is told (handover_text).
REPLY_WAITS_HERE = "the adviser's reply will be waiting here in this chat, so you can close it and come back later"


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


# Asking for an email address. With no mail server set up (the default) nothing is ever emailed and
# the question says so (domain.yml's utter_ask_handoff_email says the same). With one (bot/settings.py,
# smtp_url and email_from) the question says what will be emailed, and typing an address after it is
# the person's consent: only then is the case's reply emailed (bot/handoff/_email.py).
EMAIL_QUESTION_START = "You can leave an email address with your question"


def email_question(settings: Settings, channel: str = "socketio") -> str:
    """Telegram delivers an adviser's reply to the person's app, so there it is never emailed."""
    kept = f"used only for this case and deleted with it ({settings.case_retention_days} days after the case closes)."
    if not settings.email_enabled or channel not in EMAILED_CHANNELS:
        return (
            f"{EMAIL_QUESTION_START} if you'd like the adviser to have it. It's {kept} We don't send replies by "
            "email: the adviser's reply will be waiting here in this chat. Type your email address, or skip this."
        )
    return (
        f"{EMAIL_QUESTION_START}. The adviser's reply will be waiting here in this chat; if you haven't seen it "
        f"here within {_minutes(settings.email_after_seconds)} of the adviser sending it, we'll email it to you "
        f"with a link back to this chat. Your address is {kept} Type your email address to agree to that, "
        "or skip this."
    )


def asked_with_consent(tracker: Tracker, settings: Settings) -> bool:
    """Whether the person typed their address after being told unseen replies would be emailed:
    the latest question about an email address was the email-on one (not the domain's, which says
    no email is sent, nor one asked with other settings)."""
    if not settings.email_enabled:
        return False
    wanted = email_question(settings, tracker.get_latest_input_channel() or "rest")
    for event in reversed(tracker.events):
        text = (event.get("text") or "") if event.get("event") == "bot" else ""
        if text.startswith(EMAIL_QUESTION_START):
            return text == wanted and wanted != email_question(settings, "telegram")
    return False


def handover_text(
    store: HandoffStore, case: Case, hours: AdviserHours, zone_name: str, at: dt.datetime, emailed: bool = False
) -> tuple:
    """What the person is told when their case opens, and their place in the queue: it depends on
    the hours and on how many advisers have said they are available (and are signed in), and
    (``emailed``) on whether they gave an email address with consent to have unseen replies emailed."""
    name = case.person_name
    greeting = f"Thank you, {name}." if name else "Thank you."
    position = store.queue_position(case)
    place = place_in_queue(position)
    email = (
        (
            f" If you're not here when the adviser replies, we'll email the reply to {case.email} with a link "
            "back to this chat."
        )
        if emailed
        else ""
    )
    if not hours.is_open(at):
        opening = hours.next_opening(at)
        when = opening.strftime("%A %-d %B at %-H:%M")
        if emailed:
            kept = (
                f" No email comes before an adviser replies, so not before {opening.strftime('%A')}; then, if "
                f"you haven't seen the reply here, we'll email it to {case.email} with a link back to this chat."
            )
        else:
            kept = (
                " We keep the email address you gave with your case, but we don't send replies by email."
                if case.email
                else ""
            )
        return (
            f"{greeting} Nobody is free until {when} ({zone_name}): our advisers work {hours.describe()}. "
            f"Your question is saved, and {REPLY_WAITS_HERE}.{kept} {AFTER_HANDOVER}"
        ), position
    available = len(store.available_advisers())
    if not available:
        return (
            f"{greeting} No adviser is free at the moment. You're {place} in the queue, and an adviser will "
            f"answer here when one is free; {REPLY_WAITS_HERE}.{email} {AFTER_HANDOVER}"
        ), position
    wait = store.likely_wait()
    likely = f" Lately people have waited about {_minutes(wait)} for an adviser." if wait is not None else ""
    advisers = "1 adviser is" if available == 1 else f"{available} advisers are"
    return (
        f"{greeting} You're {place} in the queue and {advisers} available now: an adviser will join this "
        f"chat as soon as they can.{likely}{email} {AFTER_HANDOVER}"
    ), position


class ActionRequestHuman(Action):
    """Starts the intake: remembers the person's last question to offer it back."""

    def name(self) -> Text:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict]:
        dispatcher.utter_message(
            text=(
                "I'll pass you to a human adviser. First, three quick questions so they can help; "
                "say \"cancel\" at any time to stay with me."
            )
        )
        return [
            SlotSet("handoff_suggested_question", last_question(tracker) or None),
            SlotSet("handoff_question", None),
            SlotSet("handoff_name", None),
            SlotSet("handoff_email", None),
            SlotSet("adviser_offered", False),
            SlotSet("misses", 0.0),
        ]


class ActionAskHandoffQuestion(Action):
    def name(self) -> Text:
        return "action_ask_handoff_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict]:
        suggested = tracker.get_slot("handoff_suggested_question")
        if suggested:
            dispatcher.utter_message(
                text=f"What should the adviser help with? I have your question as:\n\n\u201c{suggested}\u201d\n\n"
                "Keep it, or type it again in your own words.",
                buttons=[
                    {"title": "Keep this question", "payload": "/affirm"},
                    {"title": "Cancel", "payload": "/cancel"},
                ],
            )
        else:
            dispatcher.utter_message(
                text="What would you like to ask an adviser? Put it in your own words.",
                buttons=[{"title": "Cancel", "payload": "/cancel"}],
            )
        return []


class ActionAskHandoffEmail(Action):
    """The intake's question about an email address: what it is used for, and whether unseen
    replies are emailed (only with a mail server set up)."""

    def name(self) -> Text:
        return "action_ask_handoff_email"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict]:
        channel = tracker.get_latest_input_channel() or "rest"
        dispatcher.utter_message(
            text=email_question(Settings.from_env(), channel),
            buttons=[{"title": "Skip", "payload": "/deny"}, {"title": "Cancel", "payload": "/cancel"}],
        )
        return []


class ValidateHandoffForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_handoff_form"

    def validate_handoff_question(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
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

    def validate_handoff_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:  # a reset when the intake starts, not an answer
            return {"handoff_name": None}
        text = _said(value)
        if text.lower() in SKIP_WORDS:
            return {"handoff_name": ""}
        if len(text) > 80:
            dispatcher.utter_message(text="That's longer than a name usually is. What should the adviser call you?")
            return {"handoff_name": None}
        return {"handoff_name": text}

    def validate_handoff_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:  # a reset when the intake starts, not an answer
            return {"handoff_email": None}
        text = _said(value)
        if text.lower() in SKIP_WORDS:
            return {"handoff_email": ""}
        if not EMAIL.match(text) or len(text) > 254:
            dispatcher.utter_message(
                text=(
                    "That doesn't look like an email address (like name@example.org). "
                    "Type it again, or press Skip to carry on without one."
                ),
                buttons=[{"title": "Skip", "payload": "/deny"}],
            )
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
            tracker.sender_id,
            channel,
            _said(tracker.get_slot("handoff_question")),
            person_name=name,
            email=email,
            topic=topic_of(_said(tracker.get_slot("handoff_question"))),
            chat_id=str(metadata["chat_id"]) if metadata.get("chat_id") is not None else None,
        )
        emailed = bool(email) and case.channel in EMAILED_CHANNELS and asked_with_consent(tracker, settings)
        if emailed:  # the only cases whose replies are ever emailed (bot/handoff/_email.py)
            outbox_of(handoff_store()).record_consent(case)
        hours = AdviserHours(settings.adviser_hours, settings.adviser_timezone)
        text, position = handover_text(
            handoff_store(), case, hours, _time_zone_name(settings.adviser_timezone), now(), emailed=emailed
        )
        dispatcher.utter_message(
            text=text,
            buttons=[{"title": "Cancel and go back to the assistant", "payload": "/cancel"}],
            # the web chat's status line (bot/handoff/_status.py); no other channel has one
            json_message={"event": waiting_event(position)} if channel == "socketio" else None,
        )
        logger.info("handoff: case %s opened on %s", case.id, channel)
        from bot.insights._record import record_handoff

        record_handoff(tracker, case, case.question)  # kept for the gap page, with the last answer given
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
            dispatcher.utter_message(
                text="Thank you for rating the help you had. Ask me anything else whenever you like."
            )
        else:
            dispatcher.utter_message(text="Thanks. Ask me anything else whenever you like.")
        return []
