"""Putting the assistant's messages into a Telegram chat: formatted, split, with their buttons.

The same path serves replies in a user's turn and messages pushed outside it
(:func:`push_to_chat`, for an adviser's reply), so both get the same formatting, splitting and
retries (the bot's :class:`TelegramPacing`).
"""

from __future__ import annotations

import html
import logging
from typing import Iterable, List, Mapping, Optional

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated
from telegram.ext import ExtBot

from bot.settings import Settings

from ._buttons import ButtonPayloads
from ._markup import TELEGRAM_MESSAGE_LIMIT, MessagePart, message_parts, telegram_size
from ._pacing import TelegramPacing

logger = logging.getLogger(__name__)

CHOOSE = "Please choose:"  # Telegram needs some text under a keyboard
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def _send_part(
    bot: Bot, chat_id: int, part: MessagePart, keyboard: Optional[InlineKeyboardMarkup], reply_to: Optional[int]
) -> Message:
    reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
    try:
        return await bot.send_message(
            chat_id,
            part.html,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
            link_preview_options=NO_PREVIEW,
            reply_parameters=reply,
        )
    except ChatMigrated as exc:  # a group became a supergroup
        return await _send_part(bot, exc.new_chat_id, part, keyboard, None)
    except BadRequest as exc:
        if "entit" not in str(exc).lower() and "parse" not in str(exc).lower():
            raise
        logger.warning("telegram: HTML refused for chat %s (%s); sending plain text", chat_id, exc)
        return await bot.send_message(
            chat_id, part.plain, reply_markup=keyboard, link_preview_options=NO_PREVIEW, reply_parameters=reply
        )


async def send_to_chat(
    bot: Bot,
    chat_id: int,
    text: str,
    buttons: Iterable[Mapping[str, str]] = (),
    payloads: Optional[ButtonPayloads] = None,
    sender_name: Optional[str] = None,
    reply_to: Optional[int] = None,
) -> List[Message]:
    """Send one assistant message (markdown) to a chat: as many Telegram messages as it needs,
    the buttons under the last. ``sender_name`` heads the first part (an adviser's name)."""
    heading_html = f"<b>{html.escape(sender_name, quote=False)}</b>\n" if sender_name else ""
    heading_plain = f"{sender_name}:\n" if sender_name else ""
    limit = TELEGRAM_MESSAGE_LIMIT - max(telegram_size(heading_html), telegram_size(heading_plain))
    parts = message_parts(text, limit)
    keyboard = (payloads or ButtonPayloads()).keyboard(buttons)
    if not parts and keyboard:
        parts = [MessagePart(CHOOSE, CHOOSE)]
    if parts and sender_name:
        parts[0] = MessagePart(heading_html + parts[0].html, heading_plain + parts[0].plain)
    sent = []
    for number, part in enumerate(parts):
        last = number == len(parts) - 1
        sent.append(await _send_part(bot, chat_id, part, keyboard if last else None, reply_to if number == 0 else None))
    return sent


def telegram_bot(settings: Settings, pacing: Optional[TelegramPacing] = None) -> ExtBot:
    """A bot for the configured token and Bot API address, with pacing and retries."""
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    return ExtBot(
        settings.telegram_bot_token, base_url=settings.telegram_api_base_url, rate_limiter=pacing or TelegramPacing()
    )


async def push_to_chat(
    settings: Settings,
    chat_id: int,
    text: str,
    sender_name: Optional[str] = None,
    buttons: Iterable[Mapping[str, str]] = (),
    bot: Optional[Bot] = None,
) -> List[Message]:
    """Send a message to a chat outside a user's turn (an adviser's reply, or the hand-back with its
    rating buttons), with the same formatting, splitting, buttons and retries as a reply. The
    signature is what :class:`bot.handoff.AdviserDesk` calls as its ``telegram_push``. Pass the
    running front end's ``bot`` to reuse it; otherwise a bot is made for this call."""
    buttons = list(buttons or ())
    if bot is not None:
        return await send_to_chat(bot, chat_id, text, buttons, sender_name=sender_name)
    async with telegram_bot(settings) as own_bot:
        return await send_to_chat(own_bot, chat_id, text, buttons, sender_name=sender_name)
