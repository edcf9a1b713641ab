"""Running the real front end against the two stand-ins (Bot API and assistant) in one loop."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator, Tuple

from telegram.request import HTTPXRequest

from tests.support.assistant_stand_in import RELAY_TOKEN, AssistantStandIn
from bot.settings import Settings
from bot.stack import free_port
from bot.telegram import TelegramFrontEnd, TelegramPacing
from tests.support.bot_api_stand_in import BotApiStandIn
from tests.support.telegram_updates import BOT_TOKEN


def settings_for(api: BotApiStandIn, rasa_url: str, relay_token: str = RELAY_TOKEN, **overrides) -> Settings:
    values = dict(
        telegram_bot_token=BOT_TOKEN,
        telegram_api_base_url=api.base_url,
        relay_token=relay_token,
        telegram_relay_timeout_seconds=5.0,
        host="127.0.0.1",
    )
    if rasa_url:
        host, port = rasa_url.rsplit(":", 1)
        values.update(rasa_port=int(port))
    values.update(overrides)
    return Settings.from_env(env={}, **values)


def quick_pacing() -> TelegramPacing:
    """The real limits, with network retries after 0.1–0.8 s instead of 0.5–4 s."""
    return TelegramPacing(network_backoff=(0.1, 0.2, 0.4, 0.8))


def front_end_for(settings: Settings, read_timeout: float = 3.0, poll_timeout: int = 1) -> TelegramFrontEnd:
    return TelegramFrontEnd(
        settings,
        pacing=quick_pacing(),
        poll_timeout=poll_timeout,
        request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=2.0),
    )


@contextlib.asynccontextmanager
async def stand_ins_and_front_end(
    webhook: bool = False, read_timeout: float = 3.0, assistant_delay: float = 0.0
) -> AsyncIterator[Tuple[BotApiStandIn, AssistantStandIn, TelegramFrontEnd]]:
    async with BotApiStandIn() as api, AssistantStandIn(delay=assistant_delay) as assistant:
        extra = {}
        if webhook:
            port = free_port()
            extra = dict(
                telegram_webhook_url=f"http://127.0.0.1:{port}/telegram/hook",
                telegram_webhook_port=port,
                telegram_webhook_secret="s3cret-for-tests",
            )
        settings = settings_for(api, assistant.url, **extra)
        async with front_end_for(settings, read_timeout=read_timeout) as front_end:
            yield api, assistant, front_end
