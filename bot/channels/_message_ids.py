"""A message's own id, chosen by whoever sends it, so that sending it again is safe.

A client that gets no answer (a Rasa server died mid-turn, a network drop, a load balancer
trying the next server) cannot know whether its message was handled. With a ``message_id`` it
sends the same message again with the same id: a Rasa server that finds that id already in the
conversation does not run the turn a second time, it sends the replies that turn gave
(``bot.channels._admission.run_checked_turn``, under Rasa's lock on the conversation, so a
turn still running elsewhere finishes first). A turn is saved in one transaction, so it is either
all there or not at all.

Where the id comes from: the REST and relay channels' ``message_id`` field, else the
``X-Request-ID`` header (nginx sets one per client request, the same for each upstream it tries,
see bot/cluster.py); the widget's ``user_uttered {message_id}``; Telegram's update id.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

MESSAGE_ID = re.compile(r"^[A-Za-z0-9_.:\-]{8,64}$")
MESSAGE_ID_RULE = "'message_id' must be 8 to 64 letters, digits or . _ : -"


def check_message_id(value: Any) -> Tuple[Optional[str], Optional[str]]:
    """``(error, message_id)``: no id is fine (``None, None``); a malformed one is an error."""
    if value is None:
        return None, None
    if not isinstance(value, str) or not MESSAGE_ID.fullmatch(value):
        return MESSAGE_ID_RULE, None
    return None, value


def replies_to(events: List[Any], message_id: str) -> Optional[List[Dict[str, Any]]]:
    """The bot messages that answered the user message with this id, if the conversation has it
    (an empty list for a message logged during a handoff, which the assistant does not answer);
    ``None`` if it does not."""
    found: Optional[List[Dict[str, Any]]] = None
    for event in events:
        kind = getattr(event, "type_name", "")
        if kind == "user":
            if found is not None:
                break
            if getattr(event, "message_id", None) == message_id:
                found = []
        elif kind == "bot" and found is not None:
            found.append(event.message())
    return found
