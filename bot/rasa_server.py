"""Runs ``rasa`` with the project's changes to Rasa 3.6, so every Rasa process starts here.

1. Rasa validates each action server response with ``jsonschema.validate``, which checks the
   schema itself again on every call: 37 ms of a 49 ms custom-action turn on a 2-core machine.
   A validator built once gives the same verdicts in well under a millisecond.
2. A custom action that fails or is slow gives the person a polite "having trouble" reply within
   ``MUTUALS_ACTION_TIMEOUT_SECONDS`` instead of silence for up to 300 s.
3. A failing conversation database fails the turn instead of carrying on with an empty
   conversation held in memory.
4. A message sent again with its first id is answered from the stored turn, not run twice.
   A message waiting for its conversation's lock keeps its place (``bot/locks.py``): Rasa's own
   ticket lock could leave it waiting forever behind a turn whose server died.
5. Telemetry is switched off, and logs are redacted: a public service sends nothing it has not
   declared and writes no one's email address, phone number or postcode to its logs.
6. Speed, with the same results: a kept-alive connection to the action server instead of a new
   one per custom action; each event of an action response checked against the one schema its
   name selects (the whole schema whenever that does not accept it); event classes looked up by
   name once instead of by listing every ``Event`` subclass for each event read.

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
    def validators():
        # the same validator class jsonschema.validate would pick, and the schema checked once
        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        return cls(schema), _event_validators(schema, cls)

    def _validate_action_result(self, result):  # same contract as Rasa's own
        whole, by_event = validators()
        if _surely_valid(result, by_event):
            return True
        try:  # anything else, valid or not, as before: the same verdict and the same error
            whole.validate(result)
            return True
        except ValidationError as e:
            e.message += (
                ". Failed to validate Action server response from API, make sure your response "
                f"from the Action endpoint is valid. For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions")
            raise e

    RemoteAction._validate_action_result = _validate_action_result


def _event_validators(schema, cls):
    """One validator per event name, for the schema an event of that name must meet.

    Rasa's event schema is ``{type, properties, required: [event], oneOf: [23 schemas]}`` where each
    of the 23 fixes ``event`` to a different constant, so an event whose ``event`` is one of those
    names meets ``oneOf`` exactly when it meets that name's schema (the other 22 fail on the
    constant). Checking only that one is what makes it ~20x cheaper than trying all 23 per event."""
    event_schema = schema["properties"]["events"]["items"]
    rest = {key: value for key, value in event_schema.items() if key != "oneOf"}
    out = {}
    for branch in event_schema["oneOf"]:
        name = branch["properties"]["event"]["const"]
        if name in out:  # two schemas for one name: not the shape assumed above; check everything
            return {}
        out[name] = cls({"allOf": [rest, branch]})
    return out


def _surely_valid(result, by_event) -> bool:
    """True only when ``result`` certainly meets the action response schema; False means "ask the
    full validator" (which may still accept it)."""
    if type(result) is not dict or not by_event:
        return False
    if "responses" in result:
        responses = result["responses"]
        if type(responses) is not list or any(type(r) is not dict for r in responses):
            return False
    if "events" not in result:
        return True
    events = result["events"]
    if type(events) is not list:
        return False
    for event in events:
        if type(event) is not dict:
            return False
        validator = by_event.get(event.get("event")) if type(event.get("event")) is str else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def install_event_class_cache() -> None:
    """Rasa finds an event's class by its name by listing every subclass of ``Event`` again, for
    each event of a conversation it reads (``Event.resolve_by_type``): about a tenth of a turn.
    Remember the class found for each name; a name not found yet still goes the original way."""
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    found = {}

    def resolve_by_type(type_name, default=None):
        cls = found.get(type_name)
        if cls is None:
            cls = original(type_name, default)
            if cls is not None and cls is not default and getattr(cls, "type_name", None) == type_name:
                found[type_name] = cls
        return cls

    Event.resolve_by_type = staticmethod(resolve_by_type)


