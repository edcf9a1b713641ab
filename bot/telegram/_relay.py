"""Talking to the assistant: one user turn in, the bot's messages out.

``POST {rasa_url}/webhooks/relay/webhook`` with the relay token (see ``bot/channels/rest.py``).
Each Telegram chat is one conversation, ``tg-<chat id>``. If the assistant cannot be reached or
fails, the turn's answer is a polite "having trouble" message, never an exception.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any, Dict, List, Optional, Tuple

import httpx

from bot.replies import TROUBLE
from bot.settings import Settings

logger = logging.getLogger(__name__)

RELAY_PATH = "/webhooks/relay/webhook"
ERASE_PATH = "/webhooks/relay/erase"


@dataclasses.dataclass(frozen=True)
class BotMessage:
    """One message from the assistant: markdown text and its buttons (``{"title", "payload"}``)."""

    text: str
    buttons: Tuple[Dict[str, str], ...] = ()

    @classmethod
    def from_json(cls, item: Any) -> Optional["BotMessage"]:
        if not isinstance(item, dict):
            return None
        text = item.get("text") or ""
        if not text and item.get("image"):
            text = str(item["image"])
        buttons = tuple(
            {"title": str(b.get("title") or ""), "payload": str(b.get("payload") or "")}
            for b in item.get("buttons") or ()
            if isinstance(b, dict)
        )
        if not text and not buttons:
            return None
        return cls(str(text), buttons)


def conversation_id(chat_id: int) -> str:
    """The assistant's conversation for a Telegram chat (one per chat, groups included)."""
    return f"tg-{chat_id}"


class AssistantRelay:
    """Sends turns to the assistant over one HTTP connection pool; :meth:`close` when done."""

    def __init__(
        self, rasa_url: str, relay_token: str, timeout: float = 30.0, connect_retry_delay: float = 1.0
    ) -> None:
        self.url = rasa_url.rstrip("/") + RELAY_PATH
        self.erase_url = rasa_url.rstrip("/") + ERASE_PATH
        self.relay_token = relay_token
        self.timeout = timeout
        self.connect_retry_delay = connect_retry_delay
        self._client: Optional[httpx.AsyncClient] = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "AssistantRelay":
        return cls(settings.rasa_url, settings.relay_token, settings.telegram_relay_timeout_seconds)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout, connect=min(5.0, self.timeout)),
                headers={"Authorization": f"Bearer {self.relay_token}"},
                trust_env=False,  # the assistant is ours: never reach it through a proxy from the environment
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def turn(
        self, chat_id: int, message: str, user_name: str = "", message_id: Optional[str] = None
    ) -> List[BotMessage]:
        """The assistant's reply to ``message`` in this chat's conversation.

        With a ``message_id`` (from the Telegram update) a turn that failed on the way (the
        connection dropped mid-turn, the balancer answered 502/503/504 because a Rasa server died)
        is sent again: the assistant answers a repeated id from the stored turn, never twice."""
        body = {
            "sender": conversation_id(chat_id),
            "message": message,
            "metadata": {"channel": "telegram", "chat_id": chat_id, "user_name": user_name},
        }
        if message_id:
            body["message_id"] = message_id
        attempts = 3 if message_id else 2
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = await self._http().post(self.url, json=body)
            except httpx.ConnectError as exc:
                # nothing reached the assistant, so sending again cannot repeat the turn
                if last:
                    logger.error("telegram: the assistant at %s cannot be reached: %s", self.url, exc)
                    return [BotMessage(TROUBLE)]
            except httpx.TimeoutException:
                logger.error("telegram: the assistant took longer than %.0f s for chat %s", self.timeout, chat_id)
                return [BotMessage(TROUBLE)]
            except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
                if not message_id or last:  # without an id, sending again could run the turn twice
                    logger.error("telegram: the assistant request failed for chat %s: %r", chat_id, exc)
                    return [BotMessage(TROUBLE)]
            except httpx.HTTPError as exc:
                logger.error("telegram: the assistant request failed for chat %s: %r", chat_id, exc)
                return [BotMessage(TROUBLE)]
            else:
                if not (message_id and response.status_code in (502, 503, 504) and not last):
                    break
                logger.warning("telegram: the assistant answered HTTP %s; sending the turn again", response.status_code)
            await asyncio.sleep(self.connect_retry_delay)
        if response.status_code != 200:
            hint = " (is the relay token the same on both sides?)" if response.status_code == 401 else ""
            logger.error(
                "telegram: the assistant answered HTTP %s%s: %.200s", response.status_code, hint, response.text
            )
            return [BotMessage(TROUBLE)]
        try:
            items = response.json()
        except ValueError:
            logger.error("telegram: the assistant's answer is not JSON: %.200s", response.text)
            return [BotMessage(TROUBLE)]
        if not isinstance(items, list):
            logger.error("telegram: the assistant's answer is not a list: %.200s", response.text)
            return [BotMessage(TROUBLE)]
        return [m for m in (BotMessage.from_json(item) for item in items) if m is not None]

    async def erase(self, chat_id: int) -> bool:
        """Delete this chat's conversation and handoff cases from the assistant (the person's
        confirmed /delete_my_data); ``False`` if the assistant could not do it."""
        try:
            response = await self._http().post(self.erase_url, json={"sender": conversation_id(chat_id)})
        except httpx.HTTPError as exc:
            logger.error("telegram: erasing chat %s's data failed: %r", chat_id, exc)
            return False
        if response.status_code != 200:
            logger.error("telegram: erasing chat %s's data failed: HTTP %s", chat_id, response.status_code)
            return False
        return True
