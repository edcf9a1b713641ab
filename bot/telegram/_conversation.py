"""What the front end does with each Telegram update: commands, questions, button presses.

One assistant conversation per chat (``tg-<chat id>``); a chat's turns are taken one at a time,
in order, while different chats are served at the same time. In a group the bot answers only
when addressed: a command, a mention of its @username, or a reply to one of its messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import weakref
from typing import AsyncIterator, List, Optional

from telegram import Chat, Message, MessageEntity, Update, User
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.settings import Settings

from . import _wording as wording
from ._buttons import ButtonPayloads
from ._delivery import send_to_chat
from ._relay import AssistantRelay

logger = logging.getLogger(__name__)

TYPING_EVERY = 4.5  # seconds; Telegram shows "typing…" for about 5 s
HUMAN_PAYLOAD = "/request_human"
RESTART_PAYLOAD = "/restart"
DELETE_PREFIX = "#privacy:"  # callback data of /delete_my_data's buttons: #privacy:erase:<user id> or #privacy:keep


class AddressedToBot(filters.MessageFilter):
    """A message in a private chat, or in a group one that mentions the bot or replies to it."""

    def filter(self, message: Message) -> bool:
        if message.chat.type == ChatType.PRIVATE:
            return True
        bot = message.get_bot()
        replied = message.reply_to_message
        if replied and replied.from_user and replied.from_user.id == bot.id:
            return True
        return mentions_bot(message)


def mentions_bot(message: Message) -> bool:
    bot = message.get_bot()
    wanted = f"@{bot.username}".lower()
    for entity, text in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        if entity.type == MessageEntity.MENTION and text.lower() == wanted:
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id:
            return True
    return False


def without_mention(text: str, username: str) -> str:
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip()


def _user_name(user: Optional[User]) -> str:
    return user.full_name if user else ""


class TelegramConversations:
    """The handlers; one per front end, sharing its relay and button payloads."""

    def __init__(self, settings: Settings, relay: AssistantRelay, payloads: ButtonPayloads) -> None:
        self.settings = settings
        self.relay = relay
        self.payloads = payloads
        self._chat_turns: "weakref.WeakValueDictionary[int, asyncio.Lock]" = weakref.WeakValueDictionary()

    def handlers(self) -> List[BaseHandler]:
        addressed = AddressedToBot()
        new_messages = filters.UpdateType.MESSAGE
        return [
            CommandHandler("start", self.start, filters=new_messages),
            CommandHandler("help", self.help, filters=new_messages),
            CommandHandler("human", self.human, filters=new_messages),
            CommandHandler("restart", self.restart, filters=new_messages),
            CommandHandler("delete_my_data", self.delete_my_data, filters=new_messages),
            MessageHandler(new_messages & filters.COMMAND, self.unknown_command),
            MessageHandler(new_messages & filters.TEXT & ~filters.COMMAND & addressed, self.question),
            CallbackQueryHandler(self.confirm_delete, pattern=f"^{re.escape(DELETE_PREFIX)}"),
            CallbackQueryHandler(self.button),
            MessageHandler(new_messages & ~filters.TEXT & ~filters.StatusUpdate.ALL & addressed, self.not_text),
        ]

    # ---- taking a turn -----------------------------------------------------------------

    def _turn_lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._chat_turns.get(chat_id)
        if lock is None:
            lock = self._chat_turns[chat_id] = asyncio.Lock()
        return lock

    @contextlib.asynccontextmanager
    async def _typing(self, chat: Chat) -> AsyncIterator[None]:
        async def keep_typing() -> None:
            while True:
                with contextlib.suppress(TelegramError):
                    await chat.send_action(ChatAction.TYPING)
                await asyncio.sleep(TYPING_EVERY)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def take_turn(
        self,
        chat: Chat,
        user: Optional[User],
        message: str,
        reply_to: Optional[int] = None,
        after: Optional[str] = None,
        update: Optional[Update] = None,
    ) -> None:
        """Send ``message`` to the assistant as this chat's turn and its replies back, in order;
        ``after`` is said once the assistant's replies are sent. The update's id goes with it, so
        the relay may send it again if the assistant fails mid-turn."""
        message_id = f"telegram-update-{update.update_id}" if update is not None else None
        async with self._turn_lock(chat.id):
            async with self._typing(chat):
                replies = await self.relay.turn(chat.id, message, _user_name(user), message_id=message_id)
            for number, reply in enumerate(replies):
                await send_to_chat(
                    chat.get_bot(),
                    chat.id,
                    reply.text,
                    reply.buttons,
                    self.payloads,
                    reply_to=reply_to if number == 0 else None,
                )
            if after:
                await send_to_chat(chat.get_bot(), chat.id, after)

    async def _say(self, update: Update, text: str) -> None:
        message = update.effective_message
        in_group = update.effective_chat.type != ChatType.PRIVATE
        await send_to_chat(
            update.get_bot(),
            update.effective_chat.id,
            text,
            reply_to=message.message_id if in_group and message else None,
        )

    @staticmethod
    def _reply_to(update: Update) -> Optional[int]:
        """In a group, answers quote the message they answer, so it is clear whose it is."""
        if update.effective_chat.type == ChatType.PRIVATE or not update.effective_message:
            return None
        return update.effective_message.message_id

    # ---- handlers ----------------------------------------------------------------------

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update, wording.WELCOME)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update, wording.HELP.format(username=context.bot.username))

    async def human(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.take_turn(
            update.effective_chat, update.effective_user, HUMAN_PAYLOAD, self._reply_to(update), update=update
        )

    async def restart(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.take_turn(
            update.effective_chat,
            update.effective_user,
            RESTART_PAYLOAD,
            self._reply_to(update),
            after=wording.RESTARTED,
            update=update,
        )

    async def delete_my_data(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Says what is held and asks to confirm with an inline button (see :meth:`confirm_delete`)."""
        user_id = update.effective_user.id if update.effective_user else 0
        buttons = [
            {"title": wording.DELETE_CONFIRM_TITLE, "payload": f"{DELETE_PREFIX}erase:{user_id}"},
            {"title": wording.DELETE_CANCEL_TITLE, "payload": f"{DELETE_PREFIX}keep"},
        ]
        message = update.effective_message
        in_group = update.effective_chat.type != ChatType.PRIVATE
        await send_to_chat(
            update.get_bot(),
            update.effective_chat.id,
            wording.DELETE_MY_DATA.format(retention_days=self.settings.conversation_retention_days),
            buttons,
            self.payloads,
            reply_to=message.message_id if in_group and message else None,
        )

    async def confirm_delete(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The answer to /delete_my_data's question: erase this chat's conversation, or not."""
        query = update.callback_query
        choice = (query.data or "")[len(DELETE_PREFIX) :]
        if choice.startswith("erase:") and choice != f"erase:{query.from_user.id}":
            with contextlib.suppress(TelegramError):
                await query.answer(wording.DELETE_NOT_YOURS, show_alert=True)
            return
        with contextlib.suppress(TelegramError):
            await query.answer()
        if query.message is None:
            return
        chat = query.message.chat
        if not choice.startswith("erase:"):
            await send_to_chat(chat.get_bot(), chat.id, wording.DATA_KEPT)
            return
        async with self._turn_lock(chat.id):  # after this chat's turn in progress, if any
            erased = await self.relay.erase(chat.id)
        await send_to_chat(chat.get_bot(), chat.id, wording.DATA_DELETED if erased else wording.DELETE_FAILED)

    async def unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if update.effective_chat.type != ChatType.PRIVATE:
            command = (message.text or "").split()[0]
            if not command.lower().endswith(f"@{context.bot.username}".lower()):
                return  # a command for another bot, or for every bot in the group
        await self._say(update, wording.UNKNOWN_COMMAND)

    async def question(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        text = message.text or ""
        if update.effective_chat.type != ChatType.PRIVATE:
            text = without_mention(text, context.bot.username)
            if not text:
                await self._say(update, wording.HELP.format(username=context.bot.username))
                return
        await self.take_turn(update.effective_chat, update.effective_user, text, self._reply_to(update), update=update)

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        payload = self.payloads.payload(query.data)
        if payload is None:
            await query.answer(wording.BUTTON_EXPIRED, show_alert=True)
            return
        with contextlib.suppress(TelegramError):  # an old query can no longer be answered; relay it anyway
            await query.answer()
        if query.message is None:  # a button on a message we cannot see (inline mode): nothing to answer in
            return
        await self.take_turn(query.message.chat, query.from_user, payload, update=update)

    async def not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update, wording.TEXT_ONLY)