def install_action_keep_alive(keep_alive_seconds: float = 2.0) -> None:
    """Rasa 3.6 opens a new HTTP session and connection to the action server for every custom
    action. Keep one session per event loop, whose connections stay open between calls for
    ``keep_alive_seconds`` (under the 5 s after which the Rasa SDK's server closes an idle one, so
    a kept connection is never one the server is closing). Headers, authentication, timeouts and
    errors are as before; https endpoints and ones with their own CA file go the original way."""
    import asyncio

    import aiohttp
    import rasa.core.run as rasa_run
    import rasa.utils.endpoints as endpoints
    from rasa.utils.endpoints import ClientResponseError, ContentTypeError, EndpointConfig, concat_url

    original = EndpointConfig.request
    sessions = {}  # (loop, id of the EndpointConfig) -> (the config, its session)

    def session_for(config):
        loop = asyncio.get_running_loop()
        key = (loop, id(config))
        entry = sessions.get(key)
        if entry is None or entry[0] is not config or entry[1].closed:
            if len(sessions) >= 16:  # endpoints made afresh each time: do not keep sessions for them
                return None
            auth = (aiohttp.BasicAuth(config.basic_auth["username"], config.basic_auth["password"])
                    if config.basic_auth else None)
            session = aiohttp.ClientSession(
                headers=config.headers, auth=auth,
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=keep_alive_seconds))
            entry = sessions[key] = (config, session)
        return entry[1]

    async def request(self, method="post", subpath=None, content_type="application/json", compress=False,
                      **kwargs):
        if self.cafile or not str(self.url or "").startswith("http://"):
            return await original(self, method, subpath, content_type, compress, **kwargs)
        session = session_for(self)
        if session is None:
            return await original(self, method, subpath, content_type, compress, **kwargs)
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if "headers" in kwargs:
            headers.update(kwargs["headers"])
            del kwargs["headers"]
        if self.headers:
            headers.update(self.headers)
        if "timeout" not in kwargs:  # what Rasa's own session for one request would have had
            kwargs["timeout"] = aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT)
        url = concat_url(self.url, subpath)
        async with session.request(method, url, headers=headers, params=self.combine_parameters(kwargs),
                                             compress=compress, ssl=None, **kwargs) as response:
            if response.status >= 400:
                raise ClientResponseError(response.status, response.reason, await response.content.read())
            try:
                return await response.json()
            except ContentTypeError:
                return None

    original_close = rasa_run.close_resources

    async def close_resources(app, loop):
        for key in [k for k in sessions if k[0] is loop]:
            await sessions.pop(key)[1].close()
        await original_close(app, loop)

    EndpointConfig.request = request
    rasa_run.close_resources = close_resources


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
    conversation, so a first attempt still running on this or another server finishes first. A
    turn that does run first does what the channel asked of it (``message.before_turn``)."""
    import logging

    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.processor import MessageProcessor

    from bot.channels._handoff import run_before_turn
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
        run_before_turn(message)
        return await original(self, message)

    MessageProcessor.handle_message = handle_message


def main(argv=None) -> None:
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    from bot.privacy import install_log_redaction

    install_log_redaction()  # no email address, UK phone number or postcode in the logs (docs/privacy.md)
    install_fast_action_validation()
    install_event_class_cache()
    install_action_keep_alive()
    install_fail_closed_tracker_store()
    install_replayed_turns()
    from bot.locks import install_patient_tickets

    install_patient_tickets()
    install_action_failure_reply(float(os.environ.get("MUTUALS_ACTION_TIMEOUT_SECONDS", "5")))
    from bot.insights._rasa_hook import install_unhelpful_recording
    from bot.settings import Settings

    install_unhelpful_recording(Settings.from_env().handoff_store)  # "Did this help? No": a miss (bot/insights/)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa"] + list(sys.argv[1:] if argv is None else argv)
    rasa_main()


if __name__ == "__main__":
    main()
