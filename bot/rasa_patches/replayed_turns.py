"""Patch: ``rasa.core.processor.MessageProcessor.handle_message`` (public), wrapped.

Why: a message sent again with the id it was first sent with (bot/channels/_message_ids.py) must
be answered with the replies its turn gave, not run twice. ``Agent.handle_message`` calls this
method holding Rasa's lock on the conversation (fingerprinted), so the look-up waits for a first
attempt still running on this or another server. A turn that does run first does what the
channel asked of it (``bot.channels._handoff.run_before_turn``).
"""
from __future__ import annotations

import logging

from ._marks import installed, mark

NAME = "replayed_turns"
HOW = "wraps"
ATTRIBUTES = ["rasa.core.processor:MessageProcessor.handle_message"]
TARGETS = ATTRIBUTES + ["rasa.core.agent:Agent.handle_message"]
logger = logging.getLogger("bot.rasa_server")


def install() -> None:
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.processor import MessageProcessor

    from bot.channels._handoff import run_before_turn
    from bot.channels._message_ids import is_replayable, replies_to

    original = MessageProcessor.handle_message
    if installed(original, NAME):
        return

    async def handle_message(self, message):
        if is_replayable(message):
            tracker = await self.tracker_store.retrieve(message.sender_id)
            replies = replies_to(tracker.events, message.message_id) if tracker else None
            if replies is not None:
                logger.info("a message was sent again; its turn's %d replies were sent again, the turn "
                            "was not run twice", len(replies))
                for reply in replies:
                    await message.output_channel.send_response(message.sender_id, reply)
                if isinstance(message.output_channel, CollectingOutputChannel):
                    return message.output_channel.messages
                return None
        run_before_turn(message)
        return await original(self, message)

    MessageProcessor.handle_message = mark(handle_message, NAME, original)
