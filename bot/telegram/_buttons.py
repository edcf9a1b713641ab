"""The assistant's buttons as Telegram inline keyboards.

Telegram gives a button at most 64 bytes of ``callback_data``, and a payload such as
``/ask_question{"guidance_slug":"community-interest-company"}`` can be longer. So:

- a payload that fits is sent as it is;
- a suggested topic or section is sent as ``#t:<slug>`` or ``#t:<slug>#<anchor>`` when that fits
  (this survives a restart of the front end);
- anything else gets a short key (``#k:`` and 16 characters of its hash), remembered in this
  process for the most recent :data:`REMEMBERED_PAYLOADS` payloads. A key that is no longer
  remembered is answered with "this button has expired".
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import OrderedDict
from typing import Any, Iterable, Mapping, Optional

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.guidance import topic_payload

CALLBACK_DATA_LIMIT = 64  # bytes
REMEMBERED_PAYLOADS = 10_000
TOPIC_PREFIX = "#t:"
KEY_PREFIX = "#k:"

_TOPIC_START, _TOPIC_END = topic_payload("\0").split("\0")
_TOPIC = re.compile(
    re.escape(_TOPIC_START) + r"(?P<slug>[a-z0-9][a-z0-9-]*(?:#[a-z0-9-]+)?)" + re.escape(_TOPIC_END) + r"\Z"
)


def _fits(data: str) -> bool:
    return 0 < len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT


class ButtonPayloads:
    """Turns payloads into ``callback_data`` and back; one per front-end process."""

    def __init__(self, capacity: int = REMEMBERED_PAYLOADS) -> None:
        self.capacity = capacity
        self._by_key: "OrderedDict[str, str]" = OrderedDict()

    def callback_data(self, payload: str) -> str:
        if _fits(payload) and not payload.startswith((TOPIC_PREFIX, KEY_PREFIX)):
            return payload
        topic = _TOPIC.match(payload)
        if topic and _fits(TOPIC_PREFIX + topic.group("slug")):
            return TOPIC_PREFIX + topic.group("slug")
        digest = hashlib.sha256(payload.encode("utf-8")).digest()[:12]
        key = KEY_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")
        self._by_key[key] = payload
        self._by_key.move_to_end(key)
        while len(self._by_key) > self.capacity:
            self._by_key.popitem(last=False)
        return key

    def payload(self, callback_data: Optional[str]) -> Optional[str]:
        """The payload a pressed button stands for, or ``None`` if it is no longer known."""
        if not callback_data:
            return None
        if callback_data.startswith(TOPIC_PREFIX):
            return topic_payload(callback_data[len(TOPIC_PREFIX) :])
        if callback_data.startswith(KEY_PREFIX):
            return self._by_key.get(callback_data)
        return callback_data

    def keyboard(self, buttons: Iterable[Mapping[str, Any]]) -> Optional[InlineKeyboardMarkup]:
        """One button per row (titles are often long); ``None`` when there are no buttons."""
        rows = []
        for button in buttons or ():
            title = str(button.get("title") or button.get("payload") or "").strip()
            payload = str(button.get("payload") or title)
            if title and payload:
                rows.append([InlineKeyboardButton(title, callback_data=self.callback_data(payload))])
        return InlineKeyboardMarkup(rows) if rows else None
