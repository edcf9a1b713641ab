"""Patch: ``rasa.core.actions.action.RemoteAction.run`` (public), wrapped; and the module's
``DEFAULT_REQUEST_TIMEOUT``, which ``run`` passes to each action server call.

Why: a custom action that fails or takes longer than the timeout (Rasa waits 300 s by default)
would leave the person with silence. Here they get the polite "having trouble" reply and the
conversation goes on; a form declining a value (``ActionExecutionRejection``) is Rasa's normal
flow and passes through.
"""

from __future__ import annotations

import logging

from ._marks import installed, mark

NAME = "action_failure_reply"
HOW = "wraps"
ATTRIBUTES = ["rasa.core.actions.action:RemoteAction.run"]
TARGETS = ATTRIBUTES
logger = logging.getLogger("bot.rasa_server")


def install(timeout_seconds: float) -> None:
    import rasa.core.actions.action as rasa_actions
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.shared.core.events import BotUttered

    from bot.replies import TROUBLE

    rasa_actions.DEFAULT_REQUEST_TIMEOUT = timeout_seconds
    original_run = RemoteAction.run
    if installed(original_run, NAME):
        return

    async def run(self, output_channel, nlg, tracker, domain):
        try:
            return await original_run(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except Exception as exc:  # the action server is down, slow or broken
            logger.error(
                "custom action %s failed (%s); the person was told we are having trouble",
                self.name(),
                exc.__class__.__name__,
            )
            return [BotUttered(TROUBLE, metadata={"failure": self.name()})]

    RemoteAction.run = mark(run, NAME, original_run)
