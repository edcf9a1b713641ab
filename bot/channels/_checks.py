"""What every public entry point checks before a message reaches Rasa."""

from __future__ import annotations

import re
from typing import Any, Dict, Optional, Tuple

from bot.guidance import ADVISER_PAYLOAD, assess_message
from bot.guidance._answer import ADVISER_BUTTON_TITLE
from bot.safety import mask_identifiers

SENDER_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
RESERVED_PREFIXES = ("tg-",)  # conversations only the Telegram relay may speak in


def check_sender(sender: Any, allow_reserved: bool = False) -> Optional[str]:
    """Why a sender id cannot be used, or ``None``."""
    if not isinstance(sender, str) or not SENDER_ID.fullmatch(sender):  # fullmatch: "$" allows a final newline
        return "'sender' must be 1 to 128 letters, digits or . _ : -"
    if not allow_reserved and sender.startswith(RESERVED_PREFIXES):
        return "'sender' may not start with a reserved prefix"
    return None


def check_text(message: Any, max_chars: int) -> Tuple[Optional[str], Optional[Dict[str, Any]]]:
    """``(error, reply)``: an error for a wrong type (HTTP 400), or a reply that stands in for the
    assistant's when the message has nothing to search (empty, too long, no words, not English),
    or ``(None, None)`` when the text may go on to Rasa."""
    if message is not None and not isinstance(message, str):
        return "'message' must be a string", None
    if isinstance(message, str) and message.startswith("/"):
        return None, None  # a button's payload
    problem = assess_message(message, max_chars)
    if problem:
        reason, text = problem
        buttons = [{"title": ADVISER_BUTTON_TITLE, "payload": ADVISER_PAYLOAD}] if reason == "not_english" else []
        return None, {"text": text, "buttons": buttons}
    return None, None


def without_identifiers(message: str) -> str:
    """The message as the assistant keeps it: National Insurance numbers, card numbers and bank
    details replaced by placeholders ("[card number removed]") before Rasa, its tracker, the logs or
    the handoff store see it (``bot.safety``). The NLU's MessageRouter sees the placeholder and the
    reply tells the person not to send them."""
    return mask_identifiers(message).text if isinstance(message, str) else message
