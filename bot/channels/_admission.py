"""One way in for a person's message, whichever channel it came by.

A channel reads its request into an :class:`Incoming` and calls :func:`admit`, which gives one
of three verdicts, the same for the same input on every channel:

- :class:`Rejected`: the request is malformed (a wrong type, a malformed ``message_id``); REST
  answers HTTP 400 with the sentence, the widget "Sorry, I couldn't read that message.";
- :class:`~bot.channels._limits.Refusal`: over a limit (HTTP 429 with Retry-After on REST);
- :class:`StandIn`: a reply that stands in for the assistant's (empty, too long, not English);
- or a :class:`CheckedMessage`, the masked message for Rasa.

What touches the conversation happens in the Rasa server, inside the turn, under Rasa's lock on
the conversation (:func:`run_checked_turn`, installed by ``bot.rasa_patches.checked_turns``):
leaving an adviser's queue on "cancel", the adviser messages REST delivers with a reply, the
answer to a message sent again with its id, counting the message on an open case, and the
crisis reply while a handoff is paused. The results come back on the message's declared fields.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Union

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage

from ._checks import check_sender, check_text, without_identifiers
from ._handoff import HandoffGate
from ._limits import ChannelLimits, Refusal
from ._message_ids import check_message_id, replies_to

logger = logging.getLogger("bot.rasa_server")

NOT_AN_OBJECT = "the request body must be a JSON object"
METADATA_RULE = "'metadata' must be an object"


@dataclass(frozen=True)
class Incoming:
    """A message as a channel read it, nothing checked yet."""

    sender: Any  # the conversation: REST's "sender", the widget's session id
    text: Any
    input_channel: str
    message_id: Any = None
    fallback_message_id: Any = None  # nginx's X-Request-ID: used when well-formed and no message_id
    metadata: Any = None
    button_title: Any = None  # the widget's title of a pressed button (its payload is the text)
    shape_error: Optional[str] = None  # the channel could not read a message at all


@dataclass(frozen=True)
class Rejected:
    error: str


@dataclass(frozen=True)
class StandIn:
    reply: Dict[str, Any]  # {"text", "buttons"}


class CheckedMessage(UserMessage):
    """A ``UserMessage`` that went through :func:`admit`: what the turn must do, and what it did."""

    replayable: bool  # the id came from the client, so a message sent again with it is replayed
    gate: Optional[HandoffGate]  # the channel's handoff store, for cancel, counting and crisis
    deliver_pushed: bool  # the channel cannot push: adviser messages come with the reply
    # set by the turn
    left_handoff: Optional[Dict[str, Any]]  # the reply, when "cancel" took the person out of a handoff
    pushed: List[Dict[str, Any]]  # adviser messages put in the conversation since the last turn
    help_now: Optional[Dict[str, Any]]  # where to find help, said by the channel during a handoff
    replayed: bool  # answered from the stored turn

    def __init__(
        self,
        text: str,
        output_channel: Optional[OutputChannel],
        sender_id: str,
        *,
        input_channel: str,
        metadata: Optional[Dict[str, Any]] = None,
        message_id: Optional[str] = None,
        gate: Optional[HandoffGate] = None,
        deliver_pushed: bool = False,
    ) -> None:
        super().__init__(
            text, output_channel, sender_id, input_channel=input_channel, metadata=metadata, message_id=message_id
        )
        self.replayable = message_id is not None
        self.gate = gate
        self.deliver_pushed = deliver_pushed
        self.left_handoff = None
        self.pushed = []
        self.help_now = None
        self.replayed = False


Verdict = Union[Rejected, Refusal, StandIn, CheckedMessage]


async def admit(
    incoming: Incoming,
    *,
    limits: ChannelLimits,
    max_chars: int,
    gate: HandoffGate,
    output_channel: Optional[OutputChannel],
    address: Optional[str] = None,
    allow_reserved: bool = False,
    deliver_pushed: bool = False,
) -> Verdict:
    """The verdict on ``incoming`` (see the module's docstring). ``address``: the client's, when the
    channel has not counted it against its limit already (REST counts each request before reading
    it; the relay speaks for many people and is not limited by address)."""
    problem = check_sender(incoming.sender, allow_reserved)
    if problem:
        return Rejected(problem)
    too_many = (
        await limits.check_address(address) if address is not None else None
    ) or await limits.check_conversation(incoming.sender)
    if too_many:
        return too_many
    if incoming.shape_error:
        return Rejected(incoming.shape_error)
    if incoming.metadata is not None and not isinstance(incoming.metadata, dict):
        return Rejected(METADATA_RULE)
    error, reply = check_text(incoming.text, max_chars)
    if error:
        return Rejected(error)
    error, message_id = check_message_id(incoming.message_id)
    if error:
        return Rejected(error)
    if message_id is None:
        _, message_id = check_message_id(incoming.fallback_message_id)
    if reply:
        return StandIn(reply)
    text = without_identifiers(incoming.text)  # from here on, only the masked text
    metadata = incoming.metadata
    title = incoming.button_title
    if isinstance(title, str) and title and text.startswith("/"):
        metadata = {**(metadata or {}), "button_title": without_identifiers(title[:200])}
    return CheckedMessage(
        text,
        output_channel,
        incoming.sender,
        input_channel=incoming.input_channel,
        metadata=metadata,
        message_id=message_id,
        gate=gate,
        deliver_pushed=deliver_pushed,
    )


async def run_checked_turn(
    processor: Any, message: CheckedMessage, run: Callable[[], Awaitable[Optional[List[Dict[str, Any]]]]]
) -> Optional[List[Dict[str, Any]]]:
    """The turn of a checked message, in ``MessageProcessor.handle_message`` (so under Rasa's lock
    on the conversation); ``run`` runs Rasa's own turn."""
    output = message.output_channel

    def answered() -> Optional[List[Dict[str, Any]]]:
        return output.messages if isinstance(output, CollectingOutputChannel) else None

    gate, sender = message.gate, message.sender_id
    if gate is not None:
        message.left_handoff = await gate.intercept(processor, sender, message.text)
        if message.left_handoff:
            return answered()
        if message.deliver_pushed:
            message.pushed = await gate.pushed_since_last_turn(processor, sender)
    if message.replayable:
        tracker = await processor.tracker_store.retrieve(sender)
        replies = replies_to(tracker.events, message.message_id) if tracker else None
        if replies is not None:
            logger.info(
                "a message was sent again; its turn's %d replies were sent again, the turn was not run twice",
                len(replies),
            )
            message.replayed = True
            for reply in replies:
                await output.send_response(sender, reply)
            return answered()
    if gate is not None:
        await gate.count(sender, message.text)
    result = await run()
    if gate is not None:
        message.help_now = await gate.crisis_while_waiting(processor, sender, message.text)
    return result
