"""A person's "delete my data", heard by a channel inside the Rasa server (the widget's socket.io
event, the Telegram relay's ``/erase``): see bot/privacy/_erasure.py and docs/privacy.md."""

from __future__ import annotations

import logging
from typing import Any, Optional

from bot.settings import Settings

from ._handoff import HandoffGate

logger = logging.getLogger(__name__)


class EraseRequests:
    """Erases a conversation under Rasa's lock; shares the channel's handoff store."""

    def __init__(self, gate: HandoffGate, settings: Optional[Settings] = None):
        self.gate = gate
        self.settings = settings
        self._eraser = None

    @property
    def eraser(self):
        if self._eraser is None:
            from bot.privacy import ConversationEraser

            settings = self.settings or self.gate.settings or Settings.from_env()
            self._eraser = ConversationEraser(settings.tracker_store, self.gate.store)
        return self._eraser

    async def erase(self, agent: Any, conversation_id: str, by: Any = None):
        from bot.privacy import erase_under_lock

        erased = await erase_under_lock(agent, self.eraser, conversation_id, by)
        logger.info(
            "privacy: a conversation was erased on request%s (%d events, %d cases)",
            " by a supervisor" if by else "",
            erased.events,
            erased.cases,
        )
        return erased
