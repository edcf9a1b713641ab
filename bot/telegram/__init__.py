"""The Telegram front end: relays each Telegram chat to the assistant and its replies back.

``python -m bot.telegram`` runs it (``bot/stack.py`` does when ``TELEGRAM_BOT_TOKEN`` is set):
long polling by default, a webhook when ``TELEGRAM_WEBHOOK_URL`` is set. Each chat is one
assistant conversation, ``tg-<chat id>``, spoken through the relay channel
(``/webhooks/relay/webhook``, see ``bot/channels/rest.py``).

- ``_relay``: the assistant's side (one turn in, its messages out; "having trouble" if it fails)
- ``_markup``: the assistant's markdown as Telegram HTML, split into messages of 4,096 characters
- ``_buttons``: buttons as inline keyboards, payloads within 64 bytes of callback data
- ``_pacing``: Telegram's rate limits, 429s, timeouts and network errors
- ``_delivery``: sending a message to a chat (replies, and :func:`push_to_chat` outside a turn)
- ``_conversation``: commands, questions, button presses; who is addressed in a group
- ``_webhook``: the webhook server (secret header, repeated updates)
- ``_front_end``: the application, polling or webhook, and ``main``
"""

from ._buttons import CALLBACK_DATA_LIMIT, ButtonPayloads
from ._conversation import AddressedToBot, TelegramConversations
from ._delivery import push_to_chat, send_to_chat, telegram_bot
from ._front_end import ALLOWED_UPDATES, TelegramFrontEnd, main, serve
from ._markup import TELEGRAM_MESSAGE_LIMIT, MessagePart, message_parts, plain_text, telegram_html, telegram_size
from ._pacing import TelegramPacing, TokenBucket
from ._relay import TROUBLE, AssistantRelay, BotMessage, conversation_id
from ._webhook import SECRET_HEADER, RecentUpdates, TelegramWebhook

__all__ = [
    "ALLOWED_UPDATES",
    "AddressedToBot",
    "AssistantRelay",
    "BotMessage",
    "ButtonPayloads",
    "CALLBACK_DATA_LIMIT",
    "MessagePart",
    "RecentUpdates",
    "SECRET_HEADER",
    "TELEGRAM_MESSAGE_LIMIT",
    "TROUBLE",
    "TelegramConversations",
    "TelegramFrontEnd",
    "TelegramPacing",
    "TelegramWebhook",
    "TokenBucket",
    "conversation_id",
    "main",
    "message_parts",
    "plain_text",
    "push_to_chat",
    "send_to_chat",
    "serve",
    "telegram_bot",
    "telegram_html",
    "telegram_size",
]
