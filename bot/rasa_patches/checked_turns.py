"""Patch: ``rasa.core.processor.MessageProcessor.handle_message`` (public), wrapped.

Why: what a channel's message does to its conversation besides Rasa's own turn must happen under
Rasa's lock on that conversation, which ``Agent.handle_message`` holds while it calls this
method (fingerprinted), so that it waits for a turn still running on this or another server:
"cancel" leaving an adviser's queue, the adviser messages REST delivers with its reply, a message
sent again with its first id answered from the stored turn instead of run twice, counting the
message on an open case, and the crisis reply during a handoff. Those steps are
``bot.channels._admission.run_checked_turn``; a message that did not come through a channel's
admission (``CheckedMessage``) gets Rasa's own turn.
"""

from __future__ import annotations

from ._marks import installed, mark

NAME = "checked_turns"
HOW = "wraps"
ATTRIBUTES = ["rasa.core.processor:MessageProcessor.handle_message"]
TARGETS = ATTRIBUTES + ["rasa.core.agent:Agent.handle_message"]


def install() -> None:
    from rasa.core.processor import MessageProcessor

    from bot.channels._admission import CheckedMessage, run_checked_turn

    original = MessageProcessor.handle_message
    if installed(original, NAME):
        return

    async def handle_message(self, message):
        if not isinstance(message, CheckedMessage):
            return await original(self, message)
        return await run_checked_turn(self, message, lambda: original(self, message))

    MessageProcessor.handle_message = mark(handle_message, NAME, original)
