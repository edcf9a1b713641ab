"""In the Rasa server: "Did this help? No" (intent ``feedback_unhelpful``) is answered by a response,
not a custom action, so the Rasa process itself records the answer that did not help
(bot/insights/_record.py), off the event loop, once the message is understood."""
from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger(__name__)


def install_unhelpful_recording(store_url: str) -> None:
    from rasa.core.processor import MessageProcessor

    from ._record import unhelpful_hook

    original = MessageProcessor._handle_message_with_tracker

    async def handle_message_with_tracker(self, message, tracker):
        await original(self, message, tracker)
        latest = tracker.latest_message
        if latest is not None and (latest.intent or {}).get("name") == "feedback_unhelpful":
            try:
                await asyncio.to_thread(unhelpful_hook, tracker, store_url)
            except Exception:  # never the turn's problem
                logger.exception("insights: could not record an unhelpful answer")

    MessageProcessor._handle_message_with_tracker = handle_message_with_tracker
