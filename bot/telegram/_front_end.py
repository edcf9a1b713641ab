"""The Telegram front end as a whole: the python-telegram-bot application, long polling or the
webhook, and ``python -m bot.telegram``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import signal
import sys
from typing import List, Optional
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest, HTTPXRequest

from bot.settings import Settings, SettingsError

from ._buttons import ButtonPayloads
from ._conversation import TelegramConversations
from ._pacing import TelegramPacing
from ._relay import AssistantRelay
from ._webhook import TelegramWebhook
from ._wording import COMMANDS

logger = logging.getLogger(__name__)

ALLOWED_UPDATES: List[str] = [Update.MESSAGE, Update.CALLBACK_QUERY]
POLL_TIMEOUT = 30  # seconds a getUpdates call waits for news
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = getattr(getattr(update, "effective_chat", None), "id", None)
    logger.error("telegram: handling an update for chat %s failed", chat, exc_info=context.error)


class TelegramFrontEnd:
    """``async with TelegramFrontEnd(settings): ...`` relays Telegram chats to the assistant.

    ``request``/``get_updates_request``/``relay``/``pacing`` replace the real ones (tests).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        relay: Optional[AssistantRelay] = None,
        request: Optional[BaseRequest] = None,
        get_updates_request: Optional[BaseRequest] = None,
        pacing: Optional[TelegramPacing] = None,
        poll_timeout: int = POLL_TIMEOUT,
    ) -> None:
        if not settings.telegram_bot_token:
            raise SettingsError("TELEGRAM_BOT_TOKEN is not set")
        self.settings = settings
        self.webhook_secret = settings.telegram_webhook_secret or secrets.token_urlsafe(32)
        if settings.telegram_webhook_url and not _WEBHOOK_SECRET.match(self.webhook_secret):
            raise SettingsError("TELEGRAM_WEBHOOK_SECRET may only have letters, digits, _ and - (1 to 256)")
        self.poll_timeout = poll_timeout
        self.relay = relay or AssistantRelay.from_settings(settings)
        self.payloads = ButtonPayloads()
        self.pacing = pacing or TelegramPacing()
        self.conversations = TelegramConversations(settings, self.relay, self.payloads)
        builder = (
            ApplicationBuilder()
            .token(settings.telegram_bot_token)
            .base_url(settings.telegram_api_base_url)
            .rate_limiter(self.pacing)
            .concurrent_updates(True)
            .job_queue(None)
            .request(request or HTTPXRequest(connection_pool_size=64, read_timeout=15.0, write_timeout=15.0))
            .get_updates_request(get_updates_request or HTTPXRequest(connection_pool_size=2))
        )
        self.application: Application = builder.build()
        self.application.add_handlers(self.conversations.handlers())
        self.application.add_error_handler(_log_error)
        self.webhook: Optional[TelegramWebhook] = None

    @property
    def bot(self):
        return self.application.bot

    @property
    def uses_webhook(self) -> bool:
        return bool(self.settings.telegram_webhook_url)

    async def start(self) -> None:
        app = self.application
        try:
            await app.initialize()  # getMe: fails here for a wrong token
            with contextlib.suppress(TelegramError):
                await app.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])
            await app.start()
            if self.uses_webhook:
                self.webhook = TelegramWebhook(
                    app, self.webhook_secret, urlsplit(self.settings.telegram_webhook_url).path
                )
                await self.webhook.start(self.settings.host, self.settings.telegram_webhook_port)
                await app.bot.set_webhook(
                    self.settings.telegram_webhook_url,
                    secret_token=self.webhook_secret,
                    allowed_updates=ALLOWED_UPDATES,
                )
                logger.info(
                    "telegram: @%s receives updates at %s", app.bot.username, self.settings.telegram_webhook_url
                )
            else:
                await app.updater.start_polling(timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES)
                logger.info(
                    "telegram: @%s is polling %s for updates",
                    app.bot.username,
                    urlsplit(self.settings.telegram_api_base_url).netloc,
                )
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        app = self.application
        if app.updater and app.updater.running:
            await app.updater.stop()
        if self.webhook is not None:
            await self.webhook.stop()
            self.webhook = None
        if app.running:
            await app.stop()  # lets turns in progress finish
        await app.shutdown()
        await self.relay.close()

    async def __aenter__(self) -> "TelegramFrontEnd":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()


async def serve(settings: Settings, stop: asyncio.Event, retry_delays=(2, 5, 10, 30, 60)) -> int:
    """Run the front end until ``stop`` is set; keeps trying to start while Telegram cannot be
    reached (the rest of the assistant need not stop for that). The exit code."""
    failures = 0
    while not stop.is_set():
        front_end = TelegramFrontEnd(settings)
        try:
            await front_end.start()
        except InvalidToken:
            logger.error("telegram: Telegram refused the bot token (TELEGRAM_BOT_TOKEN); not starting")
            return 1
        except NetworkError as exc:
            delay = retry_delays[min(failures, len(retry_delays) - 1)]
            failures += 1
            logger.error("telegram: cannot reach the Bot API (%s); trying again in %s s", exc, delay)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            continue
        try:
            await stop.wait()
        finally:
            await front_end.stop()
        return 0
    return 0


async def _run(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return await serve(settings, stop)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request's URL at INFO, and a Bot API URL contains the bot token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    from bot.privacy import install_log_redaction

    install_log_redaction()  # no email address, UK phone number or postcode in the logs (docs/privacy.md)
    try:
        settings = Settings.from_env().with_secrets()
        if not settings.telegram_bot_token:
            raise SettingsError("TELEGRAM_BOT_TOKEN is not set: the Telegram front end has nothing to do")
        return asyncio.run(_run(settings))
    except SettingsError as exc:
        print(f"mutuals telegram: {exc}", file=sys.stderr)
        return 2
