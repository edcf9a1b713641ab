"""Custom actions run by the Rasa SDK action server (`python -m bot.action_server`)."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.guidance import Answer, Context, GuidanceDesk, GuidanceIndex
from bot.safety import placeholders_in, without_placeholders
from bot.settings import Settings

logger = logging.getLogger(__name__)

_desk: Optional[GuidanceDesk] = None


def guidance_desk() -> GuidanceDesk:
    """The process's one desk: the model and the index are loaded once and kept in memory."""
    global _desk
    if _desk is None:
        settings = Settings.from_env()
        index = GuidanceIndex.load(settings.knowledge_dir / "pages", settings.index_dir)
        _desk = GuidanceDesk.for_settings(index, settings)
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
        guidance={
            "answered": answer.answered,
            "score": round(answer.score, 4),
            "threshold": round(answer.threshold, 4),
            "reason": answer.reason,
            "section": answer.passage_id,
            "sources": [{"slug": s.slug, "title": s.title, "url": s.url} for s in answer.sources],
        },
    )


def context_of(tracker: Tracker) -> Optional[Context]:
    """The question in play in this conversation (slot ``guidance_context``), if any."""
    kept = tracker.get_slot("guidance_context")
    if not isinstance(kept, dict) or not kept.get("passage_id"):
        return None
    return Context(str(kept.get("question") or ""), str(kept["passage_id"]), bool(kept.get("clarifying")))


def context_slot(context: Optional[Context]) -> Optional[Dict[str, Any]]:
    if context is None:
        return None
    return {"question": context.question, "passage_id": context.passage_id, "clarifying": context.clarifying}


class ActionAnswerFromGuidance(Action):
    """Answers the latest message from the guidance, in the context of the conversation so far: a
    typed question (alone or as a follow-up), a section picked from buttons, or "tell me more"."""

    def name(self) -> Text:
        return "action_answer_from_guidance"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        desk = guidance_desk()
        context = context_of(tracker)
        picked = next(tracker.get_latest_entity_values("guidance_slug"), None)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "tell_me_more":
            answer = desk.tell_me_more(context)
        elif picked:
            # a clarification answered: focus on the question that was asked; a topic picked: lead with it
            focus_on = context.question if context and context.clarifying else None
            answer = desk.answer_topic(picked, focus_on=focus_on)
        else:
            text = tracker.latest_message.get("text")
            if text and placeholders_in(text):  # "[card number removed]" is not part of the question
                text = without_placeholders(text) or text
            answer = desk.answer(text, context)
        logger.info(
            "guidance answer: answered=%s reason=%s score=%.3f threshold=%.3f section=%s",
            answer.answered,
            answer.reason,
            answer.score,
            answer.threshold,
            answer.passage_id,
        )
        from bot.insights._record import record_answer

        # a question declined, only just answered or asked again in other words: kept for the gap page
        record_answer(tracker, answer, desk if intent != "tell_me_more" and not picked else None)
        missed = not answer.answered and answer.reason not in ("clarify", "nothing_to_expand")
        previous = float(tracker.get_slot("misses") or 0)
        misses = 0.0 if answer.answered else previous + 1 if missed else previous
        events = [
            SlotSet("adviser_offered", missed),
            SlotSet("misses", misses),
            SlotSet("guidance_slug", None),
            SlotSet("guidance_context", context_slot(answer.context)),
        ]
        if answer.answered:
            events.append(SlotSet("last_topic", answer.sources[0].title))
        if misses >= 2 and answer.reason == "not_confident":
            dispatcher.utter_message(text="I couldn't answer that either, so let me pass your question to an adviser.")
            return events + [FollowupAction("action_request_human")]
        say(dispatcher, answer)
        return events
