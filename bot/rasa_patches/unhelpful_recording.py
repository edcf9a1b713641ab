"""Patch: ``rasa.core.processor.MessageProcessor._handle_message_with_tracker`` (private), wrapped.

Why: "Did this help? No" (intent ``feedback_unhelpful``) is answered by a response, not a custom
action, so no action server code sees it; after Rasa has understood the message and logged it,
the Rasa process itself records the answer that did not help (``bot.insights._record``), off the
event loop. A failure to record is logged and never the turn's problem.
"""

from __future__ import annotations

import asyncio
import logging

from ._marks import installed, mark

NAME = "unhelpful_recording"
HOW = "wraps"
ATTRIBUTES = ["rasa.core.processor:MessageProcessor._handle_message_with_tracker"]
TARGETS = ATTRIBUTES + ["rasa.core.processor:MessageProcessor.log_message"]
logger = logging.getLogger("bot.insights._rasa_hook")


def install(store_url: str) -> None:
    from rasa.core.processor import MessageProcessor

    from bot.insights._record import unhelpful_hook

    original = MessageProcessor._handle_message_with_tracker
    if installed(original, NAME):
        return

    async def handle_message_with_tracker(self, message, tracker):
        await original(self, message, tracker)
        latest = tracker.latest_message
        if latest is not None and (latest.intent or {}).get("name") == "feedback_unhelpful":
            try:
                await asyncio.to_thread(unhelpful_hook, tracker, store_url)
            except Exception:  # never the turn's problem
                logger.exception("insights: could not record an unhelpful answer")

    MessageProcessor._handle_message_with_tracker = mark(handle_message_with_tracker, NAME, original)
