"""Small factories for Telegram Bot API objects as JSON dicts (what Telegram sends), shared by
the offline unit tests and the Bot API stand-in."""

from __future__ import annotations

import itertools
import re
import time
from typing import Any, Dict, List, Optional

BOT_ID = 7000001
BOT_USERNAME = "mutuals_test_bot"
BOT_TOKEN = f"{BOT_ID}:TEST-not-a-real-token"

_message_ids = itertools.count(1000)
_callback_ids = itertools.count(1)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def bot_user() -> Dict[str, Any]:
    return {
        "id": BOT_ID,
        "is_bot": True,
        "first_name": "Mutuals Assistant",
        "username": BOT_USERNAME,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


def user(user_id: int = 1001, first_name: str = "Ada", last_name: Optional[str] = "Lovelace") -> Dict[str, Any]:
    out = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
    if last_name:
        out["last_name"] = last_name
    return out


def chat(chat_id: int, chat_type: Optional[str] = None) -> Dict[str, Any]:
    chat_type = chat_type or ("private" if chat_id > 0 else "supergroup")
    out: Dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        out["first_name"] = "Ada"
    else:
        out["title"] = "Co-op founders"
    return out


def entities_for(text: str) -> List[Dict[str, Any]]:
    """The entities Telegram would find: a leading /command and @mentions (UTF-16 offsets)."""
    found = []
    for match in re.finditer(r"(?<![\w/])(/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?)|(?<!\w)(@[A-Za-z0-9_]{5,})", text):
        kind = "bot_command" if match.group(1) else "mention"
        if kind == "bot_command" and match.start() != 0:
            continue
        found.append({"type": kind, "offset": utf16_len(text[: match.start()]), "length": utf16_len(match.group(0))})
    return found


def message(
    chat_id: int,
    text: Optional[str] = None,
    *,
    from_user: Optional[Dict[str, Any]] = None,
    chat_type: Optional[str] = None,
    message_id: Optional[int] = None,
    reply_to: Optional[Dict[str, Any]] = None,
    **extra: Any,
) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "message_id": message_id or next(_message_ids),
        "date": int(time.time()),
        "chat": chat(chat_id, chat_type),
        "from": from_user or user(),
    }
    if text is not None:
        out["text"] = text
        found = entities_for(text)
        if found:
            out["entities"] = found
    if reply_to is not None:
        out["reply_to_message"] = reply_to
    out.update(extra)
    return out


def bot_message(chat_id: int, text: str = "An earlier answer.", **extra: Any) -> Dict[str, Any]:
    """A message the bot sent (for replies to it)."""
    return message(chat_id, text, from_user=bot_user(), **extra)


def message_update(update_id: int, chat_id: int, text: Optional[str] = None, **kwargs: Any) -> Dict[str, Any]:
    return {"update_id": update_id, "message": message(chat_id, text, **kwargs)}


def callback_update(
    update_id: int,
    chat_id: int,
    data: str,
    *,
    on_message: Optional[Dict[str, Any]] = None,
    from_user: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": str(next(_callback_ids)),
            "from": from_user or user(),
            "chat_instance": f"instance-{chat_id}",
            "data": data,
            "message": on_message or bot_message(chat_id, "Choose a topic."),
        },
    }
