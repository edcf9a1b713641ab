"""Custom actions run by the Rasa SDK action server (`python -m bot.action_server`)."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.guidance import Answer, GuidanceDesk, GuidanceIndex
from bot.settings import Settings

logger = logging.getLogger(__name__)

_desk: Optional[GuidanceDesk] = None


def guidance_desk() -> GuidanceDesk:
    """The process's one desk: the model and the index are loaded once and kept in memory."""
    global _desk
    if _desk is None:
        settings = Settings.from_env()
        index = GuidanceIndex.load(settings.knowledge_dir / "pages", settings.index_dir)
        _desk = GuidanceDesk(index, settings.web_url, threshold=settings.answer_threshold,
                             mode=settings.retrieval_mode, max_chars=settings.max_message_chars)
    return _desk


def use_desk(desk: Optional[GuidanceDesk]) -> None:
    """Replace the process's desk (tests, or a reload after the guidance changed)."""
    global _desk
    _desk = desk


def say(dispatcher: CollectingDispatcher, answer: Answer) -> None:
    dispatcher.utter_message(
        text=answer.text,
        buttons=[{"title": b.title, "payload": b.payload} for b in answer.buttons],
        # kept with the bot message in the tracker (not shown to the person): what advisers see
        guidance={"answered": answer.answered, "confidence": round(answer.confidence, 4), "reason": answer.reason,
                  "sources": [{"slug": s.slug, "title": s.title, "url": s.url} for s in answer.sources]},
    )


class ActionAnswerFromGuidance(Action):
    def name(self) -> Text:
        return "action_answer_from_guidance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        desk = guidance_desk()
        slug = next(tracker.get_latest_entity_values("guidance_slug"), None)
        text = tracker.latest_message.get("text")
        answer = desk.answer_topic(slug) if slug else desk.answer(text)
        logger.info(
            "guidance answer: answered=%s reason=%s confidence=%.3f sources=%s",
            answer.answered, answer.reason, answer.confidence, [s.slug for s in answer.sources],
        )
        misses = 0.0 if answer.answered else float(tracker.get_slot("misses") or 0) + 1
        events = [SlotSet("adviser_offered", not answer.answered), SlotSet("misses", misses),
                  SlotSet("guidance_slug", None)]
        if answer.answered:
            events.append(SlotSet("last_topic", answer.sources[0].title))
        if misses >= 2 and answer.reason == "not_confident":
            dispatcher.utter_message(text="I couldn't answer that either, so let me pass your question to an adviser.")
            return events + [FollowupAction("action_request_human")]
        say(dispatcher, answer)
        return events
