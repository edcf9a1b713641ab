"""Runs ``rasa`` with the project's changes to Rasa 3.6, so every Rasa process starts here.

1. Rasa validates each action server response with ``jsonschema.validate``, which checks the
   schema itself again on every call: 37 ms of a 49 ms custom-action turn on a 2-core machine.
   A validator built once gives the same verdicts in well under a millisecond.
2. A custom action that fails or is slow gives the person a polite "having trouble" reply within
   ``MUTUALS_ACTION_TIMEOUT_SECONDS`` instead of silence for up to 300 s.
3. A failing conversation database fails the turn instead of carrying on with an empty
   conversation held in memory.
4. A message sent again with its first id is answered from the stored turn, not run twice.
5. Telemetry is switched off, and logs are redacted: a public service sends nothing it has not
   declared and writes no one's email address, phone number or postcode to its logs.

Usage: ``python -m bot.rasa_server run --enable-api ...`` (any ``rasa`` arguments).
"""
from __future__ import annotations

import functools
import os
import sys


def install_fast_action_validation() -> None:
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    @functools.lru_cache(maxsize=1)
    def validator():
        # the same validator class jsonschema.validate would pick, and the schema checked once
        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        return cls(schema)

    def _validate_action_result(self, result):  # same contract as Rasa's own
        try:
            validator().validate(result)
            return True
        except ValidationError as e:
            e.message += (
                ". Failed to validate Action server response from API, make sure your response "
                f"from the Action endpoint is valid. For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions")
            raise e

    RemoteAction._validate_action_result = _validate_action_result


def install_action_failure_reply(timeout_seconds: float) -> None:
    """A custom action that fails or takes longer than ``timeout_seconds`` (Rasa waits 300 s by
    default) gives the person a polite reply instead of silence; the conversation goes on."""
    import logging

    import rasa.core.actions.action as rasa_actions
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.shared.core.events import BotUttered

    from bot.channels._checks import TROUBLE

    rasa_actions.DEFAULT_REQUEST_TIMEOUT = timeout_seconds
    original_run = RemoteAction.run
    logger = logging.getLogger("bot.rasa_server")

    async def run(self, output_channel, nlg, tracker, domain):
        try:
            return await original_run(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise  # a form declining a value: Rasa's normal flow
        except Exception as exc:  # the action server is down, slow or broken
            logger.error("custom action %s failed (%s); the person was told we are having trouble",
                         self.name(), exc.__class__.__name__)
            return [BotUttered(TROUBLE, metadata={"failure": self.name()})]

    RemoteAction.run = run


def install_fail_closed_tracker_store() -> None:
    """When the conversation database fails, Rasa 3.6 carries on with an empty conversation held
    in memory: history gone, a paused handoff suddenly answered by the bot, and what is said then
    never saved. Fail the turn instead (the channel tells the person we are having trouble); the
    next turn after the database is back carries on the stored conversation."""
    import logging

    from rasa.core.tracker_store import FailSafeTrackerStore

    logger = logging.getLogger("bot.rasa_server")

    def failing(name):
        async def call(self, *args):
            try:
                return await getattr(self._tracker_store, name)(*args)
            except Exception as exc:
                logger.error("the conversation database failed in %s (%s); the turn is refused",
                             name, exc.__class__.__name__)
                raise
        return call

    for name in ("retrieve", "retrieve_full_tracker", "save"):
        setattr(FailSafeTrackerStore, name, failing(name))


def install_replayed_turns() -> None:
    """A message sent again with the id it was first sent with (bot/channels/_message_ids.py) is
    answered with the replies its turn gave, not run twice: checked under Rasa's lock on the
    conversation, so a first attempt still running on this or another server finishes first."""
    import logging

    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.processor import MessageProcessor

    from bot.channels._message_ids import is_replayable, replies_to

    original = MessageProcessor.handle_message
    logger = logging.getLogger("bot.rasa_server")

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
        return await original(self, message)

    MessageProcessor.handle_message = handle_message


def main(argv=None) -> None:
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    from bot.privacy import install_log_redaction

    install_log_redaction()  # no email address, UK phone number or postcode in the logs (docs/privacy.md)
    install_fast_action_validation()
    install_fail_closed_tracker_store()
    install_replayed_turns()
    install_action_failure_reply(float(os.environ.get("MUTUALS_ACTION_TIMEOUT_SECONDS", "5")))
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa"] + list(sys.argv[1:] if argv is None else argv)
    rasa_main()


if __name__ == "__main__":
    main()
